"""Probabilistic linkage of rows without a usable ID number (doudi.datapool.linkage).

No database: the registry is a 50,000-person synthetic city plus a few hand-made persons, and
every hand-made scenario row is linked in one call (rows are independent of each other).
"""

from __future__ import annotations

import json
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pypinyin import Style, lazy_pinyin

from doudi.datapool import bench_linkage, linkage
from doudi.datapool.linkage import (
    RESULT_SCHEMA,
    LinkThresholds,
    decide,
    evaluate,
    probabilistic_link,
)

D = date

#: hand-made registry persons: (person_id, name, name_pinyin, sex, birth, county, town)
EXTRA_PERSONS = [
    (9_000_001, "张晓明", "zhang xiao ming", "M", D(1985, 3, 12), "370602", "370602001"),
    (9_000_002, "曾晓燕", "zeng xiao yan", "F", D(1970, 7, 1), "370611", "370611001"),
    (9_000_003, "单晓丽", "shan xiao li", "F", D(1990, 2, 2), "370613", "370613001"),
    (9_000_004, "王晓军", "wang xiao jun", "M", D(1962, 5, 5), "370612", "370612001"),
    # namesakes born the same day in the same county: a near-tie for any row naming them
    (9_000_005, "李晓鸥", "li xiao ou", "F", D(1980, 1, 1), "370683", "370683001"),
    (9_000_006, "李晓鸥", "li xiao ou", "F", D(1980, 1, 1), "370683", "370683002"),
    # 蓬莱区 resident whose ID number carries the abolished 370684 蓬莱市
    (9_000_007, "孙晓鹃", "sun xiao juan", "F", D(1975, 9, 9), "370614", "370614001"),
]

#: scenario rows: row_id -> (name, name_pinyin, sex, birth, county, town)
SCENARIOS = {
    1: ("张小明", None, "M", D(1985, 3, 12), "370602", None),  # homophone typo
    2: ("张 小明 ", None, None, D(1985, 3, 12), "370602", None),  # homophone + spaces, no sex
    3: ("曾小燕", None, "F", D(1970, 7, 1), "370611", None),  # 曾 read zeng, homophone
    4: ("单晓丽", "Dan Xiaoli", "F", D(1990, 2, 2), "370613", None),  # department pinyin wrong
    5: ("王晓军", None, "M", D(1963, 8, 20), "370612", "370612001"),  # wrong birth date
    6: ("欧阳晓峰", None, "M", D(1977, 1, 1), "370602", None),  # nobody in the registry
    7: ("张晓明", None, "M", D(1991, 11, 30), "370602", None),  # a namesake, not the same
    8: ("李晓鸥", None, "F", D(1980, 1, 1), "370683", None),  # two identical persons
    9: ("孙晓鹃", None, "F", D(1975, 9, 9), "370684", None),  # county from an old ID code
}


def _registry_table(rows: list[tuple]) -> pa.Table:
    cols = ["person_id", "name", "name_pinyin", "sex", "birth_date", "county_code", "town_code"]
    types = [pa.int64(), pa.string(), pa.string(), pa.string(), pa.date32()] + [pa.string()] * 2
    return pa.table(
        {
            c: pa.array([r[i] for r in rows], t)
            for i, (c, t) in enumerate(zip(cols, types, strict=True))
        }
    )


def _candidates(rows: dict[int, tuple]) -> pa.Table:
    cols = ["name", "name_pinyin", "sex", "birth_date", "county_code", "town_code"]
    types = [pa.string()] * 3 + [pa.date32()] + [pa.string()] * 2
    out = {"row_id": pa.array(list(rows), pa.int64())}
    for i, (c, t) in enumerate(zip(cols, types, strict=True)):
        out[c] = pa.array([r[i] for r in rows.values()], t)
    return pa.table(out)


@pytest.fixture(scope="module")
def city() -> pa.Table:
    return bench_linkage.city_registry(50_000, 11)


@pytest.fixture(scope="module")
def registry(city: pa.Table) -> pa.Table:
    base = city.select(list(linkage.REGISTRY_COLUMNS))
    return pa.concat_tables([base, _registry_table(EXTRA_PERSONS)])


@pytest.fixture(scope="module")
def scenario_links(registry: pa.Table) -> dict[int, dict]:
    links = probabilistic_link(_candidates(SCENARIOS), registry)
    return {r["row_id"]: r for r in links.to_pylist()}


# --- scenarios -------------------------------------------------------------------------------


@pytest.mark.parametrize("row_id", [1, 2])
def test_homophone_typo_links(scenario_links, row_id):
    got = scenario_links[row_id]
    assert got["decision"] == "linked"
    assert got["person_id"] == 9_000_001
    assert got["match_probability"] >= 0.95


