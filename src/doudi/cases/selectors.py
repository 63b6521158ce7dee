"""Reads for one-window applications: access getters, the queues, reviews due, cycle times,
proactive outcomes for the monitoring dashboard, the public-notice list.

Every read of an application or case starts from :func:`applications_visible_to` /
:func:`cases_visible_to` (the user's jurisdiction, ``doudi.core.access``), and views fetch one
through :func:`case_get_for_user` / :func:`application_get_for_user`.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from doudi.cases import workflow
from doudi.cases.catalog import load_items
from doudi.cases.models import Appeal, Application, Case, Document, Origin, State
from doudi.core import access
from doudi.core.models import User

# ------------------------------------------------------------------ access


def applications_visible_to(user: User) -> QuerySet[Application]:
    """Applications of households in the user's jurisdiction (a village worker: their village;
    a town clerk: their town; a county approver: their county; city staff: the city); none for
    caretakers, department API users and anyone without a region."""
    prefix = access.jurisdiction_prefix(user)
    if prefix is None:
        return Application.objects.none()
    return Application.objects.filter(region__code__startswith=prefix)


def cases_visible_to(user: User) -> QuerySet[Case]:
    prefix = access.jurisdiction_prefix(user)
    if prefix is None:
        return Case.objects.none()
    return Case.objects.filter(application__region__code__startswith=prefix)


def application_get_for_user(*, user: User, application_id: int) -> Application:
    """The application if the user may see it; otherwise 404 (existence is not revealed)."""
    application = (
        applications_visible_to(user)
        .select_related("household", "region", "region__parent", "applicant_person", "helper")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise Http404("application")
    return application


def case_get_for_user(*, user: User, case_id: int) -> Case:
    """The case if its application is in the user's jurisdiction; otherwise 404."""
    case = (
        cases_visible_to(user)
        .select_related(
            "application",
            "application__household",
            "application__region",
            "application__region__parent",
            "person",
            "decided_by",
        )
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise Http404("case")
    return case


def document_get_for_user(*, user: User, document_id: int) -> Document:
    document = (
        Document.objects.filter(application__in=applications_visible_to(user), pk=document_id)
        .select_related("application")
        .first()
    )
    if document is None:
        raise Http404("document")
    return document


# ------------------------------------------------------------------ queues


QUEUE_TABS = (
    ("due_today", "今日到期"),
    ("overdue", "逾期"),
    ("documents", "容缺待补"),
    ("notice", "公示中"),
    ("decision", "待审核确认"),
    ("escalated", "逾期上报"),
    ("open", "全部在办"),
)


def _case_rows(qs: QuerySet[Case]) -> QuerySet[Case]:
    return qs.select_related(
        "application", "application__household", "application__region", "person"
    ).order_by("step_due_on", "due_on", "id")


def queue_tabs(*, user: User, today: dt.date) -> dict[str, Any]:
    """The user's queue: open cases due today, overdue, missing documents due, cases on public
    notice, cases waiting for the user's decision, overdue cases reported to the county, and all
    open cases; each with its count."""
    open_cases = cases_visible_to(user).filter(state__in=workflow.OPEN_STATES)
    overdue_q = Q(step_due_on__lt=today) | Q(due_on__lt=today)
    county_items = [c for c, i in load_items().items() if i.decider == "county"]
    decision = open_cases.filter(state__in=[State.DECISION, State.COMMITTEE])
    if user.role == "county_approver":
        decision = decision.filter(item__in=county_items) | open_cases.filter(state=State.COMMITTEE)
    docs = (
        Document.objects.filter(
            application__in=applications_visible_to(user), status=Document.Status.MISSING
        )
        .filter(application__cases__state__in=workflow.OPEN_STATES)
        .distinct()
        .select_related("application", "application__household", "application__region")
        .order_by("due_on", "id")
    )
    tabs = {
        "due_today": _case_rows(open_cases.filter(step_due_on=today)),
        "overdue": _case_rows(open_cases.filter(overdue_q)),
        "documents": docs,
        "notice": _case_rows(open_cases.filter(state=State.NOTICE)).order_by("notice_until", "id"),
        "decision": _case_rows(decision.distinct()),
        "escalated": _case_rows(open_cases.filter(escalated_on__isnull=False)),
        "open": _case_rows(open_cases),
    }
    return {
        k: {"label": label, "rows": tabs[k], "count": tabs[k].count()} for k, label in QUEUE_TABS
    }


def default_tab(*, user: User) -> str:
    return "decision" if user.role in ("county_approver",) else "due_today"


def applications_for_household(*, user: User, household_id: int) -> QuerySet[Application]:
    return applications_visible_to(user).filter(household_id=household_id).prefetch_related("cases")


def case_search(
    *,
    user: User,
    item: str = "",
    state: str = "",
    origin: str = "",
    region: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[Case]:
    qs = cases_visible_to(user)
    if item:
        qs = qs.filter(item=item)
    if state == "open":
        qs = qs.filter(state__in=workflow.OPEN_STATES)
    elif state:
        qs = qs.filter(state=state)
    if origin:
        qs = qs.filter(application__origin=origin)
    if region:
        qs = qs.filter(application__region__code__startswith=region)
    if since:
        qs = qs.filter(opened_on__gte=since)
    if until:
        qs = qs.filter(opened_on__lte=until)
    return qs.select_related(
        "application", "application__household", "application__region", "person"
    ).order_by("-opened_on", "-id")


def open_appeals(*, user: User) -> QuerySet[Appeal]:
    return (
        Appeal.objects.filter(case__in=cases_visible_to(user), status=Appeal.Status.OPEN)
        .select_related("case", "case__application", "case__application__household")
        .order_by("due_on")
    )


# ------------------------------------------------------------------ public notice


def notice_rows(*, region_prefix: str, on: dt.date) -> list[dict[str, Any]]:
    """Cases on public notice on ``on`` in a region: what the village notice board shows — the
    head of the household (or the person), household size, item and proposed amount; no ID
    numbers, and no minors (their cases are not published)."""
    from doudi.registry.selectors import household_members

    items = load_items()
    cases = (
        Case.objects.filter(
            application__region__code__startswith=region_prefix,
            notice_from__lte=on,
            notice_until__gte=on,
        )
        .exclude(state=State.WITHDRAWN)
        .select_related("application__household", "application__region", "person")
        .order_by("application__region_id", "id")
    )
    rows = []
    for c in cases:
        members = list(household_members(household=c.application.household))
        head = next((m.person for m in members if m.relation == "head"), None)
        subject = c.person or head
        rows.append(
            {
                "case": c,
                "village": c.application.region.name,
                "name": subject.name if subject else "",
                "members": len(members) if items[c.item].level == "household" else 1,
                "item": items[c.item].short,
                "amount": c.proposed_amount,
                "notice_from": c.notice_from,
                "notice_until": c.notice_until,
            }
        )
    return rows


# ------------------------------------------------------------------ reviews


def reviews_due(
    *, region_prefix: str | None = None, as_of: dt.date, within_days: int = 30
) -> list[dict[str, Any]]:
    """低保 households in payment whose next review falls on or before ``as_of + within_days``.

    In payment: a 低保 or 单人保 benefit in force in ``as_of``'s month (``benefits.selectors``).
    The review counts from the household's latest approval (低保, 单人保) or completed review in
    this app, or, for a benefit that came from the legacy rolls without a case, from the month
    before its first payment; the period is ``services.review_months`` (6 or 12 months). A
    household with a review already open, or whose exit was decided, is not listed."""
    from doudi.benefits.selectors import active_benefit_rows, household_benefits
    from doudi.cases.services import review_months
    from doudi.registry.models import Household

    items = ("dibao", "single_person_dibao")
    paying = {hid for _pid, hid, item, _amount in active_benefit_rows(as_of=as_of) if item in items}
    anchors = Case.objects.filter(
        Q(item__in=items, state=State.APPROVED)
        | Q(item="dibao_review", state=State.APPROVED, action__in=["continue", "adjust"])
    ).filter(application__household_id__in=paying)
    if region_prefix:
        anchors = anchors.filter(application__region__code__startswith=region_prefix)
    latest: dict[int, Case] = {}
    for c in anchors.select_related("application", "application__region").order_by(
        "decided_on", "id"
    ):
        latest[c.application.household_id] = c
    households = Household.objects.filter(pk__in=paying).select_related("region")
    if region_prefix:
        households = households.filter(region__code__startswith=region_prefix)
    blocked = set(
        Case.objects.filter(application__household_id__in=paying)
        .filter(
            Q(item="dibao_review", state__in=workflow.OPEN_STATES)
            | Q(item="benefit_exit", state__in=workflow.OPEN_STATES)
        )
        .values_list("application__household_id", flat=True)
    )
    horizon = as_of + dt.timedelta(days=within_days)
    out = []
    for household in households:
        if household.pk in blocked:
            continue
        case = latest.get(household.pk)
        if case is not None and case.decided_on is not None:
            anchor = case.decided_on
            months = case.review_months or review_months(household=household, on=anchor)
        else:
            starts = [
                b.start_month
                for b in household_benefits(household_id=household.pk, as_of=as_of)
                if b.item in items
            ]
            if not starts:
                continue
            anchor = min(starts) - dt.timedelta(days=1)
            months = review_months(household=household, on=as_of)
        due = _add_months(anchor, months)
        if due <= horizon:
            out.append(
                {
                    "case": case,
                    "household": household,
                    "months": months,
                    "anchor": anchor,
                    "due_on": due,
                    "overdue": due < as_of,
                }
            )
    return sorted(out, key=lambda r: (r["due_on"], r["household"].pk))


def _add_months(day: dt.date, n: int) -> dt.date:
    k = day.year * 12 + day.month - 1 + n
    year, month = divmod(k, 12)
    month += 1
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


# ------------------------------------------------------------------ monitoring link


def proactive_outcomes(
    *, region_prefix: str | None = None, since: dt.date | None = None
) -> list[dict[str, Any]]:
    """Applications opened from monitoring alerts (主动发现→主动办理) and what came of them.

    One dict per application: ``alert_ref``, ``application_id``, ``town_code``, ``opened_on``,
    ``decided_on`` (the last decision once every case is closed, else None), ``approved`` (True
    if any item was approved, False if all were decided and none approved, None while pending),
    ``persons`` (members covered by approved items: the household's current members for a
    household item, the person for a person item), ``monthly_amount`` (the monthly amounts of
    approved items, Decimal) and ``once_amount`` (one-off 临时救助 paid, Decimal).
    """
    from doudi.registry.models import Membership

    qs = Application.objects.filter(origin=Origin.ALERT)
    if region_prefix:
        qs = qs.filter(region__code__startswith=region_prefix)
    if since:
        qs = qs.filter(accepted_on__gte=since)
    apps = list(qs.prefetch_related("cases").order_by("accepted_on", "id"))
    household_ids = {a.household_id for a in apps}
    members: dict[int, set[int]] = defaultdict(set)
    for hid, pid in Membership.objects.filter(
        household_id__in=household_ids, end_date__isnull=True
    ).values_list("household_id", "person_id"):
        members[hid].add(pid)
    items = load_items()
    out = []
    for a in apps:
        cases = list(a.cases.all())
        pending = any(c.state in workflow.OPEN_STATES for c in cases)
        approved_cases = [c for c in cases if c.state == State.APPROVED]
        covered: set[int] = set()
        monthly = Decimal(0)
        once = Decimal(0)
        for c in approved_cases:
            item = items[c.item]
            if item.level == "person" and c.person_id:
                covered.add(c.person_id)
            else:
                covered |= members.get(a.household_id, set())
            if item.outcome == "once":
                once += (c.monthly_amount or Decimal(0)) + (c.advance_amount or Decimal(0))
            elif c.action in ("start", "adjust") and c.monthly_amount:
                monthly += c.monthly_amount
        decided = [c.decided_on for c in cases if c.decided_on]
        if pending:
            approved: bool | None = True if approved_cases else None
        else:
            approved = bool(approved_cases)
        out.append(
            {
                "alert_ref": a.alert_ref,
                "application_id": a.pk,
                "town_code": a.town_code,
                "opened_on": a.accepted_on,
                "decided_on": None if pending or not decided else max(decided),
                "approved": approved,
                "persons": len(covered),
                "monthly_amount": monthly,
                "once_amount": once,
            }
        )
    return out


# ------------------------------------------------------------------ cycle times


def _percentile(values: list[int], p: float) -> int | None:
    """Nearest-rank percentile (the smallest value with at least p% of values at or below)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _stats(values: list[int], limit: int) -> dict[str, Any]:
    return {
        "n": len(values),
        "median": statistics.median(values) if values else None,
        "p90": _percentile(values, 90),
        "within": sum(1 for v in values if v <= limit),
        "within_share": (sum(1 for v in values if v <= limit) / len(values)) if values else None,
        "limit": limit,
    }


def cycle_times(
    *,
    region_prefix: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    item: str = "",
) -> dict[str, Any]:
    """Working days from acceptance to decision (or referral) of decided cases, per item against
    the statutory limit, per town and per month: count, median, 90th percentile, share within
    the limit. Reviews opened by the office count too; withdrawn cases do not."""
    items = load_items()
    qs = Case.objects.filter(cycle_days__isnull=False)
    if region_prefix:
        qs = qs.filter(application__region__code__startswith=region_prefix)
    if since:
        qs = qs.filter(decided_on__gte=since)
    if until:
        qs = qs.filter(decided_on__lte=until)
    if item:
        qs = qs.filter(item=item)
    rows = list(
        qs.values_list(
            "item", "application__town_code", "decided_on", "cycle_days", "cycle_estimated"
        )
    )
    by_item: dict[str, list[int]] = defaultdict(list)
    by_town: dict[tuple[str, str], list[int]] = defaultdict(list)
    by_month: dict[tuple[str, str], list[int]] = defaultdict(list)
    estimated = 0
    for code, town, decided, days, est in rows:
        by_item[code].append(days)
        by_town[(town, code)].append(days)
        by_month[(decided.strftime("%Y-%m"), code)].append(days)
        estimated += bool(est)
    item_rows = [
        {"item": i, **_stats(by_item[c], i.total.days)} for c, i in items.items() if by_item.get(c)
    ]
    from doudi.core.models import Region

    town_names = dict(
        Region.objects.filter(code__in={t for t, _ in by_town}).values_list("code", "name")
    )
    town_rows = [
        {
            "town": t,
            "town_name": town_names.get(t, t),
            "item": items[c],
            **_stats(v, items[c].total.days),
        }
        for (t, c), v in sorted(by_town.items())
    ]
    months = sorted({m for m, _ in by_month})
    month_rows = [
        {"month": m, "item": items[c], **_stats(v, items[c].total.days)}
        for (m, c), v in sorted(by_month.items())
    ]
    return {
        "items": item_rows,
        "towns": town_rows,
        "months": month_rows,
        "month_list": months,
        "total": len(rows),
        "estimated": estimated,
    }
