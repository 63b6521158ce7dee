"""Writes of the monitoring app: runs, and the alert lifecycle (see ``models`` for the diagram).

Every transition runs in a transaction and writes an audit row in it. A monitoring run writes
one audit row for the run (its counts); the alerts it raises point to the run (``Alert.run``),
so each alert's origin stays traceable without an audit row per machine-raised alert.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from doudi.core import access
from doudi.core.audit import audit_record
from doudi.core.models import Role, User
from doudi.monitoring import selectors
from doudi.monitoring.engine import run as engine
from doudi.monitoring.engine.catalog import Rule
from doudi.monitoring.models import Alert, AlertAttachment, AlertVisit, MonitorRun

CAN_RUN = frozenset({Role.CITY_ADMIN, Role.CITY_ANALYST})
CAN_ASSIGN = frozenset({Role.CITY_ADMIN, Role.COUNTY_APPROVER, Role.TOWN_CLERK})
CAN_HANDLE = frozenset(
    {Role.CITY_ADMIN, Role.COUNTY_APPROVER, Role.TOWN_CLERK, Role.VILLAGE_WORKER}
)
ASSIGNABLE = frozenset({Role.TOWN_CLERK, Role.VILLAGE_WORKER})
#: a first run with neither --since nor a previous run looks this many days back
FIRST_RUN_DAYS = 30


def can_run(user: User) -> bool:
    return bool(user.is_authenticated and user.role in CAN_RUN)


def _deadline(start: dt.date, days: int) -> tuple[dt.date, bool]:
    from doudi.core import workdays

    d = workdays.add_working_days(start, days)
    return d.date, d.estimated


# ------------------------------------------------------------------ runs


def _ingests_after(last: int) -> list[int]:
    from doudi.datapool.models import IngestFile

    return list(
        IngestFile.objects.filter(status=IngestFile.Status.COMMITTED, id__gt=last).values_list(
            "id", flat=True
        )
    )


def _max_ingest() -> int:
    from doudi.datapool.models import IngestFile

    return (
        IngestFile.objects.filter(status=IngestFile.Status.COMMITTED).aggregate(m=Max("id"))["m"]
        or 0
    )


def run_window(*, as_of: dt.date, since: dt.date | None) -> tuple[engine.Window, str, int]:
    """The window of a run: with ``since``, a full run over events dated after it; otherwise
    incremental from the last finished run (events after its as-of date and rows ingested
    after its last batch); a first run looks back FIRST_RUN_DAYS."""
    max_ingest = _max_ingest()
    if since is not None:
        return engine.Window(as_of=as_of, since=since, last_ingest=max_ingest), "full", max_ingest
    last = (
        MonitorRun.objects.filter(
            status=MonitorRun.Status.DONE,
            mode__in=[MonitorRun.Mode.FULL, MonitorRun.Mode.INCREMENTAL],
            as_of__lte=as_of,
        )
        .order_by("-as_of", "-id")
        .first()
    )
    if last is None:
        start = as_of - dt.timedelta(days=FIRST_RUN_DAYS)
        return engine.Window(as_of=as_of, since=start, last_ingest=max_ingest), "full", max_ingest
    from doudi.datapool.models import IngestFile

    arrived = IngestFile.objects.filter(
        status=IngestFile.Status.COMMITTED, id__lte=last.max_ingest
    ).aggregate(m=Max("received_at"))["m"]
    scoped = (
        arrived is None or timezone.localdate(arrived) <= last.as_of
    ) and selectors.worth_scoping(_ingests_after(last.max_ingest))
    return (
        engine.Window(as_of=as_of, since=last.as_of, last_ingest=last.max_ingest, scoped=scoped),
        "incremental",
        max_ingest,
    )


def _prior_table(hit_keys: Sequence[tuple[str, int]] | None = None):  # type: ignore[no-untyped-def]
    import pyarrow as pa

    rows = Alert.objects.values_list(
        "rule", "household_id", "id", "status", "raised_on", "magnitude"
    )
    cols: dict[str, list[Any]] = {k: [] for k in engine.PRIOR_SCHEMA.names}
    for rule, hid, aid, status, raised, mag in rows.iterator(chunk_size=20_000):
        cols["rule"].append(rule)
        cols["household_id"].append(hid)
        cols["alert_id"].append(aid)
        cols["is_open"].append(status != Alert.Status.CLOSED)
        cols["raised_on"].append(raised)
        cols["magnitude"].append(mag)
    return pa.table(cols, schema=engine.PRIOR_SCHEMA)


def evaluate(
    *,
    window: engine.Window,
    rules: Sequence[Rule] | None = None,
    engine_name: str = "duckdb",
    sets: dict[str, object] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the rules over the pool for ``window``; returns the connection (with ``m_hits``),
    seconds and rows per rule, and rows scanned. Writes nothing."""
    from doudi.policy import selectors as policy_selectors

    rules = tuple(rules if rules is not None else selectors.rules())
    tree = policy_selectors.parameter_tree()
    if sets:
        tree = tree.with_overrides(sets)
    from doudi.datapool.services import registry_refresh

    t0 = time.perf_counter()
    registry_refresh()
    con = selectors.rules_connection(
        rules, scope=_ingests_after(window.last_ingest) if window.scoped else None
    )
    engine.prepare(
        con,
        window=window,
        tree=tree,
        benefits=selectors.benefits_table(as_of=window.as_of),
        entitled=selectors.entitled_table(as_of=window.as_of),
    )
    t_prepare = time.perf_counter() - t0
    if engine_name == "spark":
        from doudi.monitoring.engine import spark as spark_engine

        hits, seconds, rows = spark_engine.run_rules_spark(con, rules, progress=progress)
        engine.load_hits(con, hits)
    else:
        seconds, rows = engine.run_rules(con, rules, progress=progress, share_all=window.scoped)
    scanned = selectors.rows_scanned(con, rules)
    return {
        "con": con,
        "seconds": seconds,
        "rows": rows,
        "scanned": scanned,
        "seconds_prepare": round(t_prepare, 3),
        "rules": rules,
    }


