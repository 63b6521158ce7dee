"""What-if: the same households under the current policy and under changed parameters.

``simulate(as_of=, sets=)`` builds the sweep's inputs once, runs the rules under the policy in
force and under the policy with the ``--set`` changes, and compares household by household:
households and persons gained and lost per category and per county, and the monthly and annual
cost change. ``workbook(result)`` is the same as an .xlsx for the budget office.
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Mapping
from typing import Any

import duckdb

from doudi.policy.engine.core import CATEGORY_LABELS
from doudi.policy.engine.parameters import ParameterTree
from doudi.policy.engine.sweep import HOUSEHOLD_FLAGS, MEMBER_FLAGS, run_rules

PERSON_KEYS = {c: ("single_person_dibao" if c == "single_dibao" else c) for c in MEMBER_FLAGS}


def _snapshot(con: duckdb.DuckDBPyConnection, suffix: str) -> None:
    hflags = ", ".join(f"coalesce({c}, FALSE) AS {c}" for c in HOUSEHOLD_FLAGS)
    mflags = ", ".join(f"coalesce({c}, FALSE) AS {c}" for c in MEMBER_FLAGS)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE wi_h_{suffix} AS SELECT household_id, county_code, "
        f"{hflags}, tier, monthly_benefit_yuan AS benefit FROM pr"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE wi_m_{suffix} AS SELECT m.household_id, m.member_idx, "
        f"h.county_code, {mflags} FROM pmc m JOIN pr h USING (household_id)"
    )


def compare(
    con: duckdb.DuckDBPyConnection,
    *,
    base: ParameterTree,
    changed: ParameterTree,
    as_of: dt.date,
) -> dict[str, Any]:
    """With ``p_households``/``p_members`` on ``con``, run both policies and compare."""
    run_rules(con, tree=base, as_of=as_of)
    _snapshot(con, "a")
    run_rules(con, tree=changed, as_of=as_of)
    _snapshot(con, "b")
    by_county: dict[str, dict[str, Any]] = {}
    categories: dict[str, dict[str, int]] = {}
    for c in HOUSEHOLD_FLAGS:
        rows = con.execute(f"""
            SELECT a.county_code,
                   count(*) FILTER (a.{c}), count(*) FILTER (b.{c}),
                   count(*) FILTER (b.{c} AND NOT a.{c}), count(*) FILTER (a.{c} AND NOT b.{c})
            FROM wi_h_a a JOIN wi_h_b b USING (household_id) GROUP BY 1
        """).fetchall()
        _collect(rows, c, "households", categories, by_county)
    for c, key in PERSON_KEYS.items():
        rows = con.execute(f"""
            SELECT a.county_code,
                   count(*) FILTER (a.{c}), count(*) FILTER (b.{c}),
                   count(*) FILTER (b.{c} AND NOT a.{c}), count(*) FILTER (a.{c} AND NOT b.{c})
            FROM wi_m_a a JOIN wi_m_b b USING (household_id, member_idx) GROUP BY 1
        """).fetchall()
        _collect(rows, key, "persons", categories, by_county)
    money = con.execute("""
        SELECT a.county_code, count(*), sum(a.benefit), sum(b.benefit),
               count(*) FILTER (a.tier IS NOT NULL), count(*) FILTER (b.tier IS NOT NULL),
               count(*) FILTER (b.benefit > a.benefit), count(*) FILTER (b.benefit < a.benefit)
        FROM wi_h_a a JOIN wi_h_b b USING (household_id) GROUP BY 1 ORDER BY 1
    """).fetchall()
    totals = {
        "households": 0,
        "base_monthly": 0,
        "new_monthly": 0,
        "assisted_base": 0,
        "assisted_new": 0,
        "paid_more": 0,
        "paid_less": 0,
    }
    for county, n, a, b, ta, tb, more, less in money:
        d = by_county.setdefault(county, {"county_code": county, "gained": {}, "lost": {}})
        d.update(
            {
                "households": n,
                "base_monthly": int(a or 0),
                "new_monthly": int(b or 0),
                "delta_monthly": int((b or 0) - (a or 0)),
                "delta_annual": int(((b or 0) - (a or 0)) * 12),
                "assisted_base": ta,
                "assisted_new": tb,
            }
        )
        totals["households"] += n
        totals["base_monthly"] += int(a or 0)
        totals["new_monthly"] += int(b or 0)
        totals["assisted_base"] += ta
        totals["assisted_new"] += tb
        totals["paid_more"] += more
        totals["paid_less"] += less
    totals["delta_monthly"] = totals["new_monthly"] - totals["base_monthly"]
    totals["delta_annual"] = totals["delta_monthly"] * 12
    return {
        "as_of": as_of.isoformat(),
        "base_version": base.version(as_of),
        "new_version": changed.version(as_of),
        "categories": categories,
        "by_county": sorted(by_county.values(), key=lambda d: d["county_code"]),
        "totals": totals,
    }


def _collect(
    rows: list[tuple[Any, ...]],
    key: str,
    unit: str,
    categories: dict[str, dict[str, Any]],
    by_county: dict[str, dict[str, Any]],
) -> None:
    cat = categories.setdefault(
        key,
        {"unit": unit, "label": CATEGORY_LABELS[key], "base": 0, "new": 0, "gained": 0, "lost": 0},
    )
    for county, a, b, gained, lost in rows:
        cat["base"] += a
        cat["new"] += b
        cat["gained"] += gained
        cat["lost"] += lost
        d = by_county.setdefault(county, {"county_code": county, "gained": {}, "lost": {}})
        d["gained"][key] = gained
        d["lost"][key] = lost


def simulate(*, as_of: dt.date, sets: Mapping[str, str]) -> dict[str, Any]:
    """Compare the policy in force with the policy changed by ``sets`` on the registry's
    households as of ``as_of`` (Django side: reads the pool and the approved parameters)."""
    from doudi.core.models import Region
    from doudi.policy import selectors
    from doudi.policy.engine.sweep import build_inputs
    from doudi.policy.services import _pool_with_declarations

    t0 = time.perf_counter()
    base = selectors.parameter_tree()
    changed = base.with_overrides(sets)
    con = _pool_with_declarations(as_of, mirror=True)
    try:
        build_inputs(con, as_of)
        result = compare(con, base=base, changed=changed, as_of=as_of)
    finally:
        con.close()
    names = dict(Region.objects.filter(level="county").values_list("code", "name"))
    for d in result["by_county"]:
        d["county_name"] = names.get(d["county_code"], d["county_code"])
    result["sets"] = dict(sets)
    result["parameters"] = [
        {
            "name": n,
            "label": base.get(n).label,
            "unit": base.get(n).unit,
            "current": None if base.value(n, as_of) is None else str(base.value(n, as_of)),
            "new": str(changed.value(n, as_of)),
        }
        for n in sets
    ]
    result["seconds"] = round(time.perf_counter() - t0, 2)
    return result


def workbook(result: dict[str, Any]) -> bytes:
    """The simulation as an .xlsx: summary, categories, counties, parameters."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    head = wb.add_format({"bold": True, "bg_color": "#EEF1F5", "border": 1})
    money = wb.add_format({"num_format": "#,##0"})
    ws = wb.add_worksheet("汇总")
    ws.write_row(0, 0, ["项目", "现行政策", "调整后", "变化"], head)
    t = result["totals"]
    rows = [
        ("救助家庭数（有层级）", t["assisted_base"], t["assisted_new"]),
        ("月度支出（元）", t["base_monthly"], t["new_monthly"]),
        ("年度支出（元）", t["base_monthly"] * 12, t["new_monthly"] * 12),
    ]
    for i, (label, a, b) in enumerate(rows, start=1):
        ws.write(i, 0, label)
        ws.write_number(i, 1, a, money)
        ws.write_number(i, 2, b, money)
        ws.write_number(i, 3, b - a, money)
    ws.write(5, 0, f"基准日：{result['as_of']}；现行政策版本 {result['base_version']}")
    ws.write(6, 0, f"调整后版本 {result['new_version']}")
    ws.set_column(0, 0, 28)
    ws.set_column(1, 3, 16)
    ws2 = wb.add_worksheet("类别")
    ws2.write_row(0, 0, ["类别", "单位", "现行", "调整后", "新增", "减少"], head)
    for i, (_key, c) in enumerate(result["categories"].items(), start=1):
        unit = "户" if c["unit"] == "households" else "人"
        ws2.write_row(i, 0, [c["label"], unit, c["base"], c["new"], c["gained"], c["lost"]])
    ws2.set_column(0, 0, 24)
    ws3 = wb.add_worksheet("分区市")
    cats = list(result["categories"])
    header = ["区市代码", "区市", "家庭数", "现行月支出", "调整后月支出", "月变化", "年变化"]
    header += [f"新增{CATEGORY_LABELS[c]}" for c in cats] + [
        f"减少{CATEGORY_LABELS[c]}" for c in cats
    ]
    ws3.write_row(0, 0, header, head)
    for i, d in enumerate(result["by_county"], start=1):
        ws3.write_row(
            i,
            0,
            [
                d["county_code"],
                d.get("county_name", ""),
                d.get("households", 0),
                d.get("base_monthly", 0),
                d.get("new_monthly", 0),
                d.get("delta_monthly", 0),
                d.get("delta_annual", 0),
            ]
            + [d["gained"].get(c, 0) for c in cats]
            + [d["lost"].get(c, 0) for c in cats],
        )
    n = len(result["by_county"])
    ws3.write(n + 1, 1, "合计", head)
    for col in range(2, 7):
        letter = chr(ord("A") + col)
        ws3.write_formula(n + 1, col, f"=SUM({letter}2:{letter}{n + 1})")
    ws3.set_column(1, 1, 24)
    ws4 = wb.add_worksheet("参数")
    ws4.write_row(0, 0, ["参数", "名称", "单位", "现行值", "调整值"], head)
    for i, p in enumerate(result.get("parameters", []), start=1):
        ws4.write_row(i, 0, [p["name"], p["label"], p["unit"], p["current"] or "", p["new"]])
    ws4.set_column(0, 1, 30)
    wb.close()
    return buf.getvalue()
