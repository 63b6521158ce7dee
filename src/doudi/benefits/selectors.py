"""Reads for benefits and payment rolls. Pages reach rolls only through
:func:`payroll_get_for_user` / :func:`payrolls_for_user` and benefits through
:func:`benefits_visible_to`, which apply the user's jurisdiction (``doudi.core.access``).

"In force as of a date" means the date's month lies between the benefit's start month and its
last paid month (open-ended when no end is decided); a benefit in 渐退 is in force. "Active"
(``active_only=True``) means not ended as of that month: in force, or decided and starting in a
later month (a case approved today pays from next month).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doudi.benefits import services
from doudi.benefits.models import Benefit, BenefitChange, PaymentRoll, PaymentRollLine
from doudi.benefits.months import month_of
from doudi.benefits.payroll import Reconciliation, reconcile
from doudi.benefits.schedule import ChangeRec, entitlement
from doudi.core import access
from doudi.core.models import Region, User

STATUS_LABELS = {
    "pending": _("未开始"),
    Benefit.Status.ACTIVE: _("正常发放"),
    Benefit.Status.GRADUAL_EXIT: _("渐退"),
    Benefit.Status.STOPPED: _("已停发"),
}


def _in_force(qs: QuerySet[Benefit], month: dt.date) -> QuerySet[Benefit]:
    return qs.filter(start_month__lte=month).filter(
        Q(end_month__isnull=True) | Q(end_month__gte=month)
    )


def _active(qs: QuerySet[Benefit], month: dt.date) -> QuerySet[Benefit]:
    return qs.filter(Q(end_month__isnull=True) | Q(end_month__gte=month))


def _month(as_of: dt.date | None) -> dt.date:
    return month_of(as_of or timezone.localdate())


def household_benefits(
    *, household_id: int, as_of: dt.date | None = None, active_only: bool = True
) -> list[Benefit]:
    """The household's benefits (its own and its members' person benefits recorded with it): those
    active in the month of ``as_of`` (default today; in force or starting later), or all of them,
    ended ones included, with ``active_only=False``."""
    qs = Benefit.objects.filter(household_id=household_id).select_related("person", "household")
    if active_only:
        qs = _active(qs, _month(as_of))
    return list(qs.order_by("item", "-start_month", "id"))


def person_benefits(
    *, person_id: int, as_of: dt.date | None = None, active_only: bool = True
) -> list[Benefit]:
    """Benefits paid to the person in their own right (特困, 单人保, a personal 临时救助).
    A household benefit (低保) is not listed here even though it covers the person: a member's
    death must not stop the whole household's 低保 — see :func:`household_benefits`.
    ``active_only`` as in :func:`household_benefits`."""
    qs = Benefit.objects.filter(person_id=person_id).select_related("person", "household")
    if active_only:
        qs = _active(qs, _month(as_of))
    return list(qs.order_by("item", "-start_month", "id"))


def benefits_received_item_codes(*, household_id: int, as_of: dt.date) -> set[str]:
    """Item codes of the household's benefits (household and members') in force in ``as_of``'s
    month, e.g. ``{"dibao", "tekun"}`` (paid that month: not those starting later)."""
    qs = _in_force(Benefit.objects.filter(household_id=household_id), month_of(as_of))
    return set(qs.values_list("item", flat=True))


def active_benefit_rows(*, as_of: dt.date) -> list[tuple[int | None, int, str, Decimal]]:
    """Every benefit in force in ``as_of``'s month city-wide, as ``(person_id or None,
    household_id, item, monthly amount that month)``: for the monitoring sweep."""
    month = month_of(as_of)
    qs = _in_force(Benefit.objects.all(), month)
    rows = list(qs.values_list("id", "person_id", "household_id", "item", "monthly_amount"))
    # the latest decision's amount is the month's amount unless a later-dated decision exists
    later = set(
        BenefitChange.objects.filter(
            benefit__in=qs, from_month__gt=month, new_amount__isnull=False
        ).values_list("benefit_id", flat=True)
    )
    out = []
    for bid, pid, hid, item, amount in rows:
        if bid in later:
            amount = amount_in_month(benefit_id=bid, month=month) or amount
        out.append((pid, hid, item, amount))
    return out


def amount_in_month(*, benefit_id: int, month: dt.date) -> Decimal | None:
    """The benefit's decided amount for ``month`` (None when not in force then)."""
    changes = [
        ChangeRec(c.id, c.kind, c.from_month, c.new_amount, c.end_month, c.reason)
        for c in BenefitChange.objects.filter(benefit_id=benefit_id).order_by("id")
    ]
    return entitlement(changes).amount_for(month_of(month))


def benefit_changes(*, benefit_ids: list[int]) -> QuerySet[BenefitChange]:
    return (
        BenefitChange.objects.filter(benefit_id__in=benefit_ids)
        .select_related("actor")
        .order_by("-at", "-id")
    )


