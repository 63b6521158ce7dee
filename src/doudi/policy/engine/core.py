"""Running the rule stages on DuckDB, and turning result rows into explained outcomes.

``run_duckdb(con)`` defines the stages over the input relations ``p_members``, ``p_households``
and ``p_params`` that must already exist on ``con`` (registered Arrow tables for the window,
Parquet-backed tables for the sweep). ``evaluate(...)`` is the in-process path for a handful of
households: register, run, read the two outputs, assemble the contract's results.

Outcomes are three-valued: SQL TRUE/FALSE/NULL become "yes"/"no"/"unknown".
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa

from doudi.policy.engine.parameters import ParameterTree
from doudi.policy.engine.pyexec import compile_stage
from doudi.policy.engine.rules import OUTPUT_HOUSEHOLDS, OUTPUT_MEMBERS, load_stages
from doudi.policy.engine.schema import counties_of, params_table

HOUSEHOLD_CATEGORIES = ("dibao", "near_dibao", "rigid_expense", "relapse_watch", "other_difficulty")
PERSON_CATEGORIES = (
    "tekun",
    "orphan",
    "unsupported_child",
    "difficult_child",
    "difficult_elderly",
    "severe_disability",
)
CATEGORY_LABELS = {
    "dibao": "低保",
    "near_dibao": "低保边缘家庭",
    "rigid_expense": "刚性支出困难家庭",
    "relapse_watch": "防止返贫监测对象",
    "other_difficulty": "其他困难人员",
    "tekun": "特困人员",
    "orphan": "孤儿",
    "unsupported_child": "事实无人抚养儿童",
    "difficult_child": "困境儿童",
    "difficult_elderly": "困难老年人",
    "severe_disability": "重度残疾人",
    "single_person_dibao": "单人保",
}
CARE_LABELS = {"self": "全自理", "partial": "半护理", "full": "全护理"}
TIER_LABELS = {1: "基本生活救助", 2: "专项救助", 3: "急难社会救助"}


def outcome(value: Any) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def yuan(fen: int | None) -> int | float | None:
    """Fen to a JSON number of yuan: whole yuan as an int, else two decimals."""
    if fen is None:
        return None
    fen = int(fen)
    return fen // 100 if fen % 100 == 0 else float(Decimal(fen) / 100)


def _ratio(bp: int | None) -> float | None:
    return None if bp is None else float(Decimal(int(bp)) / 10000)


def _ymd_iso(v: int | None) -> str | None:
    if v is None:
        return None
    v = int(v)
    return f"{v // 10000:04d}-{v // 100 % 100:02d}-{v % 100:02d}"


# ------------------------------------------------------------------------- running the rules

_local = threading.local()


def define_stages(con: duckdb.DuckDBPyConnection, *, materialize: bool = False) -> None:
    """Create the stage relations on ``con`` (views, or temp tables when ``materialize``).

    The input relations ``p_households``, ``p_members`` and ``p_params`` must exist on ``con``.
    With ``materialize`` (the sweep) a stage read by more than one later stage, and the two
    outputs, become tables (computed once); a stage read once stays a view, inlined into its
    reader, so wide rows are not copied an extra time.
    """
    stages = load_stages()
    readers: dict[str, int] = {}
    for stage in stages:
        for r in stage.reads:
            readers[r] = readers.get(r, 0) + 1
    for stage in stages:
        table = materialize and (
            readers.get(stage.name, 0) > 1 or stage.name in (OUTPUT_HOUSEHOLDS, OUTPUT_MEMBERS)
        )
        kind = "TABLE" if table else "VIEW"
        for other in ("VIEW", "TABLE"):  # a rerun may switch a stage between view and table
            if other != kind:
                try:
                    con.execute(f"DROP {other} IF EXISTS {stage.name}")
                except duckdb.CatalogException:
                    pass
        con.execute(f"CREATE OR REPLACE TEMP {kind} {stage.name} AS {stage.sql}")


@functools.cache
def _compiled() -> tuple[tuple[str, Callable[[dict[str, list[dict[str, Any]]]], Any]], ...]:
    return tuple((s.name, compile_stage(s.name, s.sql)) for s in load_stages())


def run_tables(
    households: pa.Table, members: pa.Table, params: pa.Table, *, engine: str = "python"
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run the rules over in-memory tables; return (household rows, member rows) as dicts.

    ``engine="python"`` (the window: a few ms) runs the rule SQL compiled by ``pyexec``;
    ``engine="duckdb"`` runs the same SQL on an in-memory DuckDB (tests compare the two).
    Member rows are ordered by household and position.
    """
    if engine == "python":
        env: dict[str, list[dict[str, Any]]] = {
            "p_households": households.to_pylist(),
            "p_members": members.to_pylist(),
            "p_params": params.to_pylist(),
        }
        for name, fn in _compiled():
            env[name] = fn(env)
        mem = sorted(env[OUTPUT_MEMBERS], key=lambda r: (r["household_id"], r["member_idx"]))
        return env[OUTPUT_HOUSEHOLDS], mem
    if engine != "duckdb":
        raise ValueError(f"unknown engine {engine!r}")
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(config={"autoinstall_known_extensions": False, "threads": 1})
        _local.con = con
    con.register("p_households", households)
    con.register("p_members", members)
    con.register("p_params", params)
    define_stages(con, materialize=True)
    hh = con.sql(f"SELECT * FROM {OUTPUT_HOUSEHOLDS}").to_arrow_table().to_pylist()
    mem = (
        con.sql(f"SELECT * FROM {OUTPUT_MEMBERS} ORDER BY household_id, member_idx")
        .to_arrow_table()
        .to_pylist()
    )
    return hh, mem


