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
import zlib
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
from doudi.datapool.catalog import Field, Interface

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
    idx = np.asarray(idx)
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
        self.t_street = np.array([r["level"] == "street" for r in towns])

        self.v_code = vil["code"].combine_chunks()
        self.v_name = vil["name"].combine_chunks()
        self.v_town = np.asarray(
            pc.index_in(vil["town_code"], self.t_code).to_numpy(False), np.int64
        )
        self.v_county = self.t_county[self.v_town]
        self.V = vil.num_rows

        self.H = hh.num_rows
        self.h_village = np.asarray(pc.index_in(hh["village_code"], self.v_code).to_numpy(False))
        self.h_hukou = np.asarray(
            pc.index_in(hh["hukou_village_code"], self.v_code).to_numpy(False)
        )
        self.h_urban = np.asarray(pc.equal(hh["residence_type"], "urban").to_numpy(False), bool)
        self.h_size = hh["size"].to_numpy().astype(np.int64)
        self.h_head = hh["head_person_id"].to_numpy() - 1
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
        self.p_hh = per["household_id"].to_numpy() - 1
        self.p_rel = np.asarray(pc.index_in(per["relation"], pa.array(RELATIONS)).to_numpy(False))
        self.p_male = np.asarray(pc.equal(per["sex"], "M").to_numpy(False), bool)
        self.p_birth = pc.cast(per["birth_date"], pa.int32()).to_numpy().astype(np.int64)
        cat = pc.index_in(per["disability_category"], pa.array(DISABILITY))
        self.p_dcat = np.asarray(pc.fill_null(cat, -1).to_numpy(False), np.int64)
        self.p_dgrade = np.asarray(
            pc.fill_null(per["disability_grade"], 0).to_numpy(False), np.int64
        )
        self.p_income = per["monthly_income_yuan"].to_numpy().astype(np.int64)
        self.p_employed = np.asarray(per["employed"].to_numpy(False), bool)
        self.p_selfcare = per["self_care_failed_activities"].to_numpy().astype(np.int64)
        self.p_tekun = np.asarray(per["tekun"].to_numpy(False), bool)
        self.p_dibao = np.asarray(per["dibao"].to_numpy(False), bool)
        self.p_status = np.asarray(pc.index_in(per["status"], pa.array(STATUSES)).to_numpy(False))
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
        self.p_age = ay - y - ((m > am) | ((m == am) & (d > ad)))
        self.p_present = self.p_status == 0
        sp = np.flatnonzero(self.p_rel == 1)
        heads = self.h_head[self.p_hh[sp]]
        self.p_spouse = np.full(self.N, -1, np.int64)
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
        self.death = np.full(N, NEVER, np.int64)
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
        self.people_birth = np.concatenate([self.p_birth, o_birth, b_day])
        self.people_male = np.concatenate([self.p_male, o_male, b_male])
        self.NP = len(self.people_birth)
        self.people_typo = homophone_variants(self.people_names, self.rng("typos"))

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
        return out.astype(np.int64)

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

    def take(self, sel: np.ndarray) -> R:
        return R(np.asarray(self.idx)[sel], self.values)


@dataclass
class D:
    """Dates as day numbers (``NULL_DAY``: empty), written in the file's date style."""

    days: np.ndarray

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
        self.person = np.asarray(person, np.int64)
        self.day = np.asarray(day, np.int64)
        self.stock = None if stock is None else np.asarray(stock, bool)
        self.cols: dict[str, Column] = {}

    @property
    def n(self) -> int:
        return len(self.person)

    def __setitem__(self, name: str, col: Column) -> None:
        self.cols[name] = col

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
BAD_AMOUNTS = ("待核实", "12,3a.00", "--", "1.2.3", "#VALUE!")


@functools.cache
def _date_table(style: str) -> pa.Array:
    out = []
    for n in range(_DATE_LO, _DATE_HI):
        d = EPOCH + timedelta(days=n)
        if style == "iso":
            out.append(d.isoformat())
        elif style == "slash":
            out.append(f"{d.year}/{d.month}/{d.day}")
        elif style == "cn":
            out.append(f"{d.year}年{d.month}月{d.day}日")
        elif style == "compact":
            out.append(f"{d.year:04d}{d.month:02d}{d.day:02d}")
        else:  # dot
            out.append(f"{d.year}.{d.month}.{d.day}")
    return pa.array(out, pa.string())


