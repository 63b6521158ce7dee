"""The rule engine's input: three tables, whatever the source (the window, the sweep, a file).

``p_households`` one row per household, ``p_members`` one row per member, ``p_params`` one row per
county with the parameter values in force on the as-of date. Money in integer fen, ratios in
basis points (1.5 -> 15000), dates as integers ``YYYYMMDD``. NULL means unknown.

``households_from_json`` turns the ``assess`` contract's household descriptions into the first
two tables, with errors that name the household and the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from doudi.policy.engine.parameters import ParameterTree

RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other")
STATUSES = ("present", "prison", "drug_rehab", "missing", "clergy_apart", "dead")
DISABILITY = ("visual", "hearing", "speech", "physical", "intellectual", "mental", "multiple")
INCOME_TYPES = (
    "wage",
    "business",
    "property",
    "transfer",
    "pension",
    "basic_pension",
    "support",
    "excluded",
)
#: parent statuses and conditions that leave a child without care (DOMAIN.md §3)
PARENT_INCAPABLE_STATUSES = ("dead", "missing", "prison", "drug_rehab")

HOUSEHOLD_SCHEMA = pa.schema(
    [
        ("household_id", pa.string()),
        ("county_code", pa.string()),
        ("residence", pa.string()),
        ("fin_fen", pa.int64()),
        ("vehicles", pa.int32()),
        ("dwellings", pa.int32()),
        ("business", pa.bool_()),
        ("rigid_medical_fen", pa.int64()),
        ("rigid_education_fen", pa.int64()),
        ("rigid_rehab_fen", pa.int64()),
        ("relapse_listed", pa.bool_()),
        ("sudden_ymd", pa.int32()),
        ("receiving_dibao_fen", pa.int64()),
        ("exit_start_ymd", pa.int32()),
    ]
)
MEMBER_SCHEMA = pa.schema(
    [
        ("household_id", pa.string()),
        ("member_idx", pa.int32()),
        ("id_number", pa.string()),
        ("relation", pa.string()),
        ("birth_ymd", pa.int32()),
        ("dis_cat", pa.string()),
        ("dis_grade", pa.int32()),
        ("self_care_failed", pa.int32()),
        ("status", pa.string()),
        ("seriously_ill", pa.bool_()),
        ("income_known", pa.bool_()),
        *[(f"inc_{t}", pa.int64()) for t in INCOME_TYPES],
        ("inc_declared", pa.int64()),
        ("parents_n", pa.int32()),
        ("parents_dead_n", pa.int32()),
        ("parents_incapable_n", pa.int32()),
        ("obligors_n", pa.int32()),
        ("obligors_able_n", pa.int32()),
    ]
)

#: parameter -> (column of p_params, how it is stored)
PARAM_COLUMNS: dict[str, tuple[str, str]] = {
    "dibao.standard.urban": ("dibao_std_urban", "fen"),
    "dibao.standard.rural": ("dibao_std_rural", "fen"),
    "tekun.standard.urban": ("tekun_std_urban", "fen"),
    "tekun.standard.rural": ("tekun_std_rural", "fen"),
    "tekun.care_fee.full": ("care_full", "fen"),
    "tekun.care_fee.partial": ("care_partial", "fen"),
    "tekun.care_fee.self": ("care_self", "fen"),
    "near_dibao.income_multiplier": ("near_mult_bp", "bp"),
    "assets.financial_months": ("fin_months", "int"),
    "assets.max_vehicles": ("max_vehicles", "int"),
    "assets.max_dwellings": ("max_dwellings", "int"),
    "rigid_expense.income_ceiling_annual": ("rigid_ceiling_annual", "fen"),
    "rigid_expense.expense_share": ("rigid_share_bp", "bp"),
    "dibao.gradual_exit_months": ("exit_months", "int"),
    "supplement.elderly": ("sup_elderly", "fen"),
    "supplement.severe_disability": ("sup_severe", "fen"),
    "supplement.child": ("sup_child", "fen"),
    "supplement.seriously_ill": ("sup_ill", "fen"),
    "tekun.elderly_age": ("elderly_age", "int"),
    "tekun.minor_age": ("minor_age", "int"),
    "other_difficulty.window_months": ("other_window_months", "int"),
}


class InputError(ValueError):
    """Bad household input; the message names the household and the field (Chinese / English)."""


def ymd(d: dt.date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def to_fen(value: Decimal) -> int:
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def stored(value: Decimal | None, how: str) -> int | None:
    """A parameter value as the batch engines store it: ``fen`` (money), ``bp`` (ratio, basis
    points) or a plain integer; None stays None."""
    if value is None:
        return None
    if how == "fen":
        return to_fen(value)
    if how == "bp":
        return int((value * 10000).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return int(value)


def params_table(tree: ParameterTree, as_of: dt.date, counties: Iterable[str]) -> pa.Table:
    """One row per county: the values in force on ``as_of`` (NULL where none is)."""
    missing = set(PARAM_COLUMNS) - set(tree.names())
    if missing:
        raise InputError(f"缺少参数文件 {sorted(missing)} / missing parameter files")
    rows: dict[str, list[Any]] = {"county_code": [], "as_of_ymd": []}
    for _, (col, _) in PARAM_COLUMNS.items():
        rows[col] = []
    for county in sorted(set(counties)):
        rows["county_code"].append(county)
        rows["as_of_ymd"].append(ymd(as_of))
        for name, (col, how) in PARAM_COLUMNS.items():
            rows[col].append(stored(tree.value(name, as_of, county), how))
    schema = pa.schema(
        [("county_code", pa.string()), ("as_of_ymd", pa.int32())]
        + [(col, pa.int64()) for col, _ in PARAM_COLUMNS.values()]
    )
    return pa.table(rows, schema=schema)


# ---------------------------------------------------------------- the assess contract's input


@dataclass
class _Ctx:
    hid: str

    def fail(self, field: str, zh: str, en: str) -> InputError:
        return InputError(
            f"家庭 {self.hid}：字段 {field} {zh} / household {self.hid}: {field} {en}"
        )


def _money(ctx: _Ctx, field: str, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ctx.fail(field, "应为金额（元）", "must be an amount in yuan")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ctx.fail(field, "应为金额（元）", "must be an amount in yuan") from None
    if not value.is_finite() or value < 0:
        raise ctx.fail(field, "应为非负金额", "must be a non-negative amount")
    return to_fen(value)


def _count(ctx: _Ctx, field: str, raw: Any, hi: int = 1000) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0 or raw > hi:
        raise ctx.fail(field, f"应为0到{hi}的整数", f"must be a whole number 0-{hi}")
    return raw


def _date(ctx: _Ctx, field: str, raw: Any) -> dt.date:
    if not isinstance(raw, str):
        raise ctx.fail(field, "应为日期 YYYY-MM-DD", "must be a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ctx.fail(field, f"日期无效：{raw}", f"is not a valid date: {raw}") from None


def _disability(ctx: _Ctx, field: str, raw: Any) -> tuple[str | None, int | None]:
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        raise ctx.fail(field, "应为 {category, grade} 或 null", "must be {category, grade} or null")
    cat = raw.get("category")
    if cat not in DISABILITY:
        raise ctx.fail(f"{field}.category", f"应为 {'/'.join(DISABILITY)}", "is not a category")
    grade = raw.get("grade")
    if isinstance(grade, bool) or grade not in (1, 2, 3, 4):
        raise ctx.fail(f"{field}.grade", "应为1–4", "must be 1-4")
    return cat, grade


def _birth_from_id(id_number: str) -> dt.date | None:
    from doudi.core.idcard import validate

    result = validate(id_number)
    return result.birth_date if result.valid else None


def _member(ctx: _Ctx, hid: str, idx: int, raw: Any, rows: dict[str, list[Any]]) -> None:
    f = f"members[{idx}]"
    if not isinstance(raw, dict):
        raise ctx.fail(f, "应为对象", "must be an object")
    id_number = raw.get("id_number")
    if not isinstance(id_number, str) or not id_number.strip():
        raise ctx.fail(f"{f}.id_number", "缺失", "is missing")
    if not isinstance(raw.get("name"), str):
        raise ctx.fail(f"{f}.name", "缺失", "is missing")
    relation = raw.get("relation")
    if relation not in RELATIONS:
        raise ctx.fail(f"{f}.relation", f"应为 {'/'.join(RELATIONS)}", "is not a relation")
    if raw.get("birth_date") is not None:
        birth: dt.date | None = _date(ctx, f"{f}.birth_date", raw["birth_date"])
    else:
        birth = _birth_from_id(id_number.strip())
    cat, grade = _disability(ctx, f"{f}.disability", raw.get("disability"))
    scf = raw.get("self_care_failed_activities")
    if scf is not None:
        scf = _count(ctx, f"{f}.self_care_failed_activities", scf, 6)
    status = raw.get("status", "present")
    if status not in STATUSES:
        raise ctx.fail(f"{f}.status", f"应为 {'/'.join(STATUSES)}", "is not a status")
    ill = raw.get("seriously_ill")
    if ill is not None and not isinstance(ill, bool):
        raise ctx.fail(f"{f}.seriously_ill", "应为 true/false", "must be true or false")
    income = raw.get("monthly_income")
    inc: dict[str, int | None] = {t: None for t in INCOME_TYPES}
    if income is not None:
        if not isinstance(income, dict):
            raise ctx.fail(f"{f}.monthly_income", "应为对象", "must be an object")
        unknown = set(income) - set(INCOME_TYPES)
        if unknown:
            raise ctx.fail(
                f"{f}.monthly_income.{sorted(unknown)[0]}",
                f"不是收入类型（{'/'.join(INCOME_TYPES)}）",
                "is not an income type",
            )
        for t in INCOME_TYPES:
            inc[t] = _money(ctx, f"{f}.monthly_income.{t}", income.get(t, 0))
    parents = raw.get("parents")
    p_n = p_dead = p_inc = None
    if parents is not None:
        if not isinstance(parents, list):
            raise ctx.fail(f"{f}.parents", "应为列表", "must be a list")
        p_n, p_dead, p_inc = len(parents), 0, 0
        for j, par in enumerate(parents):
            pf = f"{f}.parents[{j}]"
            if not isinstance(par, dict):
                raise ctx.fail(pf, "应为对象", "must be an object")
            pst = par.get("status", "present")
            if pst not in STATUSES:
                raise ctx.fail(f"{pf}.status", f"应为 {'/'.join(STATUSES)}", "is not a status")
            pcat, pgrade = _disability(ctx, f"{pf}.disability", par.get("disability"))
            pill = par.get("seriously_ill", False)
            if not isinstance(pill, bool):
                raise ctx.fail(f"{pf}.seriously_ill", "应为 true/false", "must be true or false")
            severe = pgrade in (1, 2) or (pcat in ("mental", "intellectual") and pgrade in (3, 4))
            p_dead += pst == "dead"
            p_inc += pst in PARENT_INCAPABLE_STATUSES or severe or pill
    obligors = raw.get("support_obligors")
    o_n = o_able = None
    if obligors is not None:
        if not isinstance(obligors, list):
            raise ctx.fail(f"{f}.support_obligors", "应为列表", "must be a list")
        o_n, o_able = len(obligors), 0
        for j, ob in enumerate(obligors):
            if not isinstance(ob, dict) or not isinstance(ob.get("able"), bool):
                raise ctx.fail(
                    f"{f}.support_obligors[{j}].able", "应为 true/false", "must be true or false"
                )
            o_able += ob["able"]
    values = {
        "household_id": hid,
        "member_idx": idx,
        "id_number": id_number.strip(),
        "relation": relation,
        "birth_ymd": ymd(birth) if birth else None,
        "dis_cat": cat,
        "dis_grade": grade,
        "self_care_failed": scf,
        "status": status,
        "seriously_ill": ill,
        "income_known": income is not None,
        **{f"inc_{t}": inc[t] for t in INCOME_TYPES},
        "inc_declared": 0 if income is not None else None,
        "parents_n": p_n,
        "parents_dead_n": p_dead,
        "parents_incapable_n": p_inc,
        "obligors_n": o_n,
        "obligors_able_n": o_able,
    }
    for k, v in values.items():
        rows[k].append(v)


def households_from_json(households: Any) -> tuple[pa.Table, pa.Table, list[str]]:
    """Validate the contract's ``households`` list; return (households, members, ids in order).

    Raises InputError at the first problem, naming the household id (or position) and the field.
    """
    if not isinstance(households, list):
        raise InputError('输入应为 {"households": [...]} / input must be {"households": [...]}')
    hrows: dict[str, list[Any]] = {n: [] for n in HOUSEHOLD_SCHEMA.names}
    mrows: dict[str, list[Any]] = {n: [] for n in MEMBER_SCHEMA.names}
    ids: list[str] = []
    seen: set[str] = set()
    for pos, h in enumerate(households):
        if not isinstance(h, dict):
            raise InputError(f"第 {pos + 1} 户应为对象 / household {pos + 1} must be an object")
        hid = h.get("id")
        ctx = _Ctx(hid if isinstance(hid, str) and hid else f"#{pos + 1}")
        if not isinstance(hid, str) or not hid:
            raise ctx.fail("id", "缺失或不是字符串", "is missing or not a string")
        if hid in seen:
            raise ctx.fail("id", "重复", "is duplicated")
        seen.add(hid)
        region = h.get("region_code")
        if not isinstance(region, str) or len(region) not in (6, 9) or not region.isdigit():
            raise ctx.fail("region_code", "应为6位或9位区划代码", "must be a 6- or 9-digit code")
        residence = h.get("residence")
        if residence not in ("urban", "rural"):
            raise ctx.fail("residence", "应为 urban 或 rural", "must be urban or rural")
        members = h.get("members")
        if not isinstance(members, list) or not members:
            raise ctx.fail("members", "应为非空列表", "must be a non-empty list")
        assets = h.get("assets")
        fin = veh = dw = None
        bus: bool | None = None
        if assets is not None:
            if not isinstance(assets, dict):
                raise ctx.fail("assets", "应为对象", "must be an object")
            if "financial" in assets:
                fin = _money(ctx, "assets.financial", assets["financial"])
            if "vehicles" in assets:
                veh = _count(ctx, "assets.vehicles", assets["vehicles"])
            if "dwellings" in assets:
                dw = _count(ctx, "assets.dwellings", assets["dwellings"])
            if "business_registered" in assets:
                if not isinstance(assets["business_registered"], bool):
                    raise ctx.fail(
                        "assets.business_registered", "应为 true/false", "must be true or false"
                    )
                bus = assets["business_registered"]
        rigid = h.get("rigid_expenses_12m")
        rig: dict[str, int | None] = {"medical": None, "education": None, "rehabilitation": None}
        if rigid is not None:
            if not isinstance(rigid, dict):
                raise ctx.fail("rigid_expenses_12m", "应为对象", "must be an object")
            for k in rig:
                rig[k] = _money(ctx, f"rigid_expenses_12m.{k}", rigid.get(k, 0))
        relapse = h.get("relapse_watch_listed")
        if relapse is not None and not isinstance(relapse, bool):
            raise ctx.fail("relapse_watch_listed", "应为 true/false", "must be true or false")
        sudden = h.get("sudden_hardship_date")
        sudden_d = _date(ctx, "sudden_hardship_date", sudden) if sudden is not None else None
        receiving = h.get("receiving_dibao")
        rec_fen = exit_ymd = None
        if receiving is not None:
            if not isinstance(receiving, dict) or "monthly" not in receiving:
                raise ctx.fail(
                    "receiving_dibao", "应为 {monthly, exit_start}", "must be {monthly, exit_start}"
                )
            rec_fen = _money(ctx, "receiving_dibao.monthly", receiving["monthly"])
            if receiving.get("exit_start") is not None:
                exit_ymd = ymd(_date(ctx, "receiving_dibao.exit_start", receiving["exit_start"]))
        for k, v in {
            "household_id": hid,
            "county_code": region[:6],
            "residence": residence,
            "fin_fen": fin,
            "vehicles": veh,
            "dwellings": dw,
            "business": bus,
            "rigid_medical_fen": rig["medical"],
            "rigid_education_fen": rig["education"],
            "rigid_rehab_fen": rig["rehabilitation"],
            "relapse_listed": relapse,
            "sudden_ymd": ymd(sudden_d) if sudden_d else None,
            "receiving_dibao_fen": rec_fen,
            "exit_start_ymd": exit_ymd,
        }.items():
            hrows[k].append(v)
        for idx, m in enumerate(members):
            _member(ctx, hid, idx, m, mrows)
        ids.append(hid)
    return (
        pa.table(hrows, schema=HOUSEHOLD_SCHEMA),
        pa.table(mrows, schema=MEMBER_SCHEMA),
        ids,
    )


def empty_households() -> tuple[pa.Table, pa.Table]:
    return HOUSEHOLD_SCHEMA.empty_table(), MEMBER_SCHEMA.empty_table()


def counties_of(households: pa.Table) -> Sequence[str]:
    return sorted(set(households.column("county_code").to_pylist()))
