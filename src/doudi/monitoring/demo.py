"""A year of monitoring for ``doudi demo``: monthly runs over the demo pool, and the towns'
handling of what they raised (assigned, visited, closed with realistic outcomes; some left open
and overdue so the county's view has something to chase), applications opened from data clues
(the proactive services), and today's run with the newest alerts waiting in the queues.

Every transition goes through the services (so it is audited); only the timestamps of the
historical steps are moved back to the day they stand for."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

#: what a town did with a risk alert of each rule (items applied for, share of each outcome)
RISK_ITEMS = {
    "inpatient_cost": ["temporary_expense"],
    "chronic_disease": ["medical_referral"],
    "new_disability": ["single_person_dibao"],
    "unemployed_only_earner": ["dibao"],
    "earner_death": ["temporary_emergency"],
    "child_guardian_loss": ["dibao"],
    "elderly_alone": ["near_dibao"],
    "disaster_low_income": ["temporary_emergency"],
    "entitlement_gap": ["dibao"],
}
REFERRALS = {
    "inpatient_cost": "转介医保部门办理医疗救助",
    "chronic_disease": "转介医保部门，纳入门诊慢特病保障",
    "new_disability": "转介区残联办理两项补贴",
    "unemployed_only_earner": "转介人社部门就业援助",
    "earner_death": "转介慈善总会临时帮扶",
    "child_guardian_loss": "转介未成年人保护工作站",
    "elderly_alone": "纳入特殊困难老年人探访关爱",
    "disaster_low_income": "转介应急部门灾后救助",
    "entitlement_gap": "转介村居协助申请",
}
NO_ACTION = {
    "risk": ["入户核实，家庭收入稳定，暂无需救助", "已有亲属赡养照料", "商业保险已报销大部分费用"],
    "reverse": [
        "核实为他人借用身份登记，已说明情况",
        "车辆为残疾人代步车，不影响待遇",
        "资产已用于治病，核实后仍符合条件",
    ],
}


def _staff(progress: Callable[[str], None]) -> dict[str, Any]:
    """A window clerk for every town with households (the demo's own clerks where they exist;
    the other towns get a clerk account that cannot log in)."""
    from doudi.core.models import Region, Role, User
    from doudi.registry.models import Household

    towns = set(
        Region.objects.filter(
            level="town",
            code__in=Household.objects.values_list("region__parent_id", flat=True).distinct(),
        ).values_list("code", flat=True)
    )
    out: dict[str, Any] = {}
    for u in User.objects.filter(role=Role.TOWN_CLERK, is_active=True, region_id__in=towns):
        out.setdefault(u.region_id, u)
    missing = sorted(towns - set(out))
    if missing:
        progress(f"为 {len(missing)} 个镇街建立受理员账号 / clerk accounts for the other towns")
    names = dict(Region.objects.filter(code__in=missing).values_list("code", "name"))
    for code in missing:
        user, created = User.objects.get_or_create(
            username=f"clerk-{code}",
            defaults={
                "full_name": f"{names.get(code, code)}受理员",
                "role": Role.TOWN_CLERK,
                "region_id": code,
            },
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        out[code] = user
    return out


def _months(today: dt.date) -> list[dt.date]:
    """The twelve months before ``today``'s month."""
    from doudi.benefits.months import add_months, month_of, month_range

    this = month_of(today)
    return month_range(add_months(this, -12), add_months(this, -1))


