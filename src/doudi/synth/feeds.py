"""Synthetic department feeds: files for every data-pool interface, consistent with a synthetic city.

:func:`generate_feeds` reads the Parquet files of a city written by
:func:`doudi.synth.generator.generate` and writes, for every interface of the catalog
(``doudi.datapool.catalog.load_catalog()``), the files a department would send: a history of
monthly files (``<code>-2025-03.csv``) for the ``months`` months before ``as_of`` and daily delta
files (``<code>-2025-12-28.csv``) for the last ``daily_days`` days, in the formats departments use
(UTF-8, UTF-8 with BOM or GBK CSV, .xlsx with a merged title row, a blank row and a 合计 row, JSON
lines), with the faults real feeds carry (bad and 15-digit ID numbers, lowercase x, full-width
digits, homophone name typos, duplicate rows, rows re-sent the next day, unreadable dates and
amounts). A truth table per interface (``_truth/<code>.parquet``: file, line, person_id) tells which
registry person each written row is about, so linkage can be measured.

The feeds agree with the city: persons who die (≈0.7% a year, mostly the elderly and frail) appear
in death_registration, death_certificate, cremation and hukou_change with consistent dates and
vanish from pensions, rolls and settlements afterwards; the disabled, and only they, hold
disability certificates; vehicles belong to households with vehicles, businesses to registered
households, deposits add up to each household's financial assets; the 低保/特困 rolls list exactly
the recipients; prisoners are the persons in prison; births bring new children who are not in the
registry. See the README ("Department feeds") for the rates and the measured sizes.

Everything is vectorised (numpy, pyarrow compute, pyarrow's CSV writer); Python loops run over
months, files, interfaces and small lookup tables, never over rows (except the rows of the few
small .xlsx files, written with xlsxwriter). Every component draws from its own random stream
derived from ``seed`` and a stable name, so the same city, seed and dates give byte-identical files.
"""

from __future__ import annotations

import csv
import functools
import json
import os
import resource
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from doudi.core.idcard import CHECK_CHARS, check_chars_vec
from doudi.datapool.catalog import Field, Interface, load_catalog

DATA_DIR = Path(__file__).resolve().parent / "feeds_data"
CORE_DATA_DIR = Path(__file__).resolve().parent.parent / "core" / "data"
EPOCH = date(1970, 1, 1)
#: "no date" in day arrays and "no value" in integer/amount arrays
NULL_DAY = -(2**31)
NULL = -(2**62)
#: a day after every window: "never" (alive persons' death day)
NEVER = 2**31 - 1

#: Fault rates (deterministic by seed; each a share of the rows it can apply to).
FAULT_RATES: dict[str, float] = {
    # person ID numbers (the interface's person_field), mutually exclusive per row:
    "bad_check": 0.010,  # wrong check character, of all person rows
    "id15": 0.020,  # old 15-digit form, of the rows of persons born 1900–1999
    "lower_x": 0.20,  # lowercase x, of the rows whose number ends in X
    "fullwidth": 0.001,  # full-width digits ０-９, of all person rows
    # the person's name (the interface's name_field):
    "homophone": 0.010,  # one given-name character replaced by a homophone, of all person rows
    # whole rows:
    "duplicate": 0.005,  # the row is written twice in a row in the same file
    "bad_value": 0.002,  # an unreadable date or amount in a required field (quarantined on ingest)
    "resent": 0.030,  # share of a day's rows sent again in the next day's file
}
#: .xlsx only for files below this many rows (xlsxwriter writes ~100,000 cells a second)
XLSX_MAX_ROWS = 50_000
#: rows rendered and written at a time (bounds memory for the multi-million-row files)
CHUNK_ROWS = 1_000_000
RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other")
RELATION_ZH = ("户主", "配偶", "子女", "父母", "孙子女", "祖父母", "兄弟姐妹", "其他")
DISABILITY = ("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple")
STATUSES = ("present", "prison", "missing", "drug_rehab")
#: ID address codes of persons from outside Shandong (department data about non-residents); no
#: registry person carries them, so their numbers never collide with registry numbers
OUTSIDE_CODES = (210202, 210102, 130102, 410102, 320102, 230102, 220102, 340102, 120101, 110105)
#: statistical zones are not ID address codes (generator.py: their residents carry these)
ZONE_ID_CODE = {370671: 370613, 370676: 370611}
#: interfaces whose rows may be dated after the person's death
AFTER_DEATH = {
    "death_registration",
    "death_certificate",
    "cremation",
    "hukou_change",
    "population_registration",
    "court_declaration",
}


# --- reference tables ---------------------------------------------------------------------------


def _read_data_csv(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


@functools.lru_cache(maxsize=1)
def parameters() -> dict[str, float]:
    """``feeds_data/parameters.csv`` as ``{key: value}``."""
    return {r["key"]: float(r["value"]) for r in _read_data_csv("parameters.csv")}


@functools.lru_cache(maxsize=1)
def homophone_groups() -> tuple[str, ...]:
    """Groups of characters read alike (``feeds_data/homophones.csv``)."""
    return tuple(r["group"].strip() for r in _read_data_csv("homophones.csv") if r["group"])


@functools.lru_cache(maxsize=1)
def _lists() -> dict[str, list[tuple[str, str, float]]]:
    out: dict[str, list[tuple[str, str, float]]] = {}
    for r in _read_data_csv("lists.csv"):
        out.setdefault(r["list"], []).append((r["county"], r["value"], float(r["weight"])))
    return out


def _list(name: str) -> tuple[list[str], np.ndarray]:
    rows = _lists()[name]
    w = np.array([r[2] for r in rows])
    return [r[1] for r in rows], w / w.sum()


@functools.lru_cache(maxsize=1)
def _diseases() -> list[dict[str, str]]:
    return _read_data_csv("diseases.csv")


# --- small vectorised helpers -------------------------------------------------------------------


def _days(d: date) -> int:
    return (d - EPOCH).days


def _date(n: int) -> date:
    return EPOCH + timedelta(days=int(n))


def _add_months(d: date, k: int) -> date:
    y, m = divmod(d.month - 1 + k, 12)
    return date(d.year + y, m + 1, 1)


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = np.asarray(days, np.int64).astype("datetime64[D]")
    y = b.astype("datetime64[Y]").astype(np.int64) + 1970
    m = b.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (b - b.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, d


def _month_start(days: np.ndarray) -> np.ndarray:
    return (
        np.asarray(days, np.int64)
        .astype("datetime64[D]")
        .astype("datetime64[M]")
        .astype("datetime64[D]")
        .astype(np.int64)
    )


def _years_later(days: np.ndarray, years: np.ndarray | int) -> np.ndarray:
    """The same calendar day ``years`` later (29 February → 28 February)."""
    y, m, d = _ymd(days)
    y = y + years
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    d = np.where((m == 2) & (d == 29) & ~leap, 28, d)
    ms = ((y - 1970) * 12 + (m - 1)).astype("datetime64[M]").astype("datetime64[D]")
    return (ms + (d - 1)).astype(np.int64)


def _fixed(buf: np.ndarray) -> pa.Array:
    """A string array from an (n, w) uint8 array of ASCII bytes."""
    n, w = buf.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(buf))]
    )