# -------------------------------------------------------------------------- explanations


@dataclass(frozen=True)
class Criterion:
    rule: str
    label: str
    column: str
    values: Callable[[dict[str, Any]], dict[str, Any]]
    reference: str
    applies: Callable[[dict[str, Any]], bool] = lambda r: True


def _hh_income(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "per_capita_income": yuan(r["dibao_pc_fen"]),
        "household_income": yuan(r["income_total_fen"]),
        "members_counted": r["n_dibao"],
        "excluded_income": yuan(r["excluded_sum"]),
    }


HOUSEHOLD_CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "dibao.income_below_standard",
        "家庭月人均收入低于低保标准",
        "d_income",
        lambda r: {**_hh_income(r), "standard": yuan(r["dibao_std"])},
        "民发〔2021〕57号；DOMAIN.md §3、§5（等于标准不属于低于）",
    ),
    Criterion(
        "assets.financial",
        "人均金融资产不超过上限",
        "a_fin",
        lambda r: {
            "financial": yuan(r["fin_fen"]),
            "limit": yuan(r["fin_limit_fen"]),
            "months_of_standard": r["fin_months"],
            "members_counted": r["n_counted"],
        },
        "潍坊2017（烟台假设）；DOMAIN.md §5",
    ),
    Criterion(
        "assets.vehicles",
        "无非豁免机动车",
        "a_vehicles",
        lambda r: {"vehicles": r["vehicles"], "max": r["max_vehicles"]},
        "DOMAIN.md §5",
    ),
    Criterion(
        "assets.dwellings",
        "住房不超过上限",
        "a_dwellings",
        lambda r: {"dwellings": r["dwellings"], "max": r["max_dwellings"]},
        "DOMAIN.md §5（面积条件未建模）",
    ),
    Criterion(
        "assets.business",
        "无登记经营主体",
        "a_business",
        lambda r: {"business_registered": r["business"]},
        "DOMAIN.md §5",
    ),
    Criterion("dibao", "低保", "dibao", lambda r: {}, "民发〔2021〕57号"),
    Criterion(
        "near_dibao.income_below_multiple",
        "家庭月人均收入低于低保标准的倍数",
        "n_income",
        lambda r: {
            **_hh_income(r),
            "standard": yuan(r["dibao_std"]),
            "multiplier": _ratio(r["near_mult_bp"]),
            "threshold": None
            if r["near_mult_bp"] is None or r["dibao_std"] is None
            else yuan(r["near_mult_bp"] * r["dibao_std"] // 10000),
        },
        "国办发〔2023〕39号",
    ),
    Criterion("near_dibao", "低保边缘家庭", "near_dibao", lambda r: {}, "国办发〔2023〕39号"),
    Criterion(
        "rigid_expense.income_below_ceiling",
        "家庭年人均收入低于上年度人均可支配收入",
        "r_income",
        lambda r: {
            "annual_per_capita_income": None
            if r["dibao_pc_fen"] is None
            else yuan(r["dibao_pc_fen"] * 12),
            "ceiling": yuan(r["rigid_ceiling_annual"]),
        },
        "DOMAIN.md §3（上年度人均可支配收入，假设值待录入）",
    ),
    Criterion(
        "rigid_expense.expense_share",
        "近12个月刚性支出超过家庭收入的比例",
        "r_share",
        lambda r: {
            "rigid_expenses_12m": yuan(r["rigid_sum_fen"]) if r["rigid_known"] else None,
            "medical": yuan(r["rigid_medical_fen"]),
            "education": yuan(r["rigid_education_fen"]),
            "rehabilitation": yuan(r["rigid_rehab_fen"]),
            "annual_income": None
            if r["income_total_fen"] is None
            else yuan(r["income_total_fen"] * 12),
            "share": _ratio(r["rigid_share_bp"]),
        },
        "DOMAIN.md §3（60%为假设）",
    ),
    Criterion("rigid_expense", "刚性支出困难家庭", "rigid_expense", lambda r: {}, "DOMAIN.md §3"),
    Criterion(
        "relapse_watch",
        "防止返贫监测对象（农业农村部门名单）",
        "relapse_watch",
        lambda r: {"listed": r["relapse_listed"], "residence": r["residence"]},
        "DOMAIN.md §3",
    ),
    Criterion(
        "other_difficulty",
        "近期遭遇突发困难",
        "other_difficulty",
        lambda r: {
            "sudden_hardship_date": _ymd_iso(r["sudden_ymd"]),
            "window_months": r["other_window_months"],
        },
        "DOMAIN.md §3–4（临时救助）",
    ),
    Criterion(
        "dibao.gradual_exit",
        "低保渐退",
        "gradual_exit",
        lambda r: {
            "current_monthly": yuan(r["receiving_dibao_fen"]),
            "months_left": r["exit_months_left"] if r["gradual_exit"] else 0,
            "exit_months": r["exit_months"],
        },
        "民发〔2021〕57号（渐退期一般不超过6个月）",
        applies=lambda r: r["receiving_dibao_fen"] is not None,
    ),
)