def _handle(alert, *, clerk, rng: random.Random, today: dt.date, stats: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.utils import timezone

    from doudi.benefits import selectors as benefit_selectors
    from doudi.monitoring import services
    from doudi.monitoring.models import Alert

    raised = alert.raised_on
    assign_on = raised + dt.timedelta(days=rng.randint(0, 2))
    visit_on = assign_on + dt.timedelta(days=rng.randint(1, 9))
    close_on = visit_on + dt.timedelta(days=rng.randint(0, 6))
    if close_on >= today:
        return
    services.alert_assign(actor=clerk, alert=alert, assignee=clerk)
    services.alert_visit_record(
        actor=clerk,
        alert=alert,
        visit_date=visit_on,
        visitors=f"{clerk.full_name or clerk.username}、村居网格员",
        findings="入户核实：" + alert.summary,
    )
    roll = rng.random()
    kwargs: dict[str, Any] = {}
    if alert.kind == "reverse":
        benefits = benefit_selectors.household_benefits(
            household_id=alert.household_id, active_only=True
        )
        if benefits and (alert.rule == "recipient_death" or roll < 0.55):
            stop = alert.rule in ("recipient_death", "recipient_prison") or roll < 0.35
            outcome = "benefit_stopped" if stop else "benefit_adjusted"
            kwargs = {"benefit_ids": [benefits[0].pk], "note": alert.summary}
            if not stop:
                kwargs["new_amount"] = (benefits[0].monthly_amount * Decimal("0.6")).quantize(
                    Decimal("1")
                )
        else:
            outcome = "no_action"
            kwargs = {"note": rng.choice(NO_ACTION["reverse"])}
    elif roll < 0.14 and alert.household_id in stats.get("households", set()):
        outcome = "no_action"
        kwargs = {"note": "该家庭已有在办的救助申请，并入办理"}
    elif roll < 0.14:
        outcome = "application_opened"
        kwargs = {
            "items": RISK_ITEMS.get(alert.rule, ["temporary_expense"]),
            "note": "主动发现，帮助申请",
        }
    elif roll < 0.36:
        outcome = "referred"
        kwargs = {"note": REFERRALS.get(alert.rule, "转介相关部门")}
    else:
        outcome = "no_action"
        kwargs = {"note": rng.choice(NO_ACTION["risk"])}
    alert.refresh_from_db()
    try:
        closed = services.alert_close(
            actor=clerk, alert=alert, outcome=outcome, today=close_on, **kwargs
        )
        if closed.outcome_ref.startswith("case:"):
            stats.setdefault("opened", {})[int(closed.outcome_ref[5:])] = close_on
            stats.setdefault("households", set()).add(alert.household_id)
    except (ValidationError, PermissionDenied) as exc:
        stats.setdefault("errors", []).append(f"{alert.rule} {outcome}: {exc}"[:200])  # type: ignore[attr-defined]
        services.alert_close(
            actor=clerk,
            alert=alert,
            outcome="no_action",
            note=NO_ACTION["risk"][0],
            today=close_on,
        )
        outcome = "no_action"
    stats[outcome] = stats.get(outcome, 0) + 1

    def at(d: dt.date) -> dt.datetime:
        return timezone.make_aware(
            dt.datetime.combine(d, dt.time(9 + rng.randint(0, 7), rng.randint(0, 59)))
        )

    Alert.objects.filter(pk=alert.pk).update(assigned_at=at(assign_on), verified_at=at(visit_on))
    alert.visits.update(recorded_at=at(visit_on))


def seed(*, today: dt.date, progress: Callable[[str], None] = print) -> dict[str, Any]:
    from django.db import transaction

    from doudi.monitoring.models import Alert, MonitorRun
    from doudi.monitoring.services import monitor_run

    if MonitorRun.objects.exists():
        return {"skipped": True}
    t0 = time.perf_counter()
    rng = random.Random(20261129)
    staff = _staff(progress)
    stats: dict[str, Any] = {}
    raised = 0
    months = _months(today)
    for i, as_of in enumerate(months):
        progress(f"监测预警 {as_of:%Y-%m} / monitoring run")
        run = monitor_run(
            actor=None, as_of=as_of, since=as_of - dt.timedelta(days=31) if i == 0 else None
        )
        raised += run.summary.get("raised", 0)
        with transaction.atomic():  # one commit a month: the demo's disk is not the point
            for alert in Alert.objects.filter(run=run).order_by("id"):
                clerk = staff.get(alert.town_code)
                if clerk is None or rng.random() < 0.07:  # never handled: overdue, escalated
                    continue
                _handle(alert, clerk=clerk, rng=rng, today=today, stats=stats)
    opened = stats.pop("opened", {})
    stats.pop("households", None)
    if opened:
        from doudi.cases.demo import age_applications

        progress("由预警发起的救助申请 / applications opened from alerts")
        with transaction.atomic():
            age_applications(today=today, opened=opened)
    errors = stats.pop("errors", [])
    progress("今日监测 / today's run")
    run = monitor_run(actor=None, as_of=today)
    raised += run.summary.get("raised", 0)
    return {
        "runs": len(months) + 1,
        "raised": raised,
        "outcomes": stats,
        "applications_from_alerts": len(opened),
        "not_closed_as_planned": len(errors),
        "open": Alert.objects.exclude(status="closed").count(),
        "seconds": round(time.perf_counter() - t0, 1),
    }
