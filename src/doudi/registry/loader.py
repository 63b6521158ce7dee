"""Bulk loading of a generated synthetic city (``doudi generate``) into the registry.

Rows are checked first (ID numbers valid and unique, villages under known towns, every person in a
known household), then written in one transaction with ``bulk_create`` (no ORM save per row), so a
load either lands whole or leaves nothing behind. Loading the same city twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Max

from doudi.core import crypto, idcard
from doudi.core.audit import audit_record
from doudi.core.regions import villages_import
from doudi.registry.errors import RegistryError
from doudi.registry.models import Household, Membership, Person, RegistryEvent
from doudi.registry.services import household_number

BATCH = 5000
SOURCE = "synth"


class LoadError(RegistryError):
    pass


def _read(directory: Path, name: str, columns: list[str]) -> dict[str, list[Any]]:
    path = directory / f"{name}.parquet"
    if not path.exists():
        raise LoadError(f"缺少文件 {path}，请先运行 doudi generate", f"missing {path}")
    table = pq.read_table(path, columns=columns)
    return {c: table.column(c).to_pylist() for c in columns}


def city_loaded() -> bool:
    return Person.objects.filter(source=SOURCE).exists()


def load_city(
    directory: Path,
    *,
    registered_on: dt.date = dt.date(2021, 1, 1),
    progress: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    if city_loaded():
        return {"skipped": True, "reason": "already loaded", "persons": Person.objects.count()}
    villages = _read(directory, "villages", ["code", "name", "kind", "residence_type"])
    hh = _read(
        directory,
        "households",
        ["household_id", "village_code", "hukou_village_code", "residence_type", "address"],
    )
    pp = _read(
        directory,
        "persons",
        [
            "person_id",
            "household_id",
            "relation",
            "id_number",
            "name",
            "name_pinyin",
            "sex",
            "birth_date",
            "disability_category",
            "disability_grade",
            "status",
        ],
    )

    checks = idcard.validate_many(np.asarray(pp["id_number"], dtype=object))
    valid = np.asarray(checks["valid"], dtype=bool)
    if not valid.all():
        bad = [pp["id_number"][i] for i in np.flatnonzero(~valid)[:5]]
        raise LoadError(
            f"{int((~valid).sum())} 个身份证号无效，例如 {[idcard.mask(b) for b in bad]}",
            "invalid ID numbers in persons.parquet",
        )
    if len(set(pp["id_number"])) != len(pp["id_number"]):
        raise LoadError("persons.parquet 中身份证号有重复", "duplicate ID numbers")
    known_hh = set(hh["household_id"])
    if not set(pp["household_id"]) <= known_hh:
        raise LoadError("有人员所属家庭不存在", "persons reference unknown households")
    village_codes = set(villages["code"])
    if not (set(hh["village_code"]) | set(hh["hukou_village_code"])) <= village_codes:
        raise LoadError("有家庭所在村居不存在", "households reference unknown villages")

    enc, bidx = crypto.encrypt, crypto.blind_index

    existing = Person.objects.filter(
        id_index__in=[bidx(v) for v in pp["id_number"][:1000]]
    ).exists()
    if existing:
        raise LoadError(
            "部分人员已在人口库中（可能来自另一次生成），不能重复导入",
            "some persons are already registered",
        )

    with transaction.atomic():
        n_villages = villages_import(
            [
                {"code": c, "name": n, "kind": k, "residence_type": r}
                for c, n, k, r in zip(
                    villages["code"],
                    villages["name"],
                    villages["kind"],
                    villages["residence_type"],
                    strict=True,
                )
            ],
            source=SOURCE,
        )
        progress(f"村居 {n_villages}")
        hh_offset = Household.objects.aggregate(m=Max("id"))["m"] or 0
        p_offset = Person.objects.aggregate(m=Max("id"))["m"] or 0
        hh_region = {}
        batch: list[Any] = []
        for hid, vcode, hcode, rtype, addr in zip(
            hh["household_id"],
            hh["village_code"],
            hh["hukou_village_code"],
            hh["residence_type"],
            hh["address"],
            strict=True,
        ):
            pk = hh_offset + int(hid)
            hh_region[int(hid)] = (vcode, hcode, rtype)
            batch.append(
                Household(
                    id=pk,
                    number=household_number(pk),
                    region_id=vcode,
                    hukou_region_id=hcode,
                    residence_type=rtype,
                    address=addr or "",
                    source=SOURCE,
                )
            )
            if len(batch) >= BATCH:
                Household.objects.bulk_create(batch)
                batch = []
        Household.objects.bulk_create(batch)
        progress(f"家庭 {len(hh_region)}")
        persons: list[Person] = []
        members: list[Membership] = []
        events: list[RegistryEvent] = []
        for i in range(len(pp["person_id"])):
            pk = p_offset + int(pp["person_id"][i])
            number = pp["id_number"][i]
            hid = int(pp["household_id"][i])
            vcode, hcode, rtype = hh_region[hid]
            birth = pp["birth_date"][i]
            name = pp["name"][i]
            pinyin = pp["name_pinyin"][i] or ""
            grade = pp["disability_grade"][i]
            persons.append(
                Person(
                    id=pk,
                    id_enc=enc(number),
                    id_index=bidx(number),
                    id_prefix=number[:6],
                    id_last4=number[-4:],
                    name=name,
                    name_pinyin=pinyin,
                    name_initials="".join(s[0] for s in pinyin.split()),
                    sex=pp["sex"][i],
                    birth_date=birth,
                    status=pp["status"][i] or "present",
                    hukou_region_id=hcode,
                    residence_region_id=vcode,
                    residence_type=rtype,
                    disability_category=pp["disability_category"][i] or "",
                    disability_grade=int(grade) if grade is not None else None,
                    source=SOURCE,
                )
            )
            start = max(birth, registered_on)
            members.append(
                Membership(
                    household_id=hh_offset + hid,
                    person_id=pk,
                    relation=pp["relation"][i],
                    start_date=start,
                )
            )
            events.append(
                RegistryEvent(
                    kind=RegistryEvent.Kind.REGISTERED,
                    date=start,
                    person_id=pk,
                    household_id=hh_offset + hid,
                    details={"source": SOURCE},
                )
            )
            if len(persons) >= BATCH:
                _flush(persons, members, events)
                persons, members, events = [], [], []
        _flush(persons, members, events)
        _reset_sequences()
        audit_record(
            actor=None,
            event="registry.bulk_load",
            subject_type="registry",
            subject_label=str(directory),
            new={
                "villages": n_villages,
                "households": len(hh_region),
                "persons": len(pp["person_id"]),
            },
        )
    return {
        "skipped": False,
        "villages": n_villages,
        "households": len(hh_region),
        "persons": len(pp["person_id"]),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _flush(persons: list[Person], members: list[Membership], events: list[RegistryEvent]) -> None:
    Person.objects.bulk_create(persons)
    Membership.objects.bulk_create(members)
    RegistryEvent.objects.bulk_create(events)


def _reset_sequences() -> None:
    sql = connection.ops.sequence_reset_sql(no_style(), [Household, Person])
    if sql:
        with connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)