def _minor(r: dict[str, Any]) -> bool:
    return r["age"] is None or r["age"] < 18


MEMBER_CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "tekun.no_labour_capacity",
        "无劳动能力",
        "t_no_labour",
        lambda r: {
            "age": r["age"],
            "elderly_age": r["elderly_age"],
            "minor_age": r["minor_age"],
            "disability_category": r["dis_cat"],
            "disability_grade": r["dis_grade"],
        },
        "民发〔2021〕43号 第六条",
    ),
    Criterion(
        "tekun.no_livelihood",
        "无生活来源（本人收入低于低保标准，财产符合规定）",
        "t_no_livelihood",
        lambda r: {
            "own_income": yuan(r["income_tekun_fen"]),
            "basic_pension_not_counted": yuan(r["basic_pension_fen"]),
            "standard": yuan(r["dibao_std"]),
        },
        "民发〔2021〕43号 第七条",
    ),
    Criterion(
        "tekun.no_able_obligor",
        "无履行能力的法定义务人",
        "t_no_obligor",
        lambda r: {
            "able_in_household": r["inhouse_able_n"],
            "able_listed": r["obligors_able_n"],
            "parents_able": r["parents_able_n"] if r["parents_n"] is not None else None,
        },
        "民发〔2021〕43号 第八、九条",
    ),
    Criterion(
        "tekun",
        "特困人员",
        "tekun",
        lambda r: {"care_level": r["care_level"], "self_care_failed": r["self_care_failed"]},
        "民发〔2021〕43号",
    ),
    Criterion(
        "orphan",
        "孤儿",
        "orphan",
        lambda r: {"age": r["age"], "parents_listed": r["parents_n"], "dead": r["parents_dead_n"]},
        "DOMAIN.md §3",
        applies=_minor,
    ),
    Criterion(
        "unsupported_child",
        "事实无人抚养儿童",
        "unsupported_child",
        lambda r: {
            "age": r["age"],
            "parents_listed": r["parents_n"],
            "parents_unable": r["parents_incapable_n"],
            "dead": r["parents_dead_n"],
        },
        "DOMAIN.md §3",
        applies=_minor,
    ),
    Criterion(
        "difficult_child",
        "困境儿童",
        "difficult_child",
        lambda r: {"age": r["age"], "disabled": r["disabled"], "seriously_ill": r["seriously_ill"]},
        "DOMAIN.md §3",
        applies=_minor,
    ),
    Criterion(
        "difficult_elderly",
        "困难老年人",
        "difficult_elderly",
        lambda r: {"age": r["age"], "disabled": r["disabled"]},
        "DOMAIN.md §3",
        applies=lambda r: r["age"] is None or r["age"] >= 60,
    ),
    Criterion(
        "severe_disability",
        "重度残疾人",
        "severe_disability",
        lambda r: {"disability_category": r["dis_cat"], "disability_grade": r["dis_grade"]},
        "DOMAIN.md §3",
    ),
    Criterion(
        "single_person_dibao",
        "单人保（边缘家庭中的重度残疾人）",
        "single_dibao",
        lambda r: {"monthly": yuan(r["single_dibao_fen"])},
        "DOMAIN.md §3",
        applies=lambda r: bool(r["severe"]),
    ),
)


