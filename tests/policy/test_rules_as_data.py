"""Rule tests as data (tests/policy/cases/*.json), run on the window engine and on DuckDB."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from doudi.policy.engine.assess import assess_json

CASES = [
    c
    for path in sorted((Path(__file__).parent / "cases").glob("*.json"))
    for c in json.loads(path.read_text("utf-8"))["cases"]
]


def _check(case: dict, result: dict) -> None:
    exp = case["expect"]
    for key in ("tier", "household_categories", "members_counted", "per_capita_income"):
        if key in exp:
            assert result[key] == exp[key], key
    if "monthly_benefit" in exp:
        assert result["monthly_benefit"] == exp["monthly_benefit"]
    if "member_categories" in exp:
        assert [m["categories"] for m in result["members"]] == exp["member_categories"]
    if "care_levels" in exp:
        assert [m["care_level"] for m in result["members"]] == exp["care_levels"]
    ids = [m["id_number"] for m in case["household"]["members"]]
    for key, want in exp.get("criteria", {}).items():
        rule, _, idx = key.partition("@")
        found = [
            c
            for c in result["criteria"]
            if c["rule"] == rule and (not idx or c.get("member") == ids[int(idx)])
        ]
        assert found, f"no criterion {key}"
        assert found[0]["outcome"] == want, (key, found[0])


@pytest.mark.parametrize("engine", ["python", "duckdb"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_rule_case(case: dict, engine: str) -> None:
    out = assess_json(
        {"households": [case["household"]]},
        as_of=dt.date.fromisoformat(case["as_of"]),
        sets=case.get("set"),
        engine=engine,
    )
    (result,) = out["results"]
    assert result["id"] == case["household"]["id"]
    _check(case, result)