def date_text(days: np.ndarray, style: str) -> pa.Array:
    days = np.asarray(days, np.int64)
    null = (days < _DATE_LO) | (days >= _DATE_HI)
    return _take(_date_table(style), np.where(null, -1, days - _DATE_LO))


def money_text(fen: np.ndarray, style: str) -> pa.Array:
    """Decimal text: plain "1234.50", trim "1234.5" / "1234", comma "1,234.50"."""
    fen = np.asarray(fen, np.int64)
    null = fen == NULL
    v = np.where(null, 0, fen)
    neg = v < 0
    v = np.abs(v)
    yuan, cents = v // 100, v % 100
    if style == "comma":
        lo = pc.utf8_lpad(pc.cast(pa.array(yuan % 1000), pa.string()), 3, "0")
        mid = pc.utf8_lpad(pc.cast(pa.array((yuan // 1000) % 1000), pa.string()), 3, "0")
        y1 = pc.cast(pa.array(yuan), pa.string())
        y2 = _cat(pc.cast(pa.array(yuan // 1000), pa.string()), ",", lo)
        y3 = _cat(pc.cast(pa.array(yuan // 1_000_000), pa.string()), ",", mid, ",", lo)
        ys = pc.if_else(pa.array(yuan < 1000), y1, pc.if_else(pa.array(yuan < 1_000_000), y2, y3))
    else:
        ys = pc.cast(pa.array(yuan), pa.string())
    cs = pc.utf8_lpad(pc.cast(pa.array(cents), pa.string()), 2, "0")
    if style == "trim":
        one = pc.cast(pa.array(cents // 10), pa.string())
        text = pc.if_else(
            pa.array(cents == 0),
            ys,
            pc.if_else(pa.array(cents % 10 == 0), _cat(ys, ".", one), _cat(ys, ".", cs)),
        )
    else:
        text = _cat(ys, ".", cs)
    if neg.any():
        text = pc.if_else(pa.array(neg), _cat("-", text), text)
    return pc.if_else(pa.array(null), pa.scalar(None, pa.string()), text)


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
    year = _ymd(city.people_birth[pp])[0] if n else np.zeros(0, np.int64)
    ids = city.people_ids.take(pa.array(pp)) if n else pa.array([], pa.string())
    ends_x = np.asarray(pc.ends_with(ids, "X").to_numpy(False), bool) if n else np.zeros(0, bool)
    code = np.zeros(n, np.int8)
    code[u < rate["bad_check"]] = 1
    u2 = rng.random(n)
    code[(code == 0) & (year >= 1900) & (year <= 1999) & (u2 < rate["id15"])] = 2
    u3 = rng.random(n)
    code[(code == 0) & ends_x & (u3 < rate["lower_x"])] = 3
    code[(code == 0) & (rng.random(n) < rate["fullwidth"])] = 4
    code[~is_person] = 0
    has_typo = ~np.asarray(pc.is_null(city.people_typo).to_numpy(False), bool)
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
    with open(path, "wb") as fh:
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
                except pa.ArrowInvalid:
                    if style == "needed":
                        raise
            data = buf.getvalue()
            if fmt.encoding == "gbk":
                fh.write(data.to_pybytes().decode("utf-8").encode("gb18030"))
            else:
                fh.write(data)
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

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
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
    for _, arr, how in cols:
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
    labels = w.labels()
    nmonths = len(w.months)
    folder = out_dir / iface.code
    folder.mkdir(parents=True, exist_ok=True)
    truth_path = out_dir / "_truth" / f"{iface.code}.parquet"
    truth_path.parent.mkdir(parents=True, exist_ok=True)
    writer = pq.ParquetWriter(_tmp(truth_path), TRUTH_SCHEMA, compression="zstd")
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
        pid = np.where((person >= 0) & (person < city.N), person + 1, -1)
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
    writer.close()
    os.replace(_tmp(truth_path), truth_path)
    return {"rows": written, "records": int(rows.n), "files": len(files), "faults": counts}


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


def _history(c: City, rng, n: int, new_share: float, years: float, earliest=None):
    """Record dates: a share ``new_share`` in the window (new records), the others in the
    ``years`` before it (the initial export, ``stock``), never before ``earliest``."""
    new = rng.random(n) < new_share
    past = c.w.t0 - 1 - np.floor(rng.random(n) * years * 365.25).astype(np.int64)
    if earliest is not None:
        past = np.minimum(np.maximum(past, earliest), c.w.t0 - 1)
    lo = c.w.t0 if earliest is None else np.maximum(c.w.t0, earliest)
    within = lo + np.floor(rng.random(n) * np.maximum(c.w.t2 - lo, 1)).astype(np.int64)
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
    names = _cat(
        pa.array(prefix), _take(words, w), _take(inds, i), pa.array(suffix)
    )
    # make names unique by adding the county's name where two coincide
    dup = ~np.isin(np.arange(k), np.unique(np.asarray(names.to_numpy(False)), return_index=True)[1])
    names = pc.if_else(
        pa.array(dup), _cat("烟台", _take(c.c_names, county), _take(words, w), _take(inds, i),
                            _num(np.arange(k) % 97, 2), "有限公司"), names
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
    return {"names": names, "codes": codes, "county": county, "of": np.where(employee, pick, -1),
            "employee": employee}


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
    retire_age = np.where(c.p_male, 60, np.where(employee, np.where(rng.random(c.N) < 0.5, 50, 55), 60))
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
        [p["inpatient_rate_0_44"], p["inpatient_rate_45_59"], p["inpatient_rate_60_69"],
         p["inpatient_rate_70_79"]],
        p["inpatient_rate_80"],
    )
    lam = lam * np.where(c.chronic >= 0, 1.8, 1.0) * np.where(c.p_selfcare >= 4, 1.5, 1.0)
    lam = lam * np.where(c.p_dgrade > 0, 1.3, 1.0) * c.p_present
    k = rng.poisson(lam * w.span / 365.25)
    person = np.repeat(np.arange(c.N), k)
    adm = w.uniform(rng, len(person), w.t0 - 20)
    los = np.clip(np.round(_lognormal(rng, np.where(age[person] >= 65, 9.0, 6.0), 0.6, len(person))), 1, 90)
    # a share of the dead die in hospital: a last stay ending on the day of death
    dead = c.dead[rng.random(len(c.dead)) < 0.45]
    d_los = np.clip(np.round(_lognormal(rng, 8.0, 0.6, len(dead))), 1, 60)
    person = np.concatenate([person, dead])
    los = np.concatenate([los, d_los]).astype(np.int64)
    dis = np.concatenate([adm + los[: len(adm)], c.death[dead]])
    adm = dis - los
    died = np.zeros(len(person), bool)
    died[len(adm) - len(dead):] = True
    ok = (dis < w.t2) & (dis >= w.t0) & (c.alive(person, dis) | died) & (adm < c.death[person])
    person, adm, dis, los, died = person[ok], adm[ok], dis[ok], los[ok], died[ok]
    n = len(person)
    hosp_idx, hospitals = c.in_county(rng, "hospital", c.p_county[person])
    town_level = rng.random(n) < np.where(c.p_urban[person], 0.08, 0.30)
    inst = pa.concat_arrays([hospitals, c.per_town("{t}卫生院")])
    inst_idx = np.where(town_level, len(hospitals) + c.p_town[person], hosp_idx)
    tier = np.where(town_level, 0.4, 1.0)
    total = _lognormal(rng, p["inpatient_cost_median"] * tier * (los / 7.0) ** 0.6, p["inpatient_cost_sigma"], n)
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
    diag_idx = np.where(use_chronic, len(diag_acute) + np.maximum(c.chronic[person], 0), _weighted(rng, n, dp))
    diag = pa.array(diag_acute + chronic_names, pa.string())
    settle = dis + (rng.random(n) < 0.2)
    seq = rng.integers(0, 10**8, n)
    number = _cat("ZY", date_text(settle, "compact"), _num(seq, 8))
    return {
        "person": person, "adm": adm, "dis": dis, "settle": np.minimum(settle, w.t2 - 1),
        "total": money(total), "fund": money(fund), "serious": money(serious),
        "assist": money(assist), "self": money(self_paid), "eligible": money(eligible),
        "employee": employee, "inst": R(inst_idx, inst), "diag": R(diag_idx, diag),
        "number": number, "died": died,
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
    is_chronic = chronic[person] & (rng.random(n) < p["chronic_visits_per_month"] / np.maximum(lam[person], 1e-9))
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
        "person": person, "day": day, "chronic": is_chronic, "total": money(total),
        "fund": money(fund), "assist": money(assist), "self": money(self_paid),
        "inst": R(inst_idx, inst), "number": number,
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
        ~c.h_dibao & ~has_tekun & (c.h_pc_income < p["near_dibao_multiplier"] * c.h_standard)
        & (c.h_pc_income >= c.h_standard) & (c.h_assets <= limit) & (c.h_vehicles == 0)
        & ~c.h_business
    )
    near = h[eligible & (rng.random(c.H) < p["near_dibao_identified_share"])]
    if len(near) < 2:
        near = _sample(rng, h[~c.h_dibao & ~has_tekun], 2)
    n_day, n_stock = _history(c, rng, len(near), 0.12, 3.0)
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
        ["小班", "中班", "大班"], ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级"],
        ["七年级", "八年级", "九年级"], ["高一", "高二", "高三"], ["一年级", "二年级", "三年级"],
        ["大一", "大二", "大三", "大四"], ["研一", "研二", "研三"],
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
    return {"person": person, "stage": st, "entry": entry, "grade": R(gidx, pa.array(flat)),
            "school": school, "region": R(region_idx, region), "sep1": sep1}


@shared
def unemployment(c: City) -> dict[str, Any]:
    """Registered unemployed: some working-age persons without work."""
    rng = c.rng("unemployment")
    w = c.w
    cand = np.flatnonzero(
        ~c.p_employed & c.p_present & (c.p_age >= 18) & (c.p_age <= 59) & (c.p_dgrade == 0)
        & ~c.p_tekun
    )
    k = _count(0.10 * len(cand) * w.span / 365.25)
    person = _sample(rng, cand, k)
    day, stock = _history(c, rng, len(person), 0.7, 1.0)
    reemployed = rng.random(len(person)) < 0.35
    cancel = day + rng.integers(30, 240, len(person))
    reemployed &= cancel < w.t2
    benefit = rng.random(len(person)) < 0.3
    return {"person": person, "day": day, "stock": stock, "reemployed": reemployed,
            "cancel": np.where(reemployed, cancel, NULL_DAY), "benefit": benefit}


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
        c.p_present & (c.p_age >= 22) & (c.p_age <= 45) & (c.p_spouse < 0)
        & np.isin(c.p_rel, [0, 2, 6]) & (c.death == NEVER)
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
    kinds = [("typhoon", 8, 0.04), ("flood", 7, 0.03), ("hail", 6, 0.02),
             ("low_temperature", 1, 0.02), ("drought", 5, 0.03), ("marine", 9, 0.01)]
    events = []
    rural_towns = np.unique(c.v_town[~np.isin(np.arange(c.V), c.h_village[c.h_urban])])
    for kind, month, share in kinds:
        for year in range(_date(w.t0).year, _date(w.t2 - 1).year + 1):
            d = _days(date(year, month, int(rng.integers(1, 28))))
            if not (w.t0 <= d < w.t2) or len(rural_towns) == 0:
                continue
            towns = rng.choice(rural_towns, min(len(rural_towns), int(rng.integers(2, 7))), replace=False)
            events.append({"kind": kind, "day": d, "towns": np.sort(towns), "share": share})
    return events


@shared
def purchases(c: City) -> dict[str, Any]:
    """New homes bought in the window (housing_contract, then real_estate, provident loans)."""
    rng = c.rng("purchases")
    w = c.w
    head = c.h_head
    cand = np.flatnonzero(c.h_urban & ~c.h_dibao & (c.h_assets >= 60000) & c.p_present[head]
                          & (c.p_age[head] < 70) & (c.death[head] == NEVER))
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
    location = _cat(_take(c.c_full, county), _take(projects, proj), pc.cast(pa.array(bld), pa.string()),
                    "号楼", pc.cast(pa.array(unit), pa.string()), "单元",
                    pc.cast(pa.array(room), pa.string()), "室")
    registered = sign + rng.integers(40, 150, len(hh))
    return {"household": hh, "sign": sign, "area": area, "price": price, "location": location,
            "project": R(proj, pa.array(projects)), "registered": registered, "county": county}
