"""Reads of the monitoring app: the rule catalog, the framework tables, alerts for a user, queues
and the figures of the dashboards."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from doudi.core import access
from doudi.core.models import Role, User
from doudi.monitoring.engine import run as engine
from doudi.monitoring.engine.catalog import Rule, load_rules, scoped_history
from doudi.monitoring.models import Alert, MonitorRun

ITEM_LABELS = {
    "dibao": "低保",
    "single_person_dibao": "单人保",
    "tekun": "特困",
    "near_dibao": "低保边缘",
    "rigid_expense": "刚性支出困难",
    "relapse_watch": "防止返贫监测",
    "temporary": "临时救助",
}
CATEGORY_LABELS = {
    "dibao": "低保",
    "near_dibao": "低保边缘",
    "rigid_expense": "刚性支出困难",
    "relapse_watch": "防止返贫监测",
    "other_difficulty": "其他困难",
    "has_tekun": "有特困成员",
}


def rules() -> tuple[Rule, ...]:
    from doudi.datapool.catalog import load_catalog

    return load_rules(interfaces=frozenset(i.code for i in load_catalog()))


def pool_interfaces(rules: Sequence[Rule]) -> set[str]:
    """The pool interfaces a run over ``rules`` needs: those the rules read and the rolls the
    framework builds ``m_recipients`` from."""
    return {i for r in rules for i in r.interfaces()} | set(engine.ROLL_INTERFACES)


def rules_connection(
    rules: Sequence[Rule], *, scope: Iterable[int] | None = None
) -> duckdb.DuckDBPyConnection:
    """A pool connection with the views ``rules`` read, from the pool's mirror where it can
    serve (``datapool.mirror``), else with the registry in memory (every rule and framework
    table joins it); close it when done. ``scope`` (a scoped incremental run):
    the ingest batches since the last run; the person interfaces are then restricted to the
    households their rows touched, read with history only where a rule declares it needs it
    (``engine.catalog.scoped_history``), else as their new rows."""
    from doudi.datapool.selectors import ingest_interfaces, pool_connection

    if scope is None:
        return pool_connection(only=pool_interfaces(rules), pin=True, mirror=True)
    scope = list(scope)
    return pool_connection(
        only=pool_interfaces(rules),
        scope_ingests=scope,
        unscoped=engine.ROLL_INTERFACES,
        history=scoped_history(rules, ingest_interfaces(scope)),
        pin=True,
        mirror=True,
    )


#: a scoped run reads the touched households' history by scanning each interface's whole
#: history; when the new rows touch a large part of the city (a quarter-end bank batch) that
#: costs more than reading everything. Above this many new rows an incremental run reads
#: the whole pool (same results; measured on the 7M pool: a 4.2M-row day took 55 s scoped, a
#: whole read about 35 s; a typical day of 5,000 rows 15.7 s scoped).
SCOPE_MAX_NEW_ROWS = 500_000


def worth_scoping(ingests: Iterable[int]) -> bool:
    """Whether an incremental run over these ingest batches should read only the households
    they touch (few new rows) rather than the whole pool."""
    from doudi.datapool.models import IngestFile

    new = (
        IngestFile.objects.filter(
            id__in=list(ingests), status=IngestFile.Status.COMMITTED
        ).aggregate(n=Sum("accepted"))["n"]
        or 0
    )
    return new <= SCOPE_MAX_NEW_ROWS


def rule_get(code: str) -> Rule:
    for r in rules():
        if r.code == code:
            return r
    raise Http404


# ------------------------------------------------------------------ framework tables


def benefits_table(*, as_of: dt.date) -> pa.Table:
    """doudi's own active benefits on ``as_of`` (the benefits app), as ``m_benefits``."""
    try:
        from doudi.benefits import selectors as benefit_selectors
    except ImportError:  # pragma: no cover - the benefits app is part of doudi
        return engine.RECIPIENTS_SCHEMA.empty_table()
    if not hasattr(benefit_selectors, "active_benefit_rows"):
        return engine.RECIPIENTS_SCHEMA.empty_table()
    rows = benefit_selectors.active_benefit_rows(as_of=as_of)
    cols: dict[str, list[Any]] = {k: [] for k in engine.RECIPIENTS_SCHEMA.names}
    for person_id, household_id, item, amount in rows:
        cols["person_id"].append(person_id)
        cols["household_id"].append(household_id)
        cols["item"].append(item)
        cols["monthly_amount"].append(Decimal(amount).quantize(Decimal("0.01")))
        cols["source"].append("doudi")
    return pa.table(cols, schema=engine.RECIPIENTS_SCHEMA)


