"""Synthetic Chinese personal names, their pinyin, and village/community names.

Everything here is vectorised: names are drawn as integer indices into small tables (surnames,
given-name characters) and composed with pyarrow string kernels, and pinyin is computed once per
distinct surname and per distinct given-name character (pypinyin, style NORMAL, no tones) and
composed the same way, so millions of names take seconds.

Surname readings: general pinyin libraries read the surname characters 曾 单 解 仇 区 朴 查 乐 with
their common readings (ceng dan jie chou qu pu cha le); as surnames they are read zeng shan xie qiu
ou piao zha yue (DOMAIN.md §12). :data:`SURNAME_READINGS` fixes them.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from doudi.core.pinyin import SURNAME_READINGS  # one table for the whole project

DATA_DIR = Path(__file__).resolve().parent / "data"

#: Surname readings that differ from a general-purpose pinyin library's default (DOMAIN.md §12).

#: birth years before this use the "old" given-name character table.
OLD_ERA_BEFORE = 1975


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of a CSV in ``data/``; lines starting with ``#`` are comments."""
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    return list(csv.DictReader(lines))


def syllables(text: str) -> str:
    """Toneless pinyin of ``text``, syllables separated by one space (lowercase)."""
    from pypinyin import Style, lazy_pinyin

    return " ".join(s.lower() for s in lazy_pinyin(text, style=Style.NORMAL))


def surname_pinyin(surname: str) -> str:
    """Pinyin of a surname, using the surname reading of polyphonic characters."""
    if surname in SURNAME_READINGS:
        return SURNAME_READINGS[surname]
    return " ".join(SURNAME_READINGS.get(ch) or syllables(ch) for ch in surname)


@dataclass(frozen=True)
class NameTables:
    surnames: np.ndarray  # str
    surname_p: np.ndarray  # float64, sums to 1
    surname_pinyin: np.ndarray  # str
    chars: np.ndarray  # distinct given-name characters
    char_pinyin: np.ndarray  # str
    #: (male, old_era) -> probabilities over ``chars``
    char_p: dict[tuple[bool, bool], np.ndarray]


@lru_cache(maxsize=1)
def name_tables() -> NameTables:
    rows = read_csv("surnames.csv")
    surnames = np.array([r["surname"] for r in rows])
    share = np.array([float(r["share_pct"]) for r in rows])
    rows = read_csv("given_chars.csv")
    chars = np.array(sorted({r["char"] for r in rows}))
    pos = {c: i for i, c in enumerate(chars.tolist())}
    char_p: dict[tuple[bool, bool], np.ndarray] = {}
    for male in (True, False):
        for old in (True, False):
            w = np.zeros(len(chars))
            for r in rows:
                if (r["sex"] == "M") == male and (r["era"] == "old") == old:
                    w[pos[r["char"]]] += float(r["weight"])
            char_p[(male, old)] = w / w.sum()
    return NameTables(
        surnames=surnames,
        surname_p=share / share.sum(),
        surname_pinyin=np.array([surname_pinyin(s) for s in surnames.tolist()]),
        chars=chars,
        char_pinyin=np.array([syllables(c) for c in chars.tolist()]),
        char_p=char_p,
    )


