"""What a decision does to the benefits in payment, through ``doudi.benefits.services``.

The cases app never writes benefits itself: an approval starts, adjusts, exits or stops a benefit
through the benefits app's services, in the decision's transaction, with ``case_ref="case:<id>"``
so a benefit points back at the case that decided it. Payment starts the month after the decision
(DOMAIN.md §5–6).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from doudi.core.models import User


def next_month(day: dt.date) -> dt.date:
    """The first day of the month after ``day``."""
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _services() -> Any:
    from doudi.benefits import services

    return services


def active_benefits(*, household_id: int, as_of: dt.date | None = None) -> list[Any]:
    """The household's benefits in force (or decided to start) as of ``as_of``."""
    from doudi.benefits import selectors

    return list(selectors.household_benefits(household_id=household_id, as_of=as_of))


def find_benefit(
    *, household_id: int, item: str, person_id: int | None = None, as_of: dt.date | None = None
) -> Any | None:
    for b in active_benefits(household_id=household_id, as_of=as_of):
        if b.item == item and (person_id is None or b.person_id == person_id):
            return b
    return None


def _ref(benefit: Any) -> str:
    return f"benefit:{benefit.pk}"


def start(
    *,
    actor: User | None,
    household: Any,
    item: str,
    monthly_amount: Decimal,
    start_month: dt.date,
    person: Any | None,
    case_id: int,
    reason: str,
) -> str:
    benefit = _services().benefit_start(
        actor=actor,
        household=household,
        item=item,
        monthly_amount=monthly_amount,
        start_month=start_month,
        person=person,
        case_ref=f"case:{case_id}",
        reason=reason,
    )
    return _ref(benefit)


def once(
    *,
    actor: User | None,
    household: Any,
    amount: Decimal,
    month: dt.date,
    person: Any | None,
    case_id: int,
    reason: str,
) -> str:
    """A one-off 临时救助: a benefit paid in one month only (start and end in the same month)."""
    services = _services()
    benefit = services.benefit_start(
        actor=actor,
        household=household,
        item="temporary",
        monthly_amount=amount,
        start_month=month,
        person=person,
        case_ref=f"case:{case_id}",
        reason=reason,
    )
    benefit.refresh_from_db()
    if benefit.end_month is None:  # the benefits app may already end a one-off by itself
        services.benefit_stop(
            actor=actor,
            benefit=benefit,
            from_month=next_month(month),
            reason="一次性临时救助",
            source=f"case:{case_id}",
        )
    return _ref(benefit)


def _require(benefit: Any | None, what: str) -> Any:
    if benefit is None:
        raise ValidationError(
            f"该家庭没有正在发放的{what}待遇，无法办理 / no {what} benefit in payment",
            code="no_benefit",
        )
    return benefit


def adjust(
    *,
    actor: User | None,
    benefit: Any | None,
    monthly_amount: Decimal,
    from_month: dt.date,
    case_id: int,
    reason: str,
) -> str:
    benefit = _require(benefit, "")
    _services().benefit_adjust(
        actor=actor,
        benefit=benefit,
        monthly_amount=monthly_amount,
        from_month=from_month,
        reason=reason,
        source=f"case:{case_id}",
    )
    return _ref(benefit)


def stop(
    *, actor: User | None, benefit: Any | None, from_month: dt.date, case_id: int, reason: str
) -> str:
    benefit = _require(benefit, "")
    _services().benefit_stop(
        actor=actor, benefit=benefit, from_month=from_month, reason=reason, source=f"case:{case_id}"
    )
    return _ref(benefit)


def gradual_exit(
    *,
    actor: User | None,
    benefit: Any | None,
    from_month: dt.date,
    months: int,
    case_id: int,
    reason: str,
) -> str:
    benefit = _require(benefit, "")
    _services().benefit_gradual_exit(
        actor=actor,
        benefit=benefit,
        from_month=from_month,
        months=months,
        reason=reason,
        source=f"case:{case_id}",
    )
    return _ref(benefit)
