"""Probabilistic linkage of department rows that carry no usable ID number.

Most department rows carry a valid 18-digit ID number and are linked to the registry exactly.
The rest (ID number missing, failing its check character, or valid but unknown to the registry)
are linked here with Splink's Fellegi-Sunter model on the DuckDB backend, comparing names by
pinyin so that homophone typos (同音字: 张晓明 / 张小明, both ``zhang xiao ming``) still match, and
reading the polyphonic surnames 曾 单 解 仇 区 朴 查 乐 with their surname readings (DOMAIN.md §12,
:mod:`doudi.core.pinyin`).

Outcome per candidate row (three-valued, as everywhere in doudi):

- ``linked``: the best registry person scores at least ``accept`` and no other person scores at
  least ``review`` (a plausible competitor means a clerk must choose);
- ``review``: the best person scores at least ``review`` but the row is not linked: the row
  goes to the clerical review queue with the best and second-best persons;
- ``unlinked``: nobody scores ``review`` or more (the row stays in quarantine).

The model
=========

Comparisons (each a Splink comparison; levels from most to least specific):

``name``
    exact Chinese name (spaces and ``·`` removed) · exact pinyin (a homophone typo) · Jaro-Winkler
    of the pinyin ≥ 0.92 · ≥ 0.80 · anything else. One comparison, not two, because the Chinese
    name and its pinyin are not independent evidence: counting both would double the weight of
    every exact name. Both exact levels carry term-frequency adjustments, so 王伟 (thousands in a
    city) counts for less than a rare name.
``birth_date``
    exact · same year and month · anything else; null (birth date unknown) carries no weight.
``sex``
    exact · else.
``region``
    same town (9-digit code) · same county (6 digits) · else. Again one hierarchical comparison,
    since the same town implies the same county. The county may come from the ID number's
    address code (the county of first registration) and so legitimately differ from the
    residence county in the registry; the trained m-probabilities allow for that.

Blocking (which pairs are scored at all):

1. the same birth date: finds rows whose name has a non-homophone typo;
2. the same full name pinyin and county: finds rows whose birth date is wrong or missing;
3. the same surname pinyin, county and birth year: finds rows with a wrong day or month *and*
   a changed given-name syllable.

The brief asked for "surname pinyin + county"; on a 7-million registry that block holds ~70,000
persons for 王 in one county and 100,000 rows would generate ~10⁹ pairs, so the birth year is
added (rule 3) and rule 2 covers a wrong birth year whenever the pinyin agrees.

Training: a fixed model, not trained per call
---------------------------------------------
The m and u probabilities live in ``linkage_model.json`` next to this module, trained by
``python -m doudi.datapool.bench_linkage --train-model`` on the synthetic city (u by random
sampling of non-matching pairs, m by expectation maximisation with two blocking rules, no labels,
no network). Training on every call would be slower (EM over tens of millions of pairs), would
fail or drift on small batches (a dozen rows cannot support EM) and would make the same row link
differently depending on what else arrived that day. Term frequencies are the exception: they are
computed from the data at every call, so name commonness follows the real registry.

The prior (Splink's ``probability_two_random_records_match``) is set per call to
``expected_match_share / registry size``: each candidate row matches at most one registry person,
so a bigger registry makes any one pair less likely a priori. ``expected_match_share`` (default
0.8) is the share of ID-less rows believed to be persons in the registry.

Should labelled outcomes of the clerical review accumulate, re-estimate m from them
(``linker.training.estimate_m_from_pairwise_labels``) and write a new model file.

Nothing here reaches the network: the DuckDB connection has extension autoloading and
autoinstalling switched off, and Splink needs only DuckDB's built-in functions.
"""

from __future__ import annotations

import json
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

#: pairs scoring below this are not kept at all (they could never reach ``review``); a row's
#: ``match_probability`` is null when no pair reached it.
PROBABILITY_FLOOR = 1e-4

DECISIONS = ("linked", "review", "unlinked")