def draw_surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` surname indices (int16) drawn with the table's frequencies."""
    t = name_tables()
    return rng.choice(len(t.surnames), size=n, p=t.surname_p).astype(np.int16)


def _choice_by_group(
    rng: np.random.Generator, male: np.ndarray, old: np.ndarray, probs: dict
) -> np.ndarray:
    """One draw per element from ``probs[(male, old)]`` (four groups, each drawn in bulk)."""
    u = rng.random(len(male))
    out = np.empty(len(male), dtype=np.int32)
    for (m, o), p in probs.items():
        sel = (male == m) & (old == o)
        out[sel] = np.searchsorted(np.cumsum(p), u[sel] * (1 - 1e-12), side="right")
    return out


def compose_names(
    rng: np.random.Generator,
    surname_idx: np.ndarray,
    male: np.ndarray,
    birth_year: np.ndarray,
) -> tuple[pa.Array, pa.Array]:
    """Full names and their pinyin for persons with the given surnames, sexes and birth years.

    Given names have one or two characters (two-character names: 80% before 1975, 65% for 1975–2004
    when single-character names were fashionable, 85% from 2005; assumed).
    """
    t = name_tables()
    n = len(surname_idx)
    old = birth_year < OLD_ERA_BEFORE
    p_two = np.where(old, 0.80, np.where(birth_year < 2005, 0.65, 0.85))
    two = rng.random(n) < p_two
    g1 = _choice_by_group(rng, male, old, t.char_p)
    g2 = _choice_by_group(rng, male, old, t.char_p)

    chars = pa.array(t.chars.tolist(), pa.string())
    char_py = pa.array(t.char_pinyin.tolist(), pa.string())
    sur = pa.array(t.surnames.tolist(), pa.string()).take(pa.array(surname_idx))
    sur_py = pa.array(t.surname_pinyin.tolist(), pa.string()).take(pa.array(surname_idx))
    g1_idx = pa.array(g1)
    g2_idx = pa.array(g2, mask=~two)  # null second character for one-character given names
    name = pc.binary_join_element_wise(
        sur, chars.take(g1_idx), chars.take(g2_idx), "", null_handling="replace"
    )
    pinyin = pc.binary_join_element_wise(
        sur_py, char_py.take(g1_idx), char_py.take(g2_idx), " ", null_handling="skip"
    )
    return name, pinyin


# --- village and community names -------------------------------------------------------------


@dataclass(frozen=True)
class PlaceParts:
    by_role: dict[str, tuple[np.ndarray, np.ndarray]]  # role -> (parts, probabilities)


@lru_cache(maxsize=1)
def place_parts() -> PlaceParts:
    groups: dict[str, tuple[list[str], list[float]]] = {}
    for r in read_csv("village_parts.csv"):
        parts, weights = groups.setdefault(r["role"], ([], []))
        parts.append(r["part"])
        weights.append(float(r["weight"]))
    by_role = {
        role: (np.array(parts), np.array(w) / np.sum(w)) for role, (parts, w) in groups.items()
    }
    # village names use single-character surnames, with their frequencies
    t = name_tables()
    single = np.char.str_len(t.surnames) == 1
    p = t.surname_p[single]
    by_role["surname"] = (t.surnames[single], p / p.sum())
    return PlaceParts(by_role=by_role)


def _draw(rng: np.random.Generator, role: str, n: int) -> np.ndarray:
    parts, p = place_parts().by_role[role]
    return parts[rng.choice(len(parts), size=n, p=p)]


def _community_candidates(rng: np.random.Generator, n: int) -> np.ndarray:
    base = _draw(rng, "community_base", n)
    variant = _draw(rng, "community_variant", n)
    return np.char.add(np.char.add(base, variant), "社区")


def _village_candidates(rng: np.random.Generator, n: int) -> np.ndarray:
    pattern = _draw(rng, "pattern", n)
    sur = _draw(rng, "surname", n)
    suf = _draw(rng, "village_suffix", n)
    posn = _draw(rng, "position", n)
    nature = _draw(rng, "nature", n)
    jia = np.char.add(sur, "家")
    stem = np.select(
        [pattern == "P1", pattern == "P2", pattern == "P3", pattern == "P4", pattern == "P5"],
        [
            np.char.add(jia, suf),
            np.char.add(sur, "格庄"),
            np.char.add(posn, suf),
            nature,
            np.char.add(np.char.add(posn, jia), suf),
        ],
        default=jia,  # P6
    )
    return np.char.add(stem.astype(str), "村")


def _unique_per_group(
    rng: np.random.Generator,
    counts: np.ndarray,
    candidates: Callable[[np.random.Generator, int], np.ndarray],
) -> np.ndarray:
    """``counts[g]`` names for each group g, distinct within a group, in group order."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.array([], dtype=str)
    factor = 2
    for _ in range(8):
        per = counts * factor + 8 * (counts > 0)
        group = np.repeat(np.arange(len(counts)), per)
        cand = candidates(rng, len(group))
        _, name_id = np.unique(cand, return_inverse=True)
        key = group.astype(np.int64) * (int(name_id.max()) + 1) + name_id
        _, first = np.unique(key, return_index=True)
        keep = np.zeros(len(group), dtype=bool)
        keep[first] = True
        idx = np.flatnonzero(keep)  # still in group order
        g = group[idx]
        starts = np.searchsorted(g, np.arange(len(counts)))
        rank = np.arange(len(idx)) - starts[g]
        chosen = idx[rank < counts[g]]
        if len(chosen) == total:
            return cand[chosen]
        factor *= 2
    raise RuntimeError("could not draw enough distinct place names / 地名组件不足")


def community_names(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Community (社区) names, ``counts[t]`` for town t, unique within each town."""
    return _unique_per_group(rng, counts, _community_candidates)


def village_names(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Village (村) names, ``counts[t]`` for town t, unique within each town."""
    return _unique_per_group(rng, counts, _village_candidates)