def monitor_run(
    *,
    actor: User | None,
    as_of: dt.date | None = None,
    since: dt.date | None = None,
    engine_name: str = "duckdb",
    progress: Callable[[str], None] | None = None,
    run: MonitorRun | None = None,
) -> MonitorRun:
    """Run every rule, deduplicate and suppress, create or update alerts; returns the run with
    its summary (rows scanned, alerts raised per rule and severity, updated, suppressed,
    seconds)."""
    if actor is not None and not can_run(actor):
        raise PermissionDenied
    if engine_name not in ("duckdb", "spark"):
        raise ValidationError("引擎应为 duckdb 或 spark / engine must be duckdb or spark")
    as_of = as_of or timezone.localdate()
    window, mode, max_ingest = run_window(as_of=as_of, since=since)
    if run is None:
        run = MonitorRun.objects.create(
            mode=mode,
            engine=engine_name,
            as_of=as_of,
            since=window.since,
            last_ingest=window.last_ingest,
            max_ingest=max_ingest,
            started_by=actor,
        )
    else:
        run.mode, run.engine, run.as_of, run.since = mode, engine_name, as_of, window.since
        run.last_ingest, run.max_ingest = window.last_ingest, max_ingest
        run.save()

    def step(msg: str) -> None:
        MonitorRun.objects.filter(pk=run.pk).update(progress=msg[:200])
        if progress:
            progress(msg)

    t0 = time.perf_counter()
    try:
        ev = evaluate(window=window, engine_name=engine_name, progress=step)
        step("去重与抑制 / deduplicating and suppressing")
        t1 = time.perf_counter()
        decisions = engine.decide(ev["con"], ev["rules"], prior=_prior_table())
        t_decide = time.perf_counter() - t1
        step("写入预警 / writing alerts")
        t2 = time.perf_counter()
        counts = _apply(run, ev["rules"], decisions, ev["con"], as_of=as_of)
        t_write = time.perf_counter() - t2
        ev["con"].close()
        escalated = alerts_escalate_overdue(today=as_of)
    except Exception as exc:
        MonitorRun.objects.filter(pk=run.pk).update(
            status=MonitorRun.Status.FAILED,
            error=str(exc)[:4000],
            finished_at=timezone.now(),
        )
        raise
    by_rule = {
        r.code: {
            "name": r.name,
            "severity": r.severity,
            "evidence_rows": ev["rows"].get(r.code, 0),
            "seconds": ev["seconds"].get(r.code, 0.0),
            **counts["by_rule"].get(r.code, {"new": 0, "update": 0, "suppress": 0}),
        }
        for r in ev["rules"]
    }
    summary = {
        "as_of": as_of.isoformat(),
        "since": window.since.isoformat(),
        "mode": mode,
        "scoped": window.scoped,
        "engine": engine_name,
        "rows_scanned": ev["scanned"],
        "raised": counts["new"],
        "updated": counts["update"],
        "suppressed": counts["suppress"],
        "escalated": escalated,
        "raised_by_severity": counts["by_severity"],
        "rules": by_rule,
        "seconds": round(time.perf_counter() - t0, 2),
        "seconds_rules": round(sum(ev["seconds"].values()), 2),
        "seconds_prepare": ev["seconds_prepare"],
        "seconds_decide": round(t_decide, 2),
        "seconds_write": round(t_write, 2),
    }
    with transaction.atomic():
        MonitorRun.objects.filter(pk=run.pk).update(
            status=MonitorRun.Status.DONE,
            summary=summary,
            progress="",
            finished_at=timezone.now(),
        )
        audit_record(
            actor=actor,
            event="monitoring.run",
            subject_type="monitor_run",
            subject_id=run.pk,
            subject_label=f"{mode} {as_of}",
            new={k: v for k, v in summary.items() if k != "rules"},
        )
    run.refresh_from_db()
    return run


