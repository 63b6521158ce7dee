"""Export the registry (persons, households) into the pool's store so rules and linkage can join
department rows to people. Re-exported only when the registry changed since the last export."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from django.db.models import Max

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


def registry_export(root: Path, *, force: bool = False) -> bool:
    """Write registry/persons.parquet and households.parquet if stale; True if written."""
    stamp_path = root / "registry" / "stamp.json"
    stamp = registry_stamp()
    if not force and stamp_path.exists() and (root / store.REGISTRY_PERSONS).exists():
        if json.loads(stamp_path.read_text()) == stamp:
            return False
    current = {
        pid: (hid, rel)
        for pid, hid, rel in Membership.objects.filter(end_date__isnull=True)
        .values_list("person_id", "household_id", "relation")
        .iterator(chunk_size=CHUNK)
    }
    cols: dict[str, list] = {f.name: [] for f in store.PERSONS_SCHEMA}
    rows = (
        Person.objects.values_list(
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
    store.atomic_write_table(
        pa.table(cols, schema=store.PERSONS_SCHEMA), root / store.REGISTRY_PERSONS
    )
    hcols: dict[str, list] = {f.name: [] for f in store.HOUSEHOLDS_SCHEMA}
    for hid, number, village, rtype, status in (
        Household.objects.values_list("id", "number", "region_id", "residence_type", "status")
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
    store.atomic_write_table(
        pa.table(hcols, schema=store.HOUSEHOLDS_SCHEMA), root / store.REGISTRY_HOUSEHOLDS
    )
    stamp_path.write_text(json.dumps(stamp))
    return True


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