def entitled_table(*, as_of: dt.date) -> pa.Table:
    """The latest city-wide classification on or before ``as_of``, as ``m_entitled``."""
    from doudi.policy import selectors as policy_selectors
    from doudi.policy.models import SweepRun

    run = (
        policy_selectors.sweep_runs(kind=SweepRun.Kind.SWEEP)
        .filter(status=SweepRun.Status.DONE, as_of__lte=as_of)
        .exclude(result_path="")
        .order_by("-as_of", "-id")
        .first()
    )
    if run is None:
        return engine.ENTITLED_SCHEMA.empty_table()
    from pathlib import Path

    path = Path(run.result_path) / "households.parquet"
    if not path.exists():
        return engine.ENTITLED_SCHEMA.empty_table()
    con = duckdb.connect()
    try:
        return (
            con.sql(
                f"""
            SELECT CAST(household_id AS BIGINT) AS household_id,
                   CAST(dibao AS BOOLEAN) AS dibao,
                   CAST(near_dibao AS BOOLEAN) AS near_dibao,
                   CAST(rigid_expense AS BOOLEAN) AS rigid_expense,
                   CAST(has_tekun AS BOOLEAN) AS has_tekun,
                   CAST(per_capita_fen AS BIGINT) AS per_capita_fen,
                   CAST(monthly_benefit_yuan AS DECIMAL(14, 2)) AS monthly_benefit_yuan,
                   DATE '{run.as_of.isoformat()}' AS as_of,
                   'policy/sweeps/run-{run.pk}/households.parquet' AS file
            FROM read_parquet('{path}')
            """
            )
            .to_arrow_table()
            .cast(engine.ENTITLED_SCHEMA)
        )
    finally:
        con.close()


def rows_scanned(con: duckdb.DuckDBPyConnection, rules: Sequence[Rule]) -> int:
    """Rows stored in the interfaces the rules read (every version), plus the registry."""
    total = 0
    for code in sorted({i for r in rules for i in r.interfaces()}):
        name = code if code.startswith("registry_") else f"{code}_all"
        total += con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
    return int(total)


def household_categories_bulk(
    con: duckdb.DuckDBPyConnection, household_ids: Iterable[int]
) -> dict[int, dict[str, Any]]:
    """For each household: what it receives now (items) and the latest classification."""
    ids = sorted(set(household_ids))
    if not ids:
        return {}
    con.register("_m_ids", pa.table({"household_id": pa.array(ids, pa.int64())}))
    out: dict[int, dict[str, Any]] = {h: {"receives": [], "entitled": []} for h in ids}
    for hid, items in con.execute(
        """
        SELECT r.household_id, list(DISTINCT r.item ORDER BY r.item)
        FROM m_recipients r JOIN _m_ids USING (household_id) GROUP BY r.household_id
        """
    ).fetchall():
        out[hid]["receives"] = list(items)
    for hid, dibao, near, rigid, tekun, as_of in con.execute(
        """
        SELECT e.household_id, e.dibao, e.near_dibao, e.rigid_expense, e.has_tekun, e.as_of
        FROM m_entitled e JOIN _m_ids USING (household_id)
        """
    ).fetchall():
        cats = [
            k
            for k, v in (
                ("dibao", dibao),
                ("near_dibao", near),
                ("rigid_expense", rigid),
                ("has_tekun", tekun),
            )
            if v
        ]
        out[hid]["entitled"] = cats
        out[hid]["classified_on"] = as_of.isoformat() if as_of else None
    return out


# ------------------------------------------------------------------ alerts for a user


def alerts_for_user(user: User) -> QuerySet[Alert]:
    """The alerts in the user's jurisdiction (a village worker: their village; a town clerk:
    their town; a county: theirs; the city: all); none for other roles."""
    prefix = access.jurisdiction_prefix(user)
    if prefix is None:
        return Alert.objects.none()
    qs = Alert.objects.all()
    if user.role == Role.VILLAGE_WORKER:
        return qs.filter(village_code__startswith=prefix)
    if user.role == Role.TOWN_CLERK:
        return qs.filter(town_code__startswith=prefix[:9] if len(prefix) > 9 else prefix)
    if prefix:
        qs = (
            qs.filter(county_code__startswith=prefix[:6])
            if len(prefix) <= 6
            else qs.filter(town_code__startswith=prefix)
        )
    return qs