def _apply(
    run: MonitorRun,
    rules: Sequence[Rule],
    decisions,
    con,
    *,
    as_of: dt.date,  # type: ignore[no-untyped-def]
) -> dict[str, Any]:
    """Create the new alerts and update the open ones, in one transaction."""
    meta = {r.code: r for r in rules}
    con.register("_m_decisions", decisions)
    rows = (
        con.sql(
            """
        SELECT d.*, h.village_code, h.town_code, h.county_code
        FROM _m_decisions d
        LEFT JOIN registry_households h ON h.household_id = d.household_id
        WHERE d.action IN ('new', 'update')
        """
        )
        .to_arrow_table()
        .to_pylist()
    )
    counts_action = dict(
        con.execute("SELECT action, count(*) FROM _m_decisions GROUP BY action").fetchall()
    )
    by_rule: dict[str, dict[str, int]] = {}
    for rule, action, n in con.execute(
        "SELECT rule, action, count(*) FROM _m_decisions GROUP BY rule, action"
    ).fetchall():
        by_rule.setdefault(rule, {"new": 0, "update": 0, "suppress": 0})[action] = n
    categories = selectors.household_categories_bulk(
        con, [r["household_id"] for r in rows if r["action"] == "new"]
    )
    deadlines: dict[int, tuple[dt.date, bool]] = {}
    by_severity: dict[str, int] = {"red": 0, "orange": 0, "yellow": 0}
    new_alerts = []
    updates = []
    for r in rows:
        rule = meta[r["rule"]]
        evidence = [_evidence_json(e) for e in r["evidence"]]
        summary = rule.format_summary(
            count=r["count_n"], amount=r["amount"], magnitude=r["magnitude"]
        )[:300]
        persons = [p for p in r["person_ids"] if p is not None]
        if r["action"] == "update":
            updates.append((r["prior_alert_id"], r, evidence, summary))
            continue
        if r["town_code"] is None:
            continue  # household not in the registry export any more
        if rule.deadline_days not in deadlines:
            deadlines[rule.deadline_days] = _deadline(as_of, rule.deadline_days)
        deadline, estimated = deadlines[rule.deadline_days]
        by_severity[rule.severity] += 1
        new_alerts.append(
            Alert(
                rule=rule.code,
                kind=rule.kind,
                severity=rule.severity,
                route=rule.route,
                household_id=r["household_id"],
                person_id=persons[0] if persons else None,
                person_ids=persons,
                town_code=r["town_code"] or "",
                county_code=r["county_code"] or "",
                village_code=r["village_code"] or "",
                raised_on=as_of,
                deadline=deadline,
                deadline_estimated=estimated,
                event_first=r["event_first"],
                event_last=r["event_last"],
                magnitude=r["magnitude"],
                count_n=r["count_n"],
                amount=r["amount"],
                summary=summary,
                evidence=evidence,
                evidence_n=r["evidence_n"],
                categories=categories.get(r["household_id"], {}),
                run=run,
                last_run=run,
            )
        )
    with transaction.atomic():
        Alert.objects.bulk_create(new_alerts, batch_size=2000)
        if updates:
            by_id = Alert.objects.in_bulk([u[0] for u in updates])
            changed = []
            for aid, r, evidence, summary in updates:
                a = by_id.get(aid)
                if a is None:
                    continue
                seen = {(e.get("interface"), e.get("key")) for e in a.evidence}
                fresh = [e for e in evidence if (e.get("interface"), e.get("key")) not in seen]
                if not fresh and (r["magnitude"] or 0) <= (a.magnitude or 0):
                    continue
                a.evidence = (fresh + a.evidence)[: engine.EVIDENCE_LIMIT]
                a.evidence_n = a.evidence_n + len(fresh)
                a.magnitude = max(a.magnitude or 0, r["magnitude"] or 0) or a.magnitude
                a.count_n = r["count_n"]
                a.amount = r["amount"]
                a.summary = summary
                a.event_last = max(filter(None, [a.event_last, r["event_last"]]), default=None)
                a.last_run = run
                a.updates += 1
                changed.append(a)
            Alert.objects.bulk_update(
                changed,
                [
                    "evidence",
                    "evidence_n",
                    "magnitude",
                    "count_n",
                    "amount",
                    "summary",
                    "event_last",
                    "last_run",
                    "updates",
                ],
                batch_size=2000,
            )
    return {
        "new": len(new_alerts),
        "update": counts_action.get("update", 0),
        "suppress": counts_action.get("suppress", 0),
        "by_rule": by_rule,
        "by_severity": by_severity,
    }


