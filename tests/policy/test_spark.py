"""The rule stages on Spark give exactly what they give on DuckDB.

One SparkSession for the module. The inputs: a synthetic city of 20,000 persons, plus every
household of ``cases/rules.json`` and a few hand-built ones, so that every category, tier, care
level and unknown (NULL) path occurs; and, separately, each rule case with its own as-of date and
parameter overrides. Both engines read the same Parquet inputs; every column of ``pr`` and
``pmc`` is compared row by row. Then the sweep on Spark against the sweep on DuckDB.

Skipped without PySpark (the ``spark`` extra), except under ``CI=true``, where that fails.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from doudi.policy.engine.core import define_stages
from doudi.policy.engine.parameters import load_tree
from doudi.policy.engine.rules import INPUTS, OUTPUT_HOUSEHOLDS, OUTPUT_MEMBERS, load_stages
from doudi.policy.engine.schema import (
    HOUSEHOLD_SCHEMA,
    MEMBER_SCHEMA,
    households_from_json,
    params_table,
)
from doudi.policy.engine.sweep import (
    HOUSEHOLD_FLAGS,
    MEMBER_FLAGS,
    inputs_from_city,
    summarise,
    sweep_duckdb,
)

pytestmark = pytest.mark.slow

_CI = os.environ.get("CI", "").strip().lower() in ("true", "1")
try:
    import pyspark  # noqa: F401
except ImportError:
    if _CI:
        pytest.fail(
            "CI=true 但未安装 PySpark / PySpark is not installed under CI: uv sync --extra spark",
            pytrace=False,
        )
    pytest.skip(
        "未安装 PySpark，跳过 Spark 测试 / PySpark not installed (uv sync --extra spark)",
        allow_module_level=True,
    )

from doudi.policy.engine import spark as spark_engine  # noqa: E402

AS_OF = dt.date(2026, 1, 1)
CASES = json.loads((Path(__file__).parent / "cases" / "rules.json").read_text("utf-8"))["cases"]
HH_KEYS = ("household_id",)
MEM_KEYS = ("household_id", "member_idx")


def _m(id_number: str, relation: str, birth: str | None, **extra: Any) -> dict[str, Any]:
    m = {"id_number": id_number, "name": "成员", "relation": relation, **extra}
    if birth is not None:
        m["birth_date"] = birth
    return m


ASSETS_OK = {"financial": 0, "vehicles": 0, "dwellings": 1, "business_registered": False}

#: paths the city and the rule cases leave out: seriously ill members, no birth date, a birth
#: after the as-of date (negative ages: integer division toward zero), a gradual exit started
#: long ago and one in the future, a hardship in the future, 特困 without a care assessment,
#: unknown assets, nobody counted, large amounts.
EXTRAS: list[dict[str, Any]] = [
    {
        "id": "extra-ill",
        "region_code": "370611001",
        "residence": "urban",
        "members": [
            _m("E1", "head", "1950-03-01", seriously_ill=True, monthly_income={"pension": 300}),
            _m("E2", "child", "2015-03-01", seriously_ill=True, monthly_income={}),
        ],
        "assets": ASSETS_OK,
    },
    {
        "id": "extra-nobirth",
        "region_code": "370611001",
        "residence": "rural",
        "members": [
            _m("NOT-AN-ID", "head", None, monthly_income={"wage": 100}),
            _m("E4", "spouse", "1990-01-01"),
        ],
        "assets": ASSETS_OK,
        "relapse_watch_listed": True,
    },
    {
        "id": "extra-future-birth",
        "region_code": "370612001",
        "residence": "rural",
        "members": [
            _m("E5", "head", "1985-01-01", monthly_income={"wage": 500}),
            _m("E6", "child", "2026-06-01", monthly_income={}, parents=[{"status": "dead"}]),
            _m("E7", "child", "2027-06-01", monthly_income={}, parents=[]),
        ],
        "assets": ASSETS_OK,
        "relapse_watch_listed": False,
    },
    {
        "id": "extra-exit-old",
        "region_code": "370611001",
        "residence": "urban",
        "members": [_m("E8", "head", "1970-01-01", monthly_income={"wage": 5000})],
        "assets": ASSETS_OK,
        "receiving_dibao": {"monthly": 400, "exit_start": "2020-01-01"},
    },
    {
        "id": "extra-exit-future",
        "region_code": "370611001",
        "residence": "urban",
        "members": [_m("E9", "head", "1970-01-01", monthly_income={"wage": 2000})],
        "assets": ASSETS_OK,
        "receiving_dibao": {"monthly": 400, "exit_start": "2026-06-01"},
        "sudden_hardship_date": "2026-03-01",
    },
    {
        "id": "extra-tekun-nocare",
        "region_code": "370687001",
        "residence": "rural",
        "members": [
            _m(
                "E10",
                "head",
                "1940-01-01",
                monthly_income={"basic_pension": 150},
                support_obligors=[],
                disability={"category": "physical", "grade": 1},
            )
        ],
        "assets": ASSETS_OK,
        "sudden_hardship_date": "2025-12-20",
    },
    {
        "id": "extra-unknown-assets",
        "region_code": "370602001",
        "residence": "urban",
        "members": [
            _m("E11", "head", "1960-01-01", monthly_income={"wage": 100}),
            _m("E12", "parent", "1935-01-01", support_obligors=[{"able": False}]),
        ],
        "rigid_expenses_12m": {"medical": 50000},
    },
    {
        "id": "extra-nobody-counted",
        "region_code": "370611001",
        "residence": "urban",
        "members": [
            _m("E13", "head", "1960-01-01", status="dead"),
            _m("E14", "spouse", "1962-01-01", status="prison", monthly_income={"wage": 1}),
        ],
        "assets": ASSETS_OK,
    },
    {
        "id": "extra-large",
        "region_code": "370611001",
        "residence": "urban",
        "members": [
            _m("E15", "head", "1960-01-01", monthly_income={"property": 9_000_000}),
            _m("E16", "spouse", "1962-01-01", monthly_income={"wage": 0.01}),
        ],
        "assets": {"financial": 1_000_000_000, "vehicles": 40, "dwellings": 12},
        "rigid_expenses_12m": {"medical": 12_000_000, "education": 1, "rehabilitation": 2},
    },
]


def _cases_as_json() -> list[dict[str, Any]]:
    out = []
    for i, case in enumerate(CASES):
        h = dict(case["household"])
        h["id"] = f"rc{i:02d}-{h['id']}"
        out.append(h)
    return out


def _append(con: duckdb.DuckDBPyConnection, households: pa.Table, members: pa.Table) -> None:
    """Add households from ``households_from_json`` to the sweep inputs on ``con``, numbered
    after the city's when the sweep's ``household_id`` is an integer."""
    kind = con.sql("SELECT typeof(household_id) FROM p_households LIMIT 1").fetchall()[0][0]
    if kind != "VARCHAR":
        first = con.sql("SELECT max(household_id) + 1 FROM p_households").fetchall()[0][0]
        ids = {h: first + i for i, h in enumerate(households.column("household_id").to_pylist())}
        households = households.set_column(
            0, "household_id", pa.array([ids[h] for h in households.column(0).to_pylist()])
        )
        members = members.set_column(
            0, "household_id", pa.array([ids[h] for h in members.column(0).to_pylist()])
        )
    con.register("_hx", households)
    con.register("_mx", members)
    for table, source in (("p_households", "_hx"), ("p_members", "_mx")):
        con.execute(
            f"INSERT INTO {table} SELECT * REPLACE (CAST(household_id AS {kind}) AS household_id)"
            f" FROM {source}"
        )
    con.unregister("_hx")
    con.unregister("_mx")


def _arrow(rel: duckdb.DuckDBPyRelation) -> pa.Table:
    return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()


def _spark_arrow(df: Any, path: Path) -> pa.Table:
    df.write.mode("overwrite").parquet(str(path))
    return pq.read_table(path)


def _compare(duck: pa.Table, spark: pa.Table, keys: tuple[str, ...], what: str) -> None:
    assert spark.column_names == duck.column_names, what
    assert spark.num_rows == duck.num_rows, what

    def rows(t: pa.Table) -> list[dict[str, Any]]:
        return sorted(t.to_pylist(), key=lambda r: tuple(r[k] for k in keys))

    diffs = []
    for d, s in zip(rows(duck), rows(spark), strict=True):
        for col in duck.column_names:
            if d[col] != s[col] or type(d[col]) is not type(s[col]):
                diffs.append((tuple(d[k] for k in keys), col, d[col], s[col]))
    assert not diffs, f"{what}: {len(diffs)} differences, first: {diffs[:10]}"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    # 20,000 persons need far less than the sweep's default 4g heap
    memory = os.environ.get("DOUDI_SPARK_MEMORY")
    os.environ["DOUDI_SPARK_MEMORY"] = memory or "1g"
    try:
        session = spark_engine.spark_session()
    except spark_engine.SparkUnavailable as exc:
        if _CI:
            raise
        pytest.skip(str(exc))
    finally:
        if memory is None:
            del os.environ["DOUDI_SPARK_MEMORY"]
    yield session
    session.stop()


@pytest.fixture(scope="module")
def tree() -> Any:
    return load_tree()


@pytest.fixture(scope="module")
def city_con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the sweep inputs: the city plus the rule-case and extra
    households (as of 2026-01-01)."""
    from doudi.synth.generator import generate

    city = tmp_path_factory.mktemp("city")
    generate(persons=20000, seed=1, out_dir=city, as_of=AS_OF)
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    inputs_from_city(con, city, AS_OF)
    hh, mem, _ = households_from_json(_cases_as_json() + EXTRAS)
    _append(con, hh, mem)
    return con


