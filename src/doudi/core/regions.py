"""Loading administrative divisions: Yantai's official hierarchy (city, 13 county-level divisions,
159 towns/streets) from the bundled statistical division codes, and villages/communities below the
towns from a CSV (real ones) or from the synthetic city."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DIVISIONS_CSV = Path(__file__).parent / "data" / "yantai_divisions.csv"
PROVINCE = ("370000", "山东省")
_TOWN_KINDS = {"street", "town", "township", "zone"}


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    parent: str | None
    level: str
    kind: str
    residence_type: str = ""


def official_rows(path: Path = DIVISIONS_CSV) -> list[RegionRow]:
    """Province, city, counties and towns, parents before children."""
    rows = [RegionRow(PROVINCE[0], PROVINCE[1], None, "province", "province")]
    with path.open(encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            level = rec["level"].strip()
            kind = level
            if level in _TOWN_KINDS:
                level = "town"
            rows.append(
                RegionRow(
                    rec["code"].strip(),
                    rec["name"].strip(),
                    rec["parent_code"].strip(),
                    level,
                    kind,
                    "urban" if kind in {"street", "zone"} else "rural",
                )
            )
    order = {"province": 0, "city": 1, "county": 2, "town": 3}
    return sorted(rows, key=lambda r: (order[r.level], r.code))


def _full_names(rows: Iterable[RegionRow], known: dict[str, str]) -> dict[str, str]:
    names = dict(known)
    out = {}
    for r in rows:
        parent = names.get(r.parent or "", "")
        names[r.code] = parent + r.name
        out[r.code] = names[r.code]
    return out


def load_official(region_model: Any) -> int:
    """Create or update the official regions; used by the data migration and by tests."""
    rows = official_rows()
    full = _full_names(rows, {})
    count = 0
    for r in rows:
        region_model.objects.update_or_create(
            code=r.code,
            defaults={
                "name": r.name,
                "level": r.level,
                "kind": r.kind,
                "parent_id": r.parent,
                "residence_type": r.residence_type,
                "full_name": full[r.code],
                "source": "official",
            },
        )
        count += 1
    return count


class VillageImportError(ValueError):
    pass


def villages_import(
    rows: Iterable[dict[str, str]], *, source: str, region_model: Any = None
) -> int:
    """Create or update villages/communities below existing towns.

    Each row needs ``code`` (12 digits, starting with its town's 9-digit code), ``name``, and
    optionally ``kind`` (``community``/``village``, else guessed from the code: 001–199 are
    居委会/communities, the rest 村委会/villages) and ``residence_type`` (urban/rural).
    Every row is checked before anything is written: one bad row stops the import with its line.
    """
    if region_model is None:
        from doudi.core.models import Region as region_model  # noqa: N813
    towns = {
        r.code: r.full_name or r.name
        for r in region_model.objects.filter(level="town").only("code", "full_name", "name")
    }
    objs = []
    seen: set[str] = set()
    for line, rec in enumerate(rows, start=2):
        code = (rec.get("code") or "").strip()
        name = (rec.get("name") or "").strip()
        if len(code) != 12 or not code.isdigit():
            raise VillageImportError(
                f"第{line}行：村居代码应为12位数字（{code!r}） / line {line}: "
                "village code must be 12 digits"
            )
        if code[:9] not in towns:
            raise VillageImportError(
                f"第{line}行：找不到上级镇街 {code[:9]} / line {line}: unknown town {code[:9]}"
            )
        if not name:
            raise VillageImportError(f"第{line}行：缺少名称 / line {line}: name missing")
        if code in seen:
            raise VillageImportError(f"第{line}行：代码 {code} 重复 / line {line}: duplicate code")
        seen.add(code)
        kind = (rec.get("kind") or "").strip() or (
            "community" if int(code[9:]) < 200 else "village"
        )
        if kind not in {"community", "village"}:
            raise VillageImportError(
                f"第{line}行：类型应为 community 或 village / line {line}: kind"
            )
        rtype = (rec.get("residence_type") or "").strip() or (
            "urban" if kind == "community" else "rural"
        )
        objs.append(
            region_model(
                code=code,
                name=name,
                level="village",
                kind=kind,
                parent_id=code[:9],
                residence_type=rtype,
                full_name=towns[code[:9]] + name,
                source=source,
            )
        )
    region_model.objects.bulk_create(
        objs,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["code"],
        update_fields=["name", "kind", "residence_type", "full_name", "source"],
    )
    return len(objs)


def villages_import_csv(path: Path) -> int:
    with path.open(encoding="utf-8-sig") as fh:
        return villages_import(list(csv.DictReader(fh)), source="csv")
