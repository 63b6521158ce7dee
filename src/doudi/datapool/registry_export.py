"""Export the registry (persons, households) into the pool's store so rules and linkage can join
department rows to people. Re-exported only when the registry changed since the last export."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.db.models import Max, QuerySet
from django.utils import timezone

from doudi.datapool import store
from doudi.registry.models import Household, Membership, Person, RegistryEvent

CHUNK = 100_000


def registry_stamp() -> dict[str, object]:
    """What the export was made from. Every registry change goes through a service that appends a
    ``RegistryEvent`` (the bulk loader too), so the highest ids identify the registry's state;
    each is a primary-key look-up, cheap enough to check before every file."""
    return {
        "events": RegistryEvent.objects.aggregate(i=Max("id"))["i"],
        "persons": Person.objects.aggregate(i=Max("id"))["i"],
        "households": Household.objects.aggregate(i=Max("id"))["i"],
        "memberships": Membership.objects.aggregate(i=Max("id"))["i"],
    }


#: an export after this many registry events (or touching this many persons) is made whole
#: again rather than by merging the changes into the previous one
INCREMENTAL_MAX_EVENTS = 100_000
INCREMENTAL_MAX_PERSONS = 500_000
#: rows changed this long before the previous export started are taken again (a transaction
#: still open when the export read the registry commits its rows later)
CHANGE_MARGIN = dt.timedelta(minutes=10)
IN_CHUNK = 5_000


def registry_export(root: Path, *, force: bool = False) -> bool:
    """Write registry/persons.parquet and households.parquet if stale; True if written.

    When an export exists, only what changed since it is read from the database (the persons
    and households named by newer registry events, new rows, rows saved since it started, and
    the current members of every household touched) and merged into it; a whole export is made
    the first time, with ``force``, or when the changes are many."""
    stamp_path = root / "registry" / "stamp.json"
    started = timezone.now()
    stamp = registry_stamp()
    persons_path, households_path = root / store.REGISTRY_PERSONS, root / store.REGISTRY_HOUSEHOLDS
    old = None
    if stamp_path.exists() and persons_path.exists() and households_path.exists():
        old = json.loads(stamp_path.read_text())
    if not force and old is not None and {k: old.get(k) for k in stamp} == stamp:
        return False
    if force or old is None or not _export_changes(root, old):
        _export_all(root)
    stamp_path.write_text(json.dumps({**stamp, "at": started.isoformat()}))
    return True


def _export_all(root: Path) -> None:
    _forget_changes(root)
    current = {
        pid: (hid, rel)
        for pid, hid, rel in Membership.objects.filter(end_date__isnull=True)
        .values_list("person_id", "household_id", "relation")
        .iterator(chunk_size=CHUNK)
    }
    store.atomic_write_table(
        _person_table(Person.objects.all(), current), root / store.REGISTRY_PERSONS
    )
    store.atomic_write_table(
        _household_table(Household.objects.all()), root / store.REGISTRY_HOUSEHOLDS
    )


def _person_table(persons: QuerySet[Person], current: dict[int, tuple[int, str]]) -> pa.Table:
    cols: dict[str, list] = {f.name: [] for f in store.PERSONS_SCHEMA}
    rows = (
        persons.values_list(
            "id",
            "id_index",
            "name",
            "name_pinyin",
            "sex",
            "birth_date",
            "status",
            "residence_region_id",
            "hukou_region_id",
            "residence_type",
        )
        .order_by("id")
        .iterator(chunk_size=CHUNK)
    )
    for pid, idx, name, pinyin, sex, birth, status, village, hukou, rtype in rows:
        hid, rel = current.get(pid, (None, None))
        cols["person_id"].append(pid)
        cols["id_index"].append(idx)
        cols["name"].append(name)
        cols["name_pinyin"].append(pinyin)
        cols["sex"].append(sex)
        cols["birth_date"].append(birth)
        cols["status"].append(status)
        cols["household_id"].append(hid)
        cols["relation"].append(rel)
        cols["village_code"].append(village)
        cols["town_code"].append(village[:9])
        cols["county_code"].append(village[:6])
        cols["hukou_village_code"].append(hukou)
        cols["residence_type"].append(rtype)
    return pa.table(cols, schema=store.PERSONS_SCHEMA)


def _household_table(households: QuerySet[Household]) -> pa.Table:
    hcols: dict[str, list] = {f.name: [] for f in store.HOUSEHOLDS_SCHEMA}
    for hid, number, village, rtype, status in (
        households.values_list("id", "number", "region_id", "residence_type", "status")
        .order_by("id")
        .iterator(chunk_size=CHUNK)
    ):
        hcols["household_id"].append(hid)
        hcols["number"].append(number)
        hcols["village_code"].append(village)
        hcols["town_code"].append(village[:9])
        hcols["county_code"].append(village[:6])
        hcols["residence_type"].append(rtype)
        hcols["status"].append(status)
    return pa.table(hcols, schema=store.HOUSEHOLDS_SCHEMA)


def _chunks(ids: set[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + IN_CHUNK] for i in range(0, len(ordered), IN_CHUNK)]


def _export_changes(root: Path, old: dict[str, Any]) -> bool:
    """Merge what changed since the export described by ``old`` into it; False (nothing
    written) when that cannot be known or is too much, so the caller exports everything."""
    keys = ("events", "persons", "households", "memberships")
    if any(old.get(k) is None for k in keys) or not old.get("at"):
        return False
    since = dt.datetime.fromisoformat(old["at"]) - CHANGE_MARGIN
    events = list(
        RegistryEvent.objects.filter(id__gt=old["events"]).values_list("person_id", "household_id")[
            : INCREMENTAL_MAX_EVENTS + 1
        ]
    )
    if len(events) > INCREMENTAL_MAX_EVENTS or any(p is None and h is None for p, h in events):
        return False
    persons = {p for p, _ in events if p is not None}
    households = {h for _, h in events if h is not None}
    persons |= set(Person.objects.filter(id__gt=old["persons"]).values_list("id", flat=True))
    persons |= set(Person.objects.filter(updated_at__gte=since).values_list("id", flat=True))
    households |= set(
        Household.objects.filter(id__gt=old["households"]).values_list("id", flat=True)
    )
    households |= set(Household.objects.filter(updated_at__gte=since).values_list("id", flat=True))
    for pid, hid in Membership.objects.filter(id__gt=old["memberships"]).values_list(
        "person_id", "household_id"
    ):
        persons.add(pid)
        households.add(hid)
    # the households a named person belongs or belonged to (a move can empty, and so
    # dissolve, the household left)
    for chunk in _chunks({p for p, _ in events if p is not None}):
        households |= set(
            Membership.objects.filter(person_id__in=chunk).values_list("household_id", flat=True)
        )
    for chunk in _chunks(households):
        persons |= set(
            Membership.objects.filter(household_id__in=chunk, end_date__isnull=True).values_list(
                "person_id", flat=True
            )
        )
        if len(persons) > INCREMENTAL_MAX_PERSONS:
            return False
    current: dict[int, tuple[int, str]] = {}
    person_parts, household_parts = [], []
    for chunk in _chunks(persons):
        for pid, hid, rel in Membership.objects.filter(
            person_id__in=chunk, end_date__isnull=True
        ).values_list("person_id", "household_id", "relation"):
            current[pid] = (hid, rel)
        person_parts.append(_person_table(Person.objects.filter(id__in=chunk), current))
    for chunk in _chunks(households):
        household_parts.append(_household_table(Household.objects.filter(id__in=chunk)))
    _merge(root, "registry_persons", "person_id", persons, person_parts, store.PERSONS_SCHEMA)
    _merge(
        root,
        "registry_households",
        "household_id",
        households,
        household_parts,
        store.HOUSEHOLDS_SCHEMA,
    )
    return True


def _merge(
    root: Path, table: str, key: str, changed: set[int], parts: list[pa.Table], schema: pa.Schema
) -> None:
    """The export of ``table`` with the rows of ``changed`` replaced by ``parts`` (a changed id
    missing from ``parts`` no longer exists); the changes are kept beside it, so that a copy of
    the export (the pool's mirror) can apply them instead of copying it again."""
    if not changed:
        return
    path = root / store.REGISTRY_FILES[table]
    ids = pa.table({key: pa.array(sorted(changed), pa.int64())})
    rows = pa.concat_tables(parts).cast(schema) if parts else schema.empty_table()
    base = store.file_stamp(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    con = store.connect(private=True)
    try:
        con.register("_ids", ids)
        con.register("_rows", rows)
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{path}') ANTI JOIN _ids USING ({key}) "
            f"UNION ALL SELECT * FROM _rows) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)"
        )
    finally:
        con.close()
    os.replace(tmp, path)
    _record_change(root, table, base, store.file_stamp(path), ids, rows)


#: change sets kept beside the export (older ones are deleted; a copy further behind is copied
#: whole)
CHANGES_KEPT = 60


def _record_change(
    root: Path,
    table: str,
    base: tuple[int, int] | None,
    result: tuple[int, int] | None,
    ids: pa.Table,
    rows: pa.Table,
) -> None:
    """Keep one merge's changes: ``<n>-<table>/`` with the ids replaced, their new rows and the
    export's stamps before and after."""
    if base is None or result is None:
        return
    folder = root / store.REGISTRY_CHANGES
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{time.time_ns():020d}-{table}"
    staging = folder / f".{final.name}.tmp"
    staging.mkdir()
    pq.write_table(ids, staging / "ids.parquet")
    pq.write_table(rows, staging / "rows.parquet")
    (staging / "stamps.json").write_text(json.dumps({"base": base, "result": result}))
    os.replace(staging, final)
    done = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    for old in done[:-CHANGES_KEPT]:
        shutil.rmtree(old, ignore_errors=True)


def _forget_changes(root: Path) -> None:
    """A whole export starts a new history: the change sets no longer lead to it."""
    shutil.rmtree(root / store.REGISTRY_CHANGES, ignore_errors=True)


def registry_from_synthetic_city(root: Path, persons: object, households: object) -> int:
    """Write the registry export (persons and households) straight from a synthetic city's
    tables (Arrow tables or Parquet paths), for benchmarks that measure the pool without loading millions of persons into the
    operational database; the stamp is set so that ingest does not re-export the (empty) DB."""
    from doudi.core import crypto

    con = store.connect()
    for name, source in (("synth_p", persons), ("synth_h", households)):
        if isinstance(source, pa.Table):
            con.register(name, source)
        else:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet('{source}')"
            )
    registry = (
        con.sql(f"""
        SELECT p.person_id, {crypto.blind_index_sql("p.id_number")} AS id_index, p.name,
               p.name_pinyin, p.sex, p.birth_date, p.status, p.household_id, p.relation,
               h.village_code, left(h.village_code, 9) AS town_code,
               left(h.village_code, 6) AS county_code, h.hukou_village_code, h.residence_type
        FROM synth_p p JOIN synth_h h USING (household_id)
    """)
        .to_arrow_table()
        .cast(store.PERSONS_SCHEMA)
    )
    _forget_changes(root)
    store.atomic_write_table(registry, root / store.REGISTRY_PERSONS)
    households_table = (
        con.sql("""
        SELECT household_id, 'S' || lpad(CAST(household_id AS VARCHAR), 12, '0') AS number,
               village_code, left(village_code, 9) AS town_code,
               left(village_code, 6) AS county_code, residence_type, 'active' AS status
        FROM synth_h
    """)
        .to_arrow_table()
        .cast(store.HOUSEHOLDS_SCHEMA)
    )
    store.atomic_write_table(households_table, root / store.REGISTRY_HOUSEHOLDS)
    (root / "registry" / "stamp.json").write_text(json.dumps(registry_stamp()))
    return registry.num_rows