def _evidence_json(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "interface": e["interface"],
        "key": e["key"],
        "file": e["file"],
        "line": e["line"],
        "date": e["date"].isoformat() if e["date"] else None,
    }


# ------------------------------------------------------------------ the lifecycle


def _check_handle(actor: User, alert: Alert) -> None:
    if not (actor.is_authenticated and actor.role in CAN_HANDLE):
        raise PermissionDenied
    if not access.region_in_jurisdiction(actor, alert.village_code or alert.town_code):
        raise PermissionDenied


def _transition(
    *, actor: User | None, alert: Alert, event: str, old: dict[str, Any], new: dict[str, Any]
) -> None:
    audit_record(
        actor=actor,
        event=f"monitoring.alert_{event}",
        subject_type="alert",
        subject_id=alert.pk,
        subject_label=f"{alert.rule} {alert.household_id}",
        region_code=alert.village_code or alert.town_code,
        old=old,
        new=new,
    )


def alert_assign(*, actor: User, alert: Alert, assignee: User) -> Alert:
    """raised/assigned → assigned: a town clerk (or the county) gives the alert to a clerk or
    village worker whose jurisdiction covers the household."""
    if actor.role not in CAN_ASSIGN:
        raise PermissionDenied
    _check_handle(actor, alert)
    if assignee.role not in ASSIGNABLE or not assignee.is_active:
        raise ValidationError(
            "只能分派给镇街受理员或村居网格员 / assign to a clerk or village worker"
        )
    if not access.region_in_jurisdiction(assignee, alert.village_code or alert.town_code):
        raise ValidationError(
            "该人员不负责此家庭所在村居 / the assignee does not cover this household"
        )
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.status not in (Alert.Status.RAISED, Alert.Status.ASSIGNED):
            raise ValidationError(
                f"预警当前为“{alert.get_status_display()}”，不能分派 / cannot assign in this state"
            )
        old = {"status": alert.status, "assigned_to": alert.assigned_to_id}
        alert.status = Alert.Status.ASSIGNED
        alert.assigned_to = assignee
        alert.assigned_at = timezone.now()
        alert.save(update_fields=["status", "assigned_to", "assigned_at"])
        _transition(
            actor=actor,
            alert=alert,
            event="assign",
            old=old,
            new={"status": alert.status, "assigned_to": assignee.pk},
        )
    return alert