RESULT_SCHEMA = pa.schema(
    [
        pa.field("row_id", pa.int64(), nullable=False),
        pa.field("person_id", pa.int64()),
        pa.field("match_probability", pa.float64()),
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
CANDIDATE_COLUMNS = (
    "row_id",
    "name",
    "name_pinyin",
    "birth_date",
    "sex",
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


@dataclass(frozen=True)
class LinkThresholds:
    """Where a match probability becomes a link or a clerk's question.

    ``accept`` = 0.95: an automatic link attaches a department's record (an income, a hospital
    stay, a death) to a person and can change that person's assistance, so at most one in twenty
    links may be wrong *at the boundary*; in practice links score far higher (a clean record with
    name, birth date, sex and town agreeing scores above 0.9999), so the wrong-link rate among
    all links is much lower (measured by ``bench_linkage``).

    ``review`` = 0.60: between 0.60 and 0.95 the evidence favours a match but not enough to act
    on it alone, so a clerk decides; below 0.60 a match is about as likely as not or less, and
    sending such rows to review would bury clerks in noise. A second registry person scoring at
    least ``review`` also sends the row to review, however high the best one scores (namesakes
    born the same day in the same county).

    Boundaries are inclusive: ``p >= accept`` may link, ``review <= p < accept`` is reviewed.
    """

    accept: float = 0.95
    review: float = 0.60

    def __post_init__(self) -> None:
        if not 0.0 < self.review <= self.accept <= 1.0:
            raise ValueError(
                f"thresholds must satisfy 0 < review <= accept <= 1, got {self.review}, {self.accept}"
            )


# --------------------------------------------------------------------------------------------
# The Splink model
# --------------------------------------------------------------------------------------------


def _splink() -> Any:
    """Import Splink lazily: importing this module must not need it (Django app loading)."""
    import splink

    return splink


def model_settings() -> Any:
    """The untrained Splink model: comparisons and blocking rules (see the module docstring)."""
    splink = _splink()
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

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
                "birth_month_l = birth_month_r", label_for_charts="same year and month"
            ),
            cll.ElseLevel(),
        ],
    )
    region = cl.CustomComparison(
        output_column_name="region",
        comparison_levels=[
            cll.NullLevel("county_code"),
            cll.CustomLevel("town_code_l = town_code_r", label_for_charts="same town"),
            cll.ExactMatchLevel("county_code"),
            cll.ElseLevel(),
        ],
    )
    return splink.SettingsCreator(
        link_type="link_only",
        unique_id_column_name="uid",
        comparisons=[name, birth, cl.ExactMatch("sex"), region],
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def blocking_rules() -> list[Any]:
    block_on = _splink().block_on
    return [
        block_on("birth_date"),
        block_on("name_pinyin", "county_code"),
        block_on("surname_pinyin", "county_code", "birth_year"),
    ]


@lru_cache(maxsize=4)
def _model_json(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def load_model(path: str | Path = MODEL_PATH) -> dict[str, Any]:
    """The trained model as a Splink settings dict (a fresh copy each call)."""
    return json.loads(_model_json(str(path)))


# --------------------------------------------------------------------------------------------
# Preparing the inputs
# --------------------------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    return "".join(name.split()).replace("·", "").replace("•", "")


def _name_columns(names: pa.Array, given_pinyin: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Cleaned names and their pinyin, computed once per distinct name (vectorised)."""
    names = names.combine_chunks() if isinstance(names, pa.ChunkedArray) else names
    encoded = pc.dictionary_encode(names)
    distinct = encoded.dictionary.to_pylist()
    clean = pa.array([_clean_name(n) or None for n in distinct], pa.string())
    pinyin = pa.array([name_pinyin(n) or None for n in distinct], pa.string())
    indices = encoded.indices
    name_clean = clean.take(indices)
    computed = pinyin.take(indices)
    given = pc.if_else(pc.equal(pc.utf8_trim_whitespace(given_pinyin), ""), None, given_pinyin)
    return name_clean, pc.coalesce(pc.utf8_lower(given), computed)


def _prepare_candidates(candidates: pa.Table) -> pa.Table:
    missing = [c for c in ("row_id", "name") if c not in candidates.column_names]
    if missing:
        raise ValueError(f"candidate rows lack the column(s) {', '.join(missing)}")
    columns = {}
    for col in CANDIDATE_COLUMNS:
        typ = _CANDIDATE_TYPES[col]
        if col in candidates.column_names:
            columns[col] = candidates[col].combine_chunks().cast(typ)
        else:
            columns[col] = pa.nulls(candidates.num_rows, typ)
    if columns["row_id"].null_count:
        raise ValueError("candidate rows have a null row_id")
    if pc.count_distinct(columns["row_id"]).as_py() != candidates.num_rows:
        raise ValueError("candidate row_id values are not unique")
    name_clean, pinyin = _name_columns(columns["name"], columns["name_pinyin"])
    columns["name"] = name_clean
    columns["name_pinyin"] = pinyin
    return pa.table(columns)


_CANDIDATE_SQL = """
CREATE TEMP TABLE {out} AS
SELECT
    row_id AS uid,
    name AS name_clean,
    name_pinyin,
    split_part(name_pinyin, ' ', 1) AS surname_pinyin,
    nullif(upper(trim(sex)), '') AS sex,
    birth_date,
    date_trunc('month', birth_date)::DATE AS birth_month,
    year(birth_date) AS birth_year,
    coalesce(nullif(trim(county_code), ''), left(nullif(trim(town_code), ''), 6)) AS county_code,
    nullif(trim(town_code), '') AS town_code
FROM {src}
"""

# Only registry persons that share a blocking key with some candidate can ever be scored; this
# semi-join keeps Splink's work proportional to the batch for small batches.
_REGISTRY_SQL = """
CREATE TEMP TABLE {out} AS
WITH reg AS (
    SELECT
        person_id AS uid,
        regexp_replace(name, '[\\s·•]', '', 'g') AS name_clean,
        lower(name_pinyin) AS name_pinyin,
        split_part(lower(name_pinyin), ' ', 1) AS surname_pinyin,
        sex,
        birth_date,
        date_trunc('month', birth_date)::DATE AS birth_month,
        year(birth_date) AS birth_year,
        county_code,
        town_code
    FROM {src}
)
SELECT * FROM reg
WHERE birth_date IN (SELECT birth_date FROM {cand} WHERE birth_date IS NOT NULL)
   OR (name_pinyin, county_code) IN (
        SELECT (name_pinyin, county_code) FROM {cand}
        WHERE name_pinyin IS NOT NULL AND county_code IS NOT NULL)
   OR (surname_pinyin, county_code, birth_year) IN (
        SELECT (surname_pinyin, county_code, birth_year) FROM {cand}
        WHERE surname_pinyin IS NOT NULL AND county_code IS NOT NULL
          AND birth_year IS NOT NULL)
"""


def _connect() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(
        ":memory:",
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )


def _registry_source(con: duckdb.DuckDBPyConnection, registry: pa.Table | str | Path) -> str:
    """A SQL table expression for the registry (an Arrow table or a Parquet file/folder)."""
    if isinstance(registry, pa.Table):
        missing = [c for c in REGISTRY_COLUMNS if c not in registry.column_names]
        if missing:
            raise ValueError(f"registry lacks the column(s) {', '.join(missing)}")
        name = f"__doudi_link_registry_src_{uuid.uuid4().hex[:8]}"
        con.register(name, registry.select(list(REGISTRY_COLUMNS)))
        return name
    path = Path(registry)
    if path.is_dir():
        path = path / "*.parquet"
    elif not path.exists():
        raise FileNotFoundError(f"registry file not found: {path}")
    escaped = str(path).replace("'", "''")
    return f"read_parquet('{escaped}')"


# --------------------------------------------------------------------------------------------
# Linking
# --------------------------------------------------------------------------------------------


def decide(
    best: pa.Array | np.ndarray,
    second: pa.Array | np.ndarray,
    thresholds: LinkThresholds = LinkThresholds(),  # noqa: B008 (frozen, immutable)
) -> pa.Array:
    """The decision for each row from its best and second-best match probabilities.

    ``linked`` when best ≥ accept and second < review (or absent); ``review`` when best ≥ review
    otherwise; ``unlinked`` when best < review or absent.
    """
    b = np.nan_to_num(
        np.asarray(pa.array(best, pa.float64()).to_numpy(zero_copy_only=False)), nan=-1.0
    )
    s = np.nan_to_num(
        np.asarray(pa.array(second, pa.float64()).to_numpy(zero_copy_only=False)), nan=-1.0
    )
    out = np.where(
        (b >= thresholds.accept) & (s < thresholds.review),
        "linked",
        np.where(b >= thresholds.review, "review", "unlinked"),
    )
    return pa.array(out, pa.string())


def _empty_result() -> pa.Table:
    return RESULT_SCHEMA.empty_table()


def probabilistic_link(
    candidates: pa.Table,
    registry: pa.Table | str | Path,
    *,
    thresholds: LinkThresholds = LinkThresholds(),  # noqa: B008 (frozen, immutable)
    con: duckdb.DuckDBPyConnection | None = None,
    expected_match_share: float = 0.8,
    model: str | Path | dict[str, Any] = MODEL_PATH,
) -> pa.Table:
    """Link rows without a usable ID number to registry persons.

    ``candidates``: row_id (unique), name, and optionally name_pinyin (computed with the surname
    readings when null), birth_date, sex, county_code, town_code. ``registry``: an Arrow table or
    a Parquet path with person_id, name, name_pinyin, sex, birth_date, county_code, town_code.

    Returns one row per candidate row, in the candidates' order, with columns of
    :data:`RESULT_SCHEMA`: ``person_id`` is the linked person, or for ``review`` the best
    candidate person, and null for ``unlinked``; ``match_probability`` is the best pair's
    probability (null when no registry person came near); ``second_person_id`` and
    ``second_best_probability`` describe the runner-up.
    """
    if not 0.0 < expected_match_share <= 1.0:
        raise ValueError("expected_match_share must be in (0, 1]")
    prepared = _prepare_candidates(candidates)
    if prepared.num_rows == 0:
        return _empty_result()

    own_con = con is None
    con = _connect() if con is None else con
    for setting in ("autoinstall_known_extensions", "autoload_known_extensions"):
        try:
            con.execute(f"SET {setting} = false")
        except duckdb.Error:  # pragma: no cover - very old DuckDB
            pass

    tag = uuid.uuid4().hex[:8]
    cand_src = f"__doudi_link_cand_src_{tag}"
    cand = f"__doudi_link_cand_{tag}"
    reg = f"__doudi_link_reg_{tag}"
    result_src = f"__doudi_link_result_{tag}"
    created_views = [cand_src]
    created_tables = [cand, reg]
    db_api = None
    try:
        con.register(cand_src, prepared)
        reg_src = _registry_source(con, registry)
        if reg_src.startswith("__doudi_link_registry_src_"):
            created_views.append(reg_src)
        registry_size = con.sql(f"SELECT count(*) FROM {reg_src}").fetchall()[0][0]
        con.execute(_CANDIDATE_SQL.format(out=cand, src=cand_src))
        con.execute(_REGISTRY_SQL.format(out=reg, src=reg_src, cand=cand))
        blocked_registry = con.sql(f"SELECT count(*) FROM {reg}").fetchall()[0][0]

        con.register(
            result_src,
            pa.table({"row_id": prepared["row_id"], "ord": np.arange(prepared.num_rows)}),
        )
        created_views.append(result_src)
        if blocked_registry == 0:
            predictions = _NO_PAIRS
        else:
            db_api, predictions = _predict(
                con, cand, reg, registry_size, expected_match_share, model
            )
        best = con.sql(_RANK_SQL.format(pred=predictions, cand=result_src)).fetch_arrow_table()
    finally:
        if db_api is not None:
            db_api.delete_tables_created_by_splink_from_db()
        for t in created_tables:
            con.execute(f"DROP TABLE IF EXISTS {t}")
        for v in created_views:
            try:
                con.unregister(v)
            except duckdb.Error:  # pragma: no cover
                pass
        if own_con:
            con.close()

    decision = decide(best["match_probability"], best["second_best_probability"], thresholds)
    person = pc.if_else(pc.equal(decision, "unlinked"), None, best["person_id"])
    return pa.table(
        {
            "row_id": best["row_id"],
            "person_id": person,
            "match_probability": best["match_probability"],
            "second_person_id": best["second_person_id"],
            "second_best_probability": best["second_best_probability"],
            "decision": decision,
        },
        schema=RESULT_SCHEMA,
    )


_RANK_SQL = """
WITH pairs AS (
    SELECT
        CASE WHEN source_dataset_l = 'candidates' THEN uid_l ELSE uid_r END AS row_id,
        CASE WHEN source_dataset_l = 'candidates' THEN uid_r ELSE uid_l END AS person_id,
        match_probability
    FROM {pred}
),
ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY row_id ORDER BY match_probability DESC, person_id) AS rank
    FROM pairs
)
SELECT
    c.row_id,
    b.person_id,
    b.match_probability,
    s.person_id AS second_person_id,
    s.match_probability AS second_best_probability
FROM {cand} AS c
LEFT JOIN ranked AS b ON b.row_id = c.row_id AND b.rank = 1
LEFT JOIN ranked AS s ON s.row_id = c.row_id AND s.rank = 2
ORDER BY c.ord
"""

_NO_PAIRS = """(
    SELECT NULL::BIGINT AS uid_l, NULL::BIGINT AS uid_r,
        NULL::VARCHAR AS source_dataset_l, NULL::DOUBLE AS match_probability
    WHERE false
)"""


def _linker(con: duckdb.DuckDBPyConnection, cand: str, reg: str, settings: Any) -> tuple[Any, Any]:
    splink = _splink()
    from splink.internals.duckdb.database_api import DuckDBAPI

    db_api = DuckDBAPI(connection=con)
    cand_df = db_api.register(cand, dataset_display_name="candidates")
    reg_df = db_api.register(reg, dataset_display_name="registry")
    linker = splink.Linker([cand_df, reg_df], settings, log_level=None)
    return db_api, linker


def _predict(
    con: duckdb.DuckDBPyConnection,
    cand: str,
    reg: str,
    registry_size: int,
    expected_match_share: float,
    model: str | Path | dict[str, Any],
) -> tuple[Any, str]:
    settings = dict(model) if isinstance(model, dict) else load_model(model)
    settings["probability_two_random_records_match"] = min(
        0.5, expected_match_share / max(registry_size, 1)
    )
    creator = model_settings()
    # blocking is part of the method, not of the trained parameters: take it from the code
    settings["blocking_rules_to_generate_predictions"] = [
        br.create_blocking_rule_dict("duckdb")
        for br in creator.blocking_rules_to_generate_predictions
    ]
    settings["linker_uid"] = None
    settings.pop("sql_dialect", None)
    db_api, linker = _linker(con, cand, reg, settings)
    predictions = linker.inference.predict(
        threshold_match_probability=PROBABILITY_FLOOR, warning_mode="never"
    )
    return db_api, predictions.physical_name


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def evaluate(links: pa.Table, truth: pa.Table) -> dict[str, float | int]:
    """Precision and recall of the ``linked`` decisions against a truth table.

    ``truth``: row_id, person_id (null for a row whose person is not in the registry).
    precision = correct links / links; recall = correct links / rows whose person is in the
    registry. Also the counts per decision, the wrong links, and the rows in review whose best
    candidate is the true person.
    """
    joined = links.join(
        truth.select(["row_id", "person_id"]).rename_columns(["row_id", "true_person_id"]),
        "row_id",
        join_type="left outer",
    )
    decision = joined["decision"]
    linked = pc.equal(decision, "linked")
    correct = pc.and_(
        linked, pc.fill_null(pc.equal(joined["person_id"], joined["true_person_id"]), False)
    )
    n_linked = pc.sum(linked).as_py() or 0
    n_correct = pc.sum(correct).as_py() or 0
    n_true = pc.sum(pc.is_valid(joined["true_person_id"])).as_py() or 0
    review = pc.equal(decision, "review")
    review_right = pc.and_(
        review, pc.fill_null(pc.equal(joined["person_id"], joined["true_person_id"]), False)
    )
    return {
        "rows": links.num_rows,
        "true_matches": n_true,
        "linked": n_linked,
        "review": pc.sum(review).as_py() or 0,
        "unlinked": pc.sum(pc.equal(decision, "unlinked")).as_py() or 0,
        "correct_links": n_correct,
        "wrong_links": n_linked - n_correct,
        "review_best_is_true": pc.sum(review_right).as_py() or 0,
        "precision": n_correct / n_linked if n_linked else 1.0,
        "recall": n_correct / n_true if n_true else 1.0,
    }
