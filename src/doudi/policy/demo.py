"""Demo seeding for the policy app: income declarations, reviewed parameter changes, a year of
quarterly sweeps (so households have a category timeline) and one what-if run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

DEMO_REFERENCE = "演示数据（非真实政策文件）"


def _quarter_ends(today: dt.date) -> list[dt.date]:
    """The quarter ends of the last twelve months, then today."""
    out = []
    for months_back in range(12, 0, -1):
        y, m = today.year, today.month - months_back
        while m <= 0:
            y, m = y - 1, m + 12
        if m in (3, 6, 9, 12):
            nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
            out.append(nxt - dt.timedelta(days=1))
    return [*out, today]


def seed_declarations(city_dir: Path, *, declared_on: dt.date) -> int:
    """Each registry person's declared monthly income: the synthetic city's generated income
    (what the household reported at its last application or review)."""
    import duckdb

    from doudi.core import crypto
    from doudi.policy.models import IncomeDeclaration
    from doudi.registry.models import Person

    if IncomeDeclaration.objects.exists():
        return 0
    con = duckdb.connect()
    rows = con.execute(f"""
        SELECT {crypto.blind_index_sql("id_number")} AS idx, monthly_income_yuan
        FROM read_parquet('{city_dir / "persons.parquet"}')
    """).fetchall()
    income = dict(rows)
    objs = []
    for pk, idx in Person.objects.values_list("id", "id_index").iterator(chunk_size=50_000):
        if idx in income:
            objs.append(
                IncomeDeclaration(
                    person_id=pk,
                    monthly_income=Decimal(int(income[idx])),
                    declared_on=declared_on,
                    source="demo",
                )
            )
    IncomeDeclaration.objects.bulk_create(objs, batch_size=5000)
    return len(objs)


def seed_parameter_changes(today: dt.date) -> int:
    """One approved change (a supplement for severely disabled members of 低保 households from
    the start of the latest half-year) and one proposal waiting for review, both labelled as demo
    data: they are not real Yantai policy."""
    from doudi.core.models import User
    from doudi.policy import services
    from doudi.policy.models import ParameterChange

    if ParameterChange.objects.exists():
        return 0
    analyst = User.objects.get(username="analyst")
    admin = User.objects.get(username="admin")
    half = dt.date(today.year, 7 if today.month > 6 else 1, 1)
    approved = services.parameter_change_propose(
        actor=analyst,
        name="supplement.severe_disability",
        scope="city",
        effective_from=half,
        value=Decimal("50"),
        reference=DEMO_REFERENCE,
        reason="演示：低保家庭中重度残疾人每人每月加发50元（分类施保）",
    )
    services.parameter_change_decide(
        actor=admin, change=approved, approve=True, note="演示：同意，自生效日起执行"
    )
    services.parameter_change_propose(
        actor=analyst,
        name="rigid_expense.income_ceiling_annual",
        scope="city",
        effective_from=dt.date(today.year + 1, 1, 1),
        value=Decimal("47000"),
        reference=DEMO_REFERENCE,
        reason="演示：按上年度人均可支配收入更新（待统计公报发布后核实）",
    )
    return 2


def seed(*, city_dir: Path, today: dt.date, progress: Callable[[str], None]) -> dict[str, Any]:
    from doudi.policy.models import SweepRun
    from doudi.policy.services import sweep_run

    out: dict[str, Any] = {}
    out["declarations"] = seed_declarations(city_dir, declared_on=today - dt.timedelta(days=400))
    out["parameter_changes"] = seed_parameter_changes(today)
    if not SweepRun.objects.filter(kind=SweepRun.Kind.SWEEP, status="done").exists():
        sweeps = []
        for as_of in _quarter_ends(today):
            progress(f"全市认定 / sweep as of {as_of}")
            run = sweep_run(actor=None, as_of=as_of)
            sweeps.append(
                {
                    "as_of": as_of.isoformat(),
                    "households": run.summary["households"],
                    "changes": run.summary["timeline_changes"],
                    "seconds": run.summary["seconds"],
                }
            )
        out["sweeps"] = sweeps
    if not SweepRun.objects.filter(kind=SweepRun.Kind.SIMULATE).exists():
        from doudi.core.models import User
        from doudi.policy.whatif import simulate

        progress("政策模拟 / a what-if run")
        sets = {"dibao.standard.rural": "915.60", "near_dibao.income_multiplier": "2.0"}
        result = simulate(as_of=today, sets=sets)
        SweepRun.objects.create(
            kind=SweepRun.Kind.SIMULATE,
            status=SweepRun.Status.DONE,
            as_of=today,
            sets=sets,
            summary=result,
            policy_version=result["new_version"],
            started_by=User.objects.get(username="analyst"),
        )
        out["whatif_delta_annual"] = result["totals"]["delta_annual"]
    return out
