from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from doudi.config import cli
from doudi.core.models import AuditEvent, User
from doudi.registry.errors import RegistryError
from doudi.registry.models import Household, Membership, Person, RegistryEvent


def test_cli_help_and_unknown_command(capsys):
    assert cli.main(["--help"]) == 0
    assert "idcard" in capsys.readouterr().out
    assert cli.main(["frobnicate"]) == 2
    assert "未知命令" in capsys.readouterr().err


def test_cli_idcard(capsys):
    assert cli.main(["idcard", "370602800101001", "123"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert lines[0]["normalized"] == "370602198001010012" and lines[0]["valid"] is True
    assert lines[1] == {**lines[1], "valid": False, "error": "length"}


@pytest.mark.django_db(transaction=True)
def test_demo_build_is_idempotent(tmp_path):
    from doudi.config.demo import build

    first = build(persons=3000, seed=7, data=tmp_path)
    assert first["load"]["persons"] == 3000
    counts = (
        Person.objects.count(),
        Household.objects.count(),
        Membership.objects.count(),
        RegistryEvent.objects.count(),
        User.objects.count(),
    )
    # the eight demo logins; the other towns' window clerks exist without a usable password
    logins = [u for u in User.objects.all() if u.has_usable_password()]
    assert counts[0] == 3000 and len(logins) == 8
    assert first["history"]["deaths"] >= 5
    assert Person.objects.filter(status="dead").count() == first["history"]["deaths"]
    second = build(persons=3000, seed=7, data=tmp_path)
    assert "load" not in second
    assert (
        Person.objects.count(),
        Household.objects.count(),
        Membership.objects.count(),
        RegistryEvent.objects.count(),
        User.objects.count(),
    ) == counts
    # every person is in exactly one current household, with history kept for the movers
    assert Membership.objects.filter(end_date__isnull=True).count() == Person.objects.count()
    clerk = User.objects.get(username="clerk")
    assert clerk.check_password("doudi-demo-2026") and clerk.region_id == "370611001"
    assert AuditEvent.objects.filter(event="registry.bulk_load").count() == 1


@pytest.mark.django_db(transaction=True)
def test_loader_refuses_bad_city_and_writes_nothing(tmp_path):
    from doudi.registry import loader
    from doudi.synth.generator import generate

    out = tmp_path / "city"
    generate(persons=1500, seed=3, out_dir=out)
    table = pq.read_table(out / "persons.parquet")
    ids = table.column("id_number").to_pylist()
    ids[10] = ids[10][:-1] + ("0" if ids[10][-1] != "0" else "1")  # break one check character
    bad = table.set_column(
        table.schema.get_field_index("id_number"), "id_number", pa.array(ids, pa.string())
    )
    pq.write_table(bad, out / "persons.parquet")
    with pytest.raises(RegistryError) as info:
        loader.load_city(out)
    assert "身份证号无效" in info.value.zh
    assert Person.objects.count() == 0 and Household.objects.count() == 0


def test_loader_missing_directory(tmp_path: Path, db):
    from doudi.registry import loader

    with pytest.raises(RegistryError, match="doudi generate"):
        loader.load_city(tmp_path / "nope")
