"""The window's in-process engine and DuckDB run the same rule SQL with the same results.

Random household descriptions (hypothesis) go through both; every output column of both result
relations must be equal, including NULLs (unknown outcomes)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.policy.engine.core import run_tables
from doudi.policy.engine.parameters import load_tree
from doudi.policy.engine.schema import counties_of, households_from_json, params_table

RELATIONS = ["head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other"]
STATUSES = ["present", "present", "present", "prison", "missing", "drug_rehab", "dead"]
CATS = ["visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple"]
money = st.one_of(st.integers(0, 3000), st.sampled_from([0, 872, 1069, 1603, 1604]))

disability = st.one_of(
    st.none(),
    st.fixed_dictionaries({"category": st.sampled_from(CATS), "grade": st.integers(1, 4)}),
)
parent = st.fixed_dictionaries(
    {"status": st.sampled_from(STATUSES)},
    optional={"disability": disability, "seriously_ill": st.booleans()},
)
member = st.fixed_dictionaries(
    {
        "id_number": st.just("X"),
        "name": st.just("某"),
        "relation": st.sampled_from(RELATIONS),
        "birth_date": st.dates(dt.date(1930, 1, 1), dt.date(2025, 12, 31)).map(str),
        "disability": disability,
    },
    optional={
        "status": st.sampled_from(STATUSES),
        "self_care_failed_activities": st.integers(0, 6),
        "monthly_income": st.fixed_dictionaries(
            {}, optional={k: money for k in ("wage", "pension", "basic_pension", "excluded")}
        ),
        "parents": st.lists(parent, max_size=2),
        "support_obligors": st.lists(st.fixed_dictionaries({"able": st.booleans()}), max_size=2),
        "seriously_ill": st.booleans(),
    },
)
household = st.fixed_dictionaries(
    {
        "id": st.just("H"),
        "region_code": st.sampled_from(["370602", "370611001", "370687", "370682"]),
        "residence": st.sampled_from(["urban", "rural"]),
        "members": st.lists(member, min_size=1, max_size=5),
    },
    optional={
        "assets": st.fixed_dictionaries(
            {},
            optional={
                "financial": st.sampled_from([0, 25656, 25657, 60000]),
                "vehicles": st.integers(0, 2),
                "dwellings": st.integers(0, 3),
                "business_registered": st.booleans(),
            },
        ),
        "rigid_expenses_12m": st.fixed_dictionaries({"medical": st.integers(0, 50000)}),
        "relapse_watch_listed": st.booleans(),
        "sudden_hardship_date": st.sampled_from(["2025-10-01", "2025-12-01"]),
        "receiving_dibao": st.fixed_dictionaries(
            {"monthly": st.integers(0, 900)},
            optional={"exit_start": st.sampled_from(["2025-06-01", "2025-11-01"])},
        ),
    },
)


def _norm(rows):
    out = []
    for r in rows:
        out.append({k: (int(v) if isinstance(v, Decimal) else v) for k, v in sorted(r.items())})
    return sorted(out, key=lambda r: (r["household_id"], r.get("member_idx", -1)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(household, min_size=1, max_size=4),
    st.sampled_from([dt.date(2026, 1, 1), dt.date(2024, 12, 31), dt.date(2022, 6, 1)]),
)
def test_python_and_duckdb_agree(households, as_of):
    for i, h in enumerate(households):
        h["id"] = f"H{i}"
        for j, m in enumerate(h["members"]):
            m["id_number"] = f"P{i}-{j}"
    hh, mem, _ids = households_from_json(households)
    params = params_table(load_tree(), as_of, counties_of(hh))
    py = run_tables(hh, mem, params, engine="python")
    db = run_tables(hh, mem, params, engine="duckdb")
    assert _norm(py[0]) == _norm(db[0])
    assert _norm(py[1]) == _norm(db[1])