@pytest.fixture(scope="module")
def results(
    spark: Any,
    city_con: duckdb.DuckDBPyConnection,
    tree: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, pa.Table]:
    """Both engines over the same Parquet inputs: the city inputs, and each rule case again
    under its own as-of date and parameter overrides (its household in a county of its own, so
    that it gets its own ``p_params`` row)."""
    work = tmp_path_factory.mktemp("inputs")
    con = city_con
    counties = [r[0] for r in con.sql("SELECT DISTINCT county_code FROM p_households").fetchall()]
    params = [params_table(tree, AS_OF, counties)]
    case_hh, case_mem = [], []
    for i, case in enumerate(CASES):
        hh, mem, _ = households_from_json([case["household"]])
        county = hh.column("county_code")[0].as_py()
        key = f"{county}@case{i:02d}"
        case_tree = tree.with_overrides(case["set"]) if case.get("set") else tree
        p = params_table(case_tree, dt.date.fromisoformat(case["as_of"]), [county])
        params.append(p.set_column(0, "county_code", pa.array([key], pa.string())))
        hid = pa.array([f"case{i:02d}"] * hh.num_rows, pa.string())
        hh = hh.set_column(0, "household_id", hid)
        hh = hh.set_column(1, "county_code", pa.array([key] * hh.num_rows, pa.string()))
        case_hh.append(hh)
        case_mem.append(
            mem.set_column(0, "household_id", pa.array([f"case{i:02d}"] * mem.num_rows))
        )
    con.register("_params", pa.concat_tables(params))
    con.register("_case_hh", pa.concat_tables(case_hh).cast(HOUSEHOLD_SCHEMA))
    con.register("_case_mem", pa.concat_tables(case_mem).cast(MEMBER_SCHEMA))
    files = {name: work / f"{name}.parquet" for name in INPUTS}
    # household_id as the window passes it (strings); the sweep test below keeps the sweep's
    for name, cases in (("p_households", "_case_hh"), ("p_members", "_case_mem")):
        con.execute(
            f"COPY (SELECT * REPLACE (CAST(household_id AS VARCHAR) AS household_id) FROM {name}"
            f" UNION ALL SELECT * FROM {cases}) TO '{files[name]}' (FORMAT parquet)"
        )
    con.execute(f"COPY _params TO '{files['p_params']}' (FORMAT parquet)")

    duck = duckdb.connect(config={"autoinstall_known_extensions": False})
    for name, path in files.items():
        duck.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM read_parquet('{path}')")
    define_stages(duck, materialize=True)
    out = {
        "duck_pr": _arrow(duck.sql(f"SELECT * FROM {OUTPUT_HOUSEHOLDS}")),
        "duck_pmc": _arrow(duck.sql(f"SELECT * FROM {OUTPUT_MEMBERS}")),
    }
    pr, pmc = spark_engine.run_stages_spark(spark, {k: str(v) for k, v in files.items()})
    out["spark_pr"] = _spark_arrow(pr, work / "spark_pr")
    out["spark_pmc"] = _spark_arrow(pmc, work / "spark_pmc")
    spark_engine.release(spark)
    return out