def test_polyphonic_surnames_are_read_as_surnames(scenario_links):
    prepared = linkage._prepare_candidates(_candidates({3: SCENARIOS[3], 4: SCENARIOS[4]}))
    # our own reading of the Chinese name wins over the department's "Dan Xiaoli"
    assert prepared["name_pinyin"].to_pylist() == ["zeng xiao yan", "shan xiao li"]
    assert lazy_pinyin("曾", style=Style.NORMAL) == ["ceng"]  # what a general library says
    assert (scenario_links[3]["decision"], scenario_links[3]["person_id"]) == ("linked", 9_000_002)
    assert (scenario_links[4]["decision"], scenario_links[4]["person_id"]) == ("linked", 9_000_003)


def test_wrong_birth_date_is_not_linked_automatically(scenario_links):
    got = scenario_links[5]
    assert got["decision"] in {"review", "unlinked"}
    # if a clerk sees it, the suggestion is the right person
    assert got["person_id"] in {None, 9_000_004}


def test_true_non_matches_are_not_linked(scenario_links):
    assert scenario_links[6]["decision"] == "unlinked"
    assert scenario_links[6]["person_id"] is None
    namesake = scenario_links[7]  # same name and county, other birth date: scored, rejected
    assert namesake["match_probability"] is not None
    assert namesake["decision"] == "unlinked"
    assert namesake["person_id"] is None


def test_near_tie_goes_to_review(scenario_links):
    got = scenario_links[8]
    assert got["decision"] == "review"
    assert {got["person_id"], got["second_person_id"]} == {9_000_005, 9_000_006}
    # both persons score above ``accept`` on their own: still review
    assert got["match_probability"] >= 0.95
    assert got["second_best_probability"] >= 0.95
    assert got["exclusive_probability"] < 0.95


def test_abolished_county_code_still_links(scenario_links):
    assert (scenario_links[9]["decision"], scenario_links[9]["person_id"]) == ("linked", 9_000_007)


def test_decisions_follow_the_probabilities(scenario_links):
    rows = list(scenario_links.values())
    again = decide(
        [r["match_probability"] for r in rows],
        [r["second_best_probability"] for r in rows],
        [r["exclusive_probability"] for r in rows],
    ).to_pylist()
    assert again == [r["decision"] for r in rows]


# --- thresholds ------------------------------------------------------------------------------


def test_threshold_boundaries_are_inclusive():
    best = [0.95, 0.9499999, 0.60, 0.5999999, None, 1.0, 0.0]
    got = decide(best, [None] * len(best)).to_pylist()
    assert got == ["linked", "review", "review", "unlinked", "unlinked", "linked", "unlinked"]


def test_custom_thresholds():
    t = LinkThresholds(accept=0.90, review=0.50)
    assert decide([0.90, 0.89, 0.50, 0.49], [None] * 4, thresholds=t).to_pylist() == [
        "linked",
        "review",
        "review",
        "unlinked",
    ]


def test_competitors_share_the_evidence():
    # two above accept: always review, however strong the best
    assert decide([0.999999], [0.96]).to_pylist() == ["review"]
    # a weak competitor leaves a strong best linked: odds 999 / (1 + 999 + 2.33) = 0.9967
    assert decide([0.999], [0.7]).to_pylist() == ["linked"]
    # but takes a marginal best below accept: odds 24 / (1 + 24 + 2.33) = 0.878
    assert decide([0.96], [0.7]).to_pylist() == ["review"]


@pytest.mark.parametrize("accept, review", [(0.5, 0.6), (1.2, 0.5), (0.9, 0.0)])
def test_invalid_thresholds(accept, review):
    with pytest.raises(ValueError):
        LinkThresholds(accept=accept, review=review)


def test_default_thresholds():
    assert (LinkThresholds().accept, LinkThresholds().review) == (0.95, 0.60)


# --- inputs and outputs ----------------------------------------------------------------------


def test_result_shape_and_order(registry):
    rows = {30: SCENARIOS[6], 10: SCENARIOS[1], 20: SCENARIOS[8]}
    cands = _candidates(rows).drop_columns(["town_code", "name_pinyin"])  # optional columns
    links = probabilistic_link(cands, registry)
    assert links.schema == RESULT_SCHEMA
    assert links["row_id"].to_pylist() == [30, 10, 20]
    assert links["decision"].to_pylist() == ["unlinked", "linked", "review"]


def test_parquet_registry_and_callers_connection(registry, tmp_path):
    path = tmp_path / "registry.parquet"
    pq.write_table(registry, path)
    con = duckdb.connect()
    con.execute("CREATE TABLE mine AS SELECT 42 AS x")
    links = probabilistic_link(_candidates({1: SCENARIOS[1], 6: SCENARIOS[6]}), path, con=con)
    assert links["decision"].to_pylist() == ["linked", "unlinked"]
    left = con.sql(
        "SELECT table_name FROM duckdb_tables() "
        "WHERE table_name LIKE '__doudi%' OR table_name LIKE '__splink%'"
    ).fetchall()
    assert left == []
    assert con.sql("SELECT x FROM mine").fetchall() == [(42,)]
    assert con.sql("SELECT current_setting('autoinstall_known_extensions')").fetchall() == [
        (False,)
    ]


