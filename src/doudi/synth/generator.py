"""The synthetic city: villages, households and persons of a Yantai-like city, as Parquet files.

:func:`generate` builds the whole city with vectorised numpy (one ``numpy.random.Generator`` stream
per component, derived from the seed, so the same ``persons`` and ``seed`` give the same data) and
writes three Parquet files (zstd), each atomically (temporary name, then rename), then a
``manifest.json`` listing them. Every figure comes from a table in ``data/`` with its source, or is
marked there as assumed; see the app's README.

Steps (each a function below):

1. towns — county populations spread over the real towns and streets (``_towns``);
2. villages — communities (urban) and villages (rural) per town, with names (``_villages``);
3. households — composition templates drawn per residence type until the persons count is met,
   then laid over the villages in proportion to their size (``_households``);
4. persons — member slots (head, spouse, parents, children, …) with consistent ages and sexes,
   flattened into one row per person (``_members``);
5. attributes — hukou, ID address codes, birth dates, disability, self-care, status, employment,
   income (``_person_attributes``), household finances (``_household_finances``);
6. recipients — 特困 persons and 低保 households at Yantai's rates, made consistent with the rules
   (``_recipients``);
7. names, pinyin and ID numbers (unique city-wide), then the tables are written.
"""

from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from doudi.core.idcard import check_chars_vec
from doudi.synth import names as _names
from doudi.synth.names import read_csv

CORE_DATA_DIR = Path(__file__).resolve().parent.parent / "core" / "data"

RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other")
REL = {name: i for i, name in enumerate(RELATIONS)}
DISABILITY_CATEGORIES = (
    "visual",
    "hearing",
    "speech",
    "physical",
    "intellectual",
    "mental",
    "multiple",
)
DIS = {name: i for i, name in enumerate(DISABILITY_CATEGORIES)}
#: a subset of the registry's PersonStatus; members working away still count as present (§5)
STATUSES = ("present", "prison", "missing", "drug_rehab")
ST = {name: i for i, name in enumerate(STATUSES)}
RESIDENCE = ("urban", "rural")
KINDS = ("community", "village")
MAX_AGE = 100

# Member slots of a household, in the order persons are written; the relation of each to the head.
SLOTS = (
    "head",
    "spouse",
    "parent1",
    "parent2",
    "grandparent",
    "sibling",
    "child1",
    "child2",
    "child3",
    "child_in_law",
    "grandchild1",
    "grandchild2",
)
SLOT_RELATION = np.array(
    [
        REL["head"],
        REL["spouse"],
        REL["parent"],
        REL["parent"],
        REL["grandparent"],
        REL["sibling"],
        REL["child"],
        REL["child"],
        REL["child"],
        REL["other"],
        REL["grandchild"],
        REL["grandchild"],
    ],
    dtype=np.int8,
)

# Independent random streams; adding a stream at the end never changes the others.
_STREAMS = (
    "villages",
    "plan_urban",
    "plan_rural",
    "members",
    "hukou",
    "birth",
    "disability",
    "status",
    "income",
    "finances",
    "recipients",
    "names",
    "address",
    "lift",
    "id_address",
)

PERSONS_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("household_id", pa.int64()),
        ("relation", pa.string()),
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("name_pinyin", pa.string()),
        ("sex", pa.string()),
        ("birth_date", pa.date32()),
        ("disability_category", pa.string()),
        ("disability_grade", pa.int8()),
        ("monthly_income_yuan", pa.int32()),
        ("employed", pa.bool_()),
        ("self_care_failed_activities", pa.int8()),
        ("tekun", pa.bool_()),
        ("dibao", pa.bool_()),
        ("status", pa.string()),
    ]
)
HOUSEHOLDS_SCHEMA = pa.schema(
    [
        ("household_id", pa.int64()),
        ("village_code", pa.string()),
        ("hukou_village_code", pa.string()),
        ("residence_type", pa.string()),
        ("size", pa.int16()),
        ("head_person_id", pa.int64()),
        ("financial_assets_yuan", pa.int64()),
        ("vehicles", pa.int8()),
        ("dwellings", pa.int8()),
        ("business_registered", pa.bool_()),
        ("dibao", pa.bool_()),
        ("address", pa.string()),
    ]
)
VILLAGES_SCHEMA = pa.schema(
    [
        ("code", pa.string()),
        ("name", pa.string()),
        ("town_code", pa.string()),
        ("county_code", pa.string()),
        ("kind", pa.string()),
        ("residence_type", pa.string()),
    ]
)


# --- reference tables ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def parameters() -> dict[str, float]:
    """``data/parameters.csv`` as ``{key: value}``."""
    return {r["key"]: float(r["value"]) for r in read_csv("parameters.csv")}