def alert_get_for_user(*, user: User, alert_id: int) -> Alert:
    """One alert, if the user's jurisdiction covers its household; 404 otherwise (the
    existence of an alert outside it is not revealed)."""
    try:
        alert = (
            alerts_for_user(user)
            .select_related("household", "person", "assigned_to")
            .get(pk=alert_id)
        )
    except Alert.DoesNotExist:
        raise Http404 from None
    return alert


def queue_counts(qs: QuerySet[Alert], *, today: dt.date | None = None) -> dict[str, int]:
    today = today or timezone.localdate()
    soon = today + dt.timedelta(days=3)
    agg = qs.aggregate(
        open=Count("id", filter=~Q(status=Alert.Status.CLOSED)),
        raised=Count("id", filter=Q(status=Alert.Status.RAISED)),
        assigned=Count("id", filter=Q(status=Alert.Status.ASSIGNED)),
        verified=Count("id", filter=Q(status=Alert.Status.VERIFIED)),
        overdue=Count("id", filter=~Q(status=Alert.Status.CLOSED) & Q(deadline__lt=today)),
        due_soon=Count(
            "id",
            filter=~Q(status=Alert.Status.CLOSED) & Q(deadline__gte=today, deadline__lte=soon),
        ),
        red=Count("id", filter=~Q(status=Alert.Status.CLOSED) & Q(severity="red")),
        closed=Count("id", filter=Q(status=Alert.Status.CLOSED)),
        escalated=Count("id", filter=~Q(status=Alert.Status.CLOSED) & Q(escalated=True)),
    )
    return {k: int(v or 0) for k, v in agg.items()}


def assignees_for(*, alert: Alert) -> list[User]:
    """Clerks and village workers whose jurisdiction covers the alert's household."""
    code = alert.village_code or alert.town_code
    out = []
    for u in User.objects.filter(
        role__in=[Role.TOWN_CLERK, Role.VILLAGE_WORKER], is_active=True
    ).select_related("region"):
        if access.region_in_jurisdiction(u, code):
            out.append(u)
    return out


def region_names(codes: Iterable[str]) -> dict[str, str]:
    from doudi.core.models import Region

    return dict(Region.objects.filter(code__in=set(codes)).values_list("code", "name"))


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def handling_stats(qs: QuerySet[Alert], *, today: dt.date | None = None) -> list[dict[str, Any]]:
    """Per town: raised, closed, handling rate, open overdue, escalated, median days from raising
    to outcome."""
    today = today or timezone.localdate()
    per: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"raised": 0, "closed": 0, "overdue": 0, "escalated": 0, "days": []}
    )
    for town, status, raised, closed, deadline, escalated in qs.values_list(
        "town_code", "status", "raised_on", "closed_on", "deadline", "escalated"
    ).iterator(chunk_size=20_000):
        p = per[town]
        p["raised"] += 1
        if status == Alert.Status.CLOSED:
            p["closed"] += 1
            if closed:
                p["days"].append((closed - raised).days)
        else:
            if deadline < today:
                p["overdue"] += 1
            if escalated:
                p["escalated"] += 1
    names = region_names(per)
    out = []
    for town, p in sorted(per.items()):
        out.append(
            {
                "town_code": town,
                "town": names.get(town, town),
                "raised": p["raised"],
                "closed": p["closed"],
                "rate": round(100 * p["closed"] / p["raised"], 1) if p["raised"] else None,
                "overdue": p["overdue"],
                "escalated": p["escalated"],
                "median_days": _median(p["days"]),
            }
        )
    return out