def assemble(
    hh: dict[str, Any], members: list[dict[str, Any]], version: str, *, explain: bool = True
) -> dict[str, Any]:
    """One household's result in the ``assess`` contract's shape (R)."""
    categories = [c for c in HOUSEHOLD_CATEGORIES if hh[c] is True]
    out_members = []
    criteria: list[dict[str, Any]] = []
    if explain:
        for c in HOUSEHOLD_CRITERIA:
            if c.applies(hh):
                criteria.append(
                    {
                        "rule": c.rule,
                        "label": c.label,
                        "outcome": outcome(hh[c.column]),
                        "values": c.values(hh),
                        "reference": c.reference,
                    }
                )
    for m in members:
        cats = [c for c in PERSON_CATEGORIES if m[c] is True]
        entry: dict[str, Any] = {
            "id_number": m["id_number"],
            "categories": cats,
            "care_level": m["care_level"] if m["tekun"] else None,
        }
        if m["single_dibao"] is True:
            entry["single_person_dibao"] = True
        out_members.append(entry)
        if explain:
            for c in MEMBER_CRITERIA:
                if c.applies(m):
                    criteria.append(
                        {
                            "rule": c.rule,
                            "label": c.label,
                            "member": m["id_number"],
                            "outcome": outcome(m[c.column]),
                            "values": {"id_number": m["id_number"], **c.values(m)},
                            "reference": c.reference,
                        }
                    )
    per_capita = hh["per_capita_fen"]
    return {
        "id": hh["household_id"],
        "tier": hh["tier"],
        "household_categories": categories,
        "members": out_members,
        "members_counted": int(hh["n_counted"]),
        "per_capita_income": yuan(per_capita) if per_capita is not None else None,
        "monthly_benefit": int(hh["monthly_benefit_yuan"])
        if hh["monthly_benefit_yuan"] is not None
        else None,
        "policy_version": version,
        "criteria": criteria,
    }


def evaluate(
    households: pa.Table,
    members: pa.Table,
    ids: list[str],
    *,
    tree: ParameterTree,
    as_of: dt.date,
    explain: bool = True,
    engine: str = "python",
) -> list[dict[str, Any]]:
    """Classify the given households; results in the order of ``ids``."""
    params = params_table(tree, as_of, counties_of(households))
    hh_rows, mem_rows = run_tables(households, members, params, engine=engine)
    by_hh: dict[str, list[dict[str, Any]]] = {}
    for m in mem_rows:
        by_hh.setdefault(m["household_id"], []).append(m)
    hh_by_id = {h["household_id"]: h for h in hh_rows}
    version = tree.version(as_of)
    return [assemble(hh_by_id[i], by_hh.get(i, []), version, explain=explain) for i in ids]