def household_benefits_context(
    *, household_id: int, as_of: dt.date | None = None
) -> dict[str, Any]:
    """The context of ``benefits/_household_benefits.html``: every benefit of the household with
    its status in the month, the monthly total in force, and the latest decisions. Other pages
    include the template with this context (check the household's access first, e.g. with
    ``registry.selectors.household_get_for_user``)."""
    month = _month(as_of)
    benefits = household_benefits(household_id=household_id, active_only=False)
    changes: dict[int, list[ChangeRec]] = defaultdict(list)
    for c in BenefitChange.objects.filter(benefit_id__in=[b.pk for b in benefits]).order_by("id"):
        changes[c.benefit_id].append(
            ChangeRec(c.id, c.kind, c.from_month, c.new_amount, c.end_month, c.reason)
        )
    rows = []
    total = Decimal("0.00")
    for b in benefits:
        amount = entitlement(changes[b.pk]).amount_for(month)
        total += amount or 0
        status = b.status_in(month)
        rows.append(
            {
                "benefit": b,
                "status": status,
                "status_label": STATUS_LABELS.get(status, status),
                "in_force": amount is not None,
                "amount": amount,
            }
        )
    return {
        "benefit_rows": rows,
        "benefit_month": month,
        "benefit_total": total,
        "benefit_changes": list(benefit_changes(benefit_ids=[b.pk for b in benefits])[:12]),
    }


def benefits_visible_to(user: User) -> QuerySet[Benefit]:
    """Benefits of households in the user's jurisdiction (by residence or household registration)."""
    prefix = access.jurisdiction_prefix(user)
    if prefix is None:
        return Benefit.objects.none()
    return Benefit.objects.filter(
        Q(household__region__code__startswith=prefix)
        | Q(household__hukou_region__code__startswith=prefix)
    )


def benefit_list(
    *,
    user: User,
    item: str = "",
    status: str = "",
    region: str = "",
    month: dt.date | None = None,
) -> QuerySet[Benefit]:
    """Benefits for the 待遇台账 page: in force in ``month`` when given, filtered by item, decided
    status and region code prefix."""
    qs = benefits_visible_to(user).select_related("household", "person", "county")
    if item:
        qs = qs.filter(item=item)
    if status:
        qs = qs.filter(status=status)
    if region:
        qs = qs.filter(household__region__code__startswith=region)
    if month is not None:
        qs = _in_force(qs, month)
    return qs.order_by("county_id", "household__region_id", "household__number", "item", "id")


# ------------------------------------------------------------------ payment rolls


def payrolls_for_user(
    *,
    user: User,
    county: str = "",
    month_from: dt.date | None = None,
    month_to: dt.date | None = None,
    status: str = "",
) -> QuerySet[PaymentRoll]:
    """Rolls the user may see: a county approver's own county, the whole city for city staff;
    none for other roles."""
    if not services.can_view_rolls(user):
        return PaymentRoll.objects.none()
    prefix = access.jurisdiction_prefix(user) or ""
    qs = PaymentRoll.objects.filter(county__code__startswith=prefix).select_related(
        "county", "built_by", "approved_by"
    )
    if county:
        qs = qs.filter(county_id=county)
    if month_from:
        qs = qs.filter(month__gte=month_from)
    if month_to:
        qs = qs.filter(month__lte=month_to)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-month", "county_id")


def payroll_get_for_user(*, user: User, roll_id: int) -> PaymentRoll:
    """The roll if the user may see it; otherwise 404 (another county's roll is not revealed)."""
    roll = payrolls_for_user(user=user).filter(pk=roll_id).first()
    if roll is None:
        raise Http404("payroll")
    return roll


def payroll_lines(
    *, roll: PaymentRoll, kind: str = "", query: str = ""
) -> QuerySet[PaymentRollLine]:
    qs = roll.lines.select_related("household")
    if kind:
        qs = qs.filter(kind=kind)
    if query:
        qs = qs.filter(Q(payee_name__contains=query) | Q(household__number__contains=query))
    return qs.order_by("seq")


def payroll_reconcile(roll: PaymentRoll) -> Reconciliation:
    """Whether the roll's total equals the benefits' amounts in force that month plus the
    adjustments, as the decisions stood when the roll was built; lists each discrepancy
    (``.ok``, ``.discrepancies``, ``.expected_total``, ``.rounding_difference``,
    ``.changed_since_build``)."""
    return reconcile(roll)


def payroll_counties_for_user(*, user: User) -> list[Region]:
    """Counties whose rolls the user may build or see (for the page's county choice)."""
    prefix = access.jurisdiction_prefix(user)
    if prefix is None:
        return []
    return list(Region.objects.filter(level="county", code__startswith=prefix).order_by("code"))


def payroll_summary(*, rolls: QuerySet[PaymentRoll]) -> dict[str, object]:
    """Footer totals for a list of rolls."""
    totals: dict[str, Any] = defaultdict(int)
    for r in rolls:
        totals["rolls"] += 1
        totals["paid_count"] += r.paid_count
        totals["total"] += r.total
        totals["starts"] += r.starts
        totals["stops"] += r.stops
        totals["gradual_exits"] += r.gradual_exits
        totals["adjustments_total"] += r.adjustments_total
    return dict(totals)