def alert_visit_record(
    *,
    actor: User,
    alert: Alert,
    visit_date: dt.date,
    visitors: str,
    findings: str,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    files: Sequence[Any] = (),
    client_token: str = "",
) -> AlertVisit:
    """raised/assigned/verified → verified: the on-site visit. The same ``client_token`` twice
    (a phone re-sending after a dropped connection) records one visit, not two."""
    _check_handle(actor, alert)
    if visit_date > timezone.localdate():
        raise ValidationError("核实日期不能晚于今天 / the visit date is in the future")
    if visit_date < alert.raised_on:
        raise ValidationError("核实日期不能早于预警日期 / the visit is before the alert")
    if not findings.strip() or not visitors.strip():
        raise ValidationError("请填写核实人员和核实情况 / visitors and findings are required")
    if client_token:
        existing = AlertVisit.objects.filter(alert=alert, client_token=client_token).first()
        if existing is not None:
            return existing
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.status == Alert.Status.CLOSED:
            raise ValidationError("预警已办结 / the alert is closed")
        visit = AlertVisit.objects.create(
            alert=alert,
            visit_date=visit_date,
            visitors=visitors.strip(),
            findings=findings.strip(),
            latitude=latitude,
            longitude=longitude,
            client_token=client_token,
            recorded_by=actor,
        )
        for f in files:
            AlertAttachment.objects.create(visit=visit, file=f, name=getattr(f, "name", "")[:200])
        old = {"status": alert.status}
        alert.status = Alert.Status.VERIFIED
        alert.verified_at = timezone.now()
        if alert.assigned_to_id is None:
            alert.assigned_to = actor
            alert.assigned_at = alert.verified_at
        alert.save(update_fields=["status", "verified_at", "assigned_to", "assigned_at"])
        _transition(
            actor=actor,
            alert=alert,
            event="verify",
            old=old,
            new={
                "status": alert.status,
                "visit": visit.pk,
                "visit_date": visit_date.isoformat(),
                "attachments": len(files),
            },
        )
    return visit


def _next_month(d: dt.date) -> dt.date:
    from doudi.benefits.months import add_months, month_of

    return add_months(month_of(d), 1)


def alert_close(
    *,
    actor: User,
    alert: Alert,
    outcome: str,
    note: str = "",
    items: Sequence[str] = (),
    benefit_ids: Sequence[int] = (),
    new_amount: Decimal | None = None,
    from_month: dt.date | None = None,
    today: dt.date | None = None,
) -> Alert:
    """verified → closed with an outcome.

    - ``application_opened``: opens an application for the household for ``items`` (the
      one-window casework), origin "alert"; counted as a proactive service when decided;
    - ``benefit_stopped``: stops the chosen benefits from ``from_month`` (default: the month
      after closing: a recipient's death stops the benefit from the next month);
    - ``benefit_adjusted``: sets the chosen benefit's amount to ``new_amount`` from ``from_month``;
    - ``referred``: the note says to whom; ``no_action``: the note gives the reason.
    """
    _check_handle(actor, alert)
    alert.refresh_from_db(fields=["status"])
    if alert.status != Alert.Status.VERIFIED:
        raise ValidationError(
            f"预警当前为“{alert.get_status_display()}”，须先上门核实再办结 / "
            "verify on site before closing"
        )
    if outcome not in Alert.Outcome.values:
        raise ValidationError("未知的处理结果 / unknown outcome")
    if outcome in (Alert.Outcome.NO_ACTION, Alert.Outcome.REFERRED) and not note.strip():
        raise ValidationError(
            "请填写理由或转介去向 / give the reason, or to whom the household was referred"
        )
    today = today or timezone.localdate()
    from_month = from_month or _next_month(today)
    if from_month.day != 1:
        raise ValidationError("起始月份应为某月1日 / the month must be the 1st of a month")
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.status != Alert.Status.VERIFIED:
            raise ValidationError(
                f"预警当前为“{alert.get_status_display()}”，须先上门核实再办结 / "
                "verify on site before closing"
            )
        ref = ""
        if outcome == Alert.Outcome.APPLICATION_OPENED:
            if not items:
                raise ValidationError("请选择申请的救助事项 / choose the items to apply for")
            from doudi.cases import services as case_services
            from doudi.registry.models import Household

            application = case_services.application_open_from_alert(
                actor=actor,
                household=Household.objects.get(pk=alert.household_id),
                items=list(items),
                alert_ref=f"alert:{alert.pk}",
                note=note,
            )
            ref = f"case:{application.pk}"
        elif outcome in (Alert.Outcome.BENEFIT_STOPPED, Alert.Outcome.BENEFIT_ADJUSTED):
            ref = _change_benefits(
                actor=actor,
                alert=alert,
                outcome=outcome,
                benefit_ids=benefit_ids,
                new_amount=new_amount,
                from_month=from_month,
                note=note,
            )
        old = {"status": alert.status}
        alert.status = Alert.Status.CLOSED
        alert.outcome = outcome
        alert.outcome_note = note.strip()
        alert.outcome_ref = ref
        alert.closed_on = today
        alert.closed_by = actor
        alert.save(
            update_fields=[
                "status",
                "outcome",
                "outcome_note",
                "outcome_ref",
                "closed_on",
                "closed_by",
            ]
        )
        _transition(
            actor=actor,
            alert=alert,
            event="close",
            old=old,
            new={"status": alert.status, "outcome": outcome, "ref": ref, "note": note},
        )
    return alert


