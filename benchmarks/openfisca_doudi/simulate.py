"""A vectorised OpenFisca simulation of the rule engine's input tables, and its results.

``run(households, members, as_of)`` takes the engine's ``p_households`` and ``p_members`` as
Arrow tables (``src/doudi/policy/engine/schema.py``), builds one simulation with
``SimulationBuilder`` (persons, households, the members' roles, every input set as an array for
the as-of day), calculates the outputs and returns them as Arrow tables in the shape the
benchmark compares with DuckDB's ``pr`` and ``pmc``: yes / no / unknown as true / false / null,
no tier as null, care level as text. As in the SQL stages, members of a household not in the
table and households without members are left out.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from openfisca_core import periods
from openfisca_core.simulations import SimulationBuilder

from openfisca_doudi import DoudiTaxBenefitSystem
from openfisca_doudi.entities import RELATIONS
from openfisca_doudi.tristate import UNKNOWN, YES
from openfisca_doudi.variables import INCOME_TYPES, CareLevel, DisabilityCategory, Status, by_county

HOUSEHOLD_TRISTATE = (
    "a_fin",
    "a_vehicles",
    "a_dwellings",
    "a_business",
    "dibao",
    "near_dibao",
    "rigid_expense",
    "relapse_watch",
    "has_tekun",
)


def _np(col: pa.ChunkedArray | pa.Array, fill: Any) -> np.ndarray:
    return pc.fill_null(col, fill).to_numpy(zero_copy_only=False)


def _known(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return pc.is_valid(col).to_numpy(zero_copy_only=False)


def _codes(col: pa.ChunkedArray, names: list[str], missing: int) -> np.ndarray:
    """Text values as indices into ``names`` (null or not listed: ``missing``)."""
    idx = pc.index_in(col, value_set=pa.array(names))
    return _np(idx, missing).astype(np.int32)


def _tri(col: pa.ChunkedArray) -> np.ndarray:
    """A nullable boolean as a tristate (null -> unknown)."""
    return np.where(_known(col), np.where(_np(col, False), YES, 0), UNKNOWN).astype(np.int32)


def _prepare(households: pa.Table, members: pa.Table) -> tuple[pa.Table, pa.Table, np.ndarray]:
    """Keep the households with a county and a member and the members of those households;
    return them and each member's household position."""
    households = households.filter(pc.is_valid(households["county_code"]))
    pos = pc.index_in(members["household_id"], value_set=households["household_id"])
    members = members.filter(pc.is_valid(pos))
    pos = _np(pc.index_in(members["household_id"], value_set=households["household_id"]), -1)
    has_members = np.bincount(pos, minlength=households.num_rows) > 0
    if not has_members.all():
        households = households.filter(pa.array(has_members))
        pos = _np(pc.index_in(members["household_id"], value_set=households["household_id"]), -1)
    return households, members, pos


def person_inputs(m: pa.Table) -> dict[str, np.ndarray]:
    non_basic = [f"inc_{t}" for t in INCOME_TYPES if t != "basic_pension"]
    income_known = _np(m["income_known"], False)
    for c in non_basic:
        income_known &= _known(m[c])
    out = {
        "birth_ymd": _np(m["birth_ymd"], 0),
        "birth_known": _known(m["birth_ymd"]),
        "status": _codes(m["status"], [s.name for s in Status], Status.unknown.index),
        "dis_cat": _codes(
            m["dis_cat"], [c.name for c in DisabilityCategory], DisabilityCategory.none.index
        ),
        "dis_grade": _np(m["dis_grade"], 0),
        "self_care_failed": _np(m["self_care_failed"], 0),
        "self_care_failed_known": _known(m["self_care_failed"]),
        "seriously_ill": _np(m["seriously_ill"], False),
        "income_known": income_known,
        "basic_pension_known": _known(m["inc_basic_pension"]),
        "parents_n": _np(m["parents_n"], 0),
        "parents_n_known": _known(m["parents_n"]),
        "parents_incapable_n": _np(m["parents_incapable_n"], 0),
        "parents_incapable_known": _known(m["parents_incapable_n"]),
        "obligors_n_known": _known(m["obligors_n"]),
        "obligors_able_n": _np(m["obligors_able_n"], 0),
    }
    for t in INCOME_TYPES:
        out[f"inc_{t}"] = _np(m[f"inc_{t}"], 0)
    return out