def rule_quality(qs: QuerySet[Alert]) -> list[dict[str, Any]]:
    """Per rule: alerts raised, share that led to help, share closed as no action, median days
    to outcome."""
    helped = {
        Alert.Outcome.APPLICATION_OPENED,
        Alert.Outcome.BENEFIT_ADJUSTED,
        Alert.Outcome.BENEFIT_STOPPED,
        Alert.Outcome.REFERRED,
    }
    per: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"raised": 0, "closed": 0, "helped": 0, "no_action": 0, "open": 0, "days": []}
    )
    for rule, status, outcome, raised, closed in qs.values_list(
        "rule", "status", "outcome", "raised_on", "closed_on"
    ).iterator(chunk_size=20_000):
        p = per[rule]
        p["raised"] += 1
        if status == Alert.Status.CLOSED:
            p["closed"] += 1
            if outcome in helped:
                p["helped"] += 1
            elif outcome == Alert.Outcome.NO_ACTION:
                p["no_action"] += 1
            if closed:
                p["days"].append((closed - raised).days)
        else:
            p["open"] += 1
    out = []
    for r in rules():
        p = per.get(
            r.code, {"raised": 0, "closed": 0, "helped": 0, "no_action": 0, "open": 0, "days": []}
        )
        closed = p["closed"]
        out.append(
            {
                "rule": r,
                "raised": p["raised"],
                "open": p["open"],
                "closed": closed,
                "helped_share": round(100 * p["helped"] / closed, 1) if closed else None,
                "no_action_share": round(100 * p["no_action"] / closed, 1) if closed else None,
                "median_days": _median(p["days"]),
            }
        )
    return out


def proactive_services(*, region_prefix: str | None = None) -> dict[str, Any]:
    """主动发现 → 主动办理: alerts that ended in an application opened from the data clue, with
    the outcome of that application (from the casework app): per month and per town, the
    services, the persons helped and the monthly amounts approved."""
    try:
        from doudi.cases import selectors as case_selectors
    except ImportError:  # pragma: no cover
        return {"months": [], "towns": [], "total": {}}
    outcomes = case_selectors.proactive_outcomes(region_prefix=region_prefix)
    months: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"opened": 0, "approved": 0, "persons": 0, "amount": Decimal(0)}
    )
    towns: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"opened": 0, "approved": 0, "persons": 0, "amount": Decimal(0)}
    )
    for o in outcomes:
        month = o["opened_on"].strftime("%Y-%m")
        for bucket in (months[month], towns[o["town_code"]]):
            bucket["opened"] += 1
            if o.get("approved"):
                bucket["approved"] += 1
                bucket["persons"] += int(o.get("persons") or 0)
                bucket["amount"] += Decimal(o.get("monthly_amount") or 0)
    names = region_names(towns)
    total = {
        "opened": sum(m["opened"] for m in months.values()),
        "approved": sum(m["approved"] for m in months.values()),
        "persons": sum(m["persons"] for m in months.values()),
        "amount": sum((m["amount"] for m in months.values()), Decimal(0)),
    }
    return {
        "months": [{"month": k, **v} for k, v in sorted(months.items())],
        "towns": sorted(
            ({"town_code": k, "town": names.get(k, k), **v} for k, v in towns.items()),
            key=lambda t: -t["opened"],
        ),
        "total": total,
    }


def latest_runs(limit: int = 20) -> QuerySet[MonitorRun]:
    return MonitorRun.objects.exclude(mode=MonitorRun.Mode.PREVIEW).select_related("started_by")[
        :limit
    ]


def alert_history(*, alert: Alert) -> list[Any]:
    """The audit rows of the alert's transitions (not the views), oldest first."""
    from doudi.core.models import AuditEvent

    return list(
        AuditEvent.objects.filter(subject_type="alert", subject_id=str(alert.pk))
        .exclude(event="monitoring.alert_view")
        .select_related("actor")
        .order_by("id")
    )


def case_items() -> list[tuple[str, str]]:
    """The assistance items an application opened from an alert may ask for (the casework
    app's catalog), as (code, name)."""
    from doudi.cases.catalog import item_choices

    return list(item_choices())


def rule_parameters(rule: Rule) -> list[dict[str, Any]]:
    """The rule's parameters with the value in force today and their dated history."""
    from doudi.policy import selectors as policy_selectors

    tree = policy_selectors.parameter_tree()
    today = timezone.localdate()
    out = []
    for name in rule.params:
        p = tree.get(name)
        current = tree.entry(name, today)
        out.append(
            {
                "name": name,
                "label": p.label,
                "unit": p.unit,
                "kind": p.kind,
                "description": p.description,
                "current": current,
                "current_raw": "" if current is None else str(current.value.normalize()),
                "values": sorted(p.values, key=lambda v: (v.start, v.scope)),
            }
        )
    return out
