"""The ``doudi assess`` contract on the command line: output shape, errors, exit codes."""

from __future__ import annotations

import io
import json

import pytest

from doudi.policy.cli import assess_main

H = {
    "id": "A1",
    "region_code": "370611001",
    "residence": "urban",
    "members": [
        {
            "id_number": "370611195001011237",
            "name": "张三",
            "relation": "head",
            "disability": None,
            "monthly_income": {"pension": 500},
        },
        {
            "id_number": "370611195501011225",
            "name": "李四",
            "relation": "spouse",
            "disability": None,
            "monthly_income": {},
        },
    ],
    "assets": {"financial": 1000, "vehicles": 0, "dwellings": 1, "business_registered": False},
    "rigid_expenses_12m": {"medical": 0, "education": 0, "rehabilitation": 0},
}


def _run(monkeypatch, capsys, doc, *args):
    monkeypatch.setattr("sys.stdin", io.StringIO(doc if isinstance(doc, str) else json.dumps(doc)))
    code = assess_main([*args, "-"])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.django_db
def test_results_in_order_with_contract_fields(monkeypatch, capsys):
    h2 = {**H, "id": "A2", "members": [{**H["members"][0], "monthly_income": {"wage": 9000}}]}
    code, out, err = _run(monkeypatch, capsys, {"households": [H, h2]}, "--as-of", "2026-01-01")
    assert code == 0, err
    results = json.loads(out)["results"]
    assert [r["id"] for r in results] == ["A1", "A2"]
    r = results[0]
    assert set(r) >= {
        "id",
        "tier",
        "household_categories",
        "members",
        "members_counted",
        "per_capita_income",
        "monthly_benefit",
        "policy_version",
        "criteria",
    }
    assert r["household_categories"] == ["dibao"]
    assert r["per_capita_income"] == 250
    assert r["monthly_benefit"] == 1069 * 2 - 500
    assert r["members"][0]["id_number"] == H["members"][0]["id_number"]
    assert {c["outcome"] for c in r["criteria"]} <= {"yes", "no", "unknown"}
    assert results[1]["household_categories"] == [] and results[1]["tier"] is None


@pytest.mark.django_db
def test_set_overrides_a_parameter(monkeypatch, capsys):
    code, out, _ = _run(
        monkeypatch,
        capsys,
        {"households": [H]},
        "--as-of",
        "2026-01-01",
        "--set",
        "dibao.standard.urban=1200",
    )
    r = json.loads(out)["results"][0]
    assert code == 0 and r["monthly_benefit"] == 2400 - 500
    assert r["policy_version"].endswith("+set")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("doc", "args", "needle"),
    [
        ("{not json", [], "JSON"),
        ({"households": [{**H, "residence": "town"}]}, [], "A1"),
        ({"households": [{k: v for k, v in H.items() if k != "members"}]}, [], "members"),
        (
            {"households": [{**H, "members": [{**H["members"][0], "relation": "cousin"}]}]},
            [],
            "members[0].relation",
        ),
        ({"households": [H]}, ["--set", "dibao.nope=1"], "dibao.nope"),
        ({"households": [H]}, ["--set", "dibao.standard.urban=abc"], "dibao.standard.urban"),
        ({"households": [H]}, ["--set", "novalue"], "NAME=VALUE"),
        ({"houses": []}, [], "households"),
        ({"households": [H, H]}, [], "重复"),
    ],
)
def test_invalid_input_no_partial_output(monkeypatch, capsys, doc, args, needle):
    code, out, err = _run(monkeypatch, capsys, doc, *args)
    assert code == 2
    assert out == ""
    assert needle in err