def _part(t: pa.Table, cases: bool) -> pa.Table:
    ids = t.column("household_id").to_pylist()
    return t.filter(pa.array([i.startswith("case") == cases for i in ids]))


# -------------------------------------------------------------------------------- tests


def test_city_same_on_both_engines(results: dict[str, pa.Table]) -> None:
    pr, pmc = _part(results["duck_pr"], False), _part(results["duck_pmc"], False)
    assert pr.num_rows > 7900 and pmc.num_rows > 20000
    # every category and path occurs: yes, no and (where the rules allow it) unknown
    for table, flags in (
        (pr, (*HOUSEHOLD_FLAGS, "has_tekun", "gradual_exit")),
        (pmc, MEMBER_FLAGS),
    ):
        for flag in flags:
            values = set(table.column(flag).to_pylist())
            assert {True, False} <= values, flag
    for table, col in (
        (pr, "near_dibao"),
        (pr, "rigid_expense"),
        (pr, "relapse_watch"),
        (pr, "has_tekun"),
        (pmc, "tekun"),
        (pmc, "orphan"),
        (pmc, "unsupported_child"),
        (pmc, "difficult_child"),
        (pmc, "difficult_elderly"),
        (pmc, "single_dibao"),
        (pmc, "age"),
        (pmc, "income_fen"),
        (pr, "per_capita_fen"),
    ):
        assert None in set(table.column(col).to_pylist()), f"no unknown {col}"
    assert set(pr.column("tier").to_pylist()) == {1, 2, 3, None}
    assert set(pmc.column("care_level").to_pylist()) == {"full", "partial", "self", None}
    assert min(a for a in pmc.column("age").to_pylist() if a is not None) < 0
    assert True in set(pmc.column("seriously_ill").to_pylist())

    _compare(pr, _part(results["spark_pr"], False), HH_KEYS, "pr")
    _compare(pmc, _part(results["spark_pmc"], False), MEM_KEYS, "pmc")


