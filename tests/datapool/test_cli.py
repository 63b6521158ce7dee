from __future__ import annotations

import json

import pytest

from doudi.config import cli
from doudi.datapool.models import IngestFile
from tests.conftest import make_id
from tests.datapool.conftest import csv_text

pytestmark = pytest.mark.django_db

HEADER = ["身份证号", "姓名", "死亡日期", "登记机关"]


def test_ingest_command_prints_one_summary_per_file(tmp_path, capsys, town_households):
    good = tmp_path / "deaths.csv"
    good.write_text(
        csv_text(
            HEADER,
            [
                [make_id("370611", "19500101", 11), "曾小明", "2025-05-03", "福山分局"],
                ["123", "", "2025-05-03", "福山分局"],
            ],
        ),
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text("姓名\n张三\n", encoding="utf-8")
    code = cli.main(["ingest", "--interface", "death_registration", str(good), str(bad)])
    out, err = capsys.readouterr()
    assert code == 1  # one file could not be read
    summaries = [json.loads(line) for line in out.splitlines()]
    assert len(summaries) == 1
    assert {
        k: summaries[0][k]
        for k in (
            "interface",
            "rows",
            "accepted",
            "quarantined",
            "duplicates",
            "linked",
            "unlinked",
        )
    } == {
        "interface": "death_registration",
        "rows": 2,
        "accepted": 1,
        "quarantined": 1,
        "duplicates": 0,
        "linked": 1,
        "unlinked": 0,
    }
    assert "bad.csv" in err and "无法读取" in err
    assert IngestFile.objects.filter(status="failed").count() == 1


def test_unknown_interface(capsys, tmp_path, db):
    path = tmp_path / "x.csv"
    path.write_text("a\n", encoding="utf-8")
    assert cli.main(["ingest", "--interface", "nope", str(path)]) == 2
    assert "nope" in capsys.readouterr().err
