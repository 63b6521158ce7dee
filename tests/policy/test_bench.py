"""``doudi bench policy`` on a tiny city: the report's fields, DuckDB's results adding up, and the
pandas and OpenFisca engines (where installed) agreeing with DuckDB household by household, on
the city and on the rule cases of ``cases/`` (their NULLs, edge dates and overrides). No timing
is asserted: the machine is shared."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from doudi.policy import bench

pytestmark = pytest.mark.slow

HAS_PANDAS = importlib.util.find_spec("pandas") is not None
HAS_OPENFISCA = (
    importlib.util.find_spec("openfisca_core") is not None and bench.openfisca_dir() is not None
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("bench-policy")
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = bench.main(
            ["--persons", "3000", "--seed", "3", "--work", str(work), "--assess-calls", "5"]
        )
    assert code == 0
    return json.loads(buf.getvalue().strip().splitlines()[-1])


def test_report_fields(report: dict) -> None:
    for key in ("households", "persons", "duckdb", "results", "pandas", "openfisca", "ratios"):
        assert key in report, key
    duck = report["duckdb"]
    for key in (
        "seconds_inputs",
        "seconds_rules",
        "seconds_write",
        "seconds_total",
        "cpu_seconds_rules",
        "cpu_seconds_total",
        "peak_rss_mib",
        "threads",
    ):
        assert isinstance(duck[key], int | float), key
    assert duck["peak_rss_mib"] > 0
    assert report["persons"] > 2500 and report["households"] > 500
    assess = report["assess"]
    for engine in ("python", "duckdb"):
        for size in ("3_persons", "6_persons"):
            cell = assess[f"{engine}_{size}"]
            assert 0 < cell["median_ms"] <= cell["p95_ms"] <= cell["max_ms"]


def test_duckdb_results_add_up(report: dict) -> None:
    res = report["results"]
    tiers = res["tiers"]
    assert sum(tiers.values()) + res["no_tier"] == report["households"]
    cats = res["categories"]
    for name in ("dibao", "near_dibao", "rigid_expense", "relapse_watch", "other_difficulty"):
        assert 0 <= cats[name]["yes"] + cats[name]["unknown"] <= report["households"]
    for name in ("tekun", "orphan", "difficult_child", "severe_disability"):
        assert 0 <= cats[name]["yes"] + cats[name]["unknown"] <= report["persons"]
    # a 低保 household or one with a 特困 member is tier 1
    assert tiers["1"] >= cats["dibao"]["yes"]
    assert res["monthly_benefit_total_yuan"] >= 0
    # the synthetic city has recognised 特困 persons and 低保 households
    assert cats["tekun"]["yes"] > 0 and cats["dibao"]["yes"] > 0


def test_pandas_matches_duckdb(report: dict) -> None:
    if not HAS_PANDAS:
        assert "skipped" in report["pandas"]
        pytest.skip("pandas is not installed")
    res = report["pandas"]
    assert res["seconds_rules"] >= 0 and res["peak_rss_mib"] > 0
    mism = res["mismatches"]
    assert mism["total"] == 0, mism
    assert report["ratios"]["pandas_to_duckdb"] is not None


def test_openfisca_matches_duckdb(report: dict) -> None:
    if not HAS_OPENFISCA:
        assert "skipped" in report["openfisca"]
        pytest.skip("openfisca-core is not installed")
    res = report["openfisca"]
    assert res["parameters_differ"] == []
    mism = res["mismatches"]
    assert mism["total"] == 0, mism
    assert report["ratios"]["openfisca_to_duckdb"] is not None


def test_sample_households_are_valid() -> None:
    from doudi.policy.engine.assess import assess_json

    docs = bench.sample_households()
    out = assess_json({"households": list(docs.values())}, as_of=dt.date(2026, 1, 1))
    three, six = out["results"]
    assert three["members_counted"] == 3 and six["members_counted"] == 6
    assert three["tier"] == 1  # the 低保 example of the rule cases


# ---------------------------------------------------- the rule cases through pandas / OpenFisca

CASES = [
    c
    for path in sorted((Path(__file__).parent / "cases").glob("*.json"))
    for c in json.loads(path.read_text("utf-8"))["cases"]
]


def _case_groups():  # type: ignore[no-untyped-def]
    """The rule cases grouped by date and overrides, each group as one batch of households
    (ids ``c<N>``, N the case's position) with DuckDB's results per household id."""
    from doudi.policy.engine.core import run_tables
    from doudi.policy.engine.parameters import load_tree
    from doudi.policy.engine.schema import counties_of, households_from_json, params_table

    groups: dict[tuple[str, str], list[int]] = {}
    for i, c in enumerate(CASES):
        groups.setdefault((c["as_of"], json.dumps(c.get("set") or {})), []).append(i)
    for (as_of_text, sets), idx in groups.items():
        as_of = dt.date.fromisoformat(as_of_text)
        tree = load_tree()
        if json.loads(sets):
            tree = tree.with_overrides(json.loads(sets))
        docs = [dict(CASES[i]["household"], id=f"c{i}") for i in idx]
        h, m, _ = households_from_json(docs)
        p = params_table(tree, as_of, counties_of(h))
        hh, mem = run_tables(h, m, p, engine="duckdb")
        want = {r["household_id"]: {k: r[k] for k in bench.COMPARE_HOUSEHOLD} for r in hh}
        for r in mem:
            want[r["household_id"]].setdefault("members", []).append(
                [r[k] for k in bench.COMPARE_MEMBER]
            )
        yield as_of, bool(json.loads(sets)), h, m, p, want


def _plain(v: object) -> object:
    """A pandas / numpy scalar as a Python one (NA as None)."""
    import pandas as pd

    if v is None or v is pd.NA:
        return None
    return v.item() if hasattr(v, "item") else v


def _differ(want: dict, got: dict) -> list[str]:
    return [
        f"{CASES[int(hid[1:])]['name']}: {w} != {got.get(hid)}"
        for hid, w in want.items()
        if got.get(hid) != w
    ]


def test_rule_cases_pandas_equal_duckdb(tmp_path: Path) -> None:
    if not HAS_PANDAS:
        pytest.skip("pandas is not installed")
    import pyarrow.parquet as pq

    from doudi.policy import bench_pandas

    for _, _, h, m, p, want in _case_groups():
        for name, table in (("h", h), ("m", m), ("p", p)):
            pq.write_table(table, tmp_path / f"{name}.parquet")
        frames = bench_pandas.read_inputs(*(str(tmp_path / f"{n}.parquet") for n in "hmp"))
        hh, mem = bench_pandas.run(*frames)
        got: dict = {}
        for _, r in hh.iterrows():
            got[r["household_id"]] = {k: _plain(r[k]) for k in bench.COMPARE_HOUSEHOLD}
        for _, r in mem.sort_values(["household_id", "member_idx"]).iterrows():
            got[r["household_id"]].setdefault("members", []).append(
                [_plain(r[k]) for k in bench.COMPARE_MEMBER]
            )
        assert _differ(want, got) == []


def test_rule_cases_openfisca_equal_duckdb() -> None:
    """Every case but those with overrides or a parameter not yet in force (OpenFisca has no
    'unknown' parameter: it raises)."""
    if not HAS_OPENFISCA:
        pytest.skip("openfisca-core is not installed")
    sys.path.insert(0, str(bench.openfisca_dir()))
    from openfisca_core.errors import ParameterNotFoundError
    from openfisca_doudi import DoudiTaxBenefitSystem
    from openfisca_doudi.simulate import run

    tbs = DoudiTaxBenefitSystem()
    compared = 0
    for as_of, overridden, h, m, _, want in _case_groups():
        if overridden:
            continue
        try:
            hh, mem, _ = run(h, m, as_of, tbs)
        except ParameterNotFoundError:
            continue
        got: dict = {
            r["household_id"]: {k: r[k] for k in bench.COMPARE_HOUSEHOLD} for r in hh.to_pylist()
        }
        for r in sorted(mem.to_pylist(), key=lambda r: (r["household_id"], r["member_idx"])):
            got[r["household_id"]].setdefault("members", []).append(
                [r[k] for k in bench.COMPARE_MEMBER]
            )
        assert _differ(want, got) == []
        compared += len(want)
    assert compared >= len(CASES) - 10
