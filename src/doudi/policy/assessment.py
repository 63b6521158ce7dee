"""One household's classification from the registry and the pool, explained for the pages.

The same inputs as the sweep (``engine.sweep.build_inputs`` limited to the household) run through
the in-process engine with explanations. ``why_not`` turns the failed criteria of the next
category up into sentences such as "why not 低保: per-capita 1,120 > standard 1,069".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from doudi.policy.engine.core import CARE_LABELS, CATEGORY_LABELS, TIER_LABELS, evaluate
from doudi.policy.engine.parameters import ParameterTree
from doudi.policy.engine.schema import HOUSEHOLD_SCHEMA, MEMBER_SCHEMA

#: the order in which a household moves up (the "next category up" for "why not")
LADDER = ("rigid_expense", "near_dibao", "dibao")

#: criterion rule -> the sentence that explains a "no" (Chinese, values filled in)
_WHY = {
    "dibao.income_below_standard": "家庭月人均收入 {per_capita_income} 元，不低于低保标准 {standard} 元",
    "near_dibao.income_below_multiple": "家庭月人均收入 {per_capita_income} 元，不低于低保边缘标准"
    " {threshold} 元（低保标准的 {multiplier} 倍）",
    "assets.financial": "金融资产 {financial} 元，超过上限 {limit} 元（{months_of_standard} 个月标准 ×"
    " {members_counted} 人）",
    "assets.vehicles": "拥有非豁免机动车 {vehicles} 辆",
    "assets.dwellings": "拥有住房 {dwellings} 套，超过 {max} 套",
    "assets.business": "家庭成员登记有经营主体",
    "rigid_expense.income_below_ceiling": "家庭年人均收入 {annual_per_capita_income} 元，不低于上年度"
    "人均可支配收入 {ceiling} 元",
    "rigid_expense.expense_share": "近12个月刚性支出 {rigid_expenses_12m} 元，未超过家庭年收入"
    " {annual_income} 元的 {share}",
    "tekun.no_labour_capacity": "{age} 周岁，且无导致丧失劳动能力的残疾",
    "tekun.no_livelihood": "本人月收入 {own_income} 元，不低于低保标准 {standard} 元，或家庭财产超过规定",
    "tekun.no_able_obligor": "有履行能力的赡养、抚养、扶养义务人",
}
_UNKNOWN = {
    "dibao.income_below_standard": "有家庭成员收入未申报、数据池也无收入记录，或该日无在用低保标准",
    "tekun.no_able_obligor": "家庭外赡养、抚养义务人情况未登记，需入户核实",
    "relapse_watch": "未取得农业农村部门的监测名单",
}


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return "—" if v is None else str(v)


def sentence(c: dict[str, Any]) -> str:
    if c["outcome"] == "unknown":
        return _UNKNOWN.get(c["rule"], _("数据不全，无法判断"))
    template = _WHY.get(c["rule"])
    if not template:
        return c["label"]
    values = {k: _fmt(v) for k, v in c["values"].items()}
    if "share" in c["values"] and c["values"]["share"] is not None:
        values["share"] = f"{c['values']['share']:.0%}"
    try:
        return template.format(**values)
    except (KeyError, IndexError):
        return c["label"]


@dataclass
class Assessment:
    as_of: dt.date
    result: dict[str, Any] | None
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # person_id -> facts
    why_not: list[dict[str, Any]] = field(default_factory=list)

    @property
    def categories(self) -> list[str]:
        return [CATEGORY_LABELS[c] for c in (self.result or {}).get("household_categories", [])]

    @property
    def tier_label(self) -> str:
        tier = (self.result or {}).get("tier")
        return TIER_LABELS.get(tier, "") if tier else ""


def why_not(result: dict[str, Any]) -> list[dict[str, Any]]:
    """For the next category up (and 特困 for members who might be), the criteria not met."""
    cats = set(result["household_categories"])
    reached = max((LADDER.index(c) for c in cats if c in LADDER), default=-1)
    out = []
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for c in result["criteria"]:
        by_rule.setdefault(c["rule"], []).append(c)
    for cat in LADDER[reached + 1 :]:
        prefix = {"dibao": ("dibao.", "assets."), "near_dibao": ("near_dibao.", "assets.")}.get(
            cat, (f"{cat}.",)
        )
        failed = [
            c
            for rule, cs in by_rule.items()
            if rule.startswith(prefix)
            for c in cs
            if c["outcome"] != "yes" and rule != cat and "member" not in c
        ]
        if failed:
            out.append(
                {
                    "category": cat,
                    "label": CATEGORY_LABELS[cat],
                    "reasons": [{"outcome": c["outcome"], "text": sentence(c)} for c in failed],
                }
            )
    return out


def household_assessment(
    *, household_id: int, as_of: dt.date, tree: ParameterTree | None = None
) -> Assessment:
    """Classify one household as of ``as_of`` from the registry and the pool, with reasons."""
    import pyarrow as pa

    from doudi.policy import selectors
    from doudi.policy.engine import sweep
    from doudi.policy.services import _pool_with_declarations

    tree = tree or selectors.parameter_tree()
    con = _pool_with_declarations(as_of)
    try:
        sweep.build_inputs(con, as_of, household_ids=[household_id])
        hh = con.sql("SELECT * FROM p_households").to_arrow_table().cast(HOUSEHOLD_SCHEMA)
        mem = (
            con.sql("SELECT * FROM p_members ORDER BY member_idx")
            .to_arrow_table()
            .cast(MEMBER_SCHEMA)
        )
    finally:
        con.close()
    if hh.num_rows == 0:
        return Assessment(as_of=as_of, result=None)
    members = {r["id_number"]: r for r in mem.to_pylist()}
    (result,) = evaluate(
        hh, mem, [str(household_id)], tree=tree, as_of=as_of, explain=True, engine="python"
    )
    del pa
    a = Assessment(as_of=as_of, result=result, members=members)
    a.why_not = why_not(result)
    return a


def labels() -> dict[str, Any]:
    return {"categories": CATEGORY_LABELS, "care": CARE_LABELS, "tiers": TIER_LABELS}