def household_inputs(h: pa.Table) -> dict[str, np.ndarray]:
    out = {
        "county_code": pc.cast(h["county_code"], pa.int32()).to_numpy(),
        "urban": _np(pc.equal(h["residence"], "urban"), False),
        "relapse_listed": _tri(h["relapse_listed"]),
    }
    for var, col in (
        ("fin_fen", "fin_fen"),
        ("vehicles", "vehicles"),
        ("dwellings", "dwellings"),
        ("business", "business"),
        ("rigid_medical_fen", "rigid_medical_fen"),
        ("rigid_education_fen", "rigid_education_fen"),
        ("rigid_rehab_fen", "rigid_rehab_fen"),
        ("sudden_ymd", "sudden_ymd"),
        ("receiving_dibao_fen", "receiving_dibao_fen"),
        ("exit_start_ymd", "exit_start_ymd"),
    ):
        out[var] = _np(h[col], False if pa.types.is_boolean(h[col].type) else 0)
    out["fin_known"] = _known(h["fin_fen"])
    out["vehicles_known"] = _known(h["vehicles"])
    out["dwellings_known"] = _known(h["dwellings"])
    out["business_known"] = _known(h["business"])
    for k in ("medical", "education", "rehab"):
        out[f"rigid_{k}_known"] = _known(h[f"rigid_{k}_fen"])
    out["sudden_known"] = _known(h["sudden_ymd"])
    out["receiving_known"] = _known(h["receiving_dibao_fen"])
    out["exit_start_known"] = _known(h["exit_start_ymd"])
    return out


def build(tbs: DoudiTaxBenefitSystem, households: pa.Table, members: pa.Table, as_of: dt.date):  # type: ignore[no-untyped-def]
    """(simulation, period, households kept, members kept)."""
    households, members, pos = _prepare(households, members)
    roles = _codes(members["relation"], list(RELATIONS), RELATIONS.index("other"))
    sb = SimulationBuilder()
    sb.create_entities(tbs)
    sb.declare_person_entity("person", np.arange(members.num_rows))
    hh = sb.declare_entity("household", np.arange(households.num_rows))
    sb.join_with_persons(hh, pos, roles)
    sim = sb.build(tbs)
    period = periods.period(as_of.isoformat())
    for name, values in person_inputs(members).items():
        sim.set_input(name, period, values)
    for name, values in household_inputs(households).items():
        sim.set_input(name, period, values)
    return sim, period, households, members


def _tri_arrow(x: np.ndarray) -> pa.Array:
    return pa.array(x == YES, mask=x == UNKNOWN)


def results(sim, period, households: pa.Table, members: pa.Table) -> tuple[pa.Table, pa.Table]:  # type: ignore[no-untyped-def]
    calc = lambda name: sim.calculate(name, period)  # noqa: E731
    hh: dict[str, Any] = {"household_id": households["household_id"]}
    hh["n_counted"] = pa.array(calc("n_counted").astype(np.int64))
    hh["income_total_fen"] = pa.array(calc("income_total_fen"), mask=~calc("income_total_known"))
    for name in HOUSEHOLD_TRISTATE:
        hh[name] = _tri_arrow(calc(name))
    hh["other_difficulty"] = pa.array(calc("other_difficulty"))
    tier = calc("tier")
    hh["tier"] = pa.array(tier.astype(np.int64), mask=tier == 0)
    hh["monthly_benefit_yuan"] = pa.array(calc("monthly_benefit_yuan"))
    hh["per_capita_fen"] = pa.array(calc("per_capita_fen"), mask=~calc("per_capita_known"))
    care = calc("care_level")
    names = np.array([c.name for c in CareLevel], dtype=object)
    care_idx = np.asarray(care)
    mem = {
        "household_id": members["household_id"],
        "member_idx": members["member_idx"],
        "tekun": _tri_arrow(calc("tekun")),
        "care_level": pa.array(names[care_idx], mask=care_idx == CareLevel.none.index),
    }
    return pa.table(hh), pa.table(mem)


def run(
    households: pa.Table,
    members: pa.Table,
    as_of: dt.date,
    tbs: DoudiTaxBenefitSystem | None = None,
) -> tuple[pa.Table, pa.Table, dict[str, float]]:
    """Build and calculate; return (household results, member results, seconds per phase)."""
    t0 = time.perf_counter()
    tbs = tbs or DoudiTaxBenefitSystem()
    t1 = time.perf_counter()
    sim, period, households, members = build(tbs, households, members, as_of)
    t2 = time.perf_counter()
    hh, mem = results(sim, period, households, members)
    t3 = time.perf_counter()
    return (
        hh,
        mem,
        {"system": t1 - t0, "build": t2 - t1, "calculate": t3 - t2},
    )


def parameter_value(tbs: DoudiTaxBenefitSystem, name: str, as_of: dt.date, county: str) -> float:
    """A parameter's value (yuan, ratio or count, as in the YAML) for a county on a date."""
    node: Any = tbs.parameters(as_of.isoformat())
    for part in name.split("."):
        node = node[part]
    return float(by_county(node, np.array([int(county)]))[0])