def _change_benefits(
    *,
    actor: User,
    alert: Alert,
    outcome: str,
    benefit_ids: Sequence[int],
    new_amount: Decimal | None,
    from_month: dt.date,
    note: str,
) -> str:
    from doudi.benefits import selectors as benefit_selectors
    from doudi.benefits import services as benefit_services

    active = {
        b.pk: b
        for b in benefit_selectors.household_benefits(
            household_id=alert.household_id, active_only=True
        )
    }
    chosen = [active[i] for i in benefit_ids if i in active]
    if not chosen:
        raise ValidationError("请选择要调整或停发的在保待遇 / choose the benefits to change")
    reason = note.strip() or alert.summary
    source = f"alert:{alert.pk}"
    if outcome == Alert.Outcome.BENEFIT_STOPPED:
        for b in chosen:
            benefit_services.benefit_stop(
                actor=actor, benefit=b, from_month=from_month, reason=reason, source=source
            )
    else:
        if new_amount is None or new_amount < 0:
            raise ValidationError("请填写调整后的月金额 / give the new monthly amount")
        for b in chosen:
            benefit_services.benefit_adjust(
                actor=actor,
                benefit=b,
                monthly_amount=new_amount,
                from_month=from_month,
                reason=reason,
                source=source,
            )
    return ",".join(f"benefit:{b.pk}" for b in chosen)


def alerts_escalate_overdue(*, today: dt.date | None = None) -> int:
    """Open alerts past their deadline go up to the county's view (each audited)."""
    today = today or timezone.localdate()
    overdue = list(
        Alert.objects.filter(escalated=False, deadline__lt=today)
        .exclude(status=Alert.Status.CLOSED)
        .values_list("id", "rule", "household_id", "town_code", "deadline")
    )
    if not overdue:
        return 0
    now = timezone.now()
    with transaction.atomic():
        Alert.objects.filter(id__in=[o[0] for o in overdue]).update(
            escalated=True, escalated_at=now
        )
        for aid, rule, hid, town, deadline in overdue:
            audit_record(
                actor=None,
                event="monitoring.alert_escalate",
                subject_type="alert",
                subject_id=aid,
                subject_label=f"{rule} {hid}",
                region_code=town,
                old={"escalated": False},
                new={"escalated": True, "deadline": deadline.isoformat()},
            )
    return len(overdue)


def rule_preview(
    *, rule: Rule, sets: dict[str, object], days: int = 90, as_of: dt.date | None = None
) -> dict[str, Any]:
    """How many alerts one rule would have raised over the last ``days`` days with the values in
    force and with ``sets`` (new parameter values), before any change is saved: households hit,
    and how many of those the existing alerts would have suppressed. Writes nothing."""
    for name in sets:
        if name not in rule.params:
            raise ValidationError(
                f"参数 {name} 不属于规则 {rule.code} / not a parameter of the rule"
            )
    as_of = as_of or timezone.localdate()
    window = engine.Window(
        as_of=as_of, since=as_of - dt.timedelta(days=days), last_ingest=_max_ingest()
    )
    prior = _prior_table()
    out: dict[str, Any] = {"days": days, "since": window.since, "as_of": as_of, "sets": sets}
    for key, overrides in (("current", None), ("proposed", sets)):
        try:
            ev = evaluate(window=window, rules=[rule], sets=overrides)
        except Exception as exc:  # a value the rule cannot use
            raise ValidationError(f"预演失败：{exc} / preview failed") from None
        try:
            d = engine.decide(ev["con"], [rule], prior=prior)
        finally:
            ev["con"].close()
        actions = d.column("action").to_pylist()
        out[key] = {
            "households": d.num_rows,
            "new": actions.count("new"),
            "update": actions.count("update"),
            "suppress": actions.count("suppress"),
            "evidence_rows": ev["rows"].get(rule.code, 0),
        }
    out["difference"] = out["proposed"]["households"] - out["current"]["households"]
    return out
