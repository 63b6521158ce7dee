"""Probabilistic linkage of department rows that carry no usable ID number.

Most department rows carry a valid 18-digit ID number and are linked to the registry exactly.
The rest (ID number missing, failing its check character, or valid but unknown to the registry)
are linked here with Splink's Fellegi-Sunter model on the DuckDB backend, comparing names by
pinyin so that homophone typos (同音字: 张晓明 / 张小明, both ``zhang xiao ming``) still match, and
reading the polyphonic surnames 曾 单 解 仇 区 朴 查 乐 with their surname readings (DOMAIN.md §12,
:func:`doudi.core.pinyin.name_pinyin`).

Outcome per candidate row (three-valued, as everywhere in doudi; see :func:`decide`):

- ``linked``: the best registry person is a match with probability ≥ ``accept`` both on its own
  and against the row's other candidate persons, and no other person reaches ``accept``;
- ``review``: the best person reaches ``review`` but the row is not linked: the row goes to the
  clerical review queue with the best and the second-best person;
- ``unlinked``: nobody reaches ``review`` (the row stays in quarantine).

The model
=========

Comparisons (each one Splink comparison; levels from the most to the least specific):

``name``
    exact Chinese name (whitespace and ``·`` removed) · exact pinyin (a homophone typo) ·
    Jaro-Winkler of the pinyin ≥ 0.92 · ≥ 0.80 · else. One comparison, not two, because the
    Chinese name and its pinyin are not independent evidence: two comparisons would count every
    exact name twice. Both exact levels carry term-frequency adjustments computed from the data
    of the call, so 王伟 (thousands in a city) counts for less than a rare name.
``birth_date``
    exact · same year and month · else; unknown (null) carries no weight either way.
``sex``
    exact · else.
``region``
    same town (9 digits) · same county (6 digits) · same *county area* · else. One hierarchical
    comparison, since the same town implies the same county. A department's county often comes
    from the ID number's address code, the county of first registration (DOMAIN.md §11), which
    may be abolished (370684 蓬莱市, 370634 长岛县 → 370614 蓬莱区) or stand for a statistical
    zone (residents of 370671 高新区 and 370676 开发区 carry 370613 and 370611): the county area
    maps these codes onto one another (:func:`county_area_map`).

Pinyin is always computed from the Chinese name, per distinct name, with the project's surname
readings; a department's own ``name_pinyin`` is used only for a row whose name gives no pinyin
(a name in Latin letters, a missing name). Department pinyin follows other conventions (``ceng``
for 曾, capitals, tone marks, no spaces) and would break exact agreement with the registry's.

Blocking (which pairs are scored at all):

1. same birth date and surname pinyin;
2. same birth date and county area;
3. same full-name pinyin and county area: finds rows whose birth date is wrong or missing;
4. same surname pinyin, county area and birth year-month: finds rows with a wrong day *and* a
   changed given-name syllable.

The brief asked for blocking "by birth date, and by surname pinyin + county". On a registry of 7
million, the birth date alone pairs 100,000 rows with 23 million persons and surname + county
blocks hold ~70,000 persons for 王 in one county (~10⁹ pairs); rules 1 + 2 find what the birth date
alone finds except a row whose surname pinyin *and* county are both wrong, at a tenth of the
pairs, and rule 4 adds the birth month to surname + county.

Training: a fixed model, not trained per call
---------------------------------------------
The m and u probabilities live in ``linkage_model.json`` next to this module, trained by
``python -m doudi.datapool.bench_linkage --train-model …`` (:func:`~doudi.datapool.bench_linkage.
train_model`) on the synthetic city without labels and without network: u by random sampling of
candidate × registry pairs, m by expectation maximisation blocked on the birth date (estimates
name, sex, region) and on the Chinese name and sex (estimates the birth date and the region).
The same command re-estimates the model on real department rows. Training on every call would
be slower (EM over tens of millions of pairs), would fail or drift on small batches (a dozen rows
cannot support EM), and would make the same row link differently depending on what else arrived
that day. Term frequencies are the exception: they come from the data of each call.

The prior (Splink's ``probability_two_random_records_match``) is set per call to
``expected_match_share / registry size``: each row is at most one registry person, so the bigger
the registry, the less likely any one pair matches a priori. ``expected_match_share`` (default 0.8)
is the share of ID-less rows believed to be registry persons.

Once clerks have resolved review rows, m can be re-estimated from those labels (Splink's
``estimate_m_from_pairwise_labels``) and a new model file written.

Nothing here reaches the network: the DuckDB connection has extension autoloading and
autoinstalling switched off, and the SQL uses only DuckDB's built-in functions.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from doudi.core.pinyin import name_pinyin

MODEL_PATH = Path(__file__).resolve().parent / "linkage_model.json"

#: pairs scoring below this are dropped inside Splink (they could never reach ``review``, and
#: their odds are too small to move the exclusive probability); a row's ``match_probability``
#: is null when no pair reached it.
PROBABILITY_FLOOR = 1e-4

DECISIONS = ("linked", "review", "unlinked")

RESULT_SCHEMA = pa.schema(
    [
        pa.field("row_id", pa.int64(), nullable=False),
        pa.field("person_id", pa.int64()),
        pa.field("match_probability", pa.float64()),
        pa.field("exclusive_probability", pa.float64()),
        pa.field("second_person_id", pa.int64()),
        pa.field("second_best_probability", pa.float64()),
        pa.field("decision", pa.string(), nullable=False),
    ]
)

REGISTRY_COLUMNS = (
    "person_id",
    "name",
    "name_pinyin",
    "sex",
    "birth_date",
    "county_code",
    "town_code",
)
_CANDIDATE_TYPES = {
    "row_id": pa.int64(),
    "name": pa.string(),
    "name_pinyin": pa.string(),
    "birth_date": pa.date32(),
    "sex": pa.string(),
    "county_code": pa.string(),
    "town_code": pa.string(),
}

#: Statistical zones whose residents carry another county's code in their ID numbers (assumed,
#: as in the synthetic city: doudi/synth/README.md).
ZONE_ID_COUNTY = {"370671": "370613", "370676": "370611"}


@dataclass(frozen=True)
class LinkThresholds:
    """Where a match probability becomes a link or a clerk's question.

    ``accept`` = 0.95: an automatic link attaches a department's record (an income, a hospital
    stay, a death) to a person and can change that person's assistance, so at most one link in
    twenty may be wrong *at the boundary*; most links score far higher (name, birth date, sex
    and town agreeing give more than 0.999), so the wrong-link rate over all links is much lower
    (``bench_linkage`` measures it: precision ≥ 0.999 on the synthetic city).

    ``review`` = 0.60: from 0.60 to 0.95 the evidence favours a match but not enough to act on
    alone, so a clerk decides; below 0.60 a match is hardly more likely than not, and queueing
    such rows would bury the clerks (on the synthetic city of 7 million, one row in thirty
    already lands in review).

    Boundaries are inclusive: ``p >= accept`` may link; ``review <= p < accept`` is reviewed.
    """

    accept: float = 0.95
    review: float = 0.60

    def __post_init__(self) -> None:
        if not 0.0 < self.review <= self.accept <= 1.0:
            raise ValueError(
                f"thresholds must satisfy 0 < review <= accept <= 1, got review={self.review}, "
                f"accept={self.accept}"
            )


# --------------------------------------------------------------------------------------------
# The Splink model
# --------------------------------------------------------------------------------------------


def model_settings() -> Any:
    """The untrained Splink model (a ``SettingsCreator``): comparisons and blocking rules."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator

    name = cl.CustomComparison(
        output_column_name="name",
        comparison_description="Chinese name, then its pinyin",
        comparison_levels=[
            cll.NullLevel("name_pinyin"),
            cll.ExactMatchLevel("name_clean", term_frequency_adjustments=True),
            cll.ExactMatchLevel("name_pinyin", term_frequency_adjustments=True),
            cll.JaroWinklerLevel("name_pinyin", 0.92),
            cll.JaroWinklerLevel("name_pinyin", 0.80),
            cll.ElseLevel(),
        ],
    )
    birth = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date"),
            cll.CustomLevel(
                '"birth_month_l" = "birth_month_r"', label_for_charts="same year and month"
            ),
            cll.ElseLevel(),
        ],
    )
    region = cl.CustomComparison(
        output_column_name="region",
        comparison_levels=[
            cll.NullLevel("county_code"),
            cll.CustomLevel('"town_code_l" = "town_code_r"', label_for_charts="same town"),
            cll.ExactMatchLevel("county_code"),
            cll.CustomLevel(
                '"county_area_l" = "county_area_r"', label_for_charts="same county area"
            ),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="uid",
        comparisons=[name, birth, cl.ExactMatch("sex"), region],
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def blocking_rules() -> list[Any]:
    """Splink blocking rules for prediction (see the module docstring)."""
    from splink import block_on

    return [
        block_on("birth_date", "surname_pinyin"),
        block_on("birth_date", "county_area"),
        block_on("name_pinyin", "county_area"),
        block_on("surname_pinyin", "county_area", "birth_month"),
    ]


@lru_cache(maxsize=4)
def _model_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def load_model(path: str | Path = MODEL_PATH) -> dict[str, Any]:
    """The trained model as a Splink settings dict (a fresh copy on each call)."""
    return json.loads(_model_text(str(path)))


@lru_cache(maxsize=1)
def county_area_map() -> dict[str, str]:
    """County codes that stand for another county's area: abolished codes → their successor
    (from ``core/data/historical_county_codes.csv``), statistical zones → the county code their
    residents' ID numbers carry."""
    from doudi.core import regions_cn

    out = dict(ZONE_ID_COUNTY)
    for code in regions_cn.historical_county_codes().tolist():
        hist = regions_cn.historical_county(f"{code:06d}")
        if hist is not None:
            out[hist.code] = hist.current_code
    return out


# --------------------------------------------------------------------------------------------
# Preparing the inputs
# --------------------------------------------------------------------------------------------


def _clean_name(name: str) -> str | None:
    return "".join(name.split()).replace("·", "").replace("•", "") or None


def _normalise_pinyin(text: str | None) -> str | None:
    """Department pinyin → lowercase toneless syllables: ``"Lǚ Xiǎo-Míng"`` → ``"lv xiao ming"``."""
    if not text:
        return None
    decomposed = unicodedata.normalize("NFKD", text.replace("u:", "v").replace("U:", "v"))
    decomposed = decomposed.replace("u\u0308", "v").replace("U\u0308", "v")  # ü ǖ ǘ ǚ ǜ
    letters = "".join(
        ch if ch.isascii() and ch.isalpha() else " "
        for ch in decomposed
        if not unicodedata.combining(ch)
    )
    return " ".join(letters.lower().split()) or None


def _name_columns(names: pa.Array, given: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Cleaned names and their pinyin, computed once per distinct name."""
    encoded = pc.dictionary_encode(names)
    distinct = encoded.dictionary.to_pylist()
    clean = pa.array([_clean_name(n) for n in distinct], pa.string())
    pinyin = pa.array([name_pinyin(n) or None for n in distinct], pa.string())
    computed = pinyin.take(encoded.indices)
    need = pc.and_(pc.is_null(computed), pc.is_valid(given)).to_numpy(zero_copy_only=False)
    if need.any():  # the department's pinyin, only where the name gives none
        values = np.array(computed.to_pylist(), dtype=object)
        rows = np.flatnonzero(need)
        values[rows] = [_normalise_pinyin(p) for p in given.take(pa.array(rows)).to_pylist()]
        computed = pa.array(values.tolist(), pa.string())
    return clean.take(encoded.indices), computed


def _prepare_candidates(candidates: pa.Table) -> pa.Table:
    missing = [c for c in ("row_id", "name") if c not in candidates.column_names]
    if missing:
        raise ValueError(f"candidate rows lack the column(s): {', '.join(missing)}")
    cols: dict[str, pa.Array] = {}
    for col, typ in _CANDIDATE_TYPES.items():
        if col in candidates.column_names:
            cols[col] = candidates[col].combine_chunks().cast(typ)
        else:
            cols[col] = pa.nulls(candidates.num_rows, typ)
    if cols["row_id"].null_count:
        raise ValueError("candidate rows have a null row_id")
    if pc.count_distinct(cols["row_id"]).as_py() != candidates.num_rows:
        raise ValueError("candidate row_id values are not unique")
    cols["name"], cols["name_pinyin"] = _name_columns(cols["name"], cols["name_pinyin"])
    return pa.table(cols)


_CANDIDATE_SQL = """
CREATE TEMP TABLE {out} AS
WITH c AS (
    SELECT
        row_id,
        name,
        name_pinyin,
        nullif(upper(trim(sex)), '') AS sex,
        birth_date,
        coalesce(nullif(trim(county_code), ''), left(nullif(trim(town_code), ''), 6))
            AS county_code,
        nullif(trim(town_code), '') AS town_code
    FROM {src}
)
SELECT
    row_id AS uid,
    name AS name_clean,
    name_pinyin,
    split_part(name_pinyin, ' ', 1) AS surname_pinyin,
    CASE WHEN sex IN ('M', 'F') THEN sex
         WHEN sex IN ('男', '1') THEN 'M' WHEN sex IN ('女', '2') THEN 'F' END AS sex,
    birth_date,
    date_trunc('month', birth_date)::DATE AS birth_month,
    county_code,
    {area} AS county_area,
    town_code
FROM c
"""

# Registry persons that share no blocking key with any row can never be scored: the semi-joins
# keep Splink's work proportional to a small batch. The name is cleaned after the filter (it is
# the costliest expression); ``name_pinyin`` is lowercase by the registry's contract.
_REGISTRY_SQL = """
CREATE TEMP TABLE {out} AS
WITH r AS (
    SELECT
        person_id AS uid,
        name,
        name_pinyin,
        split_part(name_pinyin, ' ', 1) AS surname_pinyin,
        sex,
        birth_date,
        date_trunc('month', birth_date)::DATE AS birth_month,
        county_code,
        {area} AS county_area,
        town_code
    FROM {src}
)
SELECT
    uid, translate(name, ' ·•　', '') AS name_clean, name_pinyin, surname_pinyin, sex,
    birth_date, birth_month, county_code, county_area, town_code
FROM r
"""

_PREFILTER_SQL = """
WHERE EXISTS (
        SELECT 1 FROM {cand} AS c
        WHERE c.birth_date = r.birth_date AND c.surname_pinyin = r.surname_pinyin)
   OR EXISTS (
        SELECT 1 FROM {cand} AS c
        WHERE c.birth_date = r.birth_date AND c.county_area = r.county_area)
   OR EXISTS (
        SELECT 1 FROM {cand} AS c
        WHERE c.name_pinyin = r.name_pinyin AND c.county_area = r.county_area)
   OR EXISTS (
        SELECT 1 FROM {cand} AS c
        WHERE c.surname_pinyin = r.surname_pinyin AND c.county_area = r.county_area
          AND c.birth_month = r.birth_month)
"""


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection that never installs or loads extensions (offline)."""
    con = duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )
    con.execute("SET enable_progress_bar = false")
    return con


def _area_sql(col: str) -> str:
    """SQL for the county area of the county code in ``col`` (:func:`county_area_map`)."""
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in sorted(county_area_map().items()))
    return f"CASE {col} {whens} ELSE {col} END"


def _registry_source(con: duckdb.DuckDBPyConnection, registry: pa.Table | str | Path, tag: str):
    """A SQL table expression for the registry, and the name of a view to drop afterwards."""
    if isinstance(registry, pa.Table):
        missing = [c for c in REGISTRY_COLUMNS if c not in registry.column_names]
        if missing:
            raise ValueError(f"registry lacks the column(s): {', '.join(missing)}")
        view = f"__doudi_link_registry_src_{tag}"
        con.register(view, registry.select(list(REGISTRY_COLUMNS)))
        return view, view
    path = Path(registry)
    if path.is_dir():
        path = path / "*.parquet"
    elif not path.is_file():
        raise FileNotFoundError(f"registry Parquet file not found: {path}")
    escaped = str(path).replace("'", "''")
    return f"read_parquet('{escaped}')", None


@dataclass(frozen=True)
class Staged:
    """The Splink inputs created on a connection by :func:`stage_inputs`."""

    cand: str
    reg: str
    #: term-frequency tables of the whole registry: column name → table name
    tf_tables: dict[str, str]
    #: persons in the whole registry
    registry_size: int
    #: views registered on the way (to unregister) and tables created (to drop)
    views: tuple[str, ...]
    tables: tuple[str, ...]


# Term frequencies count the whole registry, but only for values some row carries: an exact
# level compares equal values, so the row's value is the only one ever looked up.
_TF_SQL = """
CREATE TEMP TABLE {out} AS
SELECT {source_col} AS {col}, count(*)::DOUBLE / {size} AS tf_{col}
FROM {src}
WHERE {source_col} IN (SELECT {col} FROM {cand} WHERE {col} IS NOT NULL)
GROUP BY ALL
"""

#: registry columns with term-frequency adjustments: Splink column → source column
_TF_COLUMNS = {"name_clean": "name", "name_pinyin": "name_pinyin"}


def stage_inputs(
    con: duckdb.DuckDBPyConnection,
    candidates: pa.Table,
    registry: pa.Table | str | Path,
    *,
    tag: str,
    prefilter: bool = True,
) -> Staged:
    """Create the Splink input tables and the registry's term-frequency tables on ``con``.

    ``candidates`` must already be prepared (:func:`_prepare_candidates`). ``prefilter=False``
    keeps every registry person (training needs pairs not selected by the blocking keys).
    Term frequencies always count the whole registry: a name's commonness is a fact about the
    population, not about today's batch. (A registry name holding spaces or ``·`` gets no
    term frequency, so its exact agreement weighs as an average name's.)
    """
    cand_src = f"__doudi_link_cand_src_{tag}"
    cand = f"__doudi_link_cand_{tag}"
    reg = f"__doudi_link_reg_{tag}"
    views = [cand_src]
    tables = [cand, reg]
    con.register(cand_src, candidates)
    reg_src, reg_view = _registry_source(con, registry, tag)
    if reg_view:
        views.append(reg_view)
    area = _area_sql("county_code")
    con.execute(_CANDIDATE_SQL.format(out=cand, src=cand_src, area=area))
    sql = _REGISTRY_SQL + (_PREFILTER_SQL if prefilter else "")
    con.execute(sql.format(out=reg, src=reg_src, cand=cand, area=area))
    size = con.sql(f"SELECT count(*) FROM {reg_src}").fetchall()[0][0]
    tf_tables = {}
    for col, source_col in _TF_COLUMNS.items():
        tf_tables[col] = f"__doudi_link_tf_{col}_{tag}"
        tables.append(tf_tables[col])
        con.execute(
            _TF_SQL.format(
                out=tf_tables[col],
                col=col,
                source_col=source_col,
                size=max(size, 1),
                src=reg_src,
                cand=cand,
            )
        )
    return Staged(cand, reg, tf_tables, size, tuple(views), tuple(tables))


def make_linker(con: duckdb.DuckDBPyConnection, staged: Staged, settings: Any) -> Any:
    """A Splink linker over staged inputs (returns ``(db_api, linker)``)."""
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI(connection=con)
    cand_df = db_api.register(staged.cand, dataset_display_name="candidates")
    reg_df = db_api.register(staged.reg, dataset_display_name="registry")
    linker = Linker([cand_df, reg_df], settings, log_level=None)
    for col, table in staged.tf_tables.items():
        linker.table_management.register_term_frequency_lookup(db_api.register(table), col)
    return db_api, linker


# --------------------------------------------------------------------------------------------
# Linking
# --------------------------------------------------------------------------------------------


def _floats(values: pa.Array | pa.ChunkedArray | np.ndarray | list) -> np.ndarray:
    arr = pa.array(values, pa.float64()) if not isinstance(values, pa.ChunkedArray) else values
    return np.nan_to_num(np.asarray(arr.to_numpy(zero_copy_only=False), dtype=float), nan=-1.0)


def decide(
    best: pa.Array | np.ndarray | list,
    second: pa.Array | np.ndarray | list,
    exclusive: pa.Array | np.ndarray | list | None = None,
    thresholds: LinkThresholds = LinkThresholds(),  # noqa: B008 - frozen, immutable
) -> pa.Array:
    """The decision for each row from its candidates' match probabilities (null = none).

    - ``linked`` when best ≥ accept, second < accept and exclusive ≥ accept;
    - ``review`` when best ≥ review and the row is not linked;
    - ``unlinked`` when best < review or there is no candidate.

    ``exclusive`` is the best person's probability against every other candidate of the row,
    ``odds_best / (1 + Σ odds)`` with ``odds = p / (1 - p)``: two strong candidates share the
    evidence, so a near-tie falls below ``accept``. When omitted it is computed from ``best``
    and ``second`` alone. Two persons both at ``accept`` or more always give ``review``.
    """
    b = _floats(best)
    s = _floats(second)
    if exclusive is None:
        e = _exclusive(b, s)
    else:
        e = _floats(exclusive)
    linked = (b >= thresholds.accept) & (s < thresholds.accept) & (e >= thresholds.accept)
    out = np.where(linked, "linked", np.where(b >= thresholds.review, "review", "unlinked"))
    return pa.array(out, pa.string())


def _odds(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return np.where(p >= 1.0, np.inf, p / np.maximum(1.0 - p, 1e-300))


def _exclusive(b: np.ndarray, s: np.ndarray) -> np.ndarray:
    ob, os_ = _odds(np.maximum(b, 0.0)), _odds(np.maximum(s, 0.0))
    with np.errstate(invalid="ignore"):
        e = np.where(np.isinf(ob), np.where(np.isinf(os_), 0.5, 1.0), ob / (1.0 + ob + os_))
    return np.where(b < 0, -1.0, e)


def probabilistic_link(
    candidates: pa.Table,
    registry: pa.Table | str | Path,
    *,
    thresholds: LinkThresholds = LinkThresholds(),  # noqa: B008 - frozen, immutable
    con: duckdb.DuckDBPyConnection | None = None,
    expected_match_share: float = 0.8,
    model: str | Path | dict[str, Any] = MODEL_PATH,
) -> pa.Table:
    """Link rows without a usable ID number to registry persons.

    ``candidates``: row_id (unique, not null), name, and optionally name_pinyin, birth_date, sex
    (``M``/``F``), county_code, town_code; missing optional columns count as unknown.
    ``registry``: an Arrow table or a Parquet file or folder with person_id, name, name_pinyin
    (lowercase syllables separated by spaces, from :func:`doudi.core.pinyin.name_pinyin`), sex,
    birth_date, county_code, town_code.

    Returns one row per candidate row, in the candidates' order, with the columns of
    :data:`RESULT_SCHEMA`: ``person_id`` is the linked person, or for ``review`` the best
    candidate person, and null when ``unlinked``; ``match_probability`` is the best pair's
    Splink probability (null when no registry person came near); ``exclusive_probability`` the
    same weighed against the row's other candidates; ``second_person_id`` and
    ``second_best_probability`` describe the runner-up (null when there is none).

    ``con``: a DuckDB connection to work on (temporary tables are dropped afterwards); by default
    a private in-memory one. ``model``: the model file or settings dict (tests, retraining).
    """
    if not 0.0 < expected_match_share <= 1.0:
        raise ValueError("expected_match_share must be in (0, 1]")
    if not isinstance(thresholds, LinkThresholds):
        raise TypeError("thresholds must be a LinkThresholds")
    prepared = _prepare_candidates(candidates)
    if prepared.num_rows == 0:
        return RESULT_SCHEMA.empty_table()
    settings = dict(model) if isinstance(model, dict) else load_model(model)

    own_con = con is None
    con = connect() if con is None else con
    if not own_con:
        for setting in ("autoinstall_known_extensions", "autoload_known_extensions"):
            con.execute(f"SET {setting} = false")

    tag = uuid.uuid4().hex[:12]
    order = f"__doudi_link_order_{tag}"
    views = [order]
    tables: list[str] = []
    db_api = None
    try:
        con.register(
            order, pa.table({"row_id": prepared["row_id"], "ord": np.arange(prepared.num_rows)})
        )
        staged = stage_inputs(con, prepared, registry, tag=tag)
        views += staged.views
        tables += staged.tables
        if con.sql(f"SELECT count(*) FROM {staged.reg}").fetchall()[0][0] == 0:
            pairs = _NO_PAIRS
        else:
            settings["probability_two_random_records_match"] = min(
                0.5, expected_match_share / max(staged.registry_size, 1)
            )
            settings["blocking_rules_to_generate_predictions"] = [
                rule.create_blocking_rule_dict("duckdb") for rule in blocking_rules()
            ]
            settings["linker_uid"] = None
            settings.pop("sql_dialect", None)
            db_api, linker = make_linker(con, staged, settings)
            predictions = linker.inference.predict(
                threshold_match_probability=PROBABILITY_FLOOR, warning_mode="never"
            )
            pairs = predictions.physical_name
        best = con.sql(_RANK_SQL.format(pairs=pairs, order=order)).to_arrow_table()
    finally:
        if db_api is not None:
            db_api.delete_tables_created_by_splink_from_db()
        for table in tables:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        for view in views:
            try:
                con.unregister(view)
            except duckdb.Error:  # pragma: no cover - already gone
                pass
        if own_con:
            con.close()

    decision = decide(
        best["match_probability"],
        best["second_best_probability"],
        best["exclusive_probability"],
        thresholds,
    )
    return pa.table(
        {
            "row_id": best["row_id"],
            "person_id": pc.if_else(pc.equal(decision, "unlinked"), None, best["person_id"]),
            "match_probability": best["match_probability"],
            "exclusive_probability": best["exclusive_probability"],
            "second_person_id": best["second_person_id"],
            "second_best_probability": best["second_best_probability"],
            "decision": decision,
        },
        schema=RESULT_SCHEMA,
    )


_NO_PAIRS = """(
    SELECT NULL::BIGINT AS uid_l, NULL::BIGINT AS uid_r, NULL::VARCHAR AS source_dataset_l,
        NULL::DOUBLE AS match_probability
    WHERE false
)"""

# odds are capped at 1e12 so that a probability of exactly 1.0 stays finite
_RANK_SQL = """
WITH pairs AS (
    SELECT
        CASE WHEN source_dataset_l = 'candidates' THEN uid_l ELSE uid_r END AS row_id,
        CASE WHEN source_dataset_l = 'candidates' THEN uid_r ELSE uid_l END AS person_id,
        match_probability,
        least(match_probability / greatest(1 - match_probability, 1e-12), 1e12) AS odds
    FROM {pairs}
),
ranked AS (
    SELECT *,
        row_number() OVER (PARTITION BY row_id ORDER BY match_probability DESC, person_id)
            AS rank,
        sum(odds) OVER (PARTITION BY row_id) AS total_odds
    FROM pairs
)
SELECT
    o.row_id,
    b.person_id,
    b.match_probability,
    b.odds / (1 + b.total_odds) AS exclusive_probability,
    s.person_id AS second_person_id,
    s.match_probability AS second_best_probability
FROM {order} AS o
LEFT JOIN ranked AS b ON b.row_id = o.row_id AND b.rank = 1
LEFT JOIN ranked AS s ON s.row_id = o.row_id AND s.rank = 2
ORDER BY o.ord
"""


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def evaluate(links: pa.Table, truth: pa.Table) -> dict[str, float | int]:
    """Precision and recall of the ``linked`` decisions against a truth table.

    ``truth``: row_id, person_id (null for a row whose person is not in the registry).
    precision = correct links / links (1.0 when nothing is linked); recall = correct links /
    rows whose person is in the registry. Also the count of each decision, the wrong links, and
    the review rows whose best candidate is the true person.
    """
    joined = links.select(["row_id", "person_id", "decision"]).join(
        truth.select(["row_id", "person_id"]).rename_columns(["row_id", "true_person_id"]),
        "row_id",
        join_type="left outer",
    )
    same = pc.fill_null(pc.equal(joined["person_id"], joined["true_person_id"]), False)
    linked = pc.equal(joined["decision"], "linked")
    review = pc.equal(joined["decision"], "review")

    def count(mask: pa.Array) -> int:
        return int(pc.sum(mask).as_py() or 0)

    n_linked = count(linked)
    n_correct = count(pc.and_(linked, same))
    n_true = count(pc.is_valid(joined["true_person_id"]))
    return {
        "rows": links.num_rows,
        "true_matches": n_true,
        "linked": n_linked,
        "review": count(review),
        "unlinked": count(pc.equal(joined["decision"], "unlinked")),
        "correct_links": n_correct,
        "wrong_links": n_linked - n_correct,
        "review_best_is_true": count(pc.and_(review, same)),
        "precision": n_correct / n_linked if n_linked else 1.0,
        "recall": n_correct / n_true if n_true else 1.0,
    }