def _digit_matrix(values: np.ndarray, width: int) -> np.ndarray:
    pow10 = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((np.asarray(values, np.int64)[:, None] // pow10) % 10).astype(np.uint8)


def _num(values: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal strings of non-negative integers."""
    return _fixed(_digit_matrix(values, width) + 48)


def _cat(*parts: Any) -> pa.Array:
    """Element-wise concatenation of string arrays and Python strings."""
    return pc.binary_join_element_wise(*parts, "")


def _take(values: list[str] | pa.Array, idx: np.ndarray) -> pa.Array:
    arr = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    idx = np.asarray(idx).astype(np.int64, copy=False)
    if idx.size and idx.min() < 0:
        return arr.take(pa.array(idx, mask=idx < 0))
    return arr.take(pa.array(idx))


def id_numbers(address: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> pa.Array:
    """18-character ID numbers from address codes, birth days and 3-digit sequences."""
    y, m, d = _ymd(birth)
    body = np.asarray(address, np.int64) * 10**11 + (y * 10000 + m * 100 + d) * 1000 + seq
    digits = _digit_matrix(body, 17)
    out = np.empty((len(body), 18), np.uint8)
    out[:, :17] = digits + 48
    out[:, 17] = check_chars_vec(digits).view(np.uint8)
    return _fixed(out)


_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])


def credit_codes(rng: np.random.Generator, county: np.ndarray, kind: np.ndarray) -> pa.Array:
    """Unified social credit codes (GB 32100-2015): "9" (market regulation), an entity-type
    digit (1 company, 2 individual business), the county code, 9 identifier characters and the
    check character (weights 3^i mod 31)."""
    n = len(county)
    vals = np.empty((n, 17), np.int64)
    vals[:, 0] = 9
    vals[:, 1] = kind
    vals[:, 2:8] = _digit_matrix(county, 6)
    vals[:, 8:17] = rng.integers(0, 31, (n, 9))
    vals[:, 8:16] = np.where(rng.random((n, 8)) < 0.7, rng.integers(0, 10, (n, 8)), vals[:, 8:16])
    check = (31 - (vals @ _CREDIT_WEIGHTS) % 31) % 31
    table = np.frombuffer(_CREDIT_CHARS.encode(), np.uint8)
    out = np.empty((n, 18), np.uint8)
    out[:, :17] = table[vals]
    out[:, 17] = table[check]
    return _fixed(out)


def _weighted(rng: np.random.Generator, n: int, p: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(np.cumsum(p), rng.random(n) * (1 - 1e-12)), len(p) - 1)


def _sample(rng: np.random.Generator, idx: np.ndarray, k: int, w: np.ndarray | None = None):
    """``k`` distinct elements of ``idx`` (weighted, without replacement), sorted."""
    idx = np.asarray(idx)
    k = int(min(max(k, 0), len(idx)))
    if k == 0:
        return idx[:0]
    if w is None:
        pick = rng.choice(len(idx), k, replace=False)
    else:
        keys = rng.random(len(idx)) ** (1.0 / np.maximum(w, 1e-12))  # Efraimidis–Spirakis
        pick = np.argpartition(-keys, k - 1)[:k]
    return np.sort(idx[pick])


def _count(rate_total: float, minimum: int = 3) -> int:
    return max(minimum, int(round(rate_total)))


def _lognormal(rng: np.random.Generator, median: Any, sigma: float, n: int) -> np.ndarray:
    return np.asarray(median) * np.exp(sigma * rng.standard_normal(n))


# --- the time window ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """History months [t0, t1) (the last one may be partial) and daily days [t1, t2 = as_of)."""

    t0: int
    t1: int
    t2: int
    months: tuple[int, ...]  # first days of the history months (one monthly file each)
    all_months: tuple[int, ...]  # first days of every month overlapping [t0, t2)

    @classmethod
    def build(cls, as_of: date, months: int, daily_days: int) -> Window:
        t1d = as_of - timedelta(days=daily_days)
        last = (t1d - timedelta(days=1)).replace(day=1)
        hist = [_add_months(last, k - months + 1) for k in range(months)]
        t0d = hist[0] if hist else t1d
        allm, m = [], t0d.replace(day=1)
        while m < as_of:
            allm.append(m)
            m = _add_months(m, 1)
        return cls(
            _days(t0d),
            _days(t1d),
            _days(as_of),
            tuple(_days(d) for d in hist),
            tuple(_days(d) for d in allm),
        )

    @property
    def daily(self) -> tuple[int, ...]:
        return tuple(range(self.t1, self.t2))

    @property
    def span(self) -> int:
        return self.t2 - self.t0

    def labels(self) -> list[str]:
        return [_date(d).strftime("%Y-%m") for d in self.months] + [
            _date(d).isoformat() for d in self.daily
        ]

    def bucket(self, day: np.ndarray, stock: np.ndarray | None) -> np.ndarray:
        """File index of each row: history months first, then the days; -1 = not yet known."""
        day = np.asarray(day, np.int64)
        hist = np.searchsorted(np.asarray(self.months, np.int64), day, side="right") - 1
        b = np.where(day < self.t1, np.maximum(hist, 0), len(self.months) + (day - self.t1))
        if stock is not None:
            b = np.where(stock, 0, b)
        return np.where((day >= self.t2) & (stock is None or ~stock), -1, b).astype(np.int64)

    def uniform(self, rng: np.random.Generator, n: int, lo: int | None = None) -> np.ndarray:
        lo = self.t0 if lo is None else lo
        return (lo + np.floor(rng.random(n) * (self.t2 - lo))).astype(np.int64)

    def month_of(self, day: np.ndarray) -> np.ndarray:
        """Index into ``all_months`` of each day."""
        return np.searchsorted(np.asarray(self.all_months), day, side="right") - 1


# --- the city -----------------------------------------------------------------------------------


class City:
    """The synthetic city as numpy arrays, the events of the window (deaths, births, outsiders),
    and the derived facts several feeds share (computed once, on first use)."""

    def __init__(self, city_dir: Path, seed: int, window: Window) -> None:
        self.seed = seed
        self.w = window
        self._shared: dict[str, Any] = {}
        self._load(Path(city_dir))
        self._people()

    # -- random streams ---------------------------------------------------------------------------

    def rng(self, name: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(name.encode("utf-8")), 0xFEED])

    # -- loading ----------------------------------------------------------------------------------

    def _load(self, city_dir: Path) -> None:
        vil = pq.read_table(city_dir / "villages.parquet")
        hh = pq.read_table(city_dir / "households.parquet")
        per = pq.read_table(
            city_dir / "persons.parquet",
            columns=[
                "household_id",
                "relation",
                "id_number",
                "name",
                "sex",
                "birth_date",
                "disability_category",
                "disability_grade",
                "monthly_income_yuan",
                "employed",
                "self_care_failed_activities",
                "tekun",
                "dibao",
                "status",
            ],
        )
        with (CORE_DATA_DIR / "yantai_divisions.csv").open(encoding="utf-8", newline="") as fh:
            div = list(csv.DictReader(line for line in fh if not line.startswith("#")))
        counties = [r for r in div if r["level"] == "county"]
        towns = [r for r in div if r["level"] not in ("county", "city")]
        self.c_code = pa.array([r["code"] for r in counties], pa.string())
        self.c_num = np.array([int(r["code"]) for r in counties], np.int64)
        self.c_name = pa.array([r["name"] for r in counties], pa.string())
        self.c_full = pa.array(
            [
                r["name"]
                if r["name"].startswith("烟台") or r["name"].endswith("市")
                else "烟台市" + r["name"]
                for r in counties
            ],
            pa.string(),
        )
        self.c_names = [r["name"] for r in counties]
        self.t_code = pa.array([r["code"] for r in towns], pa.string())
        self.t_name = pa.array([r["name"] for r in towns], pa.string())
        self.t_county = np.array(
            [
                self.c_names.index(
                    next(c["name"] for c in counties if c["code"] == r["parent_code"])
                )
                for r in towns
            ]
        )

        self.v_code = vil["code"].combine_chunks()
        self.v_name = vil["name"].combine_chunks()
        self.v_town = np.asarray(
            pc.index_in(vil["town_code"], self.t_code).to_numpy(False), np.int32
        )
        self.v_county = self.t_county[self.v_town].astype(np.int32)
        self.V = vil.num_rows

        self.H = hh.num_rows
        self.h_village = np.asarray(pc.index_in(hh["village_code"], self.v_code).to_numpy(False))
        self.h_hukou = np.asarray(
            pc.index_in(hh["hukou_village_code"], self.v_code).to_numpy(False)
        )
        self.h_urban = np.asarray(pc.equal(hh["residence_type"], "urban").to_numpy(False), bool)
        self.h_size = hh["size"].to_numpy().astype(np.int64)
        self.h_head = (hh["head_person_id"].to_numpy() - 1).astype(np.int32)
        self.h_assets = hh["financial_assets_yuan"].to_numpy().astype(np.int64)
        self.h_vehicles = hh["vehicles"].to_numpy().astype(np.int64)
        self.h_dwellings = hh["dwellings"].to_numpy().astype(np.int64)
        self.h_business = np.asarray(hh["business_registered"].to_numpy(False), bool)
        self.h_dibao = np.asarray(hh["dibao"].to_numpy(False), bool)
        self.h_address = hh["address"].combine_chunks()
        del hh, vil

        self.N = per.num_rows
        self.ids = per["id_number"].combine_chunks()
        self.names = per["name"].combine_chunks()
        self.p_hh = (per["household_id"].to_numpy() - 1).astype(np.int32)
        self.p_rel = np.asarray(
            pc.index_in(per["relation"], pa.array(RELATIONS)).to_numpy(False), np.int8
        )
        self.p_male = np.asarray(pc.equal(per["sex"], "M").to_numpy(False), bool)
        self.p_birth = pc.cast(per["birth_date"], pa.int32()).to_numpy().astype(np.int32)
        cat = pc.index_in(per["disability_category"], pa.array(DISABILITY))
        self.p_dcat = np.asarray(pc.fill_null(cat, -1).to_numpy(False), np.int8)
        self.p_dgrade = np.asarray(
            pc.fill_null(per["disability_grade"], 0).to_numpy(False), np.int8
        )
        self.p_income = per["monthly_income_yuan"].to_numpy().astype(np.int32)
        self.p_employed = np.asarray(per["employed"].to_numpy(False), bool)
        self.p_selfcare = per["self_care_failed_activities"].to_numpy().astype(np.int8)
        self.p_tekun = np.asarray(per["tekun"].to_numpy(False), bool)
        self.p_dibao = np.asarray(per["dibao"].to_numpy(False), bool)
        self.p_status = np.asarray(
            pc.index_in(per["status"], pa.array(STATUSES)).to_numpy(False), np.int8
        )
        del per

        # derived
        self.p_village = self.h_village[self.p_hh]
        self.p_hukou = self.h_hukou[self.p_hh]
        self.p_urban = self.h_urban[self.p_hh]
        self.p_county = self.v_county[self.p_village]
        self.p_hcounty = self.v_county[self.p_hukou]
        self.p_town = self.v_town[self.p_village]
        self.p_htown = self.v_town[self.p_hukou]
        self.p_head = self.h_head[self.p_hh]
        y, m, d = _ymd(self.p_birth)
        ay, am, ad = (int(v[0]) for v in _ymd(np.array([self.w.t2])))
        self.p_age = (ay - y - ((m > am) | ((m == am) & (d > ad)))).astype(np.int32)
        self.p_present = self.p_status == 0
        sp = np.flatnonzero(self.p_rel == 1)
        heads = self.h_head[self.p_hh[sp]]
        self.p_spouse = np.full(self.N, -1, np.int32)
        self.p_spouse[sp] = heads
        self.p_spouse[heads] = sp
        self.p_severe = (
            (self.p_dgrade == 1)
            | (self.p_dgrade == 2)
            | ((self.p_dgrade == 3) & np.isin(self.p_dcat, [4, 5]))
        )
        # per-capita household income and the 低保 standard of each household
        p = parameters()
        hh_income = np.bincount(self.p_hh, weights=self.p_income, minlength=self.H)
        self.h_pc_income = hh_income / np.maximum(self.h_size, 1)
        self.h_standard = np.where(
            self.h_urban, p["dibao_standard_urban"], p["dibao_standard_rural"]
        )

    # -- events and the people table --------------------------------------------------------------

    def _people(self) -> None:
        """Deaths in the window; outsiders and newborns; the people table (registry persons first,
        then persons not in the registry) that every feed row refers to."""
        w, N = self.w, self.N
        p = parameters()
        rng = self.rng("deaths")
        age = self.p_age.astype(float)
        q = 6.0e-5 * np.exp(0.0852 * np.minimum(age, 105))
        frail = (
            1.0
            + 2.0 * (self.p_selfcare >= 4)
            + 0.6 * ((self.p_selfcare >= 1) & (self.p_selfcare <= 3))
            + 0.5 * self.p_severe
            + 0.4 * (self.chronic >= 0)
        )
        q = q * frail * self.p_present
        expected = p["death_rate"] * N * w.span / 365.25
        prob = np.clip(q * expected / max(q.sum(), 1e-12), 0, 0.9)
        dead = rng.random(N) < prob
        if not dead.any() and N:  # a tiny city still gets a death
            dead[int(np.argmax(prob))] = True
        self.death = np.full(N, NEVER, np.int32)
        self.death[dead] = w.uniform(rng, int(dead.sum()))
        self.dead = np.flatnonzero(dead)

        # outsiders: persons of department data who are not in the registry
        rng = self.rng("outsiders")
        k = max(60, int(N * p["outsider_share"]))
        o_male = rng.random(k) < 0.55
        o_birth = w.t2 - (365.25 * rng.uniform(18, 62, k)).astype(np.int64)
        o_addr = np.array(OUTSIDE_CODES)[rng.integers(0, len(OUTSIDE_CODES), k)]
        o_seq = 2 * rng.integers(1, 500, k) - o_male  # odd for men
        o_ids = id_numbers(o_addr, o_birth, o_seq)
        uniq = np.unique(np.asarray(o_ids.to_numpy(False)), return_index=True)[1]
        keep = np.sort(uniq)
        o_ids, o_male, o_birth = o_ids.take(pa.array(keep)), o_male[keep], o_birth[keep]
        o_names = self._compose(rng, len(keep), o_male, o_birth, None)
        self.outsiders = np.arange(N, N + len(keep))

        # births: mothers 20–44, mostly married; the children are new persons
        rng = self.rng("births")
        cand = np.flatnonzero(
            ~self.p_male
            & (self.p_age >= 20)
            & (self.p_age <= 44)
            & self.p_present
            & (self.death == NEVER)
        )
        wgt = np.exp(-0.5 * ((self.p_age[cand] - 30) / 5.0) ** 2) * np.where(
            self.p_spouse[cand] >= 0, 4.0, 1.0
        )
        nb = _count(p["birth_rate"] * N * w.span / 365.25)
        mothers = _sample(rng, cand, nb, wgt)
        nb = len(mothers)
        b_day = w.uniform(rng, nb)
        b_male = rng.random(nb) < 0.515
        fathers = self.p_spouse[mothers]
        surname_src = np.where(fathers >= 0, fathers, mothers)
        surname = pc.utf8_slice_codeunits(_take(self.names, surname_src), 0, 1)
        b_names = self._compose(rng, nb, b_male, b_day, surname)
        addr = self.c_num[self.p_hcounty[mothers]]
        addr = np.where(addr == 370671, 370613, np.where(addr == 370676, 370611, addr))
        seq = 2 * rng.integers(1, 500, nb) - b_male
        b_ids = id_numbers(addr, b_day, seq)
        for _ in range(20):  # a newborn's number must not be a registry number
            clash = np.asarray(pc.is_in(b_ids, value_set=self.ids).to_numpy(False), bool)
            clash |= np.asarray(pc.is_in(b_ids, value_set=o_ids).to_numpy(False), bool)
            _, first = np.unique(np.asarray(b_ids.to_numpy(False)), return_index=True)
            dup = np.ones(nb, bool)
            dup[first] = False
            clash |= dup
            if not clash.any():
                break
            seq = np.where(clash, 2 * rng.integers(1, 500, nb) - b_male, seq)
            b_ids = id_numbers(addr, b_day, seq)
        self.births = {
            "mother": mothers,
            "father": fathers,
            "day": b_day,
            "male": b_male,
            "person": np.arange(N + len(keep), N + len(keep) + nb),
        }

        self.people_ids = pa.concat_arrays([self.ids, o_ids, b_ids])
        self.people_names = pa.concat_arrays([self.names, o_names, b_names])
        self.ids = self.people_ids.slice(0, N)  # one copy of the registry's strings
        self.names = self.people_names.slice(0, N)
        self.people_birth = np.concatenate([self.p_birth, o_birth, b_day]).astype(np.int32)
        self.people_male = np.concatenate([self.p_male, o_male, b_male])
        self.NP = len(self.people_birth)
        self.people_typo = homophone_variants(self.people_names, self.rng("typos"))
        self.people_year = _ymd(self.people_birth)[0].astype(np.int16)
        self.people_ends_x = np.asarray(pc.ends_with(self.people_ids, "X").to_numpy(False), bool)
        self.people_has_typo = ~np.asarray(pc.is_null(self.people_typo).to_numpy(False), bool)

    def _compose(self, rng, n, male, birth_day, surname: pa.Array | None) -> pa.Array:
        """Names drawn like the registry's (``names.compose_names``); with ``surname`` given (a
        newborn takes the father's), only the given name is drawn."""
        from doudi.synth import names as _names

        year = _ymd(birth_day)[0]
        if surname is None:
            return _names.compose_names(rng, _names.draw_surnames(rng, n), male, year)[0]
        t = _names.name_tables()
        single = next(i for i, s in enumerate(t.surnames.tolist()) if len(s) == 1)
        full, _ = _names.compose_names(rng, np.full(n, single, np.int16), male, year)
        return _cat(surname, pc.utf8_slice_codeunits(full, 1))

    # -- shared derived facts ---------------------------------------------------------------------

    @functools.cached_property
    def chronic(self) -> np.ndarray:
        """Index into diseases.csv of each person's certified chronic disease, or -1."""
        rng = self.rng("chronic")
        age = self.p_age
        base = np.select(
            [age < 30, age < 45, age < 60, age < 70, age < 80],
            [0.004, 0.02, 0.08, 0.17, 0.26],
            0.32,
        )
        base = base * np.where(self.p_dgrade > 0, 1.5, 1.0) * self.p_present
        has = rng.random(self.N) < base
        dis = _diseases()
        w = np.array([float(r["weight"]) * (r["mental"] != "1") for r in dis])
        out = np.where(has, _weighted(rng, self.N, w / w.sum()), -1)
        mental = [i for i, r in enumerate(dis) if r["mental"] == "1"]
        if mental:
            out = np.where(has & (self.p_dcat == 5), mental[0], out)
        return out.astype(np.int8)

    def alive(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        person = np.asarray(person)
        d = np.where(person < self.N, self.death[np.minimum(person, self.N - 1)], NEVER)
        return np.asarray(day) < d

    def region(self, person: np.ndarray) -> R:
        """The 12-digit village code of each person's household registration."""
        return R(self.p_hukou[person], self.v_code)

    def per_county(self, fmt: str) -> pa.Array:
        """``fmt`` filled with each county's name (``{c}``), full name (``{f}``) and code."""
        return pa.array(
            [
                fmt.format(c=c, f=f, code=code)
                for c, f, code in zip(
                    self.c_names, self.c_full.to_pylist(), self.c_code.to_pylist(), strict=True
                )
            ],
            pa.string(),
        )

    def per_town(self, fmt: str) -> pa.Array:
        return pa.array(
            [
                fmt.format(t=t, c=self.c_names[cty], f=self.c_full[cty].as_py())
                for t, cty in zip(self.t_name.to_pylist(), self.t_county, strict=True)
            ],
            pa.string(),
        )

    def in_county(self, rng, names: str, county: np.ndarray) -> tuple[np.ndarray, pa.Array]:
        """One entry of list ``names`` per row, from the row's county when the list has some."""
        rows = _lists()[names]
        values = pa.array([r[1] for r in rows], pa.string())
        out = np.empty(len(county), np.int64)
        codes = self.c_code.to_pylist()
        general = np.array([r[2] if not r[0] else 0.0 for r in rows])
        for ci, code in enumerate(codes):
            sel = county == ci
            if not sel.any():
                continue
            w = np.array([r[2] if r[0] == code else 0.0 for r in rows])
            if w.sum() == 0:
                w = general if general.sum() else np.array([r[2] for r in rows])
            out[sel] = _weighted(rng, int(sel.sum()), w / w.sum())
        return out, values

    def monthly(
        self,
        persons: np.ndarray,
        dom: np.ndarray | int,
        start: np.ndarray | None = None,
        end: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows (person, day, month index) for each month of the window, on day ``dom`` of the
        month, kept while start <= day < end, the person is alive and the day is in the window."""
        persons = np.asarray(persons, np.int64)
        dom = np.broadcast_to(np.asarray(dom, np.int64), persons.shape)
        out_p, out_d, out_m = [], [], []
        for k, ms in enumerate(self.w.all_months):
            day = ms + np.minimum(dom, 28) - 1
            keep = (day >= self.w.t0) & (day < self.w.t2) & self.alive(persons, day)
            if start is not None:
                keep &= day >= start
            if end is not None:
                keep &= day < end
            sel = np.flatnonzero(keep)
            out_p.append(persons[sel])
            out_d.append(day[sel])
            out_m.append(np.full(len(sel), k, np.int64))
        return np.concatenate(out_p), np.concatenate(out_d), np.concatenate(out_m)


# --- columns and rows ---------------------------------------------------------------------------


@dataclass
class R:
    """Text by reference: ``values[idx]`` (idx < 0: empty)."""

    idx: np.ndarray
    values: pa.Array

    def __post_init__(self) -> None:
        self.idx = np.asarray(self.idx).astype(np.int32, copy=False)

    def take(self, sel: np.ndarray) -> R:
        return R(np.asarray(self.idx)[sel], self.values)


@dataclass
class D:
    """Dates as day numbers (``NULL_DAY``: empty), written in the file's date style."""

    days: np.ndarray

    def __post_init__(self) -> None:
        self.days = np.asarray(self.days).astype(np.int32, copy=False)

    def take(self, sel: np.ndarray) -> D:
        return D(np.asarray(self.days)[sel])


@dataclass
class M:
    """Decimals in hundredths (``NULL``: empty). ``amount``: yuan (may get thousands separators);
    otherwise a quantity such as an area."""

    fen: np.ndarray
    amount: bool = True

    def take(self, sel: np.ndarray) -> M:
        return M(np.asarray(self.fen)[sel], self.amount)


@dataclass
class I:  # noqa: E742 - a short name like its siblings
    """Integers (``NULL``: empty)."""

    v: np.ndarray

    def take(self, sel: np.ndarray) -> I:
        return I(np.asarray(self.v)[sel])


@dataclass
class E:
    """Enum values: ``keys[codes]`` are canonical values, written with one of their declared
    spellings (``mix``: two spellings alternate within a file); codes < 0: empty."""

    codes: np.ndarray
    keys: tuple[str, ...]
    mix: bool = False

    def __post_init__(self) -> None:
        self.codes = np.asarray(self.codes).astype(np.int8, copy=False)

    def take(self, sel: np.ndarray) -> E:
        return E(np.asarray(self.codes)[sel], self.keys, self.mix)


@dataclass
class B:
    """Booleans: 1, 0 or -1 (empty)."""

    v: np.ndarray

    def take(self, sel: np.ndarray) -> B:
        return B(np.asarray(self.v)[sel])


@dataclass
class T:
    """Literal text (nulls: empty)."""

    text: pa.Array

    def take(self, sel: np.ndarray) -> T:
        return T(self.text.take(pa.array(np.asarray(sel, np.int64))))


Column = R | D | M | I | E | B | T


def money(yuan: np.ndarray | float) -> np.ndarray:
    """Yuan (float) → hundredths (int64), rounded to the fen."""
    return np.round(np.asarray(yuan, np.float64) * 100).astype(np.int64)


def whole(yuan: np.ndarray | float) -> np.ndarray:
    """Yuan rounded to whole yuan, in hundredths."""
    return np.round(np.asarray(yuan, np.float64)).astype(np.int64) * 100


class Rows:
    """The records of one interface before writing: who each row is about (``person``: index into
    the people table, -1 for area rows), the day that decides its file (``day``), whether it
    belongs to the initial export (``stock``: in the first file whatever its date), and columns by
    field name. The person field and name field default to the person's ID number and name."""

    def __init__(self, person: np.ndarray, day: np.ndarray, stock: np.ndarray | None = None):
        self.person = np.asarray(person).astype(np.int32, copy=False)
        self.day = np.asarray(day).astype(np.int32, copy=False)
        self.stock = None if stock is None else np.asarray(stock, bool)
        self.cols: dict[str, Column] = {}

    @property
    def n(self) -> int:
        return len(self.person)

    def __setitem__(self, name: str, col: Column | pa.Array) -> None:
        self.cols[name] = T(col) if isinstance(col, pa.Array) else col

    def subset(self, sel: np.ndarray) -> Rows:
        out = Rows(self.person[sel], self.day[sel], None if self.stock is None else self.stock[sel])
        out.cols = {k: c.take(sel) for k, c in self.cols.items()}
        return out


def homophone_variants(names: pa.Array, rng: np.random.Generator) -> pa.Array:
    """Each name with one given-name character replaced by a homophone (``homophones.csv``): the
    last character if it has homophones, else the one before it (three-character names); null
    where neither has."""
    groups = homophone_groups()
    chars = [c for g in groups for c in g]
    start = np.array([sum(len(x) for x in groups[:i]) for i, g in enumerate(groups) for _ in g])
    size = np.array([len(g) for g in groups for _ in g])
    pos = np.array([j for g in groups for j in range(len(g))])
    table = pa.array(chars, pa.string())
    n = len(names)
    length = np.asarray(pc.utf8_length(names).to_numpy(False), np.int64)
    last = pc.index_in(pc.utf8_slice_codeunits(names, -1), value_set=table)
    prev = pc.index_in(pc.utf8_slice_codeunits(names, -2, -1), value_set=table)
    i_last = np.asarray(pc.fill_null(last, -1).to_numpy(False), np.int64)
    i_prev = np.where(length >= 3, np.asarray(pc.fill_null(prev, -1).to_numpy(False)), -1)
    use_last = (i_last >= 0) & ((i_prev < 0) | (rng.random(n) < 0.6))
    ci = np.where(use_last, i_last, i_prev)
    ok = ci >= 0
    cs = np.maximum(ci, 0)
    alt = start[cs] + (pos[cs] + 1 + np.floor(rng.random(n) * (size[cs] - 1))) % size[cs]
    alt_char = _take(table, np.where(ok, alt, -1))
    head_last = pc.utf8_slice_codeunits(names, 0, -1)
    head_prev = pc.utf8_slice_codeunits(names, 0, -2)
    tail_prev = pc.utf8_slice_codeunits(names, -1)
    v_last = _cat(head_last, alt_char)
    v_prev = _cat(head_prev, alt_char, tail_prev)
    return pc.if_else(pa.array(use_last), v_last, v_prev)


# --- formats ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    """How a department writes its files."""

    encoding: str = "utf-8"  # utf-8 | utf-8-sig | gbk (written as GB18030, identical for GBK text)
    date: str = "iso"  # iso 2025-01-05 | slash 2025/1/5 | cn 2025年1月5日 | compact 20250105 | dot
    money: str = "plain"  # plain 1234.50 | trim 1234.5 | comma 1,234.50
    mixed_dates: bool = False  # dates in all styles within one file
    xlsx: bool = False  # monthly files as .xlsx when under XLSX_MAX_ROWS rows
    xlsx_dates: str = "cell"  # cell (Excel date) | serial (a bare number) | text
    xlsx_money: str = "number"  # number | text
    title: bool = False  # CSV monthly files start with a title line
    jsonl: str = ""  # "" | "all" | "daily"
    eol: str = "\n"
    boolean: str = "是否"  # 是否 | 10


#: departments' formats (deterministic; unknown departments get the default)
DEPARTMENT_FORMATS: dict[str, Format] = {
    "civil_affairs": Format(encoding="gbk", date="cn", title=True, eol="\r\n"),
    "public_security": Format(encoding="gbk", date="compact", eol="\r\n", boolean="10"),
    "human_resources": Format(encoding="utf-8-sig", date="slash", money="trim"),
    "medical_insurance": Format(money="comma", mixed_dates=True),
    "health": Format(encoding="utf-8-sig"),
    "disability_federation": Format(xlsx=True, date="slash"),
    "education": Format(xlsx=True, xlsx_dates="text", date="dot"),
    "natural_resources": Format(date="cn"),
    "housing": Format(xlsx=True, money="comma", xlsx_money="text"),
    "market_regulation": Format(),
    "tax": Format(money="comma"),
    "provident_fund": Format(encoding="utf-8-sig", date="compact"),
    "financial": Format(),
    "agriculture": Format(xlsx=True, xlsx_dates="serial"),
    "justice": Format(xlsx=True),
    "court": Format(xlsx=True, date="cn", xlsx_dates="text"),
    "emergency": Format(xlsx=True, jsonl="daily"),
    "meteorology": Format(jsonl="all"),
    "veterans": Format(xlsx=True, money="trim"),
    "trade_union": Format(xlsx=True, xlsx_dates="text", date="slash"),
    "ocean_fishery": Format(encoding="gbk", date="slash", title=True),
}
DATE_STYLES = ("iso", "slash", "cn", "compact")
_DATE_LO = _days(date(1880, 1, 1))
_DATE_HI = _days(date(2101, 1, 1))
EXCEL_EPOCH = _days(date(1899, 12, 30))
BAD_DATES = ("2025-02-30", "2025-13-01", "2025/00/12", "0000-00-00", "待补录")
BAD_AMOUNTS = ("待核实", "12.3a", "--", "1.2.3", "#VALUE!")


@functools.cache
def _date_table(style: str) -> pa.Array:
    """The text of every day from 1880 to 2100 in one style (looked up by day number)."""
    iso = pa.array(np.arange(_DATE_LO, _DATE_HI).astype("datetime64[D]").astype(str), pa.string())
    if style == "iso":
        return iso
    y = pc.utf8_slice_codeunits(iso, 0, 4)
    m2 = pc.utf8_slice_codeunits(iso, 5, 7)
    d2 = pc.utf8_slice_codeunits(iso, 8, 10)
    if style == "compact":
        return _cat(y, m2, d2)
    m = pc.utf8_ltrim(m2, "0")
    d = pc.utf8_ltrim(d2, "0")
    if style == "slash":
        return _cat(y, "/", m, "/", d)
    if style == "cn":
        return _cat(y, "年", m, "月", d, "日")
    return _cat(y, ".", m, ".", d)  # dot


def date_text(days: np.ndarray, style: str) -> pa.Array:
    days = np.asarray(days, np.int64)
    null = (days < _DATE_LO) | (days >= _DATE_HI)
    return _take(_date_table(style), np.where(null, -1, days - _DATE_LO))


def money_text(fen: np.ndarray, style: str) -> pa.Array:
    """Decimal text: plain "1234.50", trim "1234.5" / "1234", comma "1,234.50" (exact: every
    value below 10^9 yuan was checked against integer formatting)."""
    fen = np.asarray(fen, np.int64)
    null = fen == NULL
    value = pa.array(np.where(null, 0, fen) / 100.0, mask=null if null.any() else None)
    if style == "trim":
        return pc.cast(value, pa.string())
    plain = pc.cast(pc.cast(value, pa.decimal128(18, 2)), pa.string())
    if style != "comma":
        return plain
    yuan = np.abs(np.where(null, 0, fen)) // 100
    big = yuan >= 1000
    if not big.any():
        return plain
    # insert thousands separators into the integer part of the values of 1,000 yuan and more
    sub = plain.filter(pa.array(big))
    y = yuan[big]
    cents = pc.utf8_slice_codeunits(sub, -3)  # ".50"
    lo = pc.utf8_lpad(pc.cast(pa.array(y % 1000), pa.string()), 3, "0")
    mid = pc.utf8_lpad(pc.cast(pa.array((y // 1000) % 1000), pa.string()), 3, "0")
    sign = pc.if_else(pa.array(fen[big] < 0), "-", "")
    two = _cat(sign, pc.cast(pa.array(y // 1000), pa.string()), ",", lo, cents)
    three = _cat(sign, pc.cast(pa.array(y // 1_000_000), pa.string()), ",", mid, ",", lo, cents)
    top = pc.utf8_lpad(pc.cast(pa.array((y // 1_000_000) % 1000), pa.string()), 3, "0")
    four = _cat(
        sign, pc.cast(pa.array(y // 1_000_000_000), pa.string()), ",", top, ",", mid, ",", lo, cents
    )
    grouped = pc.if_else(
        pa.array(y < 1_000_000), two, pc.if_else(pa.array(y < 1_000_000_000), three, four)
    )
    return pc.replace_with_mask(plain, pa.array(big), grouped)


def _spellings(field: Field) -> dict[str, list[str]]:
    """Realistic spellings of each canonical value: the declared ones that are not English codes
    (a canonical value is itself a spelling when it is, e.g., a digit)."""

    def realistic(s: str) -> bool:
        return not s.isascii() or s.isdigit()

    out = {}
    for canonical, spelled in field.values.items():
        opts = [s for s in (canonical, *spelled) if realistic(s)]
        out[canonical] = opts or [canonical]
    return out


# --- writing one interface ----------------------------------------------------------------------


@dataclass
class _Faults:
    id_code: np.ndarray  # 0 none, 1 bad_check, 2 id15, 3 lower_x, 4 fullwidth
    typo: np.ndarray
    bad: np.ndarray
    dup: np.ndarray
    resend: np.ndarray
    bad_field: str | None


ID_FAULTS = ("", "bad_check", "id15", "lower_x", "fullwidth")


def _faults(city: City, iface: Interface, rows: Rows, rng: np.random.Generator) -> _Faults:
    n = rows.n
    rate = FAULT_RATES
    person = rows.person
    is_person = (person >= 0) & bool(iface.person_field)
    pp = np.maximum(person, 0)
    u = rng.random(n)
    year = city.people_year[pp]
    ends_x = city.people_ends_x[pp]
    code = np.zeros(n, np.int8)
    code[u < rate["bad_check"]] = 1
    u2 = rng.random(n)
    code[(code == 0) & (year >= 1900) & (year <= 1999) & (u2 < rate["id15"])] = 2
    u3 = rng.random(n)
    code[(code == 0) & ends_x & (u3 < rate["lower_x"])] = 3
    code[(code == 0) & (rng.random(n) < rate["fullwidth"])] = 4
    code[~is_person] = 0
    has_typo = city.people_has_typo
    share = max(float(has_typo.mean()), 1e-6) if len(has_typo) else 1.0
    typo = is_person & has_typo[pp] & (rng.random(n) < min(1.0, rate["homophone"] / share))
    if not iface.name_field or iface.name_field in rows.cols:
        typo[:] = False
    targets = [
        f.name
        for f in iface.fields
        if f.required and f.type in ("date", "decimal") and f.name in rows.cols
    ]
    bad_field = targets[int(zlib.crc32(iface.code.encode()) % len(targets))] if targets else None
    bad = (rng.random(n) < rate["bad_value"]) & (bad_field is not None)
    dup = rng.random(n) < rate["duplicate"]
    resend = rng.random(n) < rate["resent"]
    return _Faults(code, typo, bad, dup, resend, bad_field)


def _render_ids(city: City, person: np.ndarray, code: np.ndarray) -> pa.Array:
    ids = _take(city.people_ids, np.where(person >= 0, person, -1))
    for k in (1, 2, 3, 4):
        mask = code == k
        if not mask.any():
            continue
        sub = ids.filter(pa.array(mask))
        if k == 1:  # another check character
            last = pc.index_in(
                pc.utf8_slice_codeunits(sub, 17, 18), value_set=pa.array(list(CHECK_CHARS))
            )
            li = np.asarray(pc.fill_null(last, 0).to_numpy(False), np.int64)
            shift = 1 + (person[mask] * 7919 + 13) % 10
            new = _cat(
                pc.utf8_slice_codeunits(sub, 0, 17), _take(list(CHECK_CHARS), (li + shift) % 11)
            )
        elif k == 2:  # 15 digits: no "19", no check character
            new = _cat(pc.utf8_slice_codeunits(sub, 0, 6), pc.utf8_slice_codeunits(sub, 8, 17))
        elif k == 3:
            new = pc.utf8_lower(sub)
        else:
            new = sub
            for digit in "0123456789":
                new = pc.replace_substring(new, digit, chr(0xFF10 + int(digit)))
        ids = pc.replace_with_mask(ids, pa.array(mask), new)
    return ids


def _render(
    city: City,
    iface: Interface,
    rows: Rows,
    faults: _Faults,
    pos: np.ndarray,
    fmt: Format,
    kind: str,
) -> list[tuple[Field, Any, str]]:
    """The columns of one file (or chunk) in declaration order: (field, values, how) with how =
    "text" (a string array), "number" (a float list: xlsx amounts), "serial" / "datecell" (Excel
    day numbers: xlsx dates) or "json" (strings that are valid JSON values, for JSON lines)."""
    out = []
    person = rows.person[pos]
    n = len(pos)
    for f in iface.fields:
        col = rows.cols.get(f.name)
        how = "text"
        if f.name == iface.person_field and col is None:
            arr = _render_ids(city, person, faults.id_code[pos])
        elif f.name == iface.name_field and col is None:
            arr = _take(city.people_names, np.where(person >= 0, person, -1))
            typo = faults.typo[pos]
            if typo.any():
                variants = _take(city.people_typo, np.where(typo, person, -1))
                arr = pc.if_else(pa.array(typo), variants, arr)
        elif col is None:
            arr = pa.nulls(n, pa.string())
        elif isinstance(col, R):
            arr = _take(col.values, np.asarray(col.idx)[pos])
        elif isinstance(col, T):
            arr = col.text.take(pa.array(pos))
        elif isinstance(col, D):
            days = np.asarray(col.days)[pos]
            if kind == "xlsx" and fmt.xlsx_dates != "text":
                arr = np.where((days >= _DATE_LO) & (days < _DATE_HI), days - EXCEL_EPOCH, -1)
                how = "serial" if fmt.xlsx_dates == "serial" else "datecell"
            elif fmt.mixed_dates:
                style = (pos * 2654435761 >> 7) % len(DATE_STYLES)
                arr = date_text(days, DATE_STYLES[0])
                for s in range(1, len(DATE_STYLES)):
                    arr = pc.if_else(pa.array(style == s), date_text(days, DATE_STYLES[s]), arr)
            else:
                arr = date_text(days, fmt.date)
        elif isinstance(col, M):
            fen = np.asarray(col.fen)[pos]
            if kind == "xlsx" and fmt.xlsx_money == "number":
                arr = np.where(fen == NULL, np.nan, fen / 100.0)
                how = "number"
            elif kind == "jsonl":
                arr = money_text(fen, "trim")
                how = "json"
            else:
                arr = money_text(fen, fmt.money if col.amount else "trim")
        elif isinstance(col, I):
            v = np.asarray(col.v)[pos]
            arr = pc.cast(pa.array(v, mask=v == NULL), pa.string())
        elif isinstance(col, B):
            v = np.asarray(col.v)[pos]
            yes, no = ("1", "0") if fmt.boolean == "10" else ("是", "否")
            arr = _take([no, yes], np.where(v < 0, -1, v))
        elif isinstance(col, E):
            arr = _render_enum(iface, f, col, pos)
        else:  # pragma: no cover
            raise TypeError(type(col))
        if f.name == faults.bad_field:
            bad = faults.bad[pos]
            if bad.any():
                pool = BAD_DATES if f.type == "date" else BAD_AMOUNTS
                junk = _take(list(pool), np.where(bad, pos % len(pool), -1))
                if how in ("number", "serial", "datecell"):
                    arr = [
                        j if b else v
                        for v, b, j in zip(arr.tolist(), bad, junk.to_pylist(), strict=True)
                    ]
                elif how == "json":
                    arr = pc.if_else(pa.array(bad), _cat('"', junk, '"'), arr)
                else:
                    arr = pc.if_else(pa.array(bad), junk, arr)
        out.append((f, arr, how))
    return out


def _render_enum(iface: Interface, f: Field, col: E, pos: np.ndarray) -> pa.Array:
    spell = _spellings(f)
    codes = np.asarray(col.codes)[pos]
    keys = [k if k in spell else next(iter(spell)) for k in col.keys]
    pick = 0 if col.mix else int(zlib.crc32(f"{iface.department}:{f.name}".encode()) % 3 == 2)
    first = [spell[k][min(pick, len(spell[k]) - 1)] for k in keys]
    arr = _take(first, codes)
    if col.mix:
        second = [spell[k][min(1, len(spell[k]) - 1)] for k in keys]
        alt = (pos * 2654435761 >> 9) % 2 == 1
        arr = pc.if_else(pa.array(alt), _take(second, codes), arr)
    return arr


def _text_table(cols: list[tuple[Field, Any, str]]) -> pa.Table:
    return pa.table({f.header: arr for f, arr, _ in cols})


def _write_csv(path: Path, chunks, fmt: Format, title: str | None) -> None:
    """CSV in the department's encoding: pyarrow's writer, then (GBK) a re-encoding in C."""
    quoting = "needed" if fmt.money == "comma" else "none"
    with pa.OSFile(str(path), "wb") as fh:
        if fmt.encoding == "utf-8-sig":
            fh.write(b"\xef\xbb\xbf")
        if title:
            fh.write((title + fmt.eol).encode("gb18030" if fmt.encoding == "gbk" else "utf-8"))
        first = True
        for table in chunks:
            for style in (quoting, "needed"):
                try:
                    buf = pa.BufferOutputStream()
                    pacsv.write_csv(
                        table,
                        buf,
                        pacsv.WriteOptions(
                            include_header=first,
                            quoting_style=style,
                            quoting_header="none",
                            eol=fmt.eol,
                            batch_size=65536,
                        ),
                    )
                    break
                except pa.ArrowInvalid:  # a value with a comma or quote: quote the strings
                    if style == "needed":
                        raise
            data = buf.getvalue()
            if fmt.encoding == "gbk":  # GB18030 encodes GBK text exactly as GBK does
                fh.write(memoryview(data).tobytes().decode("utf-8").encode("gb18030"))
            else:
                fh.write(data)
            del data, buf
            first = False


def _write_jsonl(path: Path, chunks) -> None:
    with open(path, "wb") as fh:
        for cols in chunks:
            parts: list[Any] = ["{"]
            for i, (f, arr, how) in enumerate(cols):
                key = json.dumps(f.header, ensure_ascii=False)
                parts.append(("," if i else "") + key + ":")
                if how == "json":
                    parts.append(pc.fill_null(arr, '""'))
                else:
                    esc = pc.replace_substring(pc.fill_null(arr, ""), "\\", "\\\\")
                    esc = pc.replace_substring(esc, '"', '\\"')
                    parts.extend(['"', esc, '"'])
            parts.append("}\n")
            if not len(cols[0][1]):
                continue
            lines = _cat(*parts)
            bufs = lines.buffers()
            offs = np.frombuffer(bufs[1], np.int32)[lines.offset : lines.offset + len(lines) + 1]
            fh.write(bufs[2].to_pybytes()[offs[0] : offs[-1]])


def _write_xlsx(path: Path, cols: list[tuple[Field, Any, str]], title: str, created: date) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"in_memory": True})  # no temporary files
    wb.set_properties({"created": datetime(created.year, created.month, created.day)})
    ws = wb.add_worksheet("Sheet1")
    bold = wb.add_format({"bold": True, "align": "center"})
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ncol = len(cols)
    if ncol > 1:
        ws.merge_range(0, 0, 0, ncol - 1, title, bold)
    else:
        ws.write_string(0, 0, title, bold)
    for c, (f, _, _) in enumerate(cols):
        ws.write_string(2, c, f.header, bold)
    data = []
    for _, arr, _how in cols:
        data.append(arr.to_pylist() if isinstance(arr, pa.Array) else list(arr))
    nrows = len(data[0]) if data else 0
    hows = [how for _, _, how in cols]
    sums = [0.0 if how == "number" else None for how in hows]
    for r in range(nrows):
        row = 3 + r
        for c in range(ncol):
            v = data[c][r]
            if v is None or (isinstance(v, float) and v != v):
                continue
            if isinstance(v, str):
                ws.write_string(row, c, v)
            elif hows[c] == "datecell":
                if v >= 0:
                    ws.write_number(row, c, v, datefmt)
            elif hows[c] == "serial":
                if v >= 0:
                    ws.write_number(row, c, v)
            else:
                ws.write_number(row, c, v)
                sums[c] += v
    total = 3 + nrows
    ws.write_string(total, 0, "合计")
    if ncol > 1:
        ws.write_string(total, 1, f"共{nrows}条")
    for c, s in enumerate(sums):
        if s is not None and c > 1:
            ws.write_number(total, c, round(s, 2))
    wb.close()


TRUTH_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("line", pa.int64()),
        ("person_id", pa.int64()),
        ("id_fault", pa.string()),
        ("name_typo", pa.bool_()),
        ("bad_value", pa.bool_()),
        ("copy", pa.string()),
    ]
)


def _tmp(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def emit(city: City, iface: Interface, rows: Rows, out_dir: Path, created: date) -> dict[str, Any]:
    """Write the files of one interface and its truth table; returns its stats."""
    w = city.w
    if iface.code not in AFTER_DEATH and rows.n:
        keep = city.alive(rows.person, rows.day) | (rows.person < 0)
        if rows.stock is not None:
            keep |= rows.stock
        if not keep.all():
            rows = rows.subset(np.flatnonzero(keep))
    bucket = w.bucket(rows.day, rows.stock)
    if (bucket < 0).any():
        rows = rows.subset(np.flatnonzero(bucket >= 0))
        bucket = bucket[bucket >= 0]
    if len(bucket) > 1 and (np.diff(bucket) < 0).any():
        key = bucket * (1 << 32) + (rows.day - rows.day.min() if rows.n else 0)
        order = np.argsort(key, kind="stable")
    else:
        order = np.arange(rows.n)
    sorted_b = bucket[order]
    faults = _faults(city, iface, rows, city.rng("faults:" + iface.code))
    fmt = DEPARTMENT_FORMATS.get(iface.department, Format())
    folder = out_dir / iface.code
    folder.mkdir(parents=True, exist_ok=True)
    truth_path = out_dir / "_truth" / f"{iface.code}.parquet"
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    writer = pq.ParquetWriter(
        _tmp(truth_path),
        TRUTH_SCHEMA,
        compression="zstd",
        use_dictionary=["file", "id_fault", "copy"],
        column_encoding={"line": "DELTA_BINARY_PACKED"},
    )
    counts = {
        k: 0
        for k in (
            "bad_check",
            "id15",
            "lower_x",
            "fullwidth",
            "homophone",
            "bad_value",
            "duplicate",
            "resent",
        )
    }
    try:
        written, files = _write_files(
            city, iface, rows, faults, order, sorted_b, fmt, folder, writer, counts, created
        )
    except BaseException:
        writer.close()
        _tmp(truth_path).unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(_tmp(truth_path), truth_path)
    return {"rows": written, "records": int(rows.n), "files": len(files), "faults": counts}


def _write_files(city, iface, rows, faults, order, sorted_b, fmt, folder, writer, counts, created):
    """The files of one interface, in order; each row's truth goes to ``writer``."""
    w = city.w
    labels = w.labels()
    nmonths = len(w.months)
    written = 0
    files = []
    bounds = np.searchsorted(sorted_b, np.arange(len(labels) + 1))
    prev_day: np.ndarray | None = None
    dept_name = iface.department_short or iface.department
    for fi, label in enumerate(labels):
        base = order[bounds[fi] : bounds[fi + 1]]
        pos = np.repeat(base, 1 + faults.dup[base])
        copy = np.repeat(np.zeros(len(base), np.int8), 1 + faults.dup[base])
        if len(copy):
            first_of = np.concatenate(([True], pos[1:] != pos[:-1]))
            copy[~first_of] = 1
        daily = fi >= nmonths
        if daily:
            if fi == nmonths:
                hist = order[: bounds[nmonths]]
                stock = rows.stock[hist] if rows.stock is not None else np.zeros(len(hist), bool)
                prev_day = hist[(rows.day[hist] == w.t1 - 1) & ~stock]
            resend = prev_day[faults.resend[prev_day]] if prev_day is not None else base[:0]
            pos = np.concatenate([pos, resend])
            copy = np.concatenate([copy, np.full(len(resend), 2, np.int8)])
            prev_day = base
        if fmt.jsonl == "all" or (fmt.jsonl == "daily" and daily):
            kind, ext = "jsonl", "jsonl"
        elif fmt.xlsx and not daily and len(pos) < XLSX_MAX_ROWS:
            kind, ext = "xlsx", "xlsx"
        else:
            kind, ext = "csv", "csv"
        name = f"{iface.code}-{label}.{ext}"
        path = folder / name
        tmp = _tmp(path)
        period = label.replace("-", "年", 1) + ("月" if not daily else "")
        if daily:
            d = _date(w.t1 + fi - nmonths)
            period = f"{d.year}年{d.month}月{d.day}日"
        title = f"{dept_name}·{iface.name}（{period}）"
        try:
            if kind == "xlsx":
                _write_xlsx(tmp, _render(city, iface, rows, faults, pos, fmt, kind), title, created)
                first_line = 4
            else:
                chunks = (
                    _render(city, iface, rows, faults, pos[s : s + CHUNK_ROWS], fmt, kind)
                    for s in range(0, max(len(pos), 1), CHUNK_ROWS)
                )
                if kind == "jsonl":
                    _write_jsonl(tmp, chunks)
                    first_line = 1
                else:
                    use_title = fmt.title and not daily
                    _write_csv(
                        tmp, (_text_table(c) for c in chunks), fmt, title if use_title else None
                    )
                    first_line = 3 if use_title else 2
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        files.append(name)
        n = len(pos)
        written += n
        person = rows.person[pos]
        pid = np.where((person >= 0) & (person < city.N), person.astype(np.int64) + 1, -1)
        idc = faults.id_code[pos]
        writer.write_table(
            pa.table(
                {
                    "file": pa.array([name], pa.string()).take(pa.array(np.zeros(n, np.int64))),
                    "line": pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
                    "person_id": pa.array(pid, mask=pid < 0),
                    "id_fault": _take(list(ID_FAULTS), np.where(idc > 0, idc, -1)),
                    "name_typo": pa.array(faults.typo[pos]),
                    "bad_value": pa.array(faults.bad[pos]),
                    "copy": _take(["", "duplicate", "resent"], np.where(copy > 0, copy, -1)),
                },
                schema=TRUTH_SCHEMA,
            )
        )
        for k in (1, 2, 3, 4):
            counts[ID_FAULTS[k]] += int(np.count_nonzero(idc == k))
        counts["homophone"] += int(faults.typo[pos].sum())
        counts["bad_value"] += int(faults.bad[pos].sum())
        counts["duplicate"] += int(np.count_nonzero(copy == 1))
        counts["resent"] += int(np.count_nonzero(copy == 2))
    return written, files


# --- facts several feeds share ------------------------------------------------------------------


def shared(fn: Callable[[City], Any]) -> Callable[[City], Any]:
    """Compute a fact once per city (several feeds must agree on it)."""
    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(c: City) -> Any:
        if name not in c._shared:
            c._shared[name] = fn(c)
        return c._shared[name]

    return wrapper


def _history(
    c: City, rng, n: int, new_share: float, years: float, earliest=None, person=None
) -> tuple[np.ndarray, np.ndarray]:
    """Record dates: a share ``new_share`` in the window (new records), the others in the
    ``years`` before it (the initial export, ``stock``), never before ``earliest``; a new record of
    a ``person`` who dies is dated before the death (or becomes an older record)."""
    new = rng.random(n) < new_share
    past = c.w.t0 - 1 - np.floor(rng.random(n) * years * 365.25).astype(np.int64)
    if earliest is not None:
        past = np.minimum(np.maximum(past, earliest), c.w.t0 - 1)
    lo = c.w.t0 if earliest is None else np.maximum(c.w.t0, earliest)
    hi = np.full(n, c.w.t2, np.int64)
    if person is not None:
        hi = np.minimum(hi, c.death[person].astype(np.int64))
        new &= hi > lo
    within = lo + np.floor(rng.random(n) * np.maximum(hi - lo, 1)).astype(np.int64)
    day = np.where(new, within, past).astype(np.int64)
    return day, ~new


def _surname(c: City, person: np.ndarray) -> pa.Array:
    return pc.utf8_slice_codeunits(_take(c.people_names, person), 0, 1)


def _full_address(c: City, hh: np.ndarray) -> pa.Array:
    """Residence address with the county and town: 山东省烟台市芝罘区向阳街道金桥社区1号楼…"""
    v = c.h_village[hh]
    return _cat(
        "山东省",
        _take(c.c_full, c.v_county[v]),
        _take(c.t_name, c.v_town[v]),
        c.h_address.take(pa.array(hh)),
    )


def _hukou_address(c: City) -> pa.Array:
    """Per household: the address of household registration."""
    same = c.h_hukou == c.h_village
    col = _cat(
        "山东省",
        _take(c.c_full, c.v_county[c.h_hukou]),
        _take(c.t_name, c.v_town[c.h_hukou]),
        pc.if_else(
            pa.array(same),
            c.h_address,
            _cat(_take(c.v_name, c.h_hukou), "集体户"),
        ),
    )
    return col


@shared
def employers(c: City) -> dict[str, Any]:
    """Employers: names, credit codes and counties; each employee's employer."""
    rng = c.rng("employers")
    k = max(40, c.N // 60)
    county = np.sort(rng.integers(0, len(c.c_names), k))
    words, wp = _list("company_word")
    inds, ip = _list("industry")
    w = _weighted(rng, k, wp)
    i = _weighted(rng, k, ip)
    suffix = np.where(rng.random(k) < 0.85, "有限公司", "股份有限公司")
    prefix = np.where(rng.random(k) < 0.5, "烟台", "山东")
    names = _cat(pa.array(prefix), _take(words, w), _take(inds, i), pa.array(suffix))
    # make names unique by adding the county's name where two coincide
    dup = ~np.isin(np.arange(k), np.unique(np.asarray(names.to_numpy(False)), return_index=True)[1])
    names = pc.if_else(
        pa.array(dup),
        _cat(
            "烟台",
            _take(c.c_names, county),
            _take(words, w),
            _take(inds, i),
            _num(np.arange(k) % 97, 2),
            "有限公司",
        ),
        names,
    )
    codes = credit_codes(rng, c.c_num[county], np.ones(k, np.int64))
    # each employed person works for an employer of the county of residence
    first = np.searchsorted(county, np.arange(len(c.c_names)))
    count = np.searchsorted(county, np.arange(len(c.c_names)), side="right") - first
    pc_ = c.p_county
    has = count[pc_] > 0
    pick = first[pc_] + np.floor(rng.random(c.N) * np.maximum(count[pc_], 1)).astype(np.int64)
    pick = np.where(has, pick, rng.integers(0, k, c.N))
    employee = c.p_employed & c.p_present & (c.p_age >= 16) & (c.p_age < 65)
    p = parameters()
    share = np.where(c.p_urban, p["employee_insured_urban"], p["employee_insured_rural"])
    employee &= rng.random(c.N) < share
    return {
        "names": names,
        "codes": codes,
        "county": county,
        "of": np.where(employee, pick, -1),
        "employee": employee,
    }


@shared
def pensions(c: City) -> dict[str, np.ndarray]:
    """Who draws a pension, of which type, how much a month, since when."""
    rng = c.rng("pensions")
    p = parameters()
    age = c.p_age
    early = ~c.p_male & c.p_urban & (age >= 55) & (age < 60) & ~c.p_employed & (c.p_income >= 1800)
    old = age >= 60
    share = np.where(c.p_urban, p["employee_pension_urban"], p["employee_pension_rural"])
    employee = (old & (rng.random(c.N) < share) & (c.p_income >= 1800) & ~c.p_tekun) | early
    resident = old & ~employee
    kind = np.full(c.N, -1, np.int64)
    kind[employee] = np.where(rng.random(int(employee.sum())) < p["public_institution_share"], 1, 0)
    kind[resident] = 2
    amount = np.where(
        employee,
        np.clip(c.p_income * rng.uniform(0.8, 1.0, c.N), 1800, 12000),
        np.where((c.p_income >= 150) & (c.p_income <= 400), c.p_income, rng.uniform(190, 320, c.N)),
    )
    retire_age = np.where(
        c.p_male, 60, np.where(employee, np.where(rng.random(c.N) < 0.5, 50, 55), 60)
    )
    start = _month_start(_years_later(c.p_birth, retire_age)) + 31
    start = _month_start(start)
    return {"kind": kind, "amount": np.round(amount, 2), "start": start}


@shared
def stays(c: City) -> dict[str, Any]:
    """Inpatient stays (medical_inpatient), with the serious-illness insurance and medical
    assistance parts (serious_disease, medical_assistance)."""
    rng = c.rng("stays")
    p = parameters()
    w = c.w
    age = c.p_age
    lam = np.select(
        [age < 45, age < 60, age < 70, age < 80],
        [
            p["inpatient_rate_0_44"],
            p["inpatient_rate_45_59"],
            p["inpatient_rate_60_69"],
            p["inpatient_rate_70_79"],
        ],
        p["inpatient_rate_80"],
    )
    lam = lam * np.where(c.chronic >= 0, 1.8, 1.0) * np.where(c.p_selfcare >= 4, 1.5, 1.0)
    lam = lam * np.where(c.p_dgrade > 0, 1.3, 1.0) * c.p_present
    k = rng.poisson(lam * w.span / 365.25)
    person = np.repeat(np.arange(c.N), k)
    adm = w.uniform(rng, len(person), w.t0 - 20)
    los = np.clip(
        np.round(_lognormal(rng, np.where(age[person] >= 65, 9.0, 6.0), 0.6, len(person))), 1, 90
    )
    # a share of the dead die in hospital: a last stay ending on the day of death
    dead = c.dead[rng.random(len(c.dead)) < 0.45]
    d_los = np.clip(np.round(_lognormal(rng, 8.0, 0.6, len(dead))), 1, 60)
    person = np.concatenate([person, dead])
    los = np.concatenate([los, d_los]).astype(np.int64)
    dis = np.concatenate([adm + los[: len(adm)], c.death[dead]])
    adm = dis - los
    died = np.zeros(len(person), bool)
    died[len(adm) - len(dead) :] = True
    ok = (dis < w.t2) & (dis >= w.t0) & (c.alive(person, dis) | died) & (adm < c.death[person])
    person, adm, dis, los, died = person[ok], adm[ok], dis[ok], los[ok], died[ok]
    n = len(person)
    hosp_idx, hospitals = c.in_county(rng, "hospital", c.p_county[person])
    town_level = rng.random(n) < np.where(c.p_urban[person], 0.08, 0.30)
    inst = pa.concat_arrays([hospitals, c.per_town("{t}卫生院")])
    inst_idx = np.where(town_level, len(hospitals) + c.p_town[person], hosp_idx)
    tier = np.where(town_level, 0.4, 1.0)
    total = _lognormal(
        rng, p["inpatient_cost_median"] * tier * (los / 7.0) ** 0.6, p["inpatient_cost_sigma"], n
    )
    total = np.round(np.clip(total, 300, 900000), 2)
    employee = employers(c)["employee"][person] | np.isin(pensions(c)["kind"][person], [0, 1])
    eligible = total * rng.uniform(0.78, 0.92, n)
    deductible = np.where(town_level, 200, np.where(employee, 900, 700))
    rate = np.where(employee, rng.uniform(0.80, 0.88, n), rng.uniform(0.55, 0.68, n))
    fund = np.clip((eligible - deductible) * rate, 0, None)
    fund = np.minimum(fund, 400000)
    serious_base = eligible - fund - deductible
    serious = np.where(
        serious_base > p["serious_deductible"], (serious_base - p["serious_deductible"]) * 0.6, 0
    )
    person_dibao = c.p_dibao[person]
    person_tekun = c.p_tekun[person]
    low = low_income(c)["member"][person]
    assist_rate = np.where(person_tekun, 1.0, np.where(person_dibao, 0.7, np.where(low, 0.6, 0.0)))
    assist = np.clip(eligible - fund - serious, 0, None) * assist_rate
    fund, serious, assist = np.round(fund, 2), np.round(serious, 2), np.round(assist, 2)
    self_paid = np.round(total - fund - serious - assist, 2)
    diag_acute, dp = _list("acute")
    chronic_names = [r["name"] for r in _diseases()]
    use_chronic = (c.chronic[person] >= 0) & (rng.random(n) < 0.45)
    diag_idx = np.where(
        use_chronic, len(diag_acute) + np.maximum(c.chronic[person], 0), _weighted(rng, n, dp)
    )
    diag = pa.array(diag_acute + chronic_names, pa.string())
    settle = dis + (rng.random(n) < 0.2)
    seq = rng.integers(0, 10**8, n)
    number = _cat("ZY", date_text(settle, "compact"), _num(seq, 8))
    return {
        "person": person,
        "adm": adm,
        "dis": dis,
        "settle": np.minimum(settle, w.t2 - 1),
        "total": money(total),
        "fund": money(fund),
        "serious": money(serious),
        "assist": money(assist),
        "self": money(self_paid),
        "eligible": money(eligible),
        "employee": employee,
        "inst": R(inst_idx, inst),
        "diag": R(diag_idx, diag),
        "number": number,
        "died": died,
    }


@shared
def outpatient(c: City) -> dict[str, Any]:
    """Outpatient settlements: chronic/special diseases (certified patients) and general visits."""
    rng = c.rng("outpatient")
    p = parameters()
    w = c.w
    months = w.span / 30.44
    chronic = c.chronic >= 0
    lam = np.where(chronic, p["chronic_visits_per_month"], 0.0)
    lam = lam + np.where(c.p_age >= 60, p["general_visits_per_month"], 0.0)
    lam = lam * c.p_present
    k = rng.poisson(lam * months)
    person = np.repeat(np.arange(c.N), k)
    n = len(person)
    day = w.uniform(rng, n)
    is_chronic = chronic[person] & (
        rng.random(n) < p["chronic_visits_per_month"] / np.maximum(lam[person], 1e-9)
    )
    dis = _diseases()
    cost = np.array([float(r["cost"]) for r in dis])
    median = np.where(is_chronic, cost[np.maximum(c.chronic[person], 0)], 110.0)
    total = np.round(np.clip(_lognormal(rng, median, 0.55, n), 8, 60000), 2)
    employee = employers(c)["employee"][person] | np.isin(pensions(c)["kind"][person], [0, 1])
    rate = np.where(is_chronic, np.where(employee, 0.75, 0.65), np.where(employee, 0.6, 0.5))
    fund = np.round(total * rate, 2)
    assist_rate = np.where(c.p_tekun[person], 1.0, np.where(c.p_dibao[person], 0.7, 0.0))
    assist = np.round((total - fund) * assist_rate * is_chronic, 2)
    self_paid = np.round(total - fund - assist, 2)
    hosp_idx, hospitals = c.in_county(rng, "hospital", c.p_county[person])
    local = rng.random(n) < 0.55
    inst = pa.concat_arrays([hospitals, c.per_town("{t}卫生院")])
    inst_idx = np.where(local, len(hospitals) + c.p_town[person], hosp_idx)
    seq = rng.integers(0, 10**8, n)
    number = _cat("MZ", date_text(day, "compact"), _num(seq, 8))
    names = pa.array([r["name"] for r in dis], pa.string())
    return {
        "person": person,
        "day": day,
        "chronic": is_chronic,
        "total": money(total),
        "fund": money(fund),
        "assist": money(assist),
        "self": money(self_paid),
        "inst": R(inst_idx, inst),
        "number": number,
        "disease": R(np.where(is_chronic, c.chronic[person], -1), names),
    }


@shared
def low_income(c: City) -> dict[str, Any]:
    """Households on the low-income roll: 低保边缘 (near_dibao) found among eligible
    households, and 刚性支出 (rigid_expense) after a large medical bill."""
    rng = c.rng("low_income")
    p = parameters()
    h = np.arange(c.H)
    has_tekun = np.bincount(c.p_hh, weights=c.p_tekun, minlength=c.H) > 0
    limit = 24 * c.h_standard * c.h_size
    eligible = (
        ~c.h_dibao
        & ~has_tekun
        & (c.h_pc_income < p["near_dibao_multiplier"] * c.h_standard)
        & (c.h_pc_income >= c.h_standard)
        & (c.h_assets <= limit)
        & (c.h_vehicles == 0)
        & ~c.h_business
    )
    near = h[eligible & (rng.random(c.H) < p["near_dibao_identified_share"])]
    if len(near) < 2:
        near = _sample(rng, h[~c.h_dibao & ~has_tekun], 2)
    n_day, n_stock = _history(c, rng, len(near), 0.12, 3.0, person=c.h_head[near])
    kind = np.zeros(len(near), np.int64)
    member = np.zeros(c.N, bool)
    member[np.isin(c.p_hh, near)] = True
    return {"household": near, "day": n_day, "stock": n_stock, "kind": kind, "member": member}


@shared
def rigid_expense(c: City) -> dict[str, Any]:
    """刚性支出 households: a stay with a large self-paid bill in a household below the
    (assumed) income line, identified 15–60 days after discharge."""
    rng = c.rng("rigid")
    s = stays(c)
    hh = c.p_hh[s["person"]]
    big = (s["self"] > 20000 * 100) & ~c.h_dibao[hh] & (c.h_pc_income[hh] < 3500)
    big &= ~np.isin(hh, low_income(c)["household"])
    hh_big, first = np.unique(hh[big], return_index=True)
    dis = s["dis"][big][first]
    day = dis + rng.integers(15, 61, len(hh_big))
    return {"household": hh_big, "day": day}


@shared
def students(c: City) -> dict[str, Any]:
    """Pupils and students: stage, school, school year of entry (学籍)."""
    rng = c.rng("students")
    w = c.w
    # age on 1 September of the school year that contains t2 - 1
    y_end = _ymd(np.array([w.t2 - 1]))[0][0]
    m_end = _ymd(np.array([w.t2 - 1]))[1][0]
    sy = y_end if m_end >= 9 else y_end - 1  # current school year starts 1 Sep sy
    sep1 = _days(date(int(sy), 9, 1))
    by, bm, bd = _ymd(c.p_birth)
    age_sep = sy - by - ((bm > 8) | ((bm == 9) & (bd > 1)))  # age on 31 August, as schools count
    stage = np.full(c.N, -1, np.int64)
    u = rng.random(c.N)
    alive = c.p_present & c.alive(np.arange(c.N), np.full(c.N, sep1))
    stage[(age_sep >= 3) & (age_sep <= 5) & (u < 0.88)] = 0
    stage[(age_sep >= 6) & (age_sep <= 11)] = 1
    stage[(age_sep >= 12) & (age_sep <= 14)] = 2
    stage[(age_sep >= 15) & (age_sep <= 17) & (u < 0.58)] = 3
    stage[(age_sep >= 15) & (age_sep <= 17) & (u >= 0.58) & (u < 0.96)] = 4
    stage[(age_sep >= 18) & (age_sep <= 21) & (u < 0.6)] = 5
    stage[(age_sep >= 22) & (age_sep <= 24) & (u < 0.06)] = 6
    stage[~alive] = -1
    person = np.flatnonzero(stage >= 0)
    st = stage[person]
    a = age_sep[person]
    first_age = np.array([3, 6, 12, 15, 15, 18, 22])[st]
    years_in = np.clip(a - first_age, 0, 6)
    entry = np.array([_days(date(int(sy - y), 9, 1)) for y in range(8)])[years_in]
    grade_names = [
        ["小班", "中班", "大班"],
        ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"],
        ["七年级", "八年级", "九年级"],
        ["高一", "高二", "高三"],
        ["一年级", "二年级", "三年级"],
        ["大一", "大二", "大三", "大四"],
        ["研一", "研二", "研三"],
    ]
    flat = [g for gs in grade_names for g in gs]
    offs = np.cumsum([0] + [len(g) for g in grade_names])[:-1]
    gidx = offs[st] + np.minimum(years_in, np.array([len(g) for g in grade_names])[st] - 1)
    town = c.p_town[person]
    county = c.p_county[person]
    sch_pre = c.per_town("{t}中心幼儿园")
    sch_pri = c.per_town("{t}中心小学")
    sch_jun = c.per_town("{t}初级中学")
    sch_sen = c.per_county("{f}第一中学")
    sch_voc = c.per_county("{f}职业中等专业学校")
    uni_idx, unis = c.in_county(rng, "university", county)
    tables = [sch_pre, sch_pri, sch_jun, sch_sen, sch_voc, unis, unis]
    offsets = np.cumsum([0] + [len(t) for t in tables])[:-1]
    local = np.select([st <= 2, st <= 4], [town, county], uni_idx)
    school = R(offsets[st] + local, pa.concat_arrays(tables))
    region = pa.concat_arrays([c.t_code, c.c_code])
    region_idx = np.where(st <= 2, town, np.where(st <= 4, len(c.t_code) + county, -1))
    return {
        "person": person,
        "stage": st,
        "entry": entry,
        "grade": R(gidx, pa.array(flat)),
        "school": school,
        "region": R(region_idx, region),
        "sep1": sep1,
    }


@shared
def unemployment(c: City) -> dict[str, Any]:
    """Registered unemployed: some working-age persons without work."""
    rng = c.rng("unemployment")
    w = c.w
    cand = np.flatnonzero(
        ~c.p_employed
        & c.p_present
        & (c.p_age >= 18)
        & (c.p_age <= 59)
        & (c.p_dgrade == 0)
        & ~c.p_tekun
    )
    k = _count(0.10 * len(cand) * w.span / 365.25)
    person = _sample(rng, cand, k)
    day, stock = _history(c, rng, len(person), 0.7, 1.0, person=person)
    reemployed = rng.random(len(person)) < 0.35
    cancel = day + rng.integers(30, 240, len(person))
    reemployed &= cancel < w.t2
    benefit = rng.random(len(person)) < 0.3
    return {
        "person": person,
        "day": day,
        "stock": stock,
        "reemployed": reemployed,
        "cancel": np.where(reemployed, cancel, NULL_DAY),
        "benefit": benefit,
    }


@shared
def death_cancel(c: City) -> np.ndarray:
    """Day the hukou of each dead person is cancelled (NULL_DAY: not yet)."""
    rng = c.rng("death_cancel")
    lag = np.clip(np.round(_lognormal(rng, 9, 0.7, len(c.dead))), 2, 90).astype(np.int64)
    day = c.death[c.dead] + lag
    return np.where(day < c.w.t2, day, NULL_DAY)


@shared
def moves(c: City) -> dict[str, Any]:
    """Hukou moved out of the city (registry persons) and in (persons not in the registry)."""
    rng = c.rng("moves")
    p = parameters()
    w = c.w
    cand = np.flatnonzero(c.p_present & (c.p_age >= 18) & (c.p_age <= 45) & (c.death == NEVER))
    out = _sample(rng, cand, _count(p["move_out_rate"] * c.N * w.span / 365.25))
    out_day = w.uniform(rng, len(out))
    k_in = _count(p["move_in_rate"] * c.N * w.span / 365.25)
    k_in = min(k_in, len(c.outsiders) // 2)
    inn = _sample(rng, c.outsiders, k_in)
    in_day = w.uniform(rng, len(inn))
    in_village = rng.integers(0, c.V, len(inn))
    return {"out": out, "out_day": out_day, "in": inn, "in_day": in_day, "in_village": in_village}


@shared
def marriages(c: City) -> dict[str, Any]:
    rng = c.rng("marriages")
    p = parameters()
    w = c.w
    single = (
        c.p_present
        & (c.p_age >= 22)
        & (c.p_age <= 45)
        & (c.p_spouse < 0)
        & np.isin(c.p_rel, [0, 2, 6])
        & (c.death == NEVER)
    )
    men = np.flatnonzero(single & c.p_male)
    women = np.flatnonzero(single & ~c.p_male)
    k = _count(p["marriage_rate"] * c.N * w.span / 365.25)
    both = min(int(k * 0.45), len(men), len(women))
    m1 = _sample(rng, men, both)
    w1 = rng.permutation(_sample(rng, women, both))
    rest = k - both
    solo = _sample(rng, np.flatnonzero(single), rest)
    partner = c.outsiders[rng.integers(0, len(c.outsiders), len(solo))]
    a = np.concatenate([m1, w1, solo])
    b = np.concatenate([w1, m1, partner])
    day = w.uniform(rng, both + len(solo))
    day = np.concatenate([day[:both], day[:both], day[both:]])
    remarriage = np.concatenate([np.zeros(2 * both, bool), rng.random(len(solo)) < 0.06])
    seq = rng.integers(0, 10**6, len(a))
    return {"a": a, "b": b, "day": day, "remarriage": remarriage, "seq": seq}


@shared
def disasters(c: City) -> list[dict[str, Any]]:
    """Natural disasters in the window: a few events hitting rural households of some towns."""
    rng = c.rng("disasters")
    w = c.w
    kinds = [
        ("typhoon", 8, 0.04),
        ("flood", 7, 0.03),
        ("hail", 6, 0.02),
        ("low_temperature", 1, 0.02),
        ("drought", 5, 0.03),
        ("marine", 9, 0.01),
    ]
    events = []
    rural_towns = np.unique(c.v_town[~np.isin(np.arange(c.V), c.h_village[c.h_urban])])
    for kind, month, share in kinds:
        for year in range(_date(w.t0).year, _date(w.t2 - 1).year + 1):
            d = _days(date(year, month, int(rng.integers(1, 28))))
            if not (w.t0 <= d < w.t2) or len(rural_towns) == 0:
                continue
            towns = rng.choice(
                rural_towns, min(len(rural_towns), int(rng.integers(2, 7))), replace=False
            )
            events.append({"kind": kind, "day": d, "towns": np.sort(towns), "share": share})
    return events


@shared
def purchases(c: City) -> dict[str, Any]:
    """New homes bought in the window (housing_contract, then real_estate, provident loans)."""
    rng = c.rng("purchases")
    w = c.w
    head = c.h_head
    cand = np.flatnonzero(
        c.h_urban
        & ~c.h_dibao
        & (c.h_assets >= 60000)
        & c.p_present[head]
        & (c.p_age[head] < 70)
        & (c.death[head] == NEVER)
    )
    k = _count(0.012 * len(cand) * w.span / 365.25)
    hh = _sample(rng, cand, k, c.h_assets[cand].astype(float) ** 0.5)
    sign = w.uniform(rng, len(hh), w.t0 - 90)
    area = np.round(np.clip(_lognormal(rng, 98, 0.25, len(hh)), 45, 260), 2)
    price_m2 = parameters()["house_price_per_m2"] * _lognormal(rng, 1.0, 0.2, len(hh))
    price = np.round(area * price_m2, -2)
    projects, pp = _list("project")
    proj = _weighted(rng, len(hh), pp)
    bld = rng.integers(1, 30, len(hh))
    unit = rng.integers(1, 4, len(hh))
    room = rng.integers(1, 33, len(hh)) * 100 + rng.integers(1, 3, len(hh))
    county = c.v_county[c.h_village[hh]]
    location = _cat(
        _take(c.c_full, county),
        _take(projects, proj),
        pc.cast(pa.array(bld), pa.string()),
        "号楼",
        pc.cast(pa.array(unit), pa.string()),
        "单元",
        pc.cast(pa.array(room), pa.string()),
        "室",
    )
    registered = sign + rng.integers(40, 150, len(hh))
    return {
        "household": hh,
        "sign": sign,
        "area": area,
        "price": price,
        "location": location,
        "project": R(proj, pa.array(projects)),
        "registered": registered,
        "county": county,
    }


# --- the feeds, one builder per interface -------------------------------------------------------

BUILDERS: dict[str, Callable[[City], Rows]] = {}


def builder(code: str) -> Callable[[Callable[[City], Rows]], Callable[[City], Rows]]:
    def register(fn: Callable[[City], Rows]) -> Callable[[City], Rows]:
        BUILDERS[code] = fn
        return fn

    return register


def _yearly_dates(c: City, month: int, dom: np.ndarray | int) -> list[np.ndarray]:
    """For each calendar year touching the window, the day ``dom`` of ``month`` (per row)."""
    out = []
    for year in range(_date(c.w.t0).year, _date(c.w.t2 - 1).year + 1):
        out.append(_days(date(year, month, 1)) + np.asarray(dom) - 1)
    return out


def _quarter_ends(c: City, months=(3, 6, 9, 12)) -> list[int]:
    ends = []
    for year in range(_date(c.w.t0).year, _date(c.w.t2 - 1).year + 1):
        for m in months:
            d = _days(_add_months(date(year, m, 1), 1)) - 1
            if c.w.t0 <= d < c.w.t2:
                ends.append(d)
    return ends


def _outsider_rows(c: City, rng, n_rows: int) -> np.ndarray:
    """Persons not in the registry for ``outsider_row_share`` of a feed's rows."""
    k = int(round(n_rows * parameters()["outsider_row_share"]))
    return c.outsiders[rng.integers(0, len(c.outsiders), k)]


@builder("agri_subsidy")
def _agri_subsidy(c: City) -> Rows:
    rng = c.rng("agri_subsidy")
    p = parameters()
    heads = c.h_head[~c.h_urban]
    farm = heads[(rng.random(len(heads)) < 0.8) & c.p_present[heads] & (c.p_age[heads] >= 18)]
    mu = np.round(np.clip(rng.gamma(2.0, 2.0, len(farm)) + 0.5, 0.5, 60), 1)
    dom = 10 + c.p_county[farm] % 10
    parts = []
    for d in _yearly_dates(c, 6, dom):
        parts.append((farm, d, 0, mu, mu * p["land_subsidy_per_mu"]))
    grain = rng.random(len(farm)) < 0.6
    for d in _yearly_dates(c, 9, dom + 5):
        parts.append((farm[grain], d[grain], 1, mu[grain], mu[grain] * p["grain_subsidy_per_mu"]))
    mach = _sample(rng, farm, max(2, len(farm) // 150))
    md = c.w.uniform(rng, len(mach))
    parts.append((mach, md, 2, np.full(len(mach), np.nan), rng.uniform(3000, 40000, len(mach))))
    person = np.concatenate([q[0] for q in parts])
    day = np.concatenate([np.broadcast_to(q[1], q[0].shape) for q in parts])
    kind = np.concatenate([np.full(len(q[0]), q[2]) for q in parts])
    area = np.concatenate([q[3] for q in parts])
    amount = np.concatenate([q[4] for q in parts])
    r = Rows(person, day)
    r["subsidy_type"] = R(
        kind, pa.array(["耕地地力保护补贴", "实际种粮农民一次性补贴", "农机购置补贴"])
    )
    r["region_code"] = c.region(person)
    r["subsidy_area"] = M(np.where(np.isnan(area), NULL, money(np.nan_to_num(area))), amount=False)
    r["amount"] = M(money(amount))
    r["payment_date"] = D(day)
    return r


@builder("bank_deposit")
def _bank_deposit(c: City) -> Rows:
    rng = c.rng("bank_deposit")
    p = parameters()
    u = rng.random(c.H)
    k = np.where(
        u < p["bank_accounts_1"], 1, np.where(u < p["bank_accounts_1"] + p["bank_accounts_2"], 2, 3)
    )
    k = np.where(c.h_assets < 5000, 1, k)
    acc_hh = np.repeat(np.arange(c.H), k)
    rank = np.arange(len(acc_hh)) - np.repeat(np.cumsum(k) - k, k)
    wts = rng.gamma(1.5, 1.0, len(acc_hh)) * np.where(rank == 0, 1.5, 1.0)
    share = wts / np.bincount(acc_hh, weights=wts)[acc_hh]
    head = c.h_head[acc_hh]
    spouse = c.p_spouse[head]
    owner = np.where((spouse >= 0) & (rank > 0) & (rng.random(len(acc_hh)) < 0.4), spouse, head)
    banks, bp = _list("bank")
    bank = _weighted(rng, len(acc_hh), bp)
    names = [b.split("|")[0] for b in banks]
    prefix = np.array([int(b.split("|")[1]) for b in banks], np.int64)
    account = _num(prefix[bank] * 10**13 + rng.integers(0, 10**13, len(acc_hh)), 19)
    kind = np.where(
        rank == 0,
        0,
        np.where(
            rank == 1,
            np.where(rng.random(len(acc_hh)) < 0.7, 1, 2),
            _weighted(rng, len(acc_hh), np.array([0.3, 0.0, 0.4, 0.3])),
        ),
    )
    base = c.h_assets[acc_hh] * share
    parts_i, parts_d, parts_v = [], [], []
    for q in _quarter_ends(c):
        drift = np.exp(rng.normal(0, np.where(kind == 0, 0.12, 0.03)))
        parts_i.append(np.arange(len(acc_hh)))
        parts_d.append(np.full(len(acc_hh), q))
        parts_v.append(np.round(base * drift, 2))
    idx = np.concatenate(parts_i) if parts_i else np.zeros(0, np.int64)
    r = Rows(owner[idx], np.concatenate(parts_d) if parts_d else idx)
    r["institution"] = R(bank[idx], pa.array(names))
    r["asset_type"] = E(kind[idx], ("demand", "time", "wealth_management", "fund"))
    r["balance"] = M(money(np.concatenate(parts_v)) if parts_v else idx)
    r["query_date"] = D(r.day)
    r["account_number"] = R(idx, account)
    r["currency"] = R(np.where(rng.random(len(idx)) < 0.9, 0, -1), pa.array(["人民币"]))
    return r


@builder("birth_registration")
def _birth_registration(c: City) -> Rows:
    rng = c.rng("birth_registration")
    b = c.births
    n = len(b["mother"])
    issue = np.minimum(b["day"] + rng.integers(0, 4, n), c.w.t2 - 1)
    r = Rows(b["mother"], issue)
    r["certificate_number"] = _cat("Q", _num(rng.integers(10**8, 10**9, n), 9))
    named = rng.random(n) < 0.8
    r["child_name"] = R(np.where(named, b["person"], -1), c.people_names)
    r["gender"] = E(np.where(b["male"], 0, 1), ("male", "female"))
    r["birth_date"] = D(b["day"])
    r["father_id_number"] = R(b["father"], c.people_ids)
    r["father_name"] = R(b["father"], c.people_names)
    idx, hospitals = c.in_county(rng, "hospital", c.p_county[b["mother"]])
    r["institution"] = R(idx, hospitals)
    r["issue_date"] = D(issue)
    return r


@builder("business_registration")
def _business_registration(c: City) -> Rows:
    rng = c.rng("business_registration")
    hh = np.flatnonzero(c.h_business)
    head = c.h_head[hh]
    spouse = c.p_spouse[head]
    owner = np.where((spouse >= 0) & (rng.random(len(hh)) < 0.3), spouse, head)
    # cancelled businesses of households that no longer hold one
    others = np.flatnonzero(~c.h_business & (c.p_age[c.h_head] < 70) & (c.p_age[c.h_head] >= 25))
    gone = _sample(rng, others, max(2, len(others) // 60))
    owner = np.concatenate([owner, c.h_head[gone]])
    active = np.concatenate([np.ones(len(hh), bool), np.zeros(len(gone), bool)])
    n = len(owner)
    individual = rng.random(n) < 0.85
    county = c.p_county[owner]
    est, stock = _history(
        c, rng, n, 0.08, 20, earliest=_years_later(c.p_birth[owner], 20), person=owner
    )
    cancel = np.where(active, NULL_DAY, np.minimum(est + rng.integers(200, 4000, n), c.w.t2 - 1))
    est = np.where(active, est, np.minimum(est, cancel - 200))
    day = np.where(active, est, cancel)
    stock = np.where(active, stock, cancel < c.w.t0)
    shops, sp = _list("shop")
    words, wp = _list("company_word")
    inds, ip = _list("industry")
    ind_name = _cat(
        _take(c.c_names, county), _surname(c, owner), "记", _take(shops, _weighted(rng, n, sp))
    )
    com_name = _cat(
        "烟台", _take(words, _weighted(rng, n, wp)), _take(inds, _weighted(rng, n, ip)), "有限公司"
    )
    r = Rows(owner, day, stock)
    r["credit_code"] = T(credit_codes(rng, c.c_num[county], np.where(individual, 2, 1)))
    r["entity_name"] = T(pc.if_else(pa.array(individual), ind_name, com_name))
    r["established_date"] = D(est)
    r["status"] = E(np.where(active, 0, 1), ("active", "cancelled"))
    etype = np.where(individual, 0, np.where(rng.random(n) < 0.6, 1, 2))
    r["entity_type"] = R(
        etype,
        pa.array(["个体工商户", "有限责任公司（自然人独资）", "有限责任公司（自然人投资或控股）"]),
    )
    r["role"] = E(np.where(individual, 1, 0), ("legal_representative", "operator"))
    r["registration_authority"] = R(county, c.per_county("{f}市场监督管理局"))
    r["cancellation_date"] = D(cancel)
    return r


@builder("chronic_disease_certification")
def _chronic_disease_certification(c: City) -> Rows:
    rng = c.rng("chronic_disease_certification")
    person = np.flatnonzero(c.chronic >= 0)
    n = len(person)
    day, stock = _history(c, rng, n, 0.15, 4.5, earliest=c.p_birth[person] + 365, person=person)
    dis = _diseases()
    r = Rows(person, day, stock)
    r["disease_code"] = R(c.chronic[person], pa.array([d["code"] for d in dis]))
    r["disease_name"] = R(c.chronic[person], pa.array([d["name"] for d in dis]))
    r["certified_date"] = D(day)
    r["valid_until"] = D(np.where(rng.random(n) < 0.6, _years_later(day, 5), NULL_DAY))
    idx, hospitals = c.in_county(rng, "hospital", c.p_county[person])
    r["institution"] = R(idx, hospitals)
    r["status"] = E((rng.random(n) < 0.02).astype(np.int64), ("valid", "cancelled"))
    return r


@builder("commercial_insurance")
def _commercial_insurance(c: City) -> Rows:
    rng = c.rng("commercial_insurance")
    w_ = np.sqrt(np.maximum(c.h_assets, 0).astype(float)) + 50
    hh = _sample(rng, np.arange(c.H), int(c.H * 0.10), w_)
    k = np.where(rng.random(len(hh)) < 0.3, 2, 1)
    pol_hh = np.repeat(hh, k)
    n = len(pol_hh)
    holder = c.h_head[pol_hh]
    spouse = c.p_spouse[holder]
    insured = np.where((spouse >= 0) & (rng.random(n) < 0.35), spouse, holder)
    product = _weighted(rng, n, np.array([0.25, 0.15, 0.35, 0.15, 0.05, 0.05]))
    premium = np.round(
        _lognormal(rng, np.array([6000, 10000, 2500, 300, 1200, 1500])[product], 0.6, n), 2
    )
    years = rng.integers(0, 12, n)
    cash = np.where(product <= 1, np.round(premium * years * rng.uniform(0.5, 0.9, n), 2), np.nan)
    eff = c.w.t0 - years * 365 - rng.integers(0, 365, n)
    status = (rng.random(n) < 0.05).astype(np.int64)
    insurers, ip = _list("insurer")
    ins = _weighted(rng, n, ip)
    number = _cat("P", _num(rng.integers(10**16, 10**17, n), 17))
    dates = _quarter_ends(c, (6, 12))
    pol = np.concatenate([np.arange(n) for _ in dates]) if dates else np.zeros(0, np.int64)
    qd = np.concatenate([np.full(n, d) for d in dates]) if dates else pol
    second = insured[pol] != holder[pol]
    idx = np.concatenate([pol, pol[second]])
    role = np.concatenate([np.zeros(len(pol), np.int64), np.ones(int(second.sum()), np.int64)])
    who = np.concatenate([holder[pol], insured[pol][second]])
    day = np.concatenate([qd, qd[second]])
    r = Rows(who, day)
    r["institution"] = R(ins[idx], pa.array(insurers))
    r["policy_number"] = R(idx, number)
    r["role"] = E(role, ("policyholder", "insured"))
    r["product_type"] = E(
        product[idx], ("life", "annuity", "health", "accident", "property", "other")
    )
    r["premium"] = M(money(premium[idx]))
    r["cash_value"] = M(np.where(np.isnan(cash[idx]), NULL, money(np.nan_to_num(cash[idx]))))
    r["effective_date"] = D(eff[idx])
    r["query_date"] = D(day)
    r["status"] = E(status[idx], ("in_force", "terminated"))
    return r


@builder("community_correction")
def _community_correction(c: City) -> Rows:
    rng = c.rng("community_correction")
    cand = np.flatnonzero(c.p_present & (c.p_age >= 18) & (c.p_age <= 70))
    wt = np.where(c.p_male[cand], 6.0, 1.0)
    person = _sample(rng, cand, _count(0.0004 * c.N), wt)
    n = len(person)
    start, stock = _history(c, rng, n, 0.35, 3.0, person=person)
    end = start + rng.integers(180, 1460, n)
    released = end < c.w.t2
    ctype = _weighted(rng, n, np.array([0.82, 0.10, 0.05, 0.03]))
    agency = c.per_town("{f}司法局{t}司法所")
    idx = np.concatenate([np.arange(n), np.flatnonzero(released & (end >= c.w.t0))])
    upd = np.zeros(len(idx), bool)
    upd[n:] = True
    r = Rows(person[idx], np.where(upd, end[idx], start[idx]), np.where(upd, False, stock[idx]))
    r["correction_type"] = E(ctype[idx], ("probation", "parole", "temporary_outside", "control"))
    r["start_date"] = D(start[idx])
    r["end_date"] = D(end[idx])
    r["agency"] = R(c.p_town[person[idx]], agency)
    r["status"] = E(
        np.where(upd | (released[idx] & (end[idx] < c.w.t0)), 1, 0), ("in_correction", "released")
    )
    return r


def _court_names(c: City) -> pa.Array:
    names = []
    for name, full in zip(c.c_names, c.c_full.to_pylist(), strict=True):
        if "高新" in name:
            full = "烟台市莱山区"
        elif "经济技术" in name:
            full = "烟台市福山区"
        names.append(f"{full}人民法院")
    return pa.array(names, pa.string())


@builder("court_declaration")
def _court_declaration(c: City) -> Rows:
    rng = c.rng("court_declaration")
    missing = np.flatnonzero(c.p_status == 2)
    missing = missing[rng.random(len(missing)) < 0.6]
    cand = np.flatnonzero(
        c.p_present
        & (c.p_age >= 18)
        & np.isin(c.p_dcat, [4, 5])
        & (c.p_dgrade <= 2)
        & (c.p_dgrade >= 1)
    )
    incap = _sample(rng, cand, max(2, len(cand) // 25))
    limited = _sample(rng, np.setdiff1d(cand, incap), max(1, len(cand) // 50))
    person = np.concatenate([missing, incap, limited])
    kind = np.concatenate(
        [np.zeros(len(missing)), np.full(len(incap), 2), np.full(len(limited), 3)]
    ).astype(np.int64)
    n = len(person)
    day, stock = _history(c, rng, n, 0.3, 4.0, person=person)
    year = _ymd(day)[0]
    county = c.p_hcounty[person]
    code4 = pc.utf8_slice_codeunits(_take(c.c_code, county), 2, 6)
    case = _cat(
        "（",
        pc.cast(pa.array(year), pa.string()),
        "）鲁",
        code4,
        "民特",
        pc.cast(pa.array(rng.integers(1, 900, n)), pa.string()),
        "号",
    )
    r = Rows(person, day, stock)
    r["case_number"] = T(case)
    r["declaration_type"] = E(kind, ("missing", "death", "incapacity", "limited_capacity"))
    r["judgment_date"] = D(day)
    r["effective_date"] = D(day + rng.integers(15, 31, n))
    r["court"] = R(county, _court_names(c))
    return r


@builder("cremation")
def _cremation(c: City) -> Rows:
    rng = c.rng("cremation")
    dead = c.dead
    n = len(dead)
    day = c.death[dead] + rng.integers(1, 6, n)
    keep = rng.random(n) < 0.97
    dead, day = dead[keep], day[keep]
    n = len(dead)
    r = Rows(dead, day)
    r["death_date"] = D(c.death[dead])
    r["cremation_date"] = D(day)
    idx, homes = c.in_county(rng, "funeral_home", c.p_county[dead])
    r["funeral_home"] = R(idx, homes)
    r["address"] = R(c.p_hh[dead], _hukou_address(c))
    r["region_code"] = c.region(dead)
    r["fee_waiver"] = M(
        np.where(rng.random(n) < 0.85, money(parameters()["cremation_fee_waiver"]), NULL)
    )
    return r


def _died_in_hospital(c: City) -> np.ndarray:
    s = stays(c)
    out = np.zeros(c.N, bool)
    out[s["person"][s["died"]]] = True
    return out


@builder("death_certificate")
def _death_certificate(c: City) -> Rows:
    rng = c.rng("death_certificate")
    dead = c.dead
    n = len(dead)
    day = c.death[dead]
    in_hosp = _died_in_hospital(c)[dead]
    place = np.where(in_hosp, 0, _weighted(rng, n, np.array([0.0, 0.72, 0.14, 0.09, 0.05])))
    age = c.p_age[dead]
    cause = np.where(
        age >= 60,
        _weighted(rng, n, np.array([0.26, 0.25, 0.22, 0.10, 0.04, 0.04, 0.03, 0.06])),
        _weighted(rng, n, np.array([0.15, 0.18, 0.30, 0.04, 0.18, 0.04, 0.04, 0.07])),
    )
    causes = [
        "脑血管病",
        "心脏病",
        "恶性肿瘤",
        "呼吸系统疾病",
        "损伤和中毒外部原因",
        "内分泌营养和代谢疾病",
        "消化系统疾病",
        "其他疾病",
    ]
    hidx, hospitals = c.in_county(rng, "hospital", c.p_county[dead])
    town_inst = c.per_town("{t}卫生院")
    inst = pa.concat_arrays([hospitals, town_inst])
    inst_idx = np.where(in_hosp, hidx, len(hospitals) + c.p_town[dead])
    year = _ymd(day)[0]
    number = _cat(
        _take(c.c_code, c.p_county[dead]),
        pc.cast(pa.array(year), pa.string()),
        _num(rng.integers(0, 10**6, n), 6),
    )
    r = Rows(dead, day)
    r["certificate_number"] = T(number)
    r["death_date"] = D(day)
    r["death_place"] = R(
        place, pa.array(["医疗卫生机构", "家中", "养老服务机构", "其他场所", "送医途中"])
    )
    r["underlying_cause"] = R(cause, pa.array(causes))
    r["institution"] = R(inst_idx, inst)
    r["issue_date"] = D(np.minimum(day + rng.integers(0, 2, n), c.w.t2 - 1))
    return r


@builder("death_registration")
def _death_registration(c: City) -> Rows:
    dead = c.dead
    r = Rows(dead, c.death[dead])
    r["death_date"] = D(c.death[dead])
    r["registration_authority"] = R(c.p_htown[dead], c.per_town("{f}公安局{t}派出所"))
    r["cancellation_date"] = D(death_cancel(c))
    r["region_code"] = c.region(dead)
    return r


def _roll_status(rng, n: int, shares) -> np.ndarray:
    return _weighted(rng, n, np.asarray(shares, float))


@builder("dibao_roll")
def _dibao_roll(c: City) -> Rows:
    rng = c.rng("dibao_roll")
    hh = np.flatnonzero(c.h_dibao)
    start, _ = _history(c, rng, len(hh), 0.08, 8.0, person=c.h_head[hh])
    status = _roll_status(rng, len(hh), [0.96, 0.015, 0.025])
    member = np.flatnonzero(c.p_dibao)
    h_of = np.searchsorted(hh, c.p_hh[member])
    pay_from = _month_start(start[h_of]) + 31
    person, day, _ = c.monthly(member, 1, start=_month_start(pay_from))
    hi = np.searchsorted(hh, c.p_hh[person])
    household = c.p_hh[person]
    standard = c.h_standard[household]
    amount = np.maximum(standard - c.h_pc_income[household], 0.12 * standard)
    r = Rows(person, day)
    r["head_id_number"] = R(c.p_head[person], c.people_ids)
    r["relation"] = R(c.p_rel[person], pa.array(RELATION_ZH))
    r["region_code"] = c.region(person)
    r["area_type"] = E(np.where(c.p_urban[person], 0, 1), ("urban", "rural"))
    r["household_size"] = I(c.h_size[household])
    r["monthly_amount"] = M(whole(amount))
    r["start_date"] = D(start[hi])
    r["roll_date"] = D(day)
    r["status"] = E(status[hi], ("active", "suspended", "gradual_exit"))
    r["single_person"] = B(np.zeros(len(person), np.int64))
    return r


@builder("difficult_worker")
def _difficult_worker(c: City) -> Rows:
    rng = c.rng("difficult_worker")
    e = employers(c)
    hh = c.p_hh
    sick = np.bincount(hh, weights=(c.chronic >= 0) | c.p_severe, minlength=c.H) > 0
    cand = np.flatnonzero(
        c.p_employed
        & c.p_present
        & (c.p_age < 60)
        & ((c.h_pc_income[hh] < 1.5 * c.h_standard[hh]) | sick[hh])
    )
    person = _sample(rng, cand, max(3, len(cand) // 12))
    n = len(person)
    day, stock = _history(c, rng, n, 0.25, 3.0, person=person)
    r = Rows(person, day, stock)
    r["employer"] = R(e["of"][person], e["names"])
    kinds = ["因病致困", "因残致困", "子女就学困难", "单亲家庭", "因灾致困", "收入低"]
    r["difficulty_type"] = R(
        _weighted(rng, n, np.array([0.35, 0.15, 0.15, 0.1, 0.05, 0.2])), pa.array(kinds)
    )
    r["filing_date"] = D(day)
    r["status"] = E((rng.random(n) < 0.15).astype(np.int64), ("active", "exited"))
    r["assistance_amount"] = M(whole(np.round(rng.uniform(500, 3000, n), -2)))
    return r


def _certificate_numbers(c: City, person: np.ndarray) -> pa.Array:
    return _cat(
        _take(c.ids, person),
        pc.cast(pa.array(c.p_dcat[person] + 1), pa.string()),
        pc.cast(pa.array(c.p_dgrade[person]), pa.string()),
    )


@builder("disability_certificate")
def _disability_certificate(c: City) -> Rows:
    rng = c.rng("disability_certificate")
    person = np.flatnonzero(c.p_dgrade > 0)
    n = len(person)
    lo = np.maximum(c.p_birth[person] + 30, _years_later(np.full(n, c.w.t2), -10))
    issue = lo + np.floor(rng.random(n) * np.maximum(c.w.t2 - lo, 1)).astype(np.int64)
    issue = np.minimum(issue, c.death[person] - 1)
    issue = np.maximum(issue, c.p_birth[person] + 1)
    r = Rows(person, issue, issue < c.w.t0)
    r["category"] = E(c.p_dcat[person], DISABILITY)
    r["grade"] = E(c.p_dgrade[person] - 1, ("1", "2", "3", "4"), mix=True)
    r["issue_date"] = D(issue)
    r["certificate_number"] = T(_certificate_numbers(c, person))
    r["valid_until"] = D(_years_later(issue, 10))
    r["status"] = E(np.zeros(n, np.int64), ("valid",))
    return r


@builder("disability_rehab")
def _disability_rehab(c: City) -> Rows:
    rng = c.rng("disability_rehab")
    cand = np.flatnonzero((c.p_dgrade > 0) & (c.p_age < 18) & c.p_present)
    person = _sample(rng, cand, max(3, int(len(cand) * 0.35)))
    n = len(person)
    start = c.w.uniform(rng, n)
    types = [
        "视力残疾康复",
        "听力言语康复",
        "听力言语康复",
        "肢体康复训练",
        "智力康复训练",
        "精神（孤独症）康复训练",
        "综合康复训练",
    ]
    r = Rows(person, start)
    r["rehab_type"] = R(np.maximum(c.p_dcat[person], 0), pa.array(types))
    r["institution"] = R(c.p_county[person], c.per_county("{f}残疾人康复中心"))
    r["start_date"] = D(start)
    r["end_date"] = D(start + rng.integers(90, 366, n))
    r["subsidy_amount"] = M(whole(np.round(rng.uniform(6000, 20000, n), -2)))
    r["self_paid"] = M(money(np.round(rng.uniform(0, 3000, n), 2)))
    return r


@builder("disability_subsidy")
def _disability_subsidy(c: City) -> Rows:
    p = parameters()
    disabled = c.p_dgrade > 0
    poor = c.p_dibao | c.p_tekun | low_income(c)["member"]
    living = np.flatnonzero(disabled & poor)
    care = np.flatnonzero(disabled & c.p_severe)
    parts = []
    for kind, who in ((0, living), (1, care)):
        person, day, _ = c.monthly(who, 25)
        parts.append((person, day, np.full(len(person), kind)))
    person = np.concatenate([q[0] for q in parts])
    day = np.concatenate([q[1] for q in parts])
    kind = np.concatenate([q[2] for q in parts])
    amount = np.where(
        kind == 0,
        p["disability_living_subsidy"],
        np.where(
            c.p_dgrade[person] == 1, p["disability_care_subsidy_1"], p["disability_care_subsidy_2"]
        ),
    )
    r = Rows(person, day)
    r["subsidy_type"] = E(kind, ("living", "care"))
    r["certificate_number"] = T(_certificate_numbers(c, person))
    r["amount"] = M(whole(amount))
    r["payment_date"] = D(day)
    r["region_code"] = c.region(person)
    return r


def _cat_int(xs: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(xs).astype(np.int64) if xs else np.zeros(0, np.int64)


def _disaster_households(c: City):
    rng = c.rng("disaster_households")
    out = []
    for ev in disasters(c):
        town_of_hh = c.v_town[c.h_village]
        cand = np.flatnonzero(~c.h_urban & np.isin(town_of_hh, ev["towns"]))
        hh = _sample(rng, cand, max(2, int(len(cand) * ev["share"])))
        out.append((ev, hh))
    return out


DISASTER_ZH = {
    "typhoon": "台风",
    "flood": "暴雨洪涝",
    "hail": "风雹",
    "low_temperature": "低温冷冻",
    "drought": "干旱",
    "marine": "风暴潮",
}
DISASTER_KEYS = (
    "flood",
    "typhoon",
    "drought",
    "hail",
    "low_temperature",
    "earthquake",
    "geological",
    "marine",
    "forest_fire",
    "other",
)


@builder("disaster_loss")
def _disaster_loss(c: City) -> Rows:
    rng = c.rng("disaster_loss")
    person, day, kind, loss, amount, size, report = [], [], [], [], [], [], []
    for ev, hh in _disaster_households(c):
        n = len(hh)
        lt = _weighted(rng, n, np.array([0.005, 0.02, 0.10, 0.70, 0.0, 0.175]))
        if ev["kind"] == "drought":
            lt = np.full(n, 3)
        base = np.array([60000, 30000, 8000, 3000, 0, 5000])[lt]
        person.append(c.h_head[hh])
        day.append(np.full(n, ev["day"]))
        kind.append(np.full(n, DISASTER_KEYS.index(ev["kind"])))
        loss.append(lt)
        amount.append(np.round(_lognormal(rng, base, 0.5, n), -1))
        size.append(c.h_size[hh])
        report.append(ev["day"] + rng.integers(1, 8, n))
    person = _cat_int(person)
    r = Rows(person, _cat_int(day))
    r["region_code"] = R(c.h_village[c.p_hh[person]], c.v_code)
    r["disaster_type"] = E(_cat_int(kind), DISASTER_KEYS)
    r["disaster_date"] = D(r.day)
    r["loss_type"] = E(
        _cat_int(loss),
        (
            "house_collapsed",
            "house_severely_damaged",
            "house_damaged",
            "crops",
            "casualty",
            "property",
        ),
    )
    r["affected_persons"] = I(_cat_int(size))
    r["direct_loss"] = M(whole(_cat_int(amount)))
    r["report_date"] = D(np.minimum(_cat_int(report), c.w.t2 - 1))
    return r


@builder("disaster_relief")
def _disaster_relief(c: City) -> Rows:
    rng = c.rng("disaster_relief")
    person, day, kind, amount, size, dtype = [], [], [], [], [], []
    for ev, hh in _disaster_households(c):
        n = len(hh)
        got = rng.random(n) < 0.5
        person.append(c.h_head[hh[got]])
        day.append(ev["day"] + rng.integers(0, 4, int(got.sum())))
        kind.append(np.zeros(int(got.sum()), np.int64))
        amount.append(np.round(rng.uniform(500, 2000, int(got.sum())), -1))
        size.append(c.h_size[hh[got]])
        dtype.append(np.full(int(got.sum()), list(DISASTER_ZH).index(ev["kind"])))
        rebuild = hh[rng.random(n) < 0.03]
        person.append(c.h_head[rebuild])
        day.append(ev["day"] + rng.integers(30, 120, len(rebuild)))
        kind.append(np.full(len(rebuild), 2))
        amount.append(np.round(rng.uniform(10000, 40000, len(rebuild)), -2))
        size.append(c.h_size[rebuild])
        dtype.append(np.full(len(rebuild), list(DISASTER_ZH).index(ev["kind"])))
    # winter-spring relief for poor rural households, in December
    poor = np.flatnonzero(
        ~c.h_urban & (c.h_dibao | np.isin(np.arange(c.H), low_income(c)["household"]))
    )
    ws = _sample(rng, poor, max(2, len(poor) // 3))
    for d in _yearly_dates(c, 12, 10 + rng.integers(0, 15, len(ws))):
        person.append(c.h_head[ws])
        day.append(d)
        kind.append(np.full(len(ws), 3))
        amount.append(np.round(rng.uniform(300, 900, len(ws)), -1))
        size.append(c.h_size[ws])
        dtype.append(np.full(len(ws), len(DISASTER_ZH)))
    person = _cat_int(person)
    r = Rows(person, _cat_int(day))
    r["region_code"] = R(c.h_village[c.p_hh[person]], c.v_code)
    r["relief_type"] = E(
        _cat_int(kind), ("emergency", "transition", "housing_rebuild", "winter_spring")
    )
    r["disaster_type"] = R(_cat_int(dtype), pa.array([*DISASTER_ZH.values(), "冬春生活困难"]))
    r["amount"] = M(whole(_cat_int(amount)))
    r["relief_date"] = D(r.day)
    r["persons"] = I(_cat_int(size))
    return r


@builder("divorce_registration")
def _divorce_registration(c: City) -> Rows:
    rng = c.rng("divorce_registration")
    heads = np.flatnonzero(
        (c.p_rel == 0) & (c.p_spouse >= 0) & c.p_present & (c.p_age >= 25) & (c.p_age <= 62)
    )
    heads = heads[c.p_present[c.p_spouse[heads]]]
    k = _count(parameters()["divorce_rate"] * c.N * c.w.span / 365.25)
    a = _sample(rng, heads, k)
    b = c.p_spouse[a]
    day = c.w.uniform(rng, len(a))
    seq = rng.integers(0, 10**6, len(a))
    who = np.concatenate([a, b])
    other = np.concatenate([b, a])
    day2 = np.concatenate([day, day])
    county = c.p_hcounty[np.concatenate([a, a])]
    r = Rows(who, day2)
    r["spouse_document"] = R(other, c.people_ids)
    r["spouse_name"] = R(other, c.people_names)
    r["registration_date"] = D(day2)
    r["certificate_number"] = T(
        _cat(
            "L",
            _take(c.c_code, county),
            "-",
            pc.cast(pa.array(_ymd(day2)[0]), pa.string()),
            "-",
            _num(np.concatenate([seq, seq]), 6),
        )
    )
    r["registration_authority"] = R(county, c.per_county("{f}民政局婚姻登记处"))
    return r


@builder("drug_rehab")
def _drug_rehab(c: City) -> Rows:
    rng = c.rng("drug_rehab")
    inside = np.flatnonzero(c.p_status == 3)
    cand = np.flatnonzero(c.p_present & (c.p_age >= 20) & (c.p_age <= 50))
    out = _sample(rng, cand, max(2, len(inside) // 3))
    person = np.concatenate([inside, out])
    n = len(person)
    released = np.arange(n) >= len(inside)
    decision = np.where(
        released, c.w.t0 - 700 + rng.integers(0, 300, n), c.w.t2 - 1 - rng.integers(0, 700, n)
    )
    start = decision + rng.integers(1, 6, n)
    end = _years_later(start, 2)
    release = np.where(released, np.minimum(end, c.w.t2 - 1 - rng.integers(0, 200, n)), NULL_DAY)
    release = np.where(released, np.maximum(release, c.w.t0), release)
    day = np.where(released, release, start)
    r = Rows(person, day, ~released & (start < c.w.t0))
    r["decision_date"] = D(decision)
    r["start_date"] = D(start)
    r["end_date"] = D(end)
    r["release_date"] = D(release)
    facilities, fp = _list("rehab_facility")
    r["facility"] = R(np.where(c.p_male[person], 0, len(facilities) - 1), pa.array(facilities))
    r["decision_authority"] = R(c.p_hcounty[person], c.per_county("{f}公安局"))
    r["status"] = E(released.astype(np.int64), ("in_rehab", "released"))
    return r


@builder("employment_registration")
def _employment_registration(c: City) -> Rows:
    rng = c.rng("employment_registration")
    e = employers(c)
    u = unemployment(c)
    emp = np.flatnonzero(e["of"] >= 0)
    k = _count(0.08 * len(emp) * c.w.span / 365.25)
    changers = _sample(rng, emp, k)
    cday = c.w.uniform(rng, len(changers))
    re = u["person"][u["reemployed"]]
    rday = u["cancel"][u["reemployed"]]
    out = _outsider_rows(c, rng, len(changers) + len(re))
    oday = c.w.uniform(rng, len(out))
    person = np.concatenate([changers, re, out])
    day = np.concatenate([cday, rday, oday])
    n = len(person)
    employer = np.where(person < c.N, e["of"][np.minimum(person, c.N - 1)], -1)
    employer = np.where(employer < 0, rng.integers(0, len(e["names"]), n), employer)
    form = np.where(
        np.arange(n) < len(changers), 0, _weighted(rng, n, np.array([0.5, 0.25, 0.12, 0.08, 0.05]))
    )
    wage = np.where(person < c.N, c.p_income[np.minimum(person, c.N - 1)], 0)
    wage = np.where(wage < 2200, np.round(rng.uniform(2200, 4500, n), -1), wage)
    r = Rows(person, day)
    r["employer"] = R(employer, e["names"])
    r["employer_credit_code"] = R(np.where(form == 0, employer, -1), e["codes"])
    r["employment_date"] = D(day)
    r["employment_form"] = E(
        form, ("unit", "flexible", "self_employed", "public_welfare_post", "other")
    )
    r["contract_end"] = D(np.where(form == 0, _years_later(day, rng.integers(1, 4, n)), NULL_DAY))
    r["monthly_wage"] = M(whole(wage))
    return r


@builder("family_planning_special")
def _family_planning_special(c: City) -> Rows:
    rng = c.rng("family_planning_special")
    p = parameters()
    cand = np.flatnonzero(c.p_present & (c.p_age >= 50) & ~c.p_male & np.isin(c.p_rel, [0, 1]))
    women = _sample(rng, cand, max(2, int(len(cand) * 0.003)))
    men = c.p_spouse[women]
    men = men[men >= 0]
    kind_w = (rng.random(len(women)) < 0.4).astype(np.int64)
    kind_m = kind_w[np.flatnonzero(c.p_spouse[women] >= 0)]
    person = np.concatenate([women, men])
    kind = np.concatenate([kind_w, kind_m])
    n = len(person)
    day0, stock0 = _history(c, rng, len(women), 0.1, 10.0, person=women)
    day = np.concatenate([day0, day0[c.p_spouse[women] >= 0]])
    stock = np.concatenate([stock0, stock0[c.p_spouse[women] >= 0]])
    r = Rows(person, day, stock)
    r["family_type"] = E(kind, ("child_died", "child_disabled"))
    r["confirmed_date"] = D(day)
    amount = np.where(
        kind == 0, p["family_planning_child_died"], p["family_planning_child_disabled"]
    )
    r["monthly_allowance"] = M(whole(amount))
    r["status"] = E((rng.random(n) < 0.02).astype(np.int64), ("active", "stopped"))
    return r


COASTAL = {
    370602: "烟",
    370612: "牟",
    370613: "烟",
    370614: "蓬",
    370676: "烟",
    370681: "龙",
    370683: "莱州",
    370687: "海",
}


@builder("fishing_vessel")
def _fishing_vessel(c: City) -> Rows:
    rng = c.rng("fishing_vessel")
    coastal = np.isin(c.c_num, list(COASTAL))
    heads = c.h_head[~c.h_urban & coastal[c.v_county[c.h_village]]]
    heads = heads[c.p_male[heads] & (c.p_age[heads] >= 28) & (c.p_age[heads] <= 68)]
    person = _sample(rng, heads, max(3, int(len(heads) * 0.02)))
    n = len(person)
    day, stock = _history(c, rng, n, 0.05, 20.0, person=person)
    county = c.p_county[person]
    abbr = pa.array([COASTAL.get(int(x), "烟") for x in c.c_num])
    vtype = _weighted(rng, n, np.array([0.7, 0.2, 0.1]))
    power = np.round(_lognormal(rng, np.array([90, 25, 40])[vtype], 0.7, n), 1)
    length = np.round(np.clip(_lognormal(rng, 14, 0.35, n), 6, 45), 2)
    r = Rows(person, day, stock)
    r["vessel_number"] = T(
        _cat(
            _take(c.c_code, county),
            pc.cast(pa.array(_ymd(day)[0]), pa.string()),
            _num(rng.integers(0, 10**6, n), 6),
        )
    )
    r["vessel_name"] = T(
        _cat("鲁", _take(abbr, county), "渔", _num(rng.integers(10000, 99999, n), 5))
    )
    r["vessel_type"] = R(vtype, pa.array(["捕捞渔船", "养殖渔船", "辅助渔船"]))
    r["engine_power"] = M(money(power), amount=False)
    r["vessel_length"] = M(money(length), amount=False)
    r["vessel_value"] = M(whole(np.round(power * length * rng.uniform(80, 160, n), -2)))
    r["registration_date"] = D(day)
    r["status"] = E((rng.random(n) < 0.06).astype(np.int64), ("valid", "cancelled"))
    return r


@builder("housing_contract")
def _housing_contract(c: City) -> Rows:
    rng = c.rng("housing_contract")
    b = purchases(c)
    n = len(b["household"])
    buyer = c.h_head[b["household"]]
    r = Rows(buyer, b["sign"])
    r["contract_number"] = T(
        _cat(
            "YT",
            pc.cast(pa.array(_ymd(b["sign"])[0]), pa.string()),
            _num(rng.integers(0, 10**7, n), 7),
        )
    )
    r["project"] = b["project"]
    r["location"] = T(b["location"])
    r["floor_area"] = M(money(b["area"]), amount=False)
    r["price"] = M(whole(b["price"]))
    r["signing_date"] = D(b["sign"])
    r["status"] = E((rng.random(n) < 0.03).astype(np.int64), ("filed", "cancelled"))
    return r


@builder("housing_subsidy")
def _housing_subsidy(c: City) -> Rows:
    rng = c.rng("housing_subsidy")
    has_tekun = np.bincount(c.p_hh, weights=c.p_tekun, minlength=c.H) > 0
    poor = c.h_dibao | has_tekun | np.isin(np.arange(c.H), low_income(c)["household"])
    rural = np.flatnonzero(poor & ~c.h_urban)
    urban = np.flatnonzero(poor & c.h_urban & (c.h_dwellings == 0))
    urban = np.concatenate(
        [urban, _sample(rng, np.flatnonzero(poor & c.h_urban), max(1, len(urban)))]
    )
    reno = _sample(rng, rural, max(4, len(rural) // 25))
    seis = _sample(rng, np.setdiff1d(rural, reno), max(2, len(rural) // 80))
    rent = _sample(rng, np.unique(urban), max(2, len(np.unique(urban)) // 8))
    hh = np.concatenate([reno, seis, rent])
    kind = np.concatenate([np.zeros(len(reno)), np.ones(len(seis)), np.full(len(rent), 2)]).astype(
        np.int64
    )
    n = len(hh)
    day = c.w.uniform(rng, n)
    amount = np.where(
        kind == 0,
        rng.uniform(15000, 35000, n),
        np.where(kind == 1, rng.uniform(8000, 20000, n), rng.uniform(300, 700, n) * 12),
    )
    done = day + rng.integers(60, 200, n)
    r = Rows(c.h_head[hh], day)
    r["region_code"] = R(c.h_village[hh], c.v_code)
    r["assistance_type"] = E(kind, ("rural_renovation", "seismic_retrofit", "rent_subsidy"))
    r["approval_date"] = D(day)
    r["amount"] = M(whole(np.round(amount, -1)))
    r["completion_date"] = D(np.where((kind <= 1) & (done < c.w.t2), done, NULL_DAY))
    return r


OTHER_PLACES = (
    "青岛市市南区",
    "济南市历下区",
    "威海市环翠区",
    "潍坊市奎文区",
    "北京市朝阳区",
    "上海市浦东新区",
    "大连市中山区",
    "天津市和平区",
    "深圳市南山区",
    "杭州市西湖区",
)


@builder("hukou_change")
def _hukou_change(c: City) -> Rows:
    rng = c.rng("hukou_change")
    w = c.w
    m = moves(c)
    cancel = death_cancel(c)
    dead = c.dead[cancel != NULL_DAY]
    dday = cancel[cancel != NULL_DAY]
    b = c.births
    breg = b["day"] + rng.integers(10, 61, len(b["day"]))
    born = breg < w.t2
    cand = np.flatnonzero(
        c.p_present & c.p_male & (c.p_age >= 18) & (c.p_age <= 22) & (c.death == NEVER)
    )
    enlist = _sample(rng, cand, max(1, int(len(cand) * 0.01 * w.span / 365.25)))
    corr = _sample(rng, np.flatnonzero(c.p_present & (c.death == NEVER)), max(2, c.N // 3000))
    abroad = _sample(
        rng,
        np.flatnonzero(c.p_present & (c.p_age >= 25) & (c.death == NEVER)),
        max(1, c.N // 20000),
    )
    parts = [
        (dead, dday, 1),
        (b["person"][born], breg[born], 0),
        (m["in"], m["in_day"], 2),
        (m["out"], m["out_day"], 3),
        (enlist, w.uniform(rng, len(enlist)), 4),
        (abroad, w.uniform(rng, len(abroad)), 5),
        (corr, w.uniform(rng, len(corr)), 6),
    ]
    person = np.concatenate([q[0] for q in parts])
    day = np.concatenate([q[1] for q in parts]).astype(np.int64)
    kind = np.concatenate([np.full(len(q[0]), q[2]) for q in parts])
    n = len(person)
    # the registry household (registry persons; newborns: the mother's; movers in: none)
    mother_of = np.full(c.NP, -1, np.int64)
    mother_of[b["person"]] = b["mother"]
    reg = np.where(person < c.N, person, mother_of[person])
    hh = np.where(reg >= 0, c.p_hh[np.maximum(reg, 0)], -1)
    village = np.where(reg >= 0, c.p_hukou[np.maximum(reg, 0)], -1)
    village = np.where(
        kind == 2,
        np.concatenate(
            [q[0] * 0 for q in parts[:2]] + [m["in_village"]] + [q[0] * 0 for q in parts[3:]]
        ),
        village,
    )
    h_number = _num(np.arange(1, c.H + 1), 9)
    hukou_addr = _hukou_address(c)
    village_addr = _cat("山东省", _take(c.c_full, c.v_county), _take(c.t_name, c.v_town), c.v_name)
    elsewhere = pa.array(list(OTHER_PLACES))
    place = rng.integers(0, len(OTHER_PLACES), n)
    r = Rows(person, day)
    r["change_type"] = E(
        kind, ("birth", "death", "move_in", "move_out", "enlistment", "settle_abroad", "correction")
    )
    r["change_date"] = D(day)
    r["household_number"] = R(np.where(kind == 2, -1, hh), h_number)
    from_addr = pc.if_else(pa.array(kind == 2), _take(elsewhere, place), _take(hukou_addr, hh))
    from_addr = pc.if_else(pa.array(np.isin(kind, [0, 1, 6])), pa.nulls(n, pa.string()), from_addr)
    to_addr = pc.if_else(pa.array(kind == 3), _take(elsewhere, place), _take(village_addr, village))
    to_addr = pc.if_else(pa.array(kind == 5), pa.array(["境外"] * n), to_addr)
    to_addr = pc.if_else(pa.array(np.isin(kind, [1, 4, 6])), pa.nulls(n, pa.string()), to_addr)
    r["from_address"] = T(from_addr)
    r["to_address"] = T(to_addr)
    r["region_code"] = R(village, c.v_code)
    town = np.where(village >= 0, c.v_town[np.maximum(village, 0)], 0)
    r["agency"] = R(town, c.per_town("{f}公安局{t}派出所"))
    return r


@builder("low_income_roll")
def _low_income_roll(c: City) -> Rows:
    li = low_income(c)
    rg = rigid_expense(c)
    hh = np.concatenate([li["household"], rg["household"]])
    ident = np.concatenate([li["day"], rg["day"]])
    cat = np.concatenate([np.zeros(len(li["household"])), np.ones(len(rg["household"]))]).astype(
        np.int64
    )
    order = np.argsort(hh, kind="stable")
    hh, ident, cat = hh[order], ident[order], cat[order]
    keep = np.concatenate([[True], hh[1:] != hh[:-1]])
    hh, ident, cat = hh[keep], ident[keep], cat[keep]
    member = np.flatnonzero(np.isin(c.p_hh, hh) & c.p_present)
    hi = np.searchsorted(hh, c.p_hh[member])
    person, day, _ = c.monthly(member, 1, start=_month_start(ident[hi]))
    hi = np.searchsorted(hh, c.p_hh[person])
    r = Rows(person, day)
    r["head_id_number"] = R(c.p_head[person], c.people_ids)
    r["relation"] = R(c.p_rel[person], pa.array(RELATION_ZH))
    r["region_code"] = c.region(person)
    r["category"] = E(cat[hi], ("near_dibao", "rigid_expense"))
    r["identified_date"] = D(ident[hi])
    r["valid_until"] = D(np.where(cat[hi] == 1, _years_later(ident[hi], 1), NULL_DAY))
    r["household_size"] = I(c.h_size[c.p_hh[person]])
    r["roll_date"] = D(day)
    r["status"] = E(np.zeros(len(person), np.int64), ("active", "exited"))
    return r


@builder("marriage_registration")
def _marriage_registration(c: City) -> Rows:
    m = marriages(c)
    a = m["a"]
    county = c.p_hcounty[a]
    r = Rows(a, m["day"])
    r["spouse_document"] = R(m["b"], c.people_ids)
    r["spouse_name"] = R(m["b"], c.people_names)
    r["business_type"] = E(m["remarriage"].astype(np.int64), ("marriage", "remarriage"))
    r["registration_date"] = D(m["day"])
    r["certificate_number"] = T(
        _cat(
            "J",
            _take(c.c_code, county),
            "-",
            pc.cast(pa.array(_ymd(m["day"])[0]), pa.string()),
            "-",
            _num(m["seq"], 6),
        )
    )
    r["registration_authority"] = R(county, c.per_county("{f}民政局婚姻登记处"))
    return r


def _assistance_category(c: City, person: np.ndarray) -> np.ndarray:
    return np.where(c.p_tekun[person], 0, np.where(c.p_dibao[person], 1, 2))


@builder("medical_assistance")
def _medical_assistance(c: City) -> Rows:
    s = stays(c)
    o = outpatient(c)
    si = np.flatnonzero(s["assist"] > 0)
    oi = np.flatnonzero(o["assist"] > 0)
    person = np.concatenate([s["person"][si], o["person"][oi]])
    day = np.concatenate([s["settle"][si], o["day"][oi]])
    r = Rows(person, day)
    r["settlement_number"] = T(
        pa.concat_arrays([s["number"].take(pa.array(si)), o["number"].take(pa.array(oi))])
    )
    r["settlement_date"] = D(day)
    r["assistance_category"] = R(
        _assistance_category(c, person),
        pa.array(["特困供养人员", "最低生活保障对象", "低保边缘家庭成员"]),
    )
    r["total_cost"] = M(np.concatenate([s["total"][si], o["total"][oi]]))
    r["assistance_paid"] = M(np.concatenate([s["assist"][si], o["assist"][oi]]))
    r["self_paid"] = M(np.concatenate([s["self"][si], o["self"][oi]]))
    return r


@builder("medical_enrollment")
def _medical_enrollment(c: City) -> Rows:
    """Enrolments of the persons civil affairs pays the premium for (资助参保: 低保, 特困,
    low-income, severely disabled), and enrolment changes (stopped, switched scheme) of anyone;
    one row per person and year."""
    rng = c.rng("medical_enrollment")
    w = c.w
    alive = c.alive(np.arange(c.N), np.full(c.N, w.t0))
    funded = (c.p_dibao | c.p_tekun | low_income(c)["member"] | c.p_severe) & alive
    changed = alive & ~funded & (rng.random(c.N) < 0.02)
    person = np.flatnonzero(funded | changed)
    n = len(person)
    e = employers(c)
    employee = e["employee"][person] | np.isin(pensions(c)["kind"][person], [0, 1])
    stopped = changed[person] & (rng.random(n) < 0.6)
    y0 = _date(w.t0).year
    years = [(y0, np.full(n, w.t0), funded[person])]
    y1 = _date(w.t2 - 1).year
    if y1 > y0:
        years.append((y1, np.full(n, _days(date(y1, 1, 1))), np.zeros(n, bool)))
    # changes happen during the window
    day0 = np.where(funded[person], w.t0, w.uniform(rng, n))
    idx = np.concatenate([np.arange(n) for _ in years])
    day = np.concatenate([day0 if k == 0 else y[1] for k, y in enumerate(years)])
    stock = np.concatenate([y[2] for y in years])
    r = Rows(person[idx], day, stock)
    r["insurance_type"] = E(
        np.where(employee & ~funded[person], 0, 1)[idx], ("employee", "resident")
    )
    r["enrollment_year"] = I(np.concatenate([np.full(n, y) for y, _, _ in years]))
    r["status"] = E(stopped.astype(np.int64)[idx], ("insured", "stopped"))
    r["subsidised"] = B(np.where(funded[person], 1, np.where(employee, -1, 0))[idx])
    r["insured_region"] = R(c.p_hcounty[person[idx]], c.c_code)
    return r


@builder("medical_inpatient")
def _medical_inpatient(c: City) -> Rows:
    rng = c.rng("medical_inpatient")
    s = stays(c)
    out = _outsider_rows(c, rng, len(s["person"]))
    k = len(out)
    adm_o = c.w.uniform(rng, k)
    dis_o = adm_o + rng.integers(2, 15, k)
    tot_o = money(np.round(_lognormal(rng, 8000, 0.7, k), 2))
    fund_o = tot_o * 6 // 10
    hosp_o, _ = c.in_county(rng, "hospital", rng.integers(0, len(c.c_names), k))
    number_o = _cat("ZY", date_text(dis_o, "compact"), _num(rng.integers(0, 10**8, k), 8))
    cat = np.concatenate
    none = np.full(k, NULL)
    r = Rows(cat([s["person"], out]), cat([s["dis"], dis_o]))
    r["admission_date"] = D(cat([s["adm"], adm_o]))
    r["discharge_date"] = D(r.day)
    r["total_cost"] = M(cat([s["total"], tot_o]))
    r["fund_paid"] = M(cat([s["fund"], fund_o]))
    r["self_paid"] = M(cat([s["self"], tot_o - fund_o]))
    r["institution"] = R(cat([s["inst"].idx, hosp_o]), s["inst"].values)
    r["settlement_number"] = T(pa.concat_arrays([s["number"], number_o]))
    r["settlement_date"] = D(cat([s["settle"], dis_o]))
    employee = cat([s["employee"], np.ones(k, bool)])
    r["insurance_type"] = E(np.where(employee, 0, 1), ("employee", "resident"))
    r["diagnosis"] = R(cat([s["diag"].idx, rng.integers(0, 10, k)]), s["diag"].values)
    r["serious_illness_paid"] = M(cat([np.where(s["serious"] > 0, s["serious"], NULL), none]))
    r["medical_assistance_paid"] = M(cat([np.where(s["assist"] > 0, s["assist"], NULL), none]))
    return r


@builder("medical_outpatient")
def _medical_outpatient(c: City) -> Rows:
    o = outpatient(c)
    r = Rows(o["person"], o["day"])
    r["settlement_number"] = T(o["number"])
    r["settlement_date"] = D(o["day"])
    r["institution"] = o["inst"]
    r["outpatient_type"] = E(np.where(o["chronic"], 0, 1), ("chronic_special", "general"))
    r["disease_name"] = o["disease"]
    r["total_cost"] = M(o["total"])
    r["fund_paid"] = M(o["fund"])
    r["self_paid"] = M(o["self"])
    r["medical_assistance_paid"] = M(np.where(o["assist"] > 0, o["assist"], NULL))
    return r


@builder("old_age_allowance")
def _old_age_allowance(c: City) -> Rows:
    p = parameters()
    old = np.flatnonzero((c.p_age >= 79) & (c.p_status != 1))
    person, day, _ = c.monthly(old, 20, start=_years_later(c.p_birth[old], 80))
    y, m, d = _ymd(day)
    by, bm, bd = _ymd(c.p_birth[person])
    age = y - by - ((bm > m) | ((bm == m) & (bd > d)))
    band = np.where(age >= 100, 2, np.where(age >= 90, 1, 0))
    r = Rows(person, day)
    r["region_code"] = c.region(person)
    r["age_band"] = E(band, ("80-89", "90-99", "100+"))
    r["amount"] = M(
        whole(np.array([p["old_age_80_89"], p["old_age_90_99"], p["old_age_100"]])[band])
    )
    r["payment_date"] = D(day)
    return r


def _skip_generation_children(c: City) -> np.ndarray:
    parent_gen = np.bincount(c.p_hh, weights=np.isin(c.p_rel, [2, 7]), minlength=c.H) > 0
    return np.flatnonzero((c.p_rel == 4) & ~parent_gen[c.p_hh] & (c.p_age < 18) & c.p_present)


@builder("orphan_roll")
def _orphan_roll(c: City) -> Rows:
    rng = c.rng("orphan_roll")
    p = parameters()
    kids = _sample(
        rng, _skip_generation_children(c), max(3, len(_skip_generation_children(c)) // 30)
    )
    n = len(kids)
    ident, _ = _history(c, rng, n, 0.1, 8.0, earliest=c.p_birth[kids] + 30, person=kids)
    inst = rng.random(n) < 0.15
    adult = _years_later(c.p_birth[kids], 18)
    person, day, _ = c.monthly(kids, 1, start=_month_start(ident), end=adult)
    exit_p = kids[(adult >= c.w.t0) & (adult < c.w.t2)]
    exit_d = _month_start(_years_later(c.p_birth[exit_p], 18)) + 31
    exit_d = _month_start(exit_d)
    ok = exit_d < c.w.t2
    person = np.concatenate([person, exit_p[ok]])
    day = np.concatenate([day, exit_d[ok]])
    status = np.concatenate(
        [np.zeros(len(day) - int(ok.sum()), np.int64), np.ones(int(ok.sum()), np.int64)]
    )
    ki = np.searchsorted(kids, person)
    guardian = np.where(inst[ki], -1, c.p_head[person])
    r = Rows(person, day)
    r["region_code"] = c.region(person)
    r["care_mode"] = E(inst[ki].astype(np.int64), ("dispersed", "institution"))
    r["guardian_id_number"] = R(guardian, c.people_ids)
    r["guardian_name"] = R(guardian, c.people_names)
    amt = np.where(inst[ki], p["orphan_allowance_institution"], p["orphan_allowance_dispersed"])
    r["monthly_allowance"] = M(whole(amt))
    r["identified_date"] = D(ident[ki])
    r["roll_date"] = D(day)
    r["status"] = E(status, ("active", "exited"))
    return r


@builder("pension_payment")
def _pension_payment(c: City) -> Rows:
    pen = pensions(c)
    who = np.flatnonzero(pen["kind"] >= 0)
    dom = 8 + (c.p_county[who] % 8)
    person, day, _ = c.monthly(who, dom, start=pen["start"][who])
    kind = pen["kind"][person]
    r = Rows(person, day)
    r["pension_type"] = E(kind, ("enterprise", "public_institution", "resident"))
    r["payment_date"] = D(day)
    r["amount"] = M(money(pen["amount"][person]))
    r["benefit_start"] = D(pen["start"][person])
    r["agency"] = R(c.p_hcounty[person], c.per_county("{f}社会保险事业中心"))
    return r


ETHNICITIES = ("汉族", "回族", "满族", "蒙古族", "朝鲜族", "壮族", "土家族")


@builder("population_registration")
def _population_registration(c: City) -> Rows:
    rng = c.rng("population_registration")
    w = c.w
    cancel = death_cancel(c)
    dead = c.dead[cancel != NULL_DAY]
    m = moves(c)
    person = np.concatenate([np.arange(c.N), dead, m["out"]])
    day = np.concatenate([np.full(c.N, w.t0), cancel[cancel != NULL_DAY], m["out_day"]])
    status = np.concatenate([np.zeros(c.N), np.ones(len(dead)), np.full(len(m["out"]), 2)]).astype(
        np.int64
    )
    stock = status == 0
    eth = _weighted(rng, c.N, np.array([0.9925, 0.0025, 0.002, 0.001, 0.0008, 0.0006, 0.0006]))
    r = Rows(person, day, stock)
    r["gender"] = E(np.where(c.p_male[person], 0, 1), ("male", "female"))
    r["birth_date"] = D(c.p_birth[person])
    r["ethnicity"] = R(eth[person], pa.array(ETHNICITIES))
    r["household_number"] = R(c.p_hh[person], _num(np.arange(1, c.H + 1), 9))
    r["relation"] = R(c.p_rel[person], pa.array(RELATION_ZH))
    r["address"] = R(c.p_hh[person], _hukou_address(c))
    r["region_code"] = c.region(person)
    r["status"] = E(status, ("normal", "cancelled", "moved_out"))
    return r


@builder("prisoner")
def _prisoner(c: City) -> Rows:
    rng = c.rng("prisoner")
    w = c.w
    inside = np.flatnonzero(c.p_status == 1)
    cand = np.flatnonzero(c.p_present & c.p_male & (c.p_age >= 20) & (c.p_age <= 60))
    out = _sample(rng, cand, max(2, len(inside) // 4))
    person = np.concatenate([inside, out])
    n = len(person)
    released = np.arange(n) >= len(inside)
    months = np.clip(np.round(_lognormal(rng, 40, 0.7, n)), 6, 240).astype(np.int64)
    adm = np.where(
        released,
        w.t0 - months * 30 + rng.integers(0, 300, n),
        w.t2 - 1 - np.floor(rng.random(n) * np.minimum(months * 30, 8 * 365)).astype(np.int64),
    )
    end = adm + months * 30
    end = np.where(released, np.clip(end, w.t0, w.t2 - 1), np.maximum(end, w.t2 + 30))
    months = np.where(released, (end - adm) // 30, months)
    adm = np.where(released, end - months * 30, adm)
    rel = np.where(released, end, NULL_DAY)
    sentence = pc.if_else(
        pa.array(months >= 12),
        _cat(
            pc.cast(pa.array(months // 12), pa.string()),
            "年",
            pc.if_else(
                pa.array(months % 12 > 0),
                _cat(pc.cast(pa.array(months % 12), pa.string()), "个月"),
                pa.array([""] * n),
            ),
        ),
        _cat(pc.cast(pa.array(months), pa.string()), "个月"),
    )
    males, mp = _list("prison_male")
    females, _ = _list("prison_female")
    prison = np.where(c.p_male[person], _weighted(rng, n, mp), len(males))
    r = Rows(person, np.where(released, rel, adm), ~released & (adm < w.t0))
    r["prison"] = R(prison, pa.array(males + females))
    r["sentence"] = T(sentence)
    r["admission_date"] = D(adm)
    r["sentence_end"] = D(end)
    r["release_date"] = D(rel)
    r["status"] = E(released.astype(np.int64), ("in_custody", "released"))
    return r


@builder("provident_fund")
def _provident_fund(c: City) -> Rows:
    rng = c.rng("provident_fund")
    p = parameters()
    e = employers(c)
    emp = np.flatnonzero(e["of"] >= 0)
    member = _sample(rng, emp, int(len(emp) * p["provident_member_share"]))
    n = len(member)
    base = np.clip(c.p_income[member], p["si_base_min"] * 0.6, p["si_base_max"])
    dep = np.round(base * p["provident_rate"], 0) * 2
    balance = np.round(dep * rng.uniform(5, 120, n), 2)
    account = _num(370600000000 + np.arange(n) * 7 + 1, 12)
    dom = 5 + (c.p_county[member] % 10)
    rows_p, rows_d, rows_t, rows_a, rows_b, rows_r = [], [], [], [], [], []
    reasons = ["租赁住房", "购买自住住房", "偿还住房贷款本息", "离退休", "大病医疗"]
    for ms in c.w.all_months:
        day = ms + dom - 1
        ok = (day >= c.w.t0) & (day < c.w.t2) & c.alive(member, day)
        idx = np.flatnonzero(ok)
        balance[idx] += dep[idx]
        rows_p.append(idx)
        rows_d.append(day[idx])
        rows_t.append(np.zeros(len(idx), np.int64))
        rows_a.append(dep[idx])
        rows_b.append(balance[idx].copy())
        rows_r.append(np.full(len(idx), -1))
        wd = idx[rng.random(len(idx)) < 0.02]
        amt = np.round(np.minimum(balance[wd] * rng.uniform(0.2, 0.9, len(wd)), 80000), 2)
        balance[wd] -= amt
        rows_p.append(wd)
        rows_d.append(day[wd] + 10)
        rows_t.append(np.ones(len(wd), np.int64))
        rows_a.append(amt)
        rows_b.append(balance[wd].copy())
        rows_r.append(_weighted(rng, len(wd), np.array([0.35, 0.2, 0.35, 0.05, 0.05])))
    idx = np.concatenate(rows_p)
    day = np.concatenate(rows_d)
    kind = np.concatenate(rows_t)
    r = Rows(member[idx], day)
    r["account_number"] = R(idx, account)
    r["employer"] = R(e["of"][member[idx]], e["names"])
    r["business_type"] = E(kind, ("deposit", "withdrawal"))
    r["business_date"] = D(day)
    r["amount"] = M(money(np.concatenate(rows_a)))
    r["balance"] = M(money(np.concatenate(rows_b)))
    r["deposit_base"] = M(np.where(kind == 0, whole(base[idx]), NULL))
    r["withdrawal_reason"] = R(np.concatenate(rows_r), pa.array(reasons))
    c._shared["provident_members"] = member
    return r


@builder("provident_fund_loan")
def _provident_fund_loan(c: City) -> Rows:
    rng = c.rng("provident_fund_loan")
    e = employers(c)
    emp = np.flatnonzero((e["of"] >= 0) & c.p_urban & (c.h_dwellings[c.p_hh] > 0))
    old = _sample(rng, emp, max(2, len(emp) // 12))
    b = purchases(c)
    buyers = c.h_head[b["household"]]
    new_sel = (e["of"][buyers] >= 0) & (rng.random(len(buyers)) < 0.6)
    new = buyers[new_sel]
    n_old, n_new = len(old), len(new)
    d_old = c.w.t0 - rng.integers(30, 15 * 365, n_old)
    d_new = b["registered"][new_sel] - rng.integers(0, 30, n_new)
    person = np.concatenate([old, new])
    day = np.concatenate([d_old, d_new])
    amount = np.round(
        np.concatenate(
            [rng.uniform(200000, 700000, n_old), np.minimum(b["price"][new_sel] * 0.6, 800000)]
        ),
        -3,
    )
    years = (c.w.t2 - day) / 365.25
    term = 20 + np.zeros(len(person))
    paid = np.clip(years / term, 0, 1)
    balance = np.round(amount * (1 - paid) ** 0.8, 2)
    settled = paid >= 1
    loc = pa.concat_arrays([_full_address(c, c.p_hh[old]), b["location"].filter(pa.array(new_sel))])
    r = Rows(person, day, day < c.w.t0)
    r["contract_number"] = T(
        _cat(
            "JK",
            pc.cast(pa.array(_ymd(day)[0]), pa.string()),
            _num(rng.integers(0, 10**8, len(person)), 8),
        )
    )
    r["loan_amount"] = M(whole(amount))
    r["loan_date"] = D(day)
    r["balance"] = M(money(balance))
    r["house_location"] = T(loc)
    r["status"] = E(
        np.where(settled, 1, np.where(rng.random(len(person)) < 0.01, 2, 0)),
        ("repaying", "settled", "overdue"),
    )
    return r


@builder("public_housing")
def _public_housing(c: City) -> Rows:
    rng = c.rng("public_housing")
    li = np.isin(np.arange(c.H), low_income(c)["household"])
    cand = np.flatnonzero(
        c.h_urban & (c.h_dwellings == 0) & (c.h_dibao | li | (c.h_pc_income < 2.5 * c.h_standard))
    )
    hh = _sample(rng, cand, max(3, int(len(cand) * 0.4)))
    n = len(hh)
    day, stock = _history(c, rng, n, 0.1, 6.0, person=c.h_head[hh])
    physical = rng.random(n) < 0.4
    end = _years_later(day, 3)
    end = np.where(end < c.w.t2, _years_later(end, 3), end)
    county = c.v_county[c.h_village[hh]]
    addr = _cat(
        _take(c.c_full, county),
        "幸福家园公租房",
        pc.cast(pa.array(rng.integers(1, 12, n)), pa.string()),
        "号楼",
        pc.cast(pa.array(rng.integers(1, 4, n)), pa.string()),
        "单元",
        pc.cast(pa.array(rng.integers(1, 19, n) * 100 + rng.integers(1, 5, n)), pa.string()),
        "室",
    )
    r = Rows(c.h_head[hh], day, stock)
    r["household_size"] = I(c.h_size[hh])
    r["security_type"] = E((~physical).astype(np.int64), ("physical", "rent_subsidy"))
    r["address"] = T(pc.if_else(pa.array(physical), addr, pa.nulls(n, pa.string())))
    r["monthly_rent"] = M(np.where(physical, whole(rng.uniform(120, 420, n)), NULL))
    r["monthly_subsidy"] = M(np.where(physical, NULL, whole(rng.uniform(300, 800, n))))
    r["start_date"] = D(day)
    r["end_date"] = D(end)
    r["status"] = E(np.zeros(n, np.int64), ("active", "exited"))
    return r


@builder("real_estate")
def _real_estate(c: City) -> Rows:
    rng = c.rng("real_estate")
    d = c.h_dwellings
    hh = np.repeat(np.arange(c.H), d)
    rank = np.arange(len(hh)) - np.repeat(np.cumsum(d) - d, d)
    b = purchases(c)
    hh = np.concatenate([hh, b["household"]])
    rank = np.concatenate([rank, np.full(len(b["household"]), 9)])
    new = rank == 9
    n = len(hh)
    head = c.h_head[hh]
    urban = c.h_urban[hh]
    area = np.where(
        urban,
        np.clip(_lognormal(rng, 88, 0.28, n), 35, 260),
        np.clip(_lognormal(rng, 110, 0.3, n), 40, 320),
    )
    idx_new = np.flatnonzero(new)
    area[idx_new] = b["area"]
    earliest = _years_later(c.p_birth[head], 22)
    day, stock = _history(c, rng, n, 0.0, 25.0, earliest=earliest, person=head)
    day[idx_new] = b["registered"]
    stock[idx_new] = False
    county = c.v_county[c.h_village[hh]]
    year = _ymd(day)[0]
    cert = _cat(
        "鲁（",
        pc.cast(pa.array(year), pa.string()),
        "）",
        _take(c.c_full, county),
        "不动产权第",
        _num(rng.integers(0, 10**7, n), 7),
        "号",
    )
    other_addr = _cat(
        _take(c.c_full, county),
        _take(c.t_name, c.v_town[c.h_village[hh]]),
        _take(c.v_name, rng.integers(0, c.V, n)),
        pc.cast(pa.array(rng.integers(1, 40, n)), pa.string()),
        "号",
    )
    first = _full_address(c, hh)
    loc = pc.if_else(pa.array(rank == 0), first, other_addr)
    loc = pc.if_else(
        pa.array(new),
        pa.concat_arrays([pa.nulls(n - len(idx_new), pa.string()), b["location"]]),
        loc,
    )
    unit = _cat(
        _take(c.v_code, c.h_village[hh]),
        "GB",
        _num(rng.integers(0, 10**5, n), 5),
        "F",
        _num(rng.integers(0, 10**8, n), 8),
    )
    joint = (c.p_spouse[head] >= 0) & (rng.random(n) < 0.3)
    owner = np.concatenate([head, c.p_spouse[head[joint]]])
    sel = np.concatenate([np.arange(n), np.flatnonzero(joint)])
    r = Rows(owner, day[sel], stock[sel])
    r["certificate_number"] = R(sel, cert)
    r["unit_number"] = R(sel, unit)
    r["location"] = R(sel, loc)
    r["usage"] = R(np.where(urban[sel], 0, 1), pa.array(["住宅", "宅基地/住宅"]))
    r["floor_area"] = M(money(np.round(area[sel], 2)), amount=False)
    r["holding"] = R(joint[sel].astype(np.int64), pa.array(["单独所有", "共同共有"]))
    r["registration_date"] = D(day[sel])
    r["status"] = E(np.zeros(len(sel), np.int64), ("current", "cancelled"))
    return r


@builder("relapse_watch")
def _relapse_watch(c: City) -> Rows:
    rng = c.rng("relapse_watch")
    has_tekun = np.bincount(c.p_hh, weights=c.p_tekun, minlength=c.H) > 0
    cand = np.flatnonzero(
        ~c.h_urban & ~c.h_dibao & ~has_tekun & (c.h_pc_income < 2.0 * c.h_standard)
    )
    hh = _sample(rng, cand, max(2, len(cand) // 10))
    n = len(hh)
    day, stock = _history(c, rng, n, 0.2, 4.0, person=c.h_head[hh])
    kind = _weighted(rng, n, np.array([0.35, 0.45, 0.2]))
    risks = ["因病", "因残", "因学", "因灾", "因意外事故", "因务工就业不稳", "缺劳动力"]
    risk = _weighted(rng, n, np.array([0.35, 0.15, 0.1, 0.08, 0.07, 0.15, 0.1]))
    elim = day + rng.integers(180, 720, n)
    eliminated = elim < c.w.t2
    member = np.flatnonzero(np.isin(c.p_hh, hh))
    hi = np.searchsorted(hh, c.p_hh[member])
    r = Rows(member, day[hi], stock[hi])
    r["head_id_number"] = R(c.p_head[member], c.people_ids)
    r["relation"] = R(c.p_rel[member], pa.array(RELATION_ZH))
    r["region_code"] = c.region(member)
    r["watch_type"] = E(kind[hi], ("unstable", "edge", "sudden"))
    r["risk_type"] = R(risk[hi], pa.array(risks))
    r["identified_date"] = D(day[hi])
    r["risk_status"] = E(eliminated[hi].astype(np.int64), ("not_eliminated", "eliminated"))
    r["eliminated_date"] = D(np.where(eliminated, elim, NULL_DAY)[hi])
    r["household_size"] = I(c.h_size[hh][hi])
    r["per_capita_income"] = M(whole(np.round(c.h_pc_income[hh] * 12, -1))[hi])
    return r


@builder("school_enrollment")
def _school_enrollment(c: City) -> Rows:
    rng = c.rng("school_enrollment")
    s = students(c)
    person = s["person"]
    n = len(person)
    status = _weighted(rng, n, np.array([0.985, 0.005, 0.002, 0.0, 0.008]))
    r = Rows(person, s["entry"], s["entry"] < c.w.t0)
    r["school"] = s["school"]
    r["stage"] = E(
        s["stage"],
        ("preschool", "primary", "junior", "senior", "vocational", "higher", "postgraduate"),
    )
    r["grade"] = s["grade"]
    r["enrollment_date"] = D(s["entry"])
    r["status"] = E(status, ("enrolled", "suspended", "dropped", "graduated", "transferred"))
    r["student_number"] = T(_cat("G", _take(c.ids, person)))
    r["school_region"] = s["region"]
    return r


@builder("securities")
def _securities(c: City) -> Rows:
    rng = c.rng("securities")
    cand = np.flatnonzero(c.h_assets >= 50000)
    hh = _sample(rng, cand, int(len(cand) * 0.07), np.log(c.h_assets[cand] + 1.0) ** 3)
    n = len(hh)
    head = c.h_head[hh]
    spouse = c.p_spouse[head]
    owner = np.where((spouse >= 0) & (rng.random(n) < 0.3), spouse, head)
    firms, fp = _list("securities")
    firm = _weighted(rng, n, fp)
    account = _num(rng.integers(10**11, 10**12, n), 12)
    value = c.h_assets[hh] * rng.uniform(0.05, 0.4, n)
    kinds = [(0, 0.6), (1, 0.35), (3, 0.05)]
    ids, types, vals = [], [], []
    for k, share in kinds:
        has = rng.random(n) < (0.7 if k != 3 else 1.0)
        ids.append(np.flatnonzero(has))
        types.append(np.full(int(has.sum()), k))
        vals.append(value[has] * share)
    acc = np.concatenate(ids)
    typ = np.concatenate(types)
    val = np.concatenate(vals)
    q = _quarter_ends(c)
    idx = np.concatenate([np.arange(len(acc)) for _ in q]) if q else np.zeros(0, np.int64)
    day = np.concatenate([np.full(len(acc), d) for d in q]) if q else idx
    drift = np.exp(rng.normal(0, 0.12, len(idx)))
    r = Rows(owner[acc[idx]], day)
    r["institution"] = R(firm[acc[idx]], pa.array(firms))
    r["account_number"] = R(acc[idx], account)
    r["asset_type"] = E(typ[idx], ("stock", "fund", "bond", "cash"))
    r["market_value"] = M(money(np.round(val[idx] * drift, 2)))
    r["query_date"] = D(day)
    return r


@builder("serious_disease")
def _serious_disease(c: City) -> Rows:
    rng = c.rng("serious_disease")
    s = stays(c)
    i = np.flatnonzero(s["serious"] > 0)
    day = np.minimum(s["settle"][i] + rng.integers(0, 11, len(i)), c.w.t2 - 1)
    r = Rows(s["person"][i], day)
    r["settlement_number"] = T(s["number"].take(pa.array(i)))
    r["settlement_date"] = D(day)
    r["institution"] = s["inst"].take(i)
    r["total_cost"] = M(s["total"][i])
    r["eligible_cost"] = M(s["eligible"][i])
    r["serious_paid"] = M(s["serious"][i])
    r["self_paid"] = M(s["self"][i] + s["assist"][i])
    return r


@builder("social_insurance_contribution")
def _social_insurance_contribution(c: City) -> Rows:
    rng = c.rng("social_insurance_contribution")
    p = parameters()
    e = employers(c)
    emp = np.flatnonzero((e["of"] >= 0) & (c.p_age < 60))
    person, day, _ = c.monthly(emp, 1)
    # a contribution month is known once paid, by the end of the month
    end = np.asarray(c.w.all_months[1:] + (_days(_add_months(_date(c.w.all_months[-1]), 1)),))
    paid = end[c.w.month_of(day)] <= c.w.t2
    person, day = person[paid], day[paid]
    base = np.clip(c.p_income[person], p["si_base_min"], p["si_base_max"])
    status = _weighted(rng, len(person), np.array([0.985, 0.012, 0.003]))
    # residents' pension: one yearly contribution of adults without employee insurance
    res = np.flatnonzero(
        c.p_present
        & (c.p_age >= 18)
        & (c.p_age < 60)
        & (e["of"] < 0)
        & (rng.random(c.N) < p["resident_pension_payers"])
    )
    rday = _month_start(c.w.uniform(rng, len(res)))
    tiers = np.array([300, 500, 800, 1000, 1500, 2000, 3000, 5000])
    tier = tiers[
        _weighted(rng, len(res), np.array([0.5, 0.25, 0.08, 0.08, 0.03, 0.03, 0.02, 0.01]))
    ]
    out = _outsider_rows(c, rng, len(emp))
    oday = np.concatenate([np.full(len(out), d) for d in c.w.all_months[:1]]) if len(out) else out
    n1, n2, n3 = len(person), len(res), len(out)
    who = np.concatenate([person, res, out])
    day = np.concatenate([day, rday, oday]).astype(np.int64)
    kind = np.concatenate([np.zeros(n1), np.ones(n2), np.zeros(n3)]).astype(np.int64)
    base_all = np.concatenate([base, np.zeros(n2), np.full(n3, p["si_base_min"])])
    employer = np.concatenate(
        [e["of"][person], np.full(n2, -1), rng.integers(0, len(e["names"]), n3)]
    )
    personal = np.where(
        kind == 0,
        base_all * p["si_personal_rate"],
        np.concatenate([np.zeros(n1), tier, np.zeros(n3)]),
    )
    r = Rows(who, day)
    r["insurance_type"] = E(kind, ("pension", "resident_pension"))
    r["contribution_month"] = D(day)
    r["employer"] = R(employer, e["names"])
    r["contribution_base"] = M(np.where(kind == 0, money(base_all), NULL))
    r["personal_amount"] = M(money(np.round(personal, 2)))
    r["employer_amount"] = M(
        np.where(kind == 0, money(np.round(base_all * p["si_employer_rate"], 2)), NULL)
    )
    r["status"] = E(
        np.concatenate([status, np.zeros(n2 + n3, np.int64)]), ("paid", "unpaid", "suspended")
    )
    return r


@builder("student_aid")
def _student_aid(c: City) -> Rows:
    s = students(c)
    person = s["person"]
    li = low_income(c)["member"]
    poor = c.p_dibao | c.p_tekun | li | (c.p_dgrade > 0)
    poor |= np.isin(c.p_hh, np.flatnonzero(c.h_pc_income < 1.2 * c.h_standard))
    sel = np.flatnonzero(poor[person] & (s["stage"] >= 1))
    who, stage = person[sel], s["stage"][sel]
    aid = np.select([stage <= 2, stage == 3, stage == 4], [2, 0, 1], 0)
    amount = np.select([stage <= 2, stage == 3, stage == 4], [500, 1000, 1000], 1650)
    parts = []
    for month in (3, 10):
        for d in _yearly_dates(c, month, 20):
            parts.append((np.arange(len(who)), np.full(len(who), d)))
    loans = np.flatnonzero(stage == 5)
    for d in _yearly_dates(c, 10, 15):
        parts.append((loans, np.full(len(loans), d)))
    idx = np.concatenate([q[0] for q in parts])
    day = np.concatenate([q[1] for q in parts])
    loan = np.zeros(len(idx), bool)
    loan[len(idx) - len(loans) * len(_yearly_dates(c, 10, 15)) :] = True
    y, m, _ = _ymd(day)
    y0 = np.where(m >= 9, y, y - 1)
    r = Rows(who[idx], day)
    r["school"] = R(s["school"].idx[sel][idx], s["school"].values)
    r["aid_type"] = E(
        np.where(loan, 3, aid[idx]),
        ("national_grant", "tuition_waiver", "living_subsidy", "student_loan"),
    )
    r["amount"] = M(whole(np.where(loan, 12000, amount[idx])))
    r["aid_date"] = D(day)
    r["academic_year"] = T(
        _cat(pc.cast(pa.array(y0), pa.string()), "-", pc.cast(pa.array(y0 + 1), pa.string()))
    )
    return r


def _income_tax(taxable: np.ndarray) -> np.ndarray:
    """Monthly tax on a month's taxable wage (monthly brackets of the IIT law)."""
    lim = np.array([3000, 12000, 25000, 35000, 55000, 80000, np.inf])
    rate = np.array([0.03, 0.10, 0.20, 0.25, 0.30, 0.35, 0.45])
    quick = np.array([0, 210, 1410, 2660, 4410, 7160, 15160])
    b = np.searchsorted(lim, taxable)
    return np.maximum(taxable * rate[b] - quick[b], 0)


@builder("tax_income")
def _tax_income(c: City) -> Rows:
    rng = c.rng("tax_income")
    p = parameters()
    e = employers(c)
    wage_earners = np.flatnonzero((e["of"] >= 0) & (c.p_income > p["tax_threshold"] + 1000))
    person, day, _ = c.monthly(wage_earners, 1)
    # declared by the 15th of the next month
    nxt = np.asarray(c.w.all_months[1:] + (_days(_add_months(_date(c.w.all_months[-1]), 1)),))
    known = nxt[c.w.month_of(day)] + 14 < c.w.t2
    person, day = person[known], day[known]
    income = c.p_income[person] * rng.uniform(0.97, 1.03, len(person))
    si = np.clip(c.p_income[person], p["si_base_min"], p["si_base_max"]) * 0.105
    tax = _income_tax(np.maximum(income - p["tax_threshold"] - si, 0))
    labour = _sample(
        rng, np.flatnonzero(c.p_present & (c.p_age >= 20) & (c.p_age < 70)), max(2, c.N // 400)
    )
    lday = _month_start(c.w.uniform(rng, len(labour)))
    linc = np.round(_lognormal(rng, 5000, 0.8, len(labour)), 2)
    ltax = np.where(linc > 4000, linc * 0.8 * 0.2, np.maximum(linc - 800, 0) * 0.2)
    who = np.concatenate([person, labour])
    day = np.concatenate([day, lday])
    kind = np.concatenate([np.zeros(len(person)), np.ones(len(labour))]).astype(np.int64)
    y, m, _ = _ymd(day)
    end = _month_start(day + 31) - 1
    r = Rows(who, day)
    r["income_item"] = E(kind, ("wage", "labor"))
    r["period_start"] = D(day)
    r["period_end"] = D(end)
    r["income"] = M(money(np.round(np.concatenate([income, linc]), 2)))
    r["tax_paid"] = M(money(np.round(np.concatenate([tax, ltax]), 2)))
    r["withholding_agent"] = R(
        np.concatenate([e["of"][person], rng.integers(0, len(e["names"]), len(labour))]), e["names"]
    )
    return r


@builder("tekun_roll")
def _tekun_roll(c: City) -> Rows:
    rng = c.rng("tekun_roll")
    p = parameters()
    tk = np.flatnonzero(c.p_tekun)
    n = len(tk)
    start, _ = _history(c, rng, n, 0.07, 10.0, earliest=c.p_birth[tk] + 365, person=tk)
    central = rng.random(n) < np.where(c.p_selfcare[tk] >= 4, 0.55, 0.12)
    level = np.where(c.p_selfcare[tk] >= 4, 2, np.where(c.p_selfcare[tk] >= 1, 1, 0))
    person, day, _ = c.monthly(tk, 1, start=_month_start(_month_start(start) + 31))
    ti = np.searchsorted(tk, person)
    county = c.c_names
    group_b = np.array([any(k in n_ for k in ("海阳", "莱阳", "栖霞")) for n_ in county])
    zhifu = np.array(["芝罘" in n_ for n_ in county])
    cty = c.p_county[person]
    urban = c.p_urban[person]
    basic = np.where(
        urban,
        np.where(zhifu[cty], p["tekun_basic_urban_zhifu"], p["tekun_basic_urban"]),
        p["tekun_basic_rural"],
    )
    fees = np.array([[233, 385, 772], [211, 349, 699]])
    care = fees[group_b[cty].astype(np.int64), level[ti]]
    inst = pa.concat_arrays([c.per_town("{t}敬老院"), c.per_county("{f}社会福利中心")])
    inst_idx = np.where(central[ti], np.where(urban, len(c.t_name) + cty, c.p_town[person]), -1)
    r = Rows(person, day)
    r["region_code"] = c.region(person)
    r["area_type"] = E(np.where(urban, 0, 1), ("urban", "rural"))
    r["support_mode"] = E(central[ti].astype(np.int64), ("dispersed", "centralized"))
    r["care_level"] = E(level[ti], ("self_care", "partial", "full"))
    r["basic_amount"] = M(whole(basic))
    r["care_amount"] = M(whole(care))
    r["start_date"] = D(start[ti])
    r["institution"] = R(inst_idx, inst)
    r["roll_date"] = D(day)
    r["status"] = E(np.zeros(len(person), np.int64), ("active", "exited"))
    return r


@builder("temporary_assistance")
def _temporary_assistance(c: City) -> Rows:
    rng = c.rng("temporary_assistance")
    s = stays(c)
    big = np.flatnonzero((s["self"] > 1000000) & (rng.random(len(s["person"])) < 0.12))
    poor = np.flatnonzero(
        (c.p_dibao | c.p_tekun | low_income(c)["member"]) & c.p_present & (c.p_age >= 18)
    )
    emer = _sample(rng, poor, max(2, len(poor) // 40))
    accident = _sample(rng, np.flatnonzero(c.p_present & (c.p_age >= 18)), max(2, c.N // 5000))
    person = np.concatenate([s["person"][big], emer, accident])
    n1, n2, n3 = len(big), len(emer), len(accident)
    day = np.concatenate([s["dis"][big] + rng.integers(10, 60, n1), c.w.uniform(rng, n2 + n3)])
    kind = np.concatenate([np.ones(n1), np.zeros(n2 + n3)]).astype(np.int64)
    amount = np.concatenate(
        [
            np.minimum(s["self"][big] / 100 * rng.uniform(0.1, 0.4, n1), 30000),
            rng.uniform(500, 3000, n2),
            rng.uniform(1000, 20000, n3),
        ]
    )
    amount = np.round(amount, -1)
    reasons = [
        "因病致困",
        "火灾",
        "交通事故",
        "意外伤害",
        "自然灾害",
        "家庭成员突发重大变故",
        "生活必需支出突增",
    ]
    reason = np.concatenate(
        [np.zeros(n1), _weighted(rng, n2 + n3, np.array([0.1, 0.15, 0.2, 0.2, 0.1, 0.15, 0.1]))]
    ).astype(np.int64)
    mode = np.where(amount > 20000, 3, np.where(amount > 5000, 2, np.where(kind == 0, 0, 1)))
    n = len(person)
    county = c.p_county[person]
    r = Rows(person, day)
    r["case_number"] = T(
        _cat(
            "LS",
            _take(c.c_code, county),
            pc.cast(pa.array(_ymd(day)[0]), pa.string()),
            _num(rng.integers(0, 10**5, n), 5),
        )
    )
    r["region_code"] = c.region(person)
    r["assistance_type"] = E(kind, ("emergency", "expenditure"))
    r["reason"] = R(reason, pa.array(reasons))
    r["amount"] = M(whole(amount))
    r["approval_date"] = D(day)
    r["approval_mode"] = E(mode, ("advance", "town", "county", "case_by_case"))
    r["in_kind"] = R(
        np.where(rng.random(n) < 0.2, _weighted(rng, n, np.array([0.5, 0.3, 0.2])), -1),
        pa.array(["米面油", "棉衣棉被", "生活用品"]),
    )
    return r


@builder("unemployment_insurance")
def _unemployment_insurance(c: City) -> Rows:
    rng = c.rng("unemployment_insurance")
    u = unemployment(c)
    who = u["person"][u["benefit"]]
    start = _month_start(u["day"][u["benefit"]] + 31)
    months = rng.integers(3, 13, len(who))
    end = _month_start(start + months * 30.5).astype(np.int64)
    cancel = u["cancel"][u["benefit"]]
    stop = np.where(cancel != NULL_DAY, np.minimum(end, cancel), end)
    person, day, _ = c.monthly(who, 20, start=start, end=stop)
    wi = np.searchsorted(np.sort(who), person)
    order = np.argsort(who)
    wi = order[wi]
    r = Rows(person, day)
    r["payment_date"] = D(day)
    r["amount"] = M(whole(np.full(len(person), parameters()["unemployment_benefit"])))
    r["benefit_start"] = D(start[wi])
    r["benefit_end"] = D(end[wi] - 1)
    r["agency"] = R(c.p_hcounty[person], c.per_county("{f}公共就业和人才服务中心"))
    return r


@builder("unemployment_registration")
def _unemployment_registration(c: City) -> Rows:
    rng = c.rng("unemployment_registration")
    u = unemployment(c)
    person = u["person"]
    n = len(person)
    reasons = [
        "劳动合同期满",
        "单位裁员",
        "个人原因离职",
        "单位破产关闭",
        "毕业后未就业",
        "返乡",
        "其他",
    ]
    status = np.where(u["reemployed"], 1, 0)
    upd = np.flatnonzero(u["reemployed"])
    idx = np.concatenate([np.arange(n), upd])
    r = Rows(
        person[idx],
        np.concatenate([u["day"], u["cancel"][upd]]),
        np.concatenate([u["stock"], np.zeros(len(upd), bool)]),
    )
    is_upd = np.arange(len(idx)) >= n
    r["registration_date"] = D(u["day"][idx])
    r["reason"] = R(
        _weighted(rng, n, np.array([0.25, 0.12, 0.3, 0.05, 0.12, 0.1, 0.06]))[idx],
        pa.array(reasons),
    )
    r["agency"] = R(c.p_htown[person[idx]], c.per_town("{t}劳动保障服务所"))
    r["certificate_number"] = T(
        _cat(_take(c.c_code, c.p_hcounty[person[idx]]), _num(rng.integers(0, 10**10, n)[idx], 10))
    )
    r["status"] = E(np.where(is_upd, status[idx], 0), ("active", "cancelled"))
    r["cancellation_date"] = D(np.where(is_upd, u["cancel"][idx], NULL_DAY))
    return r


@builder("unsupported_child_roll")
def _unsupported_child_roll(c: City) -> Rows:
    rng = c.rng("unsupported_child_roll")
    p = parameters()
    # children of a parent in prison (the household head or spouse)
    kids = np.flatnonzero((c.p_rel == 2) & (c.p_age < 18) & c.p_present)
    head = c.p_head[kids]
    spouse = c.p_spouse[head]
    jailed = (c.p_status[head] == 1) | ((spouse >= 0) & (c.p_status[np.maximum(spouse, 0)] == 1))
    a = kids[jailed]
    skip = _skip_generation_children(c)
    b = _sample(rng, skip, max(3, len(skip) // 25))
    who = np.unique(np.concatenate([a, b]))
    n = len(who)
    from_prison = np.isin(who, a)
    sit = ["服刑在押", "失联", "重残", "重病", "死亡", "强制隔离戒毒"]
    father = np.where(
        from_prison, 0, _weighted(rng, n, np.array([0.2, 0.35, 0.15, 0.1, 0.15, 0.05]))
    )
    mother = np.where(
        from_prison,
        _weighted(rng, n, np.array([0.0, 0.5, 0.2, 0.1, 0.2, 0.0])),
        _weighted(rng, n, np.array([0.05, 0.45, 0.2, 0.15, 0.15, 0.0])),
    )
    ident, _ = _history(c, rng, n, 0.15, 5.0, earliest=c.p_birth[who] + 30, person=who)
    adult = _years_later(c.p_birth[who], 18)
    person, day, _ = c.monthly(who, 1, start=_month_start(ident), end=adult)
    wi = np.searchsorted(who, person)
    guardian = np.where(c.p_head[person] == person, -1, c.p_head[person])
    guardian = np.where(
        from_prison[wi] & (c.p_status[np.maximum(guardian, 0)] == 1),
        c.p_spouse[np.maximum(guardian, 0)],
        guardian,
    )
    r = Rows(person, day)
    r["region_code"] = c.region(person)
    r["father_situation"] = R(father[wi], pa.array(sit))
    r["mother_situation"] = R(mother[wi], pa.array(sit))
    r["guardian_id_number"] = R(guardian, c.people_ids)
    r["guardian_name"] = R(guardian, c.people_names)
    r["monthly_allowance"] = M(whole(np.full(len(person), p["orphan_allowance_dispersed"])))
    r["identified_date"] = D(ident[wi])
    r["roll_date"] = D(day)
    r["status"] = E(np.zeros(len(person), np.int64), ("active", "exited"))
    return r


VEHICLE_TYPES = ("小型轿车", "小型普通客车", "轻型普通货车", "残疾人专用小型自动挡载客汽车")


@builder("vehicle_registration")
def _vehicle_registration(c: City) -> Rows:
    rng = c.rng("vehicle_registration")
    v = c.h_vehicles
    hh = np.repeat(np.arange(c.H), v)
    owner = c.h_head[hh]
    n1 = len(owner)
    # exempt vehicles for persons with a physical disability (not counted as household vehicles)
    cand = np.flatnonzero(
        (c.p_dcat == 3) & (c.p_dgrade >= 2) & (c.p_age >= 18) & (c.p_age <= 70) & c.p_present
    )
    dis = _sample(rng, cand, max(1, len(cand) // 30))
    owner = np.concatenate([owner, dis])
    n = len(owner)
    disabled = np.arange(n) >= n1
    rural = ~c.p_urban[owner]
    vtype = np.where(
        disabled,
        3,
        np.where(rural & (rng.random(n) < 0.3), 2, _weighted(rng, n, np.array([0.65, 0.35]))),
    )
    day, stock = _history(
        c, rng, n, 0.09, 15.0, earliest=_years_later(c.p_birth[owner], 18), person=owner
    )
    age_y = (c.w.t2 - day) / 365.25
    price = _lognormal(
        rng, np.where(vtype == 2, 60000, np.where(vtype == 3, 50000, 120000)), 0.45, n
    )
    value = np.round(price * 0.85**age_y, -2)
    ev = (rng.random(n) < np.where(day > c.w.t0 - 3 * 365, 0.35, 0.05)) & (vtype < 2)
    letters = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ", np.uint8)
    body = np.empty((n, 5), np.uint8)
    body[:] = rng.integers(48, 58, (n, 5))
    mix = rng.random((n, 5)) < 0.25
    body[mix] = letters[rng.integers(0, len(letters), int(mix.sum()))]
    five = _fixed(body)
    ev_prefix = _take(["D", "F"], rng.integers(0, 2, n))
    city_letter = _take(["F", "Y"], (rng.random(n) < 0.15).astype(np.int64))
    plate = pc.if_else(
        pa.array(ev), _cat("鲁", city_letter, ev_prefix, five), _cat("鲁", city_letter, five)
    )
    brands, bp = _list("vehicle")
    brand = _weighted(rng, n, bp)
    r = Rows(owner, day, stock)
    r["plate_number"] = T(plate)
    r["vehicle_type"] = R(vtype, pa.array(VEHICLE_TYPES))
    r["registration_date"] = D(day)
    r["vehicle_value"] = M(whole(value))
    r["plate_type"] = R(
        np.where(ev, 1, np.where(vtype == 2, 2, 0)),
        pa.array(["小型汽车号牌", "小型新能源汽车号牌", "大型汽车号牌"]),
    )
    r["brand_model"] = R(np.where(vtype == 2, -1, brand), pa.array(brands))
    r["use_nature"] = R(
        np.where((vtype == 2) & (rng.random(n) < 0.5), 1, 0), pa.array(["非营运", "货运"])
    )
    r["status"] = R(np.where(rng.random(n) < 0.06, 1, 0), pa.array(["正常", "抵押"]))
    r["disability_vehicle"] = B(disabled.astype(np.int64))
    return r


@builder("veterans_benefit")
def _veterans_benefit(c: City) -> Rows:
    rng = c.rng("veterans_benefit")
    cand = np.flatnonzero(c.p_present & (c.p_age >= 40))
    wt = np.where(c.p_male[cand], 5.0, 1.0) * np.where(c.p_age[cand] >= 60, 2.0, 1.0)
    person = _sample(rng, cand, max(3, int(len(cand) * 0.004)), wt)
    n = len(person)
    age = c.p_age[person]
    cat = np.where(
        age >= 88, 4, _weighted(rng, n, np.array([0.18, 0.08, 0.05, 0.07, 0.0, 0.1, 0.42, 0.1]))
    )
    cat = np.where(~c.p_male[person] & np.isin(cat, [0, 4, 5, 6]), 1, cat)
    amount = np.array([2500, 1800, 1600, 1500, 1900, 900, 800, 600])[cat] * rng.uniform(0.8, 1.4, n)
    grade = pa.array([f"{g}级" for g in range(1, 11)])
    day, stock = _history(
        c, rng, n, 0.04, 25.0, earliest=_years_later(c.p_birth[person], 20), person=person
    )
    r = Rows(person, day, stock)
    r["category"] = E(
        cat,
        (
            "disabled_soldier",
            "martyr_family",
            "died_on_duty_family",
            "died_of_illness_family",
            "demobilized",
            "ill_veteran",
            "war_veteran",
            "other",
        ),
    )
    r["disability_grade"] = R(np.where(cat == 0, rng.integers(0, 10, n), -1), grade)
    r["monthly_amount"] = M(whole(np.round(amount, 0)))
    r["start_date"] = D(day)
    r["status"] = E((rng.random(n) < 0.02).astype(np.int64), ("active", "stopped"))
    return r


WARNING_SEASON = {
    "typhoon": (7, 8, 9),
    "rainstorm": (6, 7, 8, 9),
    "blizzard": (12, 1, 2),
    "cold_wave": (11, 12, 1, 2, 3),
    "gale": (1, 2, 3, 4, 10, 11, 12),
    "sandstorm": (3, 4),
    "heat": (6, 7, 8),
    "drought": (4, 5, 6),
    "lightning": (6, 7, 8),
    "thunderstorm_gale": (6, 7, 8),
    "hail": (5, 6),
    "frost": (10, 11, 3, 4),
    "fog": (1, 2, 3, 11, 12),
    "haze": (11, 12, 1, 2),
    "road_icing": (12, 1, 2),
}
WARNING_ZH = {
    "typhoon": "台风",
    "rainstorm": "暴雨",
    "blizzard": "暴雪",
    "cold_wave": "寒潮",
    "gale": "大风",
    "sandstorm": "沙尘暴",
    "heat": "高温",
    "drought": "干旱",
    "lightning": "雷电",
    "thunderstorm_gale": "雷雨大风",
    "hail": "冰雹",
    "frost": "霜冻",
    "fog": "大雾",
    "haze": "霾",
    "road_icing": "道路结冰",
}
LEVEL_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}


@builder("weather_warning")
def _weather_warning(c: City) -> Rows:
    rng = c.rng("weather_warning")
    w = c.w
    types = list(WARNING_SEASON)
    days = np.arange(w.t0, w.t2)
    month = _ymd(days)[1]
    rows_region, rows_day, rows_type, rows_level, rows_id, rows_time, rows_lift, rows_issuer = (
        [] for _ in range(8)
    )
    regions = pa.concat_arrays([c.c_code, c.t_code])
    region_names = pa.concat_arrays([c.c_name, c.t_name])
    issuers = pa.concat_arrays([c.per_county("{c}气象台"), pa.array(["烟台市气象台"])])
    seq = 0
    for d, m in zip(days, month, strict=True):
        cands = [t for t in types if m in WARNING_SEASON[t]]
        k = rng.poisson(0.45)
        for _ in range(k):
            if not cands:
                break
            t = types.index(cands[int(rng.integers(0, len(cands)))])
            level = int(_weighted(rng, 1, np.array([0.55, 0.32, 0.1, 0.03]))[0])
            if rng.random() < 0.75:  # counties
                reg = np.sort(
                    rng.choice(
                        len(c.c_names), int(rng.integers(1, len(c.c_names) + 1)), replace=False
                    )
                )
                issuer = np.where(len(reg) > 3, len(c.c_names), reg)
            else:  # towns of one county
                cty = int(rng.integers(0, len(c.c_names)))
                towns = np.flatnonzero(c.t_county == cty)
                reg = len(c.c_names) + np.sort(
                    rng.choice(towns, min(len(towns), int(rng.integers(1, 5))), replace=False)
                )
                issuer = np.full(len(reg), cty)
            seq += 1
            hour = int(rng.integers(5, 22))
            rows_region.append(reg)
            rows_day.append(np.full(len(reg), d))
            rows_type.append(np.full(len(reg), t))
            rows_level.append(np.full(len(reg), level))
            rows_id.append(np.full(len(reg), seq))
            rows_time.append(np.full(len(reg), hour * 100 + int(rng.integers(0, 60))))
            rows_lift.append(np.full(len(reg), d + int(rng.integers(0, 3))))
            rows_issuer.append(issuer)
    cat = _cat_int
    reg, day, typ, lvl = cat(rows_region), cat(rows_day), cat(rows_type), cat(rows_level)
    wid, hhmm, lift, iss = cat(rows_id), cat(rows_time), cat(rows_lift), cat(rows_issuer)
    n = len(reg)
    levels = list(LEVEL_ZH)
    r = Rows(np.full(n, -1), day)
    r["warning_id"] = T(_cat("370600-", date_text(day, "compact"), "-", _num(wid, 5)))
    r["region_code"] = R(reg, regions)
    r["region_name"] = R(reg, region_names)
    r["warning_type"] = E(typ, tuple(types))
    r["level"] = E(lvl, tuple(levels))
    r["issue_date"] = D(day)
    r["issue_time"] = T(_cat(_num(hhmm // 100, 2), ":", _num(hhmm % 100, 2)))
    r["lift_date"] = D(np.where(lift < w.t2, lift, NULL_DAY))
    r["issuer"] = R(iss, issuers)
    content = _cat(
        _take(issuers, iss),
        date_text(day, "cn"),
        _num(hhmm // 100, 2),
        "时发布",
        _take([WARNING_ZH[t] for t in types], typ),
        _take([LEVEL_ZH[x] for x in levels], lvl),
        "预警信号，请注意防范。",
    )
    r["content"] = T(content)
    return r


# --- interfaces without a builder, fields a builder does not fill -------------------------------


def _generic_column(c: City, iface: Interface, f: Field, rows: Rows, rng) -> Column:
    """A plausible column for a declared field no builder fills (the catalog may grow)."""
    n = rows.n
    person = np.maximum(rows.person, 0)
    registry = rows.person < c.N
    if f.type == "date":
        return D(rows.day if f.name == iface.period_field else rows.day - rng.integers(0, 365, n))
    if f.type == "decimal":
        return M(whole(np.round(rng.uniform(100, 5000, n), -1)))
    if f.type == "integer":
        return I(rng.integers(1, 6, n))
    if f.type == "enum":
        keys = tuple(f.values)
        return E(rng.integers(0, len(keys), n), keys)
    if f.type == "boolean":
        return B(rng.integers(0, 2, n))
    if f.type == "region_code":
        if iface.subject == "area" or not registry.any():
            return R(rng.integers(0, len(c.c_names), n), c.c_code)
        return R(
            np.where(registry & (rows.person >= 0), c.p_hukou[np.minimum(person, c.N - 1)], -1),
            c.v_code,
        )
    if f.type == "id_number":
        head = np.where(registry & (rows.person >= 0), c.p_head[np.minimum(person, c.N - 1)], -1)
        return R(head, c.people_ids)
    return T(_cat(f.header, _num(np.arange(n) % 10**6, 6)))


def _generic_rows(c: City, iface: Interface) -> Rows:
    rng = c.rng("generic:" + iface.code)
    if iface.subject == "area":
        n = max(20, len(c.c_names) * 4)
        rows = Rows(np.full(n, -1), c.w.uniform(rng, n))
    else:
        people = np.flatnonzero(c.p_present)
        if iface.subject == "household":
            people = np.intersect1d(people, c.h_head)
        person = _sample(rng, people, max(20, c.N // 1000))
        rows = Rows(person, c.w.uniform(rng, len(person)))
    return rows


def _complete(c: City, iface: Interface, rows: Rows) -> Rows:
    rng = c.rng("complete:" + iface.code)
    for f in iface.fields:
        if f.name in rows.cols or f.name in (iface.person_field, iface.name_field):
            continue
        if f.required or iface.code not in BUILDERS:
            rows[f.name] = _generic_column(c, iface, f, rows, rng)
    return rows


# --- the whole feed -----------------------------------------------------------------------------


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def generate_feeds(
    *,
    city_dir: Path,
    out_dir: Path,
    seed: int,
    as_of: date,
    months: int = 12,
    daily_days: int = 7,
    interfaces: list[str] | None = None,
) -> dict[str, Any]:
    """Write the department feeds of the city in ``city_dir`` into ``out_dir``.

    For every catalog interface (or only ``interfaces``): ``out_dir/<code>/<code>-YYYY-MM.<ext>``
    for the ``months`` months before the daily window (the first also holds the initial export
    of records dated earlier) and ``out_dir/<code>/<code>-YYYY-MM-DD.<ext>`` for each of the
    ``daily_days`` days before ``as_of``; ``out_dir/_truth/<code>.parquet`` (file, line,
    person_id, id_fault, name_typo, bad_value, copy); ``out_dir/manifest.json`` last. Returns
    the stats: files, rows per interface, total rows, faults per kind, seconds, peak_rss_mib.
    """
    t_start = time.perf_counter()
    if months < 0 or daily_days < 0 or months + daily_days == 0:
        raise ValueError("months and daily_days must be >= 0, and not both 0")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    window = Window.build(as_of, months, daily_days)
    catalog = load_catalog()
    city = City(Path(city_dir), seed, window)
    rows_by: dict[str, int] = {}
    records_by: dict[str, int] = {}
    seconds_by: dict[str, float] = {}
    faults: dict[str, int] = {}
    files = 0
    wanted = set(interfaces) if interfaces else None
    for iface in catalog:
        if wanted is not None and iface.code not in wanted:
            continue
        t_iface = time.perf_counter()
        build = BUILDERS.get(iface.code)
        rows = build(city) if build else _generic_rows(city, iface)
        rows = _complete(city, iface, rows)
        st = emit(city, iface, rows, out_dir, as_of)
        rows_by[iface.code] = st["rows"]
        seconds_by[iface.code] = round(time.perf_counter() - t_iface, 2)
        records_by[iface.code] = st["records"]
        files += st["files"]
        for k, v in st["faults"].items():
            faults[k] = faults.get(k, 0) + v
        del rows
    total = sum(rows_by.values())
    stats: dict[str, Any] = {
        "seed": seed,
        "as_of": as_of.isoformat(),
        "history_from": _date(window.t0).isoformat(),
        "daily_from": _date(window.t1).isoformat(),
        "months": months,
        "daily_days": daily_days,
        "persons": city.N,
        "interfaces": len(rows_by),
        "files": files,
        "total_rows": total,
        "rows_per_person": round(total / max(city.N, 1), 3),
        "rows": rows_by,
        "faults": faults,
        "seconds_per_interface": seconds_by,
        "fault_rates": dict(FAULT_RATES),
        "deaths": int(len(city.dead)),
        "births": int(len(city.births["mother"])),
        "seconds": round(time.perf_counter() - t_start, 2),
        "peak_rss_mib": round(_peak_rss_mib(), 1),
        "out_dir": str(out_dir.resolve()),
    }
    tmp = _tmp(out_dir / "manifest.json")
    tmp.write_text(json.dumps(stats, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / "manifest.json")
    return stats


def main(argv: list[str] | None = None) -> int:
    """``python -m doudi.synth.feeds --city DIR [--out DIR] [--seed S] [--as-of D] [--months M]
    [--days N]``: the feeds of an existing city (seed and date default to the city's manifest);
    prints the stats as one JSON object."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m doudi.synth.feeds", description=main.__doc__)
    p.add_argument("--city", required=True, help="folder of a city written by doudi generate")
    p.add_argument("--out", help="output folder (default CITY/feeds)")
    p.add_argument("--seed", type=int)
    p.add_argument("--as-of", type=date.fromisoformat)
    p.add_argument("--months", type=int, default=12)
    p.add_argument("--days", type=int, default=7)
    ns = p.parse_args(argv)
    city = Path(ns.city)
    manifest = {}
    if (city / "manifest.json").is_file():
        manifest = json.loads((city / "manifest.json").read_text(encoding="utf-8"))
    seed = ns.seed if ns.seed is not None else int(manifest.get("seed", 1))
    as_of = ns.as_of or date.fromisoformat(manifest.get("as_of", "2026-01-01"))
    try:
        stats = generate_feeds(
            city_dir=city,
            out_dir=Path(ns.out) if ns.out else city / "feeds",
            seed=seed,
            as_of=as_of,
            months=ns.months,
            daily_days=ns.days,
        )
    except (OSError, ValueError) as exc:
        print(f"feeds: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(stats, ensure_ascii=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