def test_rule_cases_same_on_both_engines(results: dict[str, pa.Table]) -> None:
    pr = _part(results["duck_pr"], True)
    assert pr.num_rows == len(CASES)
    # each case ran under its own date and overrides: the expected tiers come out
    tiers = dict(
        zip(pr.column("household_id").to_pylist(), pr.column("tier").to_pylist(), strict=True)
    )
    for i, case in enumerate(CASES):
        if "tier" in case["expect"]:
            assert tiers[f"case{i:02d}"] == case["expect"]["tier"], case["name"]
    _compare(pr, _part(results["spark_pr"], True), HH_KEYS, "pr (rule cases)")
    _compare(
        _part(results["duck_pmc"], True),
        _part(results["spark_pmc"], True),
        MEM_KEYS,
        "pmc (rule cases)",
    )


def test_sweep_spark_matches_sweep_duckdb(
    spark: Any, city_con: duckdb.DuckDBPyConnection, tree: Any, tmp_path: Path
) -> None:
    con = city_con
    duck = sweep_duckdb(con, tree=tree, as_of=AS_OF, out_dir=tmp_path / "d", inputs_ready=True)
    steps: list[str] = []
    spk = spark_engine.sweep_spark(
        con, tree=tree, as_of=AS_OF, out_dir=tmp_path / "s", progress=steps.append
    )
    assert spk["engine"] == "spark" and duck["engine"] == "duckdb"
    assert steps and spk["seconds"] >= spk["seconds_rules"] > 0
    timing = {"engine", "seconds", "seconds_inputs", "seconds_rules"}
    assert {k: v for k, v in spk.items() if k not in timing} == {
        k: v for k, v in duck.items() if k not in timing
    }
    assert spk["categories"]["orphan"]["yes"] > 0 and spk["tiers"]["3"] > 0
    for name in ("households", "members"):
        d = pq.read_table(tmp_path / "d" / f"{name}.parquet")
        s = pq.read_table(tmp_path / "s" / f"{name}.parquet")
        assert [(f.name, f.type) for f in s.schema] == [(f.name, f.type) for f in d.schema]
        assert s.to_pylist() == d.to_pylist(), name
    # the summary reads the files the same way
    again = summarise(
        con, str(tmp_path / "s" / "households.parquet"), str(tmp_path / "s" / "members.parquet")
    )
    assert again["categories"] == duck["categories"]
    assert not list((tmp_path / "s").glob("*.tmp"))