def test_empty_and_invalid_candidates(registry):
    empty = _candidates({})
    assert probabilistic_link(empty, registry).num_rows == 0
    dup = pa.concat_tables([_candidates({1: SCENARIOS[1]})] * 2)
    with pytest.raises(ValueError, match="unique"):
        probabilistic_link(dup, registry)
    with pytest.raises(ValueError, match="row_id"):
        probabilistic_link(pa.table({"name": ["张三"]}), registry)
    with pytest.raises(FileNotFoundError):
        probabilistic_link(_candidates({1: SCENARIOS[1]}), "/nonexistent/registry.parquet")


def test_offline_connection():
    con = linkage.connect()
    settings = con.sql(
        "SELECT current_setting('autoinstall_known_extensions'), "
        "current_setting('autoload_known_extensions')"
    ).fetchall()
    assert settings == [(False, False)]


def test_department_pinyin_is_only_a_fallback():
    cands = pa.table(
        {
            "row_id": pa.array([1, 2, 3], pa.int64()),
            "name": ["吕 小明", None, "John"],
            "name_pinyin": ["LU XIAOMING", "Lǚ Xiǎo-Míng", "Zhāng  San"],
        }
    )
    prepared = linkage._prepare_candidates(cands)
    assert prepared["name"].to_pylist() == ["吕小明", None, "John"]
    assert prepared["name_pinyin"].to_pylist() == ["lv xiao ming", "lv xiao ming", "zhang san"]


# --- the model file --------------------------------------------------------------------------


def test_model_file_matches_the_code():
    model = linkage.load_model()
    code = linkage.model_settings().create_settings_dict("duckdb")
    assert [c["output_column_name"] for c in model["comparisons"]] == [
        c["output_column_name"] for c in code["comparisons"]
    ]
    for trained, declared in zip(model["comparisons"], code["comparisons"], strict=True):
        assert [lvl["sql_condition"] for lvl in trained["comparison_levels"]] == [
            lvl["sql_condition"] for lvl in declared["comparison_levels"]
        ]
        for lvl in trained["comparison_levels"]:
            if not lvl.get("is_null_level"):
                assert 0 < lvl["m_probability"] <= 1 and 0 < lvl["u_probability"] <= 1
    # agreement is evidence for a match, disagreement against it
    weights = {
        c["output_column_name"]: [
            np.log2(lvl["m_probability"] / lvl["u_probability"])
            for lvl in c["comparison_levels"]
            if not lvl.get("is_null_level")
        ]
        for c in model["comparisons"]
    }
    for name, w in weights.items():
        assert w[0] > 5 or name == "sex", (name, w)
        assert w[-1] < -2, (name, w)
    json.dumps(model)  # plain JSON, no Splink objects


def test_homophone_groups_share_their_pinyin():
    for group in bench_linkage.HOMOPHONES:
        readings = {lazy_pinyin(ch, style=Style.NORMAL)[0] for ch in group}
        assert len(readings) == 1, group


# --- evaluation and quality ------------------------------------------------------------------


def test_evaluate_counts():
    links = pa.table(
        {
            "row_id": pa.array([1, 2, 3, 4, 5], pa.int64()),
            "person_id": pa.array([10, 20, 30, None, 50], pa.int64()),
            "decision": ["linked", "linked", "review", "unlinked", "linked"],
        }
    )
    truth = pa.table(
        {
            "row_id": pa.array([1, 2, 3, 4, 5], pa.int64()),
            "person_id": pa.array([10, 21, 30, 40, None], pa.int64()),
        }
    )
    got = evaluate(links, truth)
    assert (got["linked"], got["review"], got["unlinked"]) == (3, 1, 1)
    assert (got["correct_links"], got["wrong_links"], got["review_best_is_true"]) == (1, 2, 1)
    assert got["precision"] == pytest.approx(1 / 3)
    assert got["recall"] == pytest.approx(1 / 4)


def test_quality_on_a_synthetic_city(city):
    """50,000 registry persons, 2,000 rows (20% of persons not in the registry) with homophone
    and other typos, stray spaces, missing or wrong birth dates and sexes, and counties taken
    from ID numbers. Misses are mostly rows without a birth date (5%) or with a wrong one (2%),
    which go to review or stay unlinked by design."""
    cands, truth = bench_linkage.synthetic_candidates(city, n=2_000, seed=12)
    links = probabilistic_link(cands, city)
    got = evaluate(links, truth)
    assert got["precision"] >= 0.98, got
    assert got["recall"] >= 0.90, got
    assert got["review"] < 0.10 * got["rows"], got
    assert got["review_best_is_true"] >= 0.8 * got["review"] or got["review"] < 20, got
