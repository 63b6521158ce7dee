"""What a benefit pays in a given month, worked out from its history of decisions alone.

Pure Python, no Django: the payment rolls, their reconciliation and the pages all use it, and it is
how a roll approved months ago is re-checked "as known when it was built" (only the changes
recorded up to then are passed in).

The rules, in plain words:

- a benefit is in force from the ``from_month`` of its ``start`` decision to its end month, the
  last month paid; the end month is set by the most recent ``stop`` or ``gradual_exit`` decision
  (none: open-ended), or by the start itself for a one-off (临时救助: start = end);
- the amount of a month is the ``new_amount`` of the most recently recorded amount decision
  (``start``, ``adjust``, ``gradual_exit``) whose ``from_month`` is on or before that month: the
  newest decision wins from its month onwards, so a retroactive adjustment recorded today
  overrides older ones for the months it covers;
- rolls pay whole yuan: each month's amount is rounded once, half up (0.50 → 1), the same rule as
  the policy engine's amounts. Sums of decisions (2 decimals) and roll totals (whole yuan) differ
  by that rounding only; the reconciliation shows the difference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

START, ADJUST, GRADUAL_EXIT, STOP = "start", "adjust", "gradual_exit", "stop"
AMOUNT_KINDS = frozenset({START, ADJUST, GRADUAL_EXIT})
END_KINDS = frozenset({STOP, GRADUAL_EXIT})


def whole_yuan(amount: Decimal) -> Decimal:
    """Round to the whole yuan, half up."""
    return Decimal(amount).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ChangeRec:
    """One decision as the schedule needs it (a ``BenefitChange`` row)."""

    id: int
    kind: str
    from_month: dt.date
    new_amount: Decimal | None = None
    end_month: dt.date | None = None
    reason: str = ""


@dataclass
class Entitlement:
    """A benefit's payments month by month, from its decisions."""

    start: dt.date | None = None
    end: dt.date | None = None
    exit_from: dt.date | None = None
    ended_by: str = ""  # "stop" | "gradual_exit" | ""
    end_reason: str = ""
    amounts: list[ChangeRec] = field(default_factory=list)  # newest first

    def in_force(self, month: dt.date) -> bool:
        if self.start is None or month < self.start:
            return False
        return self.end is None or month <= self.end

    def amount_for(self, month: dt.date) -> Decimal | None:
        """The decided monthly amount for ``month`` (2 decimals), None when not in force."""
        if not self.in_force(month):
            return None
        for c in self.amounts:
            if c.from_month <= month:
                return c.new_amount
        return None

    def paid_for(self, month: dt.date) -> Decimal:
        """What a roll pays for ``month``: the amount in whole yuan, 0 when not in force."""
        amount = self.amount_for(month)
        return Decimal(0) if amount is None else whole_yuan(amount)

    def in_exit(self, month: dt.date) -> bool:
        return (
            self.exit_from is not None
            and self.end is not None
            and self.exit_from <= month <= self.end
        )


def entitlement(changes: Iterable[ChangeRec]) -> Entitlement:
    ordered = sorted(changes, key=lambda c: c.id)
    ent = Entitlement()
    for c in ordered:
        if c.kind == START:
            ent.start = c.from_month
            if c.end_month is not None:  # a one-off (临时救助): start and end together
                ent.end, ent.ended_by, ent.end_reason = c.end_month, "", ""
        if c.kind in END_KINDS:
            ent.end = c.end_month
            ent.ended_by = c.kind
            ent.end_reason = c.reason
        if c.kind == GRADUAL_EXIT:
            ent.exit_from = c.from_month
    if ent.exit_from is not None and ent.end is not None and ent.exit_from > ent.end:
        ent.exit_from = None  # stopped before the gradual exit began
    ent.amounts = [
        c for c in reversed(ordered) if c.kind in AMOUNT_KINDS and c.new_amount is not None
    ]
    return ent