def test_error_names_the_rule_file(
    spark: Any, tmp_path: Path, tree: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hh, mem, _ = households_from_json([CASES[0]["household"]])
    files = {
        "p_households": hh,
        "p_members": mem,
        "p_params": params_table(tree, AS_OF, ["370611"]),
    }
    paths = {}
    for name, table in files.items():
        paths[name] = str(tmp_path / f"{name}.parquet")
        pq.write_table(table, paths[name])
    stages = load_stages()

    def with_sql(index: int, sql: str) -> tuple[Any, ...]:
        import dataclasses

        changed = list(stages)
        changed[index] = dataclasses.replace(stages[index], sql=sql)
        return tuple(changed)

    # unknown column: found when Spark analyses the stage
    bad = stages[1].sql.replace("h.vehicles <= p.max_vehicles", "h.no_such_column <= 1")
    monkeypatch.setattr(spark_engine, "load_stages", lambda: with_sql(1, bad))
    with pytest.raises(spark_engine.SparkRuleError, match=stages[1].path.name):
        spark_engine.run_stages_spark(spark, paths)
    # division by zero: found when the stage runs (as on DuckDB, an error, not NULL)
    bad = stages[0].sql.replace(
        "AS age,", "AS age, m.member_idx // (m.member_idx - m.member_idx) AS boom,"
    )
    monkeypatch.setattr(spark_engine, "load_stages", lambda: with_sql(0, bad))
    with pytest.raises(spark_engine.SparkRuleError, match=stages[0].path.name) as info:
        spark_engine.run_stages_spark(spark, paths)
    assert "DIVIDE_BY_ZERO" in str(info.value)
    # overflow in a stage that is not cached (computed inside a later stage's job): still named
    bad = stages[3].sql.replace(
        "h.dibao_std,", "h.dibao_std, 9223372036854775807 + m.member_idx + 1 AS boom,", 1
    )
    monkeypatch.setattr(spark_engine, "load_stages", lambda: with_sql(3, bad))
    with pytest.raises(spark_engine.SparkRuleError, match=stages[3].path.name) as info:
        spark_engine.run_stages_spark(spark, paths)
    assert "ARITHMETIC_OVERFLOW" in str(info.value)
    # a stage sqlglot cannot read
    monkeypatch.setattr(spark_engine, "load_stages", lambda: with_sql(2, "SELECT FROM WHERE ((("))
    with pytest.raises(spark_engine.SparkRuleError, match=stages[2].path.name):
        spark_engine.run_stages_spark(spark, paths)
    spark_engine.release(spark)


def test_without_pyspark_the_module_imports_and_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = (
        "import sys; sys.modules['pyspark'] = None; "
        "import doudi.policy.engine.spark as s; print(s.available())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    assert not spark_engine.available()
    with pytest.raises(spark_engine.SparkUnavailable) as info:
        spark_engine.spark_session()
    msg = str(info.value)
    assert "spark" in msg and "未安装" in msg and "not installed" in msg