def _read_core_csv(name: str) -> list[dict[str, str]]:
    import csv

    with (CORE_DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class AgeBands:
    lo: np.ndarray
    hi: np.ndarray
    per_year_weight: np.ndarray  # (MAX_AGE + 1,)
    band_of_age: np.ndarray  # (MAX_AGE + 1,) -> band index
    disab_rel: np.ndarray
    selfcare_p: np.ndarray
    emp: np.ndarray  # (bands, sex[M=0,F=1], residence[urban=0, rural=1])


@lru_cache(maxsize=1)
def age_bands() -> AgeBands:
    rows = read_csv("age_bands.csv")
    lo = np.array([int(r["age_from"]) for r in rows])
    hi = np.array([int(r["age_to"]) for r in rows])
    band_of_age = np.zeros(MAX_AGE + 1, dtype=np.int64)
    per_year = np.zeros(MAX_AGE + 1)
    for b, r in enumerate(rows):
        band_of_age[lo[b] : hi[b] + 1] = b
        per_year[lo[b] : hi[b] + 1] = float(r["pop_weight"]) / (hi[b] - lo[b] + 1)
    emp = np.array(
        [
            [
                [float(r["emp_m_urban"]), float(r["emp_m_rural"])],
                [float(r["emp_f_urban"]), float(r["emp_f_rural"])],
            ]
            for r in rows
        ]
    )
    return AgeBands(
        lo=lo,
        hi=hi,
        per_year_weight=per_year,
        band_of_age=band_of_age,
        disab_rel=np.array([float(r["disab_rel"]) for r in rows]),
        selfcare_p=np.array([float(r["selfcare_p"]) for r in rows]),
        emp=emp,
    )


@dataclass(frozen=True)
class HouseholdTypes:
    names: tuple[str, ...]
    col: dict[str, np.ndarray]  # column -> (types,) float array


@lru_cache(maxsize=1)
def household_types() -> HouseholdTypes:
    rows = read_csv("household_types.csv")
    cols = [k for k in rows[0] if k != "type"]
    return HouseholdTypes(
        names=tuple(r["type"] for r in rows),
        col={c: np.array([float(r[c]) for r in rows]) for c in cols},
    )


def _rng(seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence(entropy=seed, spawn_key=(_STREAMS.index(stream),))
    )


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` that sum exactly to ``total``."""
    quota = total * weights / weights.sum()
    base = np.floor(quota).astype(np.int64)
    short = total - int(base.sum())
    if short:
        order = np.argsort(-(quota - base), kind="stable")
        base[order[:short]] += 1
    return base


def _weighted_top_k(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """Indices of ``k`` items drawn without replacement with probability ∝ weights
    (Efraimidis–Spirakis keys log(u)/w); items of weight 0 are never drawn."""
    n = len(weights)
    k = min(int(k), int(np.count_nonzero(weights > 0)))
    if k <= 0:
        return np.array([], dtype=np.int64)
    u = rng.random(n)
    with np.errstate(divide="ignore", over="ignore"):
        keys = np.where(weights > 0, np.log(u) / np.where(weights > 0, weights, 1.0), -np.inf)
    if k >= n:
        return np.arange(n)
    return np.sort(np.argpartition(-keys, k - 1)[:k])


# --- 1. towns -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Towns:
    code: np.ndarray  # int64, 9 digits
    name: np.ndarray  # str
    county: np.ndarray  # int64, 6 digits
    level: np.ndarray  # str
    persons: np.ndarray  # int64
    urban_share: np.ndarray  # float


def _towns(persons: int) -> Towns:
    div = _read_core_csv("yantai_divisions.csv")
    towns = [r for r in div if len(r["code"]) == 9]
    pop = {r["code"]: float(r["population"]) for r in _read_core_csv("county_population_2020.csv")}
    weights = {r["key"]: r for r in read_csv("division_weights.csv")}
    code = np.array([int(r["code"]) for r in towns], dtype=np.int64)
    county = np.array([int(r["parent_code"]) for r in towns], dtype=np.int64)
    level = np.array([r["level"] for r in towns])

    def pick(r: dict[str, str], col: str) -> float:
        return float((weights.get(r["code"]) or weights[r["level"]])[col])

    w = np.array([pick(r, "population_weight") for r in towns])
    urban = np.array([pick(r, "urban_share") for r in towns])
    county_pop = np.array([pop[str(c)] for c in county])
    county_w = np.zeros_like(w)
    for c in np.unique(county):  # 13 counties
        m = county == c
        county_w[m] = w[m] / w[m].sum()
    share = county_w * county_pop
    return Towns(
        code=code,
        name=np.array([r["name"] for r in towns]),
        county=county,
        level=level,
        persons=_largest_remainder(persons, share),
        urban_share=urban,
    )


# --- 2. villages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Villages:
    code: np.ndarray  # int64, 12 digits, sorted
    name: np.ndarray  # str
    town: np.ndarray  # index into Towns
    urban: np.ndarray  # bool: community (urban) vs village (rural)
    target: np.ndarray  # float: expected residents


def _villages(towns: Towns, rng: np.random.Generator) -> Villages:
    p = parameters()
    urban_persons = np.round(towns.persons * towns.urban_share)
    rural_persons = towns.persons - urban_persons
    n_comm = np.round(urban_persons / p["persons_per_community"]).astype(np.int64)
    n_vill = np.round(rural_persons / p["persons_per_village"]).astype(np.int64)
    n_comm = np.where((urban_persons > 0) & (n_comm == 0), 1, n_comm)
    n_vill = np.where((rural_persons > 0) & (n_vill == 0), 1, n_vill)
    # at least a few units per town, so a small demo still has several villages per town
    short = np.maximum(0, int(p["min_villages_per_town"]) - n_comm - n_vill)
    mostly_urban = towns.urban_share >= 0.5
    n_comm = np.minimum(n_comm + np.where(mostly_urban, short, 0), 199)
    n_vill = np.minimum(n_vill + np.where(mostly_urban, 0, short), 399)

    comm_names = _names.community_names(rng, n_comm)
    vill_names = _names.village_names(rng, n_vill)
    t_comm = np.repeat(np.arange(len(n_comm)), n_comm)
    t_vill = np.repeat(np.arange(len(n_vill)), n_vill)
    # sequence within town: communities 001.., villages 201..
    seq_comm = np.arange(len(t_comm)) - np.searchsorted(t_comm, t_comm) + 1
    seq_vill = np.arange(len(t_vill)) - np.searchsorted(t_vill, t_vill) + 201

    town = np.concatenate([t_comm, t_vill])
    code = towns.code[town] * 1000 + np.concatenate([seq_comm, seq_vill])
    urban = np.concatenate([np.ones(len(t_comm), bool), np.zeros(len(t_vill), bool)])
    name = np.concatenate([comm_names, vill_names])
    # sizes vary within a town (lognormal weights, assumed σ = 0.5)
    size_w = rng.lognormal(0.0, 0.5, len(town))
    pool_persons = np.where(urban, urban_persons[town], rural_persons[town])
    pool_key = town * 2 + (~urban)
    w_sum = np.bincount(pool_key, weights=size_w, minlength=2 * len(towns.code))
    target = pool_persons * size_w / w_sum[pool_key]
    order = np.argsort(code, kind="stable")
    return Villages(
        code=code[order],
        name=name[order],
        town=town[order],
        urban=urban[order],
        target=target[order],
    )


# --- 3. households ------------------------------------------------------------------------------


@dataclass
class Plan:
    """Household composition: one entry per household."""

    type: np.ndarray
    spouse: np.ndarray
    n_parents: np.ndarray
    grandparent: np.ndarray
    sibling: np.ndarray
    n_children: np.ndarray
    child_in_law: np.ndarray
    n_grandchildren: np.ndarray

    @property
    def size(self) -> np.ndarray:
        return (
            1
            + self.spouse
            + self.n_parents
            + self.grandparent
            + self.sibling
            + self.n_children
            + self.child_in_law
            + self.n_grandchildren
        ).astype(np.int64)

    def take(self, idx: np.ndarray) -> Plan:
        return Plan(**{k: v[idx] for k, v in self.__dict__.items()})

    @staticmethod
    def concat(plans: list[Plan]) -> Plan:
        return Plan(
            **{k: np.concatenate([getattr(p, k) for p in plans]) for k in plans[0].__dict__}
        )


def _count(u: np.ndarray, probs: list[np.ndarray]) -> np.ndarray:
    """Number k drawn with P(k) = probs[k-1] for k ≥ 1 (the rest: 0)."""
    out = np.zeros(len(u), dtype=np.int8)
    acc = np.zeros(len(u))
    for k in range(len(probs), 0, -1):
        acc = acc + probs[k - 1]
        out = np.where((out == 0) & (u < acc), k, out).astype(np.int8)
    return out


def _draw_plan(rng: np.random.Generator, n: int, residence: str) -> Plan:
    ht = household_types()
    c = ht.col
    w = c[f"{residence}_weight"]
    t = rng.choice(len(w), size=n, p=w / w.sum()).astype(np.int8)
    u = rng.random((7, n))
    n_children = _count(u[2], [c["children_1"][t], c["children_2"][t], c["children_3"][t]])
    return Plan(
        type=t,
        spouse=(u[0] < c["spouse"][t]).astype(np.int8),
        n_parents=_count(u[1], [c["parents_1"][t], c["parents_2"][t]]),
        grandparent=(u[3] < c["grandparent"][t]).astype(np.int8),
        sibling=(u[4] < c["sibling"][t]).astype(np.int8),
        n_children=n_children,
        child_in_law=((n_children > 0) & (u[5] < c["child_in_law"][t])).astype(np.int8),
        n_grandchildren=_count(u[6], [c["grandchildren_1"][t], c["grandchildren_2"][t]]),
    )


def _plan_for_persons(rng: np.random.Generator, persons: int, residence: str) -> Plan:
    """Households whose sizes add up to exactly ``persons``."""
    if persons <= 0:
        return _draw_plan(rng, 0, residence)
    n = int(persons / 2.3) + 64
    plan = _draw_plan(rng, n, residence)
    while int(plan.size.sum()) < persons:  # practically never loops
        plan = Plan.concat([plan, _draw_plan(rng, n, residence)])
    cs = np.cumsum(plan.size)
    k = int(np.searchsorted(cs, persons, side="right"))
    plan = plan.take(np.arange(k))
    deficit = persons - (int(cs[k - 1]) if k else 0)
    if deficit:  # top up with one-person households
        ht = household_types()
        solo = np.array([ht.names.index("solo_adult"), ht.names.index("solo_old")], np.int8)
        z = np.zeros(deficit, np.int8)
        filler = Plan(solo[rng.integers(0, 2, deficit)], z, z, z, z, z, z, z)
        plan = Plan.concat([plan, filler])
    return plan


@dataclass(frozen=True)
class Households:
    plan: Plan
    village: np.ndarray  # index into Villages
    urban: np.ndarray  # bool


def _households(villages: Villages, seed: int) -> Households:
    parts = []
    for residence, is_urban in (("urban", True), ("rural", False)):
        pool = np.flatnonzero(villages.urban == is_urban)
        target = villages.target[pool]
        persons = int(round(target.sum()))
        plan = _plan_for_persons(_rng(seed, f"plan_{residence}"), persons, residence)
        size = plan.size
        mid = np.cumsum(size) - size / 2.0  # a household goes where its middle person falls
        bounds = np.cumsum(target) * (persons / max(target.sum(), 1e-9))
        v = pool[np.minimum(np.searchsorted(bounds, mid, side="right"), len(pool) - 1)]
        parts.append((plan, v, np.full(len(v), is_urban)))
    plan = Plan.concat([p[0] for p in parts])
    village = np.concatenate([p[1] for p in parts])
    urban = np.concatenate([p[2] for p in parts])
    order = np.argsort(village, kind="stable")  # household ids grouped by village code
    return Households(plan=plan.take(order), village=village[order], urban=urban[order])


# --- 4. members ---------------------------------------------------------------------------------


def _age_sampler(lo: np.ndarray, hi: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Ages drawn from the age pyramid restricted to [lo, hi] (per element), via inverse CDF."""
    w = age_bands().per_year_weight
    cdf = np.concatenate([[0.0], np.cumsum(w)])  # cdf[a] = weight of ages < a
    a_lo, a_hi = cdf[lo], cdf[hi + 1]
    x = a_lo + u * (a_hi - a_lo)
    return np.clip(np.searchsorted(cdf, x, side="right") - 1, lo, hi)


def _clipped_normal(rng: np.random.Generator, n: int, mu: float, sd: float, lo: float, hi: float):
    return np.clip(np.rint(rng.normal(mu, sd, n)), lo, hi).astype(np.int64)


@dataclass(frozen=True)
class Members:
    household: np.ndarray  # int64 index of the household (0-based)
    relation: np.ndarray  # int8 into RELATIONS
    age: np.ndarray  # int16
    male: np.ndarray  # bool
    surname: np.ndarray  # int16 into the surname table
    hh_start: np.ndarray  # (H,) index of each household's head


def _members(hh: Households, rng: np.random.Generator) -> Members:
    ht = household_types()
    c = ht.col
    pl = hh.plan
    t = pl.type.astype(np.int64)
    n = len(t)
    p_child_male = parameters()["child_male_share"]

    # head
    head_age = _age_sampler(
        c["head_age_min"][t].astype(np.int64), c["head_age_max"][t].astype(np.int64), rng.random(n)
    )
    has_spouse = pl.spouse > 0
    # widowed or single heads of family types are mostly women (assumed 35% men)
    p_male = np.where(has_spouse | (c["spouse"][t] == 0), c["head_male"][t], 0.35)
    head_male = rng.random(n) < p_male

    # spouse: husband on average 2.5 years older (assumed), at least 20
    d = _clipped_normal(rng, n, 2.5, 3.0, -6, 12)
    spouse_age = np.clip(np.where(head_male, head_age - d, head_age + d), 20, MAX_AGE)

    # Relatives' ages are drawn from the age pyramid inside a window relative to the head, so
    # the small cohorts born after 2017 stay small: parents 22–38 years older than the head,
    # children 22–36 years younger (inside the type's child age range), grandchildren 22–36
    # years younger than their parent, grandparents 44–66 years older.
    def window(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        lo = np.clip(lo, 0, MAX_AGE)
        hi = np.clip(hi, lo, MAX_AGE)
        return _age_sampler(lo, hi, rng.random(n))

    p1_age = window(head_age + 22, head_age + 38)
    p2_age = np.clip(
        p1_age - _clipped_normal(rng, n, 2.5, 2.5, -5, 10), np.minimum(head_age + 20, MAX_AGE), 100
    )
    two_parents = pl.n_parents >= 2
    p1_male = np.where(two_parents, True, rng.random(n) < 0.32)  # a lone parent: mostly a mother

    gp_age = window(head_age + 44, head_age + 66)
    sib_age = np.clip(head_age + np.rint(rng.normal(0, 5, n)).astype(np.int64), 18, MAX_AGE)

    cmin = c["child_age_min"][t].astype(np.int64)
    cmax = c["child_age_max"][t].astype(np.int64)
    c_lo = np.maximum(cmin, head_age - 36)
    c_hi = np.minimum(cmax, head_age - 22)
    c_lo = np.where(c_hi < c_lo, np.maximum(cmin, head_age - 40), c_lo)
    c_hi = np.where(c_hi < c_lo, np.minimum(cmax, head_age - 20), c_hi)
    child_age = [window(c_lo, c_hi) for _ in range(3)]
    child_male = [rng.random(n) < p_child_male for _ in range(3)]
    # a married adult child's spouse
    dil = _clipped_normal(rng, n, 2.5, 2.5, -5, 10)
    cil_age = np.clip(np.where(child_male[0], child_age[0] - dil, child_age[0] + dil), 20, MAX_AGE)

    # grandchildren: of the first child, or of a grandparent head without children at home
    # (left-behind children aged 0–17, at least 42 years younger than the head)
    with_child = pl.n_children > 0
    gc_lo = np.where(with_child, child_age[0] - 36, np.maximum(head_age - 66, 0))
    gc_hi = np.where(with_child, child_age[0] - 22, np.minimum(head_age - 42, 17))
    gc_hi = np.where(with_child & (gc_hi < 0), child_age[0] - 20, gc_hi)
    gc_age = [window(gc_lo, gc_hi) for _ in "ab"]
    gc_male = [rng.random(n) < p_child_male for _ in "ab"]

    present = np.stack(
        [
            np.ones(n, bool),
            has_spouse,
            pl.n_parents >= 1,
            pl.n_parents >= 2,
            pl.grandparent > 0,
            pl.sibling > 0,
            pl.n_children >= 1,
            pl.n_children >= 2,
            pl.n_children >= 3,
            pl.child_in_law > 0,
            pl.n_grandchildren >= 1,
            pl.n_grandchildren >= 2,
        ],
        axis=1,
    )
    age = np.stack(
        [
            head_age,
            spouse_age,
            p1_age,
            p2_age,
            gp_age,
            sib_age,
            *child_age,
            cil_age,
            *gc_age,
        ],
        axis=1,
    ).astype(np.int16)
    male = np.stack(
        [
            head_male,
            ~head_male,
            p1_male,
            np.zeros(n, bool),
            rng.random(n) < 0.3,
            rng.random(n) < 0.65,
            *child_male,
            ~child_male[0],
            *gc_male,
        ],
        axis=1,
    )
    flat = present.ravel()
    size = present.sum(axis=1)
    assert np.array_equal(size, pl.size), "slot presence disagrees with the plan"
    household = np.repeat(np.arange(n, dtype=np.int64), size)
    relation = np.broadcast_to(SLOT_RELATION, present.shape).ravel()[flat]
    slot = np.broadcast_to(np.arange(len(SLOTS), dtype=np.int8), present.shape).ravel()[flat]
    ages = age.ravel()[flat]
    males = male.ravel()[flat]
    del present, age, male
    hh_start = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)

    # surnames: children and grandchildren mostly carry the family surname (the husband's), the
    # head carries the father's, siblings the head's (assumed shares)
    surname = _names.draw_surnames(rng, len(household))
    head_s = surname[hh_start]
    spouse_s = surname[np.minimum(hh_start + 1, len(surname) - 1)]
    family_s = np.where(head_male | ~has_spouse, head_s, spouse_s)[household]
    u = rng.random(len(household))
    rel = relation
    surname = np.where(((rel == REL["child"]) & (u < 0.92)), family_s, surname)
    surname = np.where(((rel == REL["grandchild"]) & (u < 0.80)), family_s, surname)
    father = (slot == SLOTS.index("parent1")) & males
    surname = np.where(father | ((rel == REL["sibling"]) & (u < 0.95)), head_s[household], surname)
    return Members(
        household=household,
        relation=relation.astype(np.int8),
        age=ages,
        male=males,
        surname=surname.astype(np.int16),
        hh_start=hh_start,
    )


# --- 5. person attributes -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _address_codes() -> tuple[list[dict[str, str]], np.ndarray]:
    rows = read_csv("address_codes.csv")
    legacy = [r for r in rows if r["kind"] == "legacy"]
    migrant = np.array([int(r["code"]) for r in rows if r["kind"] == "migrant"], dtype=np.int64)
    return legacy, migrant


def _anniversary(as_of: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February → 28 February)."""
    try:
        return as_of.replace(year=as_of.year - years)
    except ValueError:
        return date(as_of.year - years, 2, 28)


def _birth_dates(age: np.ndarray, as_of: date, rng: np.random.Generator) -> np.ndarray:
    """Birth dates (datetime64[D]) such that the age in completed years at ``as_of`` is ``age``."""
    max_age = int(age.max(initial=0)) + 1
    ann = np.array(
        [np.datetime64(_anniversary(as_of, a), "D") for a in range(max_age + 1)],
        dtype="datetime64[D]",
    ).astype(np.int64)
    a = age.astype(np.int64)
    first = ann[a + 1] + 1  # the day after the (age+1)-th anniversary
    span = ann[a] - first + 1
    return (first + np.floor(rng.random(len(a)) * span).astype(np.int64)).astype("datetime64[D]")


@dataclass
class PersonAttrs:
    birth: np.ndarray  # datetime64[D]
    address_code: np.ndarray  # int64 6 digits (ID number)
    dis_cat: np.ndarray  # int8, -1 = none
    dis_grade: np.ndarray  # int8, 0 = none
    self_care: np.ndarray  # int8
    status: np.ndarray  # int8
    employed: np.ndarray  # bool
    labour_income: np.ndarray  # int64
    pension: np.ndarray  # int64
    pension_kind: np.ndarray  # int8: 0 none, 1 residents' basic pension, 2 employee pension

    @property
    def income(self) -> np.ndarray:
        return self.labour_income + self.pension


def _person_attributes(
    m: Members,
    hh_urban: np.ndarray,
    hukou_county: np.ndarray,
    hukou_town: np.ndarray,
    as_of: date,
    seed: int,
) -> PersonAttrs:
    p = parameters()
    ab = age_bands()
    n = len(m.age)
    age = m.age.astype(np.int64)
    band = ab.band_of_age[np.minimum(age, MAX_AGE)]
    urban = hh_urban[m.household]

    birth = _birth_dates(m.age, as_of, _rng(seed, "birth"))

    # ID address code: the hukou county; a few older persons carry an abolished or another
    # Shandong county's code (GB 11643 §6.2: the county of first registration)
    rng = _rng(seed, "id_address")
    addr = hukou_county[m.household].astype(np.int64)
    # the two development zones (370671 高新区, 370676 开发区) are statistical areas, not ID address
    # codes: their residents were registered under the districts the zones were carved from
    # (高新区 from 莱山区 370613, 开发区 from 福山区 370611; assumed)
    addr = np.where(addr == 370671, 370613, np.where(addr == 370676, 370611, addr))
    legacy, migrant = _address_codes()
    for row in legacy:  # two rows
        before = np.datetime64(row["born_before"], "D")
        if row["towns"].strip():
            towns = np.array([int(x) for x in row["towns"].split()], dtype=np.int64)
            sel = np.isin(hukou_town[m.household], towns) & (birth < before)
            addr = np.where(sel, int(row["code"]), addr)
    older = birth < np.datetime64("2000-01-01")
    local = addr == np.where(
        hukou_county[m.household] == 370671,
        370613,
        np.where(hukou_county[m.household] == 370676, 370611, hukou_county[m.household]),
    )
    nonlocal_ = older & local & (rng.random(n) < p["nonlocal_address_share"])
    penglai = next(r for r in legacy if not r["towns"].strip())
    in_penglai = hukou_county[m.household] == int(penglai["current_code"])
    addr = np.where(
        nonlocal_,
        np.where(
            in_penglai & (birth < np.datetime64(penglai["born_before"], "D")),
            int(penglai["code"]),
            migrant[rng.integers(0, len(migrant), n)],
        ),
        addr,
    )

    # disability certificates: exactly round(rate × n) holders, more likely with age
    rng = _rng(seed, "disability")
    holders = _weighted_top_k(rng, ab.disab_rel[band], round(p["disability_rate"] * n))
    dis_cat = np.full(n, -1, np.int8)
    dis_grade = np.zeros(n, np.int8)
    if len(holders):
        drows = read_csv("disability.csv")
        cum = np.cumsum([[float(r[c]) for c in DISABILITY_CATEGORIES] for r in drows], axis=1)
        cum /= cum[:, -1:]
        dband = np.searchsorted([int(r["age_to"]) for r in drows], age[holders], side="left")
        u = rng.random(len(holders))
        dis_cat[holders] = np.minimum((u[:, None] > cum[dband]).sum(axis=1), 6)
        gp = np.cumsum([p[f"disability_grade_{g}"] for g in (1, 2, 3, 4)])
        dis_grade[holders] = 1 + np.searchsorted(gp / gp[-1], rng.random(len(holders)))
    severe = (dis_grade >= 1) & (dis_grade <= 2)

    # self-care: failed activities among the six (DOMAIN.md §9), by age and disability
    p_any = ab.selfcare_p[band].copy()
    p_any = np.where(age < 16, 0.0, p_any)
    grade_p = np.array([0.0, 0.6, 0.35, 0.1, 0.03])  # by grade (assumed)
    p_any = np.maximum(p_any, grade_p[dis_grade])
    any_fail = rng.random(n) < p_any
    q = np.where((dis_grade == 1) | (age >= 90), 0.55, 0.25)
    self_care = np.where(any_fail, 1 + rng.binomial(5, q), 0).astype(np.int8)

    # status: prison, compulsory drug rehabilitation, declared missing (assumed shares); these
    # persons are outside the household for assessment (DOMAIN.md §5)
    rng = _rng(seed, "status")
    u = rng.random(n)
    status = np.zeros(n, np.int8)
    adult = age >= 18
    status = np.where(m.male & adult & (age <= 59) & (u < p["prison_share"]), ST["prison"], status)
    status = np.where(
        adult & (age <= 55) & (u > 1 - p["drug_rehab_share"]), ST["drug_rehab"], status
    )
    status = np.where(
        adult
        & (u > 0.5 - p["missing_share"] / 2)
        & (u < 0.5 + p["missing_share"] / 2)
        & (self_care == 0),
        ST["missing"],
        status,
    ).astype(np.int8)

    # employment and income
    rng = _rng(seed, "income")
    emp_p = ab.emp[band, (~m.male).astype(np.int64), (~urban).astype(np.int64)]
    emp_p = emp_p * np.where(severe, 0.15, np.where(dis_grade > 0, 0.6, 1.0))
    emp_p = np.where(
        (self_care > 0) | (age < 16) | (status != ST["present"]),
        0.0,
        emp_p,
    )
    employed = rng.random(n) < emp_p
    # most households with an able working-age member have at least one earner: where none was
    # drawn, the first such member works with probability household_earner_share (assumed)
    able = (age >= 18) & (age <= 59) & ~severe & (self_care == 0) & (status == ST["present"])
    has_earner = np.zeros(len(m.hh_start), bool)
    has_earner[m.household[employed]] = True
    cand = np.flatnonzero(able & ~has_earner[m.household])
    _, first = np.unique(m.household[cand], return_index=True)
    first = cand[first]
    employed[first] = rng.random(len(first)) < p["household_earner_share"]
    wage_med = np.where(urban, p["wage_median_urban"], p["wage_median_rural"])
    wage = np.maximum(wage_med * np.exp(rng.normal(0, p["wage_sigma"], n)), p["wage_floor"])
    farm = p["farm_income_median"] * np.exp(rng.normal(0, p["farm_income_sigma"], n))
    labour = np.where(employed, np.where(~urban & (age >= 60), farm, wage), 0.0)

    retire_f = p["urban_women_retire_age"]
    emp_share = np.where(
        urban, p["employee_pension_share_urban"], p["employee_pension_share_rural"]
    )
    has_emp_pension = rng.random(n) < emp_share
    emp_pension = p["employee_pension_median"] * np.exp(
        rng.normal(0, p["employee_pension_sigma"], n)
    )
    basic = rng.uniform(p["basic_pension_min"], p["basic_pension_max"], n)
    old = age >= 60
    early_f = urban & ~m.male & (age >= retire_f) & (age < 60) & ~employed & has_emp_pension
    pension_kind = np.where(old, np.where(has_emp_pension, 2, 1), np.where(early_f, 2, 0)).astype(
        np.int8
    )
    pension = np.select([pension_kind == 2, pension_kind == 1], [emp_pension, basic], 0.0)
    # persons aged 60+ mostly also receive support from children living elsewhere (赡养费, counted
    # as income, DOMAIN.md §5) or property income such as land rent (shares and amounts assumed)
    support_med = np.where(urban, p["elder_support_median_urban"], p["elder_support_median_rural"])
    support = np.where(
        old & (rng.random(n) < p["elder_support_share"]),
        support_med * np.exp(rng.normal(0, p["elder_support_sigma"], n)),
        0.0,
    )
    labour = labour + support
    jailed = status != ST["present"]
    labour = np.where(jailed, 0, labour)
    pension = np.where(jailed, 0, pension)
    pension_kind = np.where(jailed, 0, pension_kind).astype(np.int8)
    return PersonAttrs(
        birth=birth,
        address_code=addr,
        dis_cat=dis_cat,
        dis_grade=dis_grade,
        self_care=self_care,
        status=status,
        employed=employed,
        labour_income=np.rint(labour).astype(np.int64),
        pension=np.rint(pension).astype(np.int64),
        pension_kind=pension_kind,
    )


def _lift_low_incomes(
    m: Members, a: PersonAttrs, hh_urban: np.ndarray, size: np.ndarray, seed: int
) -> None:
    """Most households whose per-capita income falls below the 低保 standard have income that
    wages and pensions do not show (transfers, property, informal work). All but a share
    ``low_income_keep_share`` of them get such income, received by their first present adult
    (usually the head), lifting the household to 1.2–2.5 × the standard per capita (assumed).
    This keeps the pool of households that look eligible but receive nothing (应保未保, what
    proactive discovery should find) at a plausible size instead of a tenth of the city.
    Mutates ``a``."""
    p = parameters()
    rng = _rng(seed, "lift")
    h = len(size)
    std = np.where(hh_urban, p["dibao_standard_urban"], p["dibao_standard_rural"])
    pc_income = np.bincount(m.household, weights=a.income, minlength=h) / size
    low = pc_income < std
    lift = low & (rng.random(h) >= p["low_income_keep_share"])
    goal = rng.uniform(1.2, 2.5, h) * std * size
    extra = np.where(lift, np.rint(goal - pc_income * size), 0).astype(np.int64)
    # received by the first present adult of the household (usually the head)
    cand = np.flatnonzero((a.status == ST["present"]) & (m.age >= 18))
    hh_of, first = np.unique(m.household[cand], return_index=True)
    a.labour_income[cand[first]] += np.maximum(extra[hh_of], 0)


# --- household finances -------------------------------------------------------------------------


@dataclass
class Finances:
    assets: np.ndarray  # int64 yuan
    vehicles: np.ndarray  # int8
    dwellings: np.ndarray  # int8
    business: np.ndarray  # bool


def _household_finances(
    m: Members, a: PersonAttrs, hh_urban: np.ndarray, size: np.ndarray, seed: int
) -> Finances:
    p = parameters()
    rng = _rng(seed, "finances")
    h = len(size)
    income = np.bincount(m.household, weights=a.income, minlength=h)
    pc_income = income / size
    median = np.where(hh_urban, p["assets_median_urban"], p["assets_median_rural"])
    log_a = (
        np.log(median)
        + p["assets_income_elasticity"] * np.log((pc_income + 300.0) / 2000.0)
        + rng.normal(0, p["assets_sigma"], h)
    )
    assets = (np.rint(np.exp(log_a) / 100.0) * 100).astype(np.int64)

    z = (np.log(pc_income + 300.0) - np.log(2000.0)) / 0.6
    min_age = np.full(h, 200, np.int64)
    np.minimum.at(min_age, m.household, m.age.astype(np.int64))
    elderly_only = min_age >= 70
    w_vehicle = np.exp(z) * np.where(elderly_only, 0.1, 1.0) * np.where(hh_urban, 1.0, 0.7)
    owners = _weighted_top_k(rng, w_vehicle, round(p["vehicle_share"] * h))
    vehicles = np.zeros(h, np.int8)
    vehicles[owners] = 1 + (rng.random(len(owners)) < p["second_vehicle_share"])

    za = np.log(assets + 1000.0)
    z_assets = (za - za.mean()) / max(float(za.std()), 1e-9)
    multi = _weighted_top_k(rng, np.exp(z_assets), round((p["dwellings_2"] + p["dwellings_3"]) * h))
    dwellings = np.ones(h, np.int8)
    dwellings[multi] = np.where(
        rng.random(len(multi)) < p["dwellings_3"] / (p["dwellings_2"] + p["dwellings_3"]), 3, 2
    )
    none = (dwellings == 1) & (rng.random(h) < p["dwellings_0"])
    dwellings[none] = 0

    working = np.zeros(h, bool)
    age = m.age
    working[m.household[a.employed & (age >= 25) & (age <= 59)]] = True
    w_business = np.where(working, 1.0, 0.05) * np.exp(0.5 * z)
    biz = _weighted_top_k(rng, w_business, round(p["business_share"] * h))
    business = np.zeros(h, bool)
    business[biz] = True
    return Finances(assets=assets, vehicles=vehicles, dwellings=dwellings, business=business)


# --- 6. recipients ------------------------------------------------------------------------------


def _recipients(
    m: Members,
    a: PersonAttrs,
    f: Finances,
    hh_urban: np.ndarray,
    size: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Choose 特困 persons and 低保 households at the configured rates and make their incomes and
    assets consistent with the rules (DOMAIN.md §3, §5). Returns (tekun per person, dibao per
    household). Mutates ``a`` and ``f`` for the chosen ones."""
    p = parameters()
    rng = _rng(seed, "recipients")
    n, h = len(m.age), len(size)
    age = m.age.astype(np.int64)
    std_h = np.where(hh_urban, p["dibao_standard_urban"], p["dibao_standard_rural"])
    std_p = std_h[m.household]
    limit_months = p["asset_limit_months"]

    # 特困: living alone, no labour capacity (60+, or 16+ and severely disabled), present, low
    # counted income (the residents' basic pension is not counted), low assets; mostly elderly
    severe_for_tekun = (
        ((a.dis_grade >= 1) & (a.dis_grade <= 2))
        | (
            np.isin(a.dis_cat, [DIS["intellectual"], DIS["mental"]])
            & (a.dis_grade >= 1)
            & (a.dis_grade <= 3)
        )
        | ((a.dis_cat == DIS["visual"]) & (a.dis_grade == 1))
    )
    alone = size[m.household] == 1
    no_labour = (age >= 60) | ((age >= 16) & severe_for_tekun)
    counted = a.labour_income + np.where(a.pension_kind == 2, a.pension, 0)
    hh_assets = f.assets[m.household]
    w = (
        (alone & no_labour & (a.status == ST["present"]))
        * np.exp(-3.0 * counted / std_p)
        * np.exp(-hh_assets / (limit_months * std_p))
        * (1.0 + np.maximum(age - 60, 0) / 10.0)
        * np.where(severe_for_tekun, 8.0, 1.0)
        * np.where(hh_urban[m.household], 1.0, 1.8)
    )
    tekun_idx = _weighted_top_k(rng, w, round(p["tekun_person_rate"] * n))
    tekun = np.zeros(n, bool)
    tekun[tekun_idx] = True
    a.employed[tekun_idx] = False
    a.labour_income[tekun_idx] = 0
    is_old = age[tekun_idx] >= 60
    basic = rng.integers(int(p["basic_pension_min"]), int(p["basic_pension_max"]) + 1, len(is_old))
    a.pension[tekun_idx] = np.where(is_old, basic, 0)  # the basic pension is not counted (§3)
    a.pension_kind[tekun_idx] = np.where(is_old, 1, 0)
    th = m.household[tekun_idx]
    f.vehicles[th] = 0
    f.business[th] = False
    f.dwellings[th] = np.minimum(f.dwellings[th], 1)
    f.assets[th] = np.rint(rng.random(len(th)) * 0.4 * limit_months * std_h[th] / 100) * 100

    # 低保: households (not 特困) with low per-capita income and assets, more often with elderly or
    # disabled members; taken in random order weighted by need until the persons rate is met
    income = np.bincount(m.household, weights=a.income, minlength=h)
    pc = income / size
    has_severe = np.zeros(h, bool)
    has_severe[m.household[severe_for_tekun]] = True
    has_dis = np.zeros(h, bool)
    has_dis[m.household[a.dis_grade > 0]] = True
    has_old = np.zeros(h, bool)
    has_old[m.household[age >= 70]] = True
    tekun_hh = np.zeros(h, bool)
    tekun_hh[th] = True
    limit_h = limit_months * std_h * size
    w = (
        (~tekun_hh)
        * np.exp(-3.0 * pc / std_h)
        * np.exp(-f.assets / limit_h)
        * (1.0 + 3.0 * has_severe + 1.0 * has_dis + 1.0 * has_old)
        / np.sqrt(size)  # small households (elderly, 单人保) are over-represented among 低保
        * np.where(f.vehicles > 0, 0.2, 1.0)
        * np.where(f.business, 0.2, 1.0)
    )
    target = p["dibao_person_rate"] * n
    u = rng.random(h)
    with np.errstate(divide="ignore", over="ignore"):
        keys = np.where(w > 0, np.log(u) / np.where(w > 0, w, 1.0), -np.inf)
    order = np.argsort(-keys, kind="stable")
    order = order[w[order] > 0]
    cs = np.cumsum(size[order])
    k = int(np.searchsorted(cs, target))  # cs[k] >= target
    if k < len(cs) and k > 0 and abs(cs[k - 1] - target) <= abs(cs[k] - target):
        k -= 1
    chosen = np.sort(order[: min(k + 1, len(order))]) if target >= 1 and len(order) else order[:0]
    dibao = np.zeros(h, bool)
    dibao[chosen] = True

    # consistency: no employee pension, each member's income under 35–90% of the standard, so the
    # per-capita income is below the standard; no vehicle or business; assets within the limit
    pm = dibao[m.household]
    idx = np.flatnonzero(pm)
    cap = np.rint(rng.uniform(0.35, 0.9, len(idx)) * std_p[idx]).astype(np.int64)
    emp_p = a.pension_kind[idx] == 2
    a.pension[idx] = np.where(
        emp_p,
        rng.integers(int(p["basic_pension_min"]), int(p["basic_pension_max"]) + 1, len(idx)),
        a.pension[idx],
    )
    a.pension_kind[idx] = np.where(emp_p, 1, a.pension_kind[idx])
    a.pension[idx] = np.minimum(a.pension[idx], cap)
    a.labour_income[idx] = np.minimum(a.labour_income[idx], cap - a.pension[idx])
    f.vehicles[chosen] = 0
    f.business[chosen] = False
    f.dwellings[chosen] = np.minimum(f.dwellings[chosen], 1)
    f.assets[chosen] = (
        np.rint(rng.random(len(chosen)) * 0.5 * limit_h[chosen] / 100).astype(np.int64) * 100
    )
    return tekun, dibao


# --- 7. ID numbers ------------------------------------------------------------------------------


def _fixed_width_strings(buf: np.ndarray) -> pa.Array:
    """A pyarrow string array from an (n, w) uint8 array of ASCII bytes (zero-copy offsets)."""
    n, w = buf.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(buf))]
    )


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 decimal digits of non-negative integers."""
    pow10 = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values[:, None] // pow10) % 10).astype(np.uint8)


def id_numbers(address_code: np.ndarray, birth: np.ndarray, male: np.ndarray) -> pa.Array:
    """18-character resident ID numbers (GB 11643-1999), unique across the input.

    The 3-digit sequence is assigned per (address code, birth date, sex): the r-th person of a
    group gets k = 1 + (offset + r) mod 499 with a group-specific offset, and the sequence 2k − 1
    (men, odd) or 2k (women, even), so numbers are distinct as long as no group has more than 499
    persons (checked).
    """
    n = len(address_code)
    day = birth.astype("datetime64[D]").astype(np.int64)
    key = ((address_code.astype(np.int64) * 100_000 + (day + 40_000)) << 1) | male.astype(np.int64)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    start = np.ones(n, bool)
    start[1:] = ks[1:] != ks[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    rank_sorted = np.arange(n) - first
    if n and int(rank_sorted.max()) >= 499:
        raise ValueError("more than 499 persons share an address code, birth date and sex")
    rank = np.empty(n, np.int64)
    rank[order] = rank_sorted
    offset = ((key % 1_000_003) * 7919) % 499  # a group-specific start, no int64 overflow
    k = 1 + (offset + rank) % 499
    seq = np.where(male, 2 * k - 1, 2 * k)

    b = birth.astype("datetime64[D]")
    year = b.astype("datetime64[Y]").astype(np.int64) + 1970
    month = b.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (b - b.astype("datetime64[M]")).astype(np.int64) + 1
    ymd = year * 10_000 + month * 100 + dom
    out = np.empty((n, 18), np.uint8)
    step = 1_000_000
    for s in range(0, n, step):  # bounded memory for the (rows, 17) digit matrix
        e = min(n, s + step)
        body = address_code[s:e].astype(np.int64) * 100_000_000_000 + ymd[s:e] * 1000 + seq[s:e]
        d = _digits(body, 17)
        out[s:e, :17] = d + ord("0")
        out[s:e, 17] = check_chars_vec(d).view(np.uint8)
    return _fixed_width_strings(out)


# --- writing ------------------------------------------------------------------------------------


def _codes_as_strings(values: np.ndarray, width: int) -> pa.Array:
    return _fixed_width_strings(_digits(values.astype(np.int64), width) + ord("0"))


def _take_strings(choices: tuple[str, ...] | list[str], idx: np.ndarray) -> pa.Array:
    return pa.array(list(choices), pa.string()).take(pa.array(np.asarray(idx)))


def _write_atomic(table: pa.Table, path: Path) -> int:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path.stat().st_size


def _write_json_atomic(obj: dict[str, Any], path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# --- the whole city -----------------------------------------------------------------------------


def build_tables(*, persons: int, seed: int, as_of: date = date(2026, 1, 1)) -> dict[str, pa.Table]:
    """The synthetic city as three pyarrow tables: ``villages``, ``households``, ``persons``."""
    if persons < 1:
        raise ValueError("persons must be at least 1")
    towns = _towns(persons)
    villages = _villages(towns, _rng(seed, "villages"))
    hh = _households(villages, seed)
    h = len(hh.village)
    size = hh.plan.size
    m = _members(hh, _rng(seed, "members"))
    n = len(m.age)
    assert n == persons, (n, persons)

    # hukou: usually the village of residence; ~5% elsewhere (mostly the same county)
    p = parameters()
    rng = _rng(seed, "hukou")
    v_county = towns.county[villages.town]
    hukou = hh.village.copy()
    moved = rng.random(h) < p["hukou_elsewhere_share"]
    same_county = rng.random(h) < p["hukou_elsewhere_same_county"]
    county_of = v_county[hh.village]
    c_first = np.searchsorted(v_county, county_of, side="left")
    c_count = np.searchsorted(v_county, county_of, side="right") - c_first
    pick_county = c_first + np.floor(rng.random(h) * c_count).astype(np.int64)
    pick_city = np.floor(rng.random(h) * len(villages.code)).astype(np.int64)
    other = np.where(same_county, pick_county, pick_city)
    other = np.where(other == hh.village, (other + 1) % len(villages.code), other)
    hukou = np.where(moved & (len(villages.code) > 1), other, hukou)
    hukou_town = towns.code[villages.town[hukou]]
    hukou_county = v_county[hukou]

    a = _person_attributes(m, hh.urban, hukou_county, hukou_town, as_of, seed)
    _lift_low_incomes(m, a, hh.urban, size, seed)
    f = _household_finances(m, a, hh.urban, size, seed)
    tekun, dibao_hh = _recipients(m, a, f, hh.urban, size, seed)

    # names and ID numbers
    birth_year = a.birth.astype("datetime64[Y]").astype(np.int64) + 1970
    name, pinyin = _names.compose_names(_rng(seed, "names"), m.surname, m.male, birth_year)
    ids = id_numbers(a.address_code, a.birth, m.male)

    # addresses: "<village>12号" in villages; "<community>3号楼2单元501室" in communities
    v_of_hh = hh.village
    rank = np.arange(h) - np.searchsorted(v_of_hh, v_of_hh, side="left")
    bld, rem = rank // 36 + 1, rank % 36
    unit, floor_, room = rem // 12 + 1, (rem % 12) // 2 + 1, rem % 2 + 1
    vname = pa.array(villages.name.tolist(), pa.string()).take(pa.array(v_of_hh))

    def s(x: np.ndarray) -> pa.Array:
        return pc.cast(pa.array(x), pa.string())

    comm_addr = pc.binary_join_element_wise(
        vname, s(bld), "号楼", s(unit), "单元", s(floor_ * 100 + room), "室", ""
    )
    vill_addr = pc.binary_join_element_wise(vname, s(rank + 1), "号", "")
    address = pc.if_else(pa.array(hh.urban), comm_addr, vill_addr)

    village_codes = _codes_as_strings(villages.code, 12)
    villages_t = pa.Table.from_arrays(
        [
            village_codes,
            pa.array(villages.name.tolist(), pa.string()),
            _codes_as_strings(towns.code[villages.town], 9),
            _codes_as_strings(v_county, 6),
            _take_strings(KINDS, (~villages.urban).astype(np.int8)),
            _take_strings(RESIDENCE, (~villages.urban).astype(np.int8)),
        ],
        schema=VILLAGES_SCHEMA,
    )
    households_t = pa.Table.from_arrays(
        [
            pa.array(np.arange(1, h + 1, dtype=np.int64)),
            village_codes.take(pa.array(hh.village)),
            village_codes.take(pa.array(hukou)),
            _take_strings(RESIDENCE, (~hh.urban).astype(np.int8)),
            pa.array(size.astype(np.int16)),
            pa.array(m.hh_start + 1),
            pa.array(f.assets),
            pa.array(f.vehicles),
            pa.array(f.dwellings),
            pa.array(f.business),
            pa.array(dibao_hh),
            address,
        ],
        schema=HOUSEHOLDS_SCHEMA,
    )
    has_dis = a.dis_grade > 0
    persons_t = pa.Table.from_arrays(
        [
            pa.array(np.arange(1, n + 1, dtype=np.int64)),
            pa.array(m.household + 1),
            _take_strings(RELATIONS, m.relation),
            ids,
            name,
            pinyin,
            _take_strings(("F", "M"), m.male.astype(np.int8)),
            pa.array(a.birth.astype("datetime64[D]"), pa.date32()),
            pa.array(list(DISABILITY_CATEGORIES), pa.string()).take(
                pa.array(np.maximum(a.dis_cat, 0), mask=~has_dis)
            ),
            pa.array(a.dis_grade, mask=~has_dis),
            pa.array(a.income.astype(np.int32)),
            pa.array(a.employed),
            pa.array(a.self_care),
            pa.array(tekun),
            pa.array(dibao_hh[m.household]),
            _take_strings(STATUSES, a.status),
        ],
        schema=PERSONS_SCHEMA,
    )
    return {"villages": villages_t, "households": households_t, "persons": persons_t}


def table_stats(tables: dict[str, pa.Table], as_of: date) -> dict[str, Any]:
    """Counts and shares describing a generated city (the part of the stats that is data)."""
    per, hh, vil = tables["persons"], tables["households"], tables["villages"]
    n, h = per.num_rows, hh.num_rows
    birth = per["birth_date"].to_numpy().astype("datetime64[D]")
    cut60 = np.datetime64(_anniversary(as_of, 60), "D")  # born on or before: aged 60+
    cut15 = np.datetime64(_anniversary(as_of, 15), "D")  # born after: aged 0–14
    n60 = int(np.count_nonzero(birth <= cut60))
    n0_14 = int(np.count_nonzero(birth > cut15))
    male = int(pc.sum(pc.equal(per["sex"], "M")).as_py() or 0)
    tekun = int(pc.sum(per["tekun"]).as_py() or 0)
    dibao_p = int(pc.sum(per["dibao"]).as_py() or 0)
    dibao_h = int(pc.sum(hh["dibao"]).as_py() or 0)
    urban_p = int(
        pc.sum(pc.if_else(pc.equal(hh["residence_type"], "urban"), hh["size"], 0)).as_py()
    )
    disabled = n - per["disability_grade"].null_count
    return {
        "persons": n,
        "households": h,
        "villages": vil.num_rows,
        "communities": int(pc.sum(pc.equal(vil["kind"], "community")).as_py() or 0),
        "mean_household_size": round(n / h, 3) if h else 0.0,
        "aged_60_plus_share": round(n60 / n, 4),
        "aged_0_14_share": round(n0_14 / n, 4),
        "male_share": round(male / n, 4),
        "urban_share": round(urban_p / n, 4),
        "disability_certificate_share": round(disabled / n, 4),
        "dibao_households": dibao_h,
        "dibao_persons": dibao_p,
        "dibao_person_share": round(dibao_p / n, 5),
        "tekun_persons": tekun,
        "tekun_person_share": round(tekun / n, 5),
    }


FILES = ("villages", "households", "persons")


def generate(
    *, persons: int, seed: int, out_dir: Path, as_of: date = date(2026, 1, 1)
) -> dict[str, Any]:
    """Generate the synthetic city and write ``villages.parquet``, ``households.parquet``,
    ``persons.parquet`` and ``manifest.json`` into ``out_dir`` (created if missing).

    Each file is written under a temporary name and renamed into place, so a crash never leaves a
    half-written file under a final name; ``manifest.json`` is written last. Returns the stats:
    persons, households, villages, seconds, peak_rss_mib, out_dir, seed and the recipient counts
    and shares.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tables = build_tables(persons=persons, seed=seed, as_of=as_of)
    stats: dict[str, Any] = {"seed": seed, "as_of": as_of.isoformat()}
    stats.update(table_stats(tables, as_of))
    sizes = {}
    for name in FILES:
        sizes[f"{name}.parquet"] = _write_atomic(tables[name], out_dir / f"{name}.parquet")
    del tables
    stats["seconds"] = round(time.perf_counter() - t0, 2)
    stats["peak_rss_mib"] = round(_peak_rss_mib(), 1)
    stats["out_dir"] = str(out_dir.resolve())
    stats["files"] = sizes
    _write_json_atomic(stats, out_dir / "manifest.json")
    return stats
