"""The registry export: after the first whole export, changes are merged into it, and the result
is what a whole export of the registry gives."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from doudi.datapool import mirror, registry_export, store
from doudi.registry import services
from doudi.registry.models import Person, RegistryEvent
from doudi.registry.services import MemberInput
from tests.conftest import make_id

pytestmark = pytest.mark.django_db

DAY = dt.date(2025, 3, 1)


def tables(root: Path) -> tuple[list[dict], list[dict]]:
    return (
        pq.read_table(root / store.REGISTRY_PERSONS).sort_by("person_id").to_pylist(),
        pq.read_table(root / store.REGISTRY_HOUSEHOLDS).sort_by("household_id").to_pylist(),
    )


def mirrored(root: Path) -> tuple[list[dict], list[dict]]:
    """The registry as the pool's mirror holds it after bringing it up to date."""
    con = duckdb.connect()
    try:
        assert mirror.attach(con, root, {}) == frozenset()
        return (
            con.sql(f"SELECT * FROM {mirror.table('registry_persons')} ORDER BY person_id")
            .to_arrow_table()
            .to_pylist(),
            con.sql(f"SELECT * FROM {mirror.table('registry_households')} ORDER BY household_id")
            .to_arrow_table()
            .to_pylist(),
        )
    finally:
        con.close()


@pytest.fixture
def applied(monkeypatch) -> list[str]:
    made: list[str] = []
    real = mirror._apply_registry_changes

    def spy(con, root, name, held, current):  # type: ignore[no-untyped-def]
        ok = real(con, root, name, held, current)
        if ok:
            made.append(name)
        return ok

    monkeypatch.setattr(mirror, "_apply_registry_changes", spy)
    return made


@pytest.fixture
def whole(monkeypatch) -> list[int]:
    """Counts the whole exports made."""
    made: list[int] = []
    real = registry_export._export_all

    def spy(root: Path) -> None:
        made.append(1)
        real(root)

    monkeypatch.setattr(registry_export, "_export_all", spy)
    return made


@pytest.mark.parametrize("by_time", [True, False])
def test_changes_are_merged_into_the_export(
    tmp_path: Path, register, whole, applied, by_time: bool
) -> None:
    """``by_time=False``: the rows saved since the last export are not looked at (as if it had
    started later than every change), so the registry events alone must name what changed."""
    root = tmp_path / "pool"
    couple = register(
        "370611001001",
        [
            (make_id("370611", "19600101", 11), "曾小明", "head"),
            (make_id("370611", "19620202", 22), "李秀英", "spouse"),
            (make_id("370611", "19900303", 31), "曾小红", "child"),
        ],
    )
    alone = register("370611002001", [(make_id("370611", "19700707", 41), "张伟", "head")])
    other = register("370602001001", [(make_id("370602", "19450215", 51), "孙德福", "head")])
    assert registry_export.registry_export(root) is True
    assert whole == [1]
    assert registry_export.registry_export(root) is False  # nothing changed
    assert mirrored(root) == tables(root)  # the mirror's first copy
    if not by_time:
        stamp = root / "registry" / "stamp.json"
        saved = json.loads(stamp.read_text())
        saved["at"] = "2100-01-01T00:00:00+00:00"
        stamp.write_text(json.dumps(saved))

    # a day of registry work: a birth, a new household, a move that empties a household, a
    # death, a split
    services.person_add_to_household(
        actor=None,
        household=couple,
        member=MemberInput(make_id("370611", "20240101", 61), "曾小宝", "grandchild"),
        date=DAY,
    )
    register("370611001201", [(make_id("370611", "19800505", 71), "王强", "head")])
    zhang = Person.objects.get(name="张伟")
    services.person_move(actor=None, person=zhang, to_household=other, relation="other", date=DAY)
    services.person_set_status(
        actor=None, person=Person.objects.get(name="孙德福"), status="dead", date=DAY
    )
    services.household_split(
        actor=None,
        household=couple,
        person_ids=[Person.objects.get(name="曾小红").pk],
        new_head_id=Person.objects.get(name="曾小红").pk,
        date=DAY,
    )
    assert registry_export.registry_export(root) is True
    assert whole == [1]  # merged, not exported whole again

    full = tmp_path / "full"
    registry_export.registry_export(full, force=True)
    assert tables(root) == tables(full)
    persons, households = tables(root)
    by_name = {p["name"]: p for p in persons}
    assert by_name["张伟"]["household_id"] == other.pk
    assert by_name["孙德福"]["status"] == "dead"
    assert by_name["曾小红"]["relation"] == "head"
    assert by_name["曾小红"]["household_id"] not in (couple.pk, None)
    assert {h["household_id"]: h["status"] for h in households}[alone.pk] == "dissolved"
    assert len(persons) == 7 and len(households) == 5
    # the pool's mirror applies the merge's changes instead of copying the export again
    assert mirrored(root) == tables(root)
    assert sorted(applied) == ["registry_households", "registry_persons"]


def test_unknown_changes_make_a_whole_export(tmp_path: Path, register, whole) -> None:
    root = tmp_path / "pool"
    register("370611001001", [(make_id("370611", "19600101", 11), "曾小明", "head")])
    registry_export.registry_export(root)
    # an event naming no person and no household: what changed cannot be known
    RegistryEvent.objects.create(kind=RegistryEvent.Kind.CORRECTED, date=DAY)
    assert registry_export.registry_export(root) is True
    assert whole == [1, 1]
    assert not (root / store.REGISTRY_CHANGES).exists()  # a whole export starts afresh
    full = tmp_path / "full"
    registry_export.registry_export(full, force=True)
    assert tables(root) == tables(full)


def test_the_scheduler_refreshes_the_export_every_quarter_hour(settings, register) -> None:
    from doudi.datapool import services

    services._last_refresh.clear()
    root = store.pool_root()
    register("370611001001", [(make_id("370611", "19600101", 11), "曾小明", "head")])
    assert services.registry_tick(now=1000.0) is True  # the first export
    register("370611002001", [(make_id("370611", "19700707", 41), "张伟", "head")])
    assert services.registry_tick(now=1000.0 + 14 * 60) is False  # not due yet
    assert len(tables(root)[0]) == 1
    assert services.registry_tick(now=1000.0 + 15 * 60) is True
    assert len(tables(root)[0]) == 2
    services._last_refresh.clear()
