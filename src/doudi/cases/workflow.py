"""The workflow of a case: an explicit state machine.

A case's state is the step it waits for, or how it ended. Each item declares its own step list
(``items/*.toml``); the full list, in the only order steps may take, is::

    受理 ──► advance_payment ──► verification ──► investigation ──► first_review ──► notice ──► decision
    (accepted)  先行救助            信息核对           入户调查            初审             公示       审核确认
                                                                          │                          │ │
                                                                          └──to_committee──► committee ┤ ├──► approved  已批准
                                                                                      一事一议 ────────┘ └──► refused   不予批准
    受理 ──► referral ──refer──► referred  已转介
    any open state ──withdraw──► withdrawn  已撤回

A case starts in its item's first step. The transitions (one service each, in ``services``):

==================  ===========================  ===================================
transition          from                          to
==================  ===========================  ===================================
pay_advance         advance_payment               the item's next step
verify              verification                  the item's next step
investigate         investigation                 the item's next step
first_review        first_review                  notice, or the step after it when
                                                  the notice is skipped (minors)
close_notice        notice (after it ended)       the item's next step
decide              decision                      approved / refused
to_committee        first_review, decision        committee
committee_decide    committee                     approved / refused
refer               referral                      referred
withdraw            any open state                withdrawn
==================  ===========================  ===================================

``decide`` and ``committee_decide`` also need every required document supplied or waived
(容缺), checked in the service. Appeals are recorded against approved or refused cases and do
not change the case's state (an overturned decision is followed by a new application).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError

from doudi.cases.catalog import Item
from doudi.cases.models import State

STEP_STATES = frozenset(
    {
        State.ADVANCE_PAYMENT,
        State.VERIFICATION,
        State.INVESTIGATION,
        State.FIRST_REVIEW,
        State.NOTICE,
        State.DECISION,
        State.REFERRAL,
    }
)
OPEN_STATES = STEP_STATES | {State.COMMITTEE}
CLOSED_STATES = frozenset({State.APPROVED, State.REFUSED, State.REFERRED, State.WITHDRAWN})
DECIDED_STATES = frozenset({State.APPROVED, State.REFUSED})
NEXT = "next"  # the item's next step


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: frozenset[str]
    targets: frozenset[str]  # {NEXT} for "the item's next step"


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in (
        Transition(
            "pay_advance", "先行救助", frozenset({State.ADVANCE_PAYMENT}), frozenset({NEXT})
        ),
        Transition("verify", "信息核对", frozenset({State.VERIFICATION}), frozenset({NEXT})),
        Transition("investigate", "入户调查", frozenset({State.INVESTIGATION}), frozenset({NEXT})),
        Transition("first_review", "初审", frozenset({State.FIRST_REVIEW}), frozenset({NEXT})),
        Transition("close_notice", "公示结束", frozenset({State.NOTICE}), frozenset({NEXT})),
        Transition(
            "decide",
            "审核确认",
            frozenset({State.DECISION}),
            frozenset({State.APPROVED, State.REFUSED}),
        ),
        Transition(
            "to_committee",
            "提交一事一议",
            frozenset({State.FIRST_REVIEW, State.DECISION}),
            frozenset({State.COMMITTEE}),
        ),
        Transition(
            "committee_decide",
            "一事一议决定",
            frozenset({State.COMMITTEE}),
            frozenset({State.APPROVED, State.REFUSED}),
        ),
        Transition("refer", "转介", frozenset({State.REFERRAL}), frozenset({State.REFERRED})),
        Transition("withdraw", "撤回", OPEN_STATES, frozenset({State.WITHDRAWN})),
    )
}


class InvalidTransition(ValidationError):
    """A transition asked of a case in a state that does not allow it."""


def check(transition: str, state: str) -> Transition:
    """The transition, if it is allowed from ``state``; else :class:`InvalidTransition`."""
    t = TRANSITIONS[transition]
    if state not in t.sources:
        raise InvalidTransition(
            f"当前状态“{State(state).label}”不能办理“{t.label}” / "
            f"'{transition}' is not allowed from '{state}'",
            code="invalid_transition",
        )
    return t


def first_state(item: Item) -> str:
    return item.step_codes[0]


def next_state(item: Item, state: str, *, skip_notice: bool = False) -> str:
    """The step after ``state`` in the item's list (skipping the notice when asked)."""
    nxt = item.next_step(state)
    if nxt == State.NOTICE and skip_notice:
        nxt = item.next_step(State.NOTICE)
    if nxt is None:  # pragma: no cover - the catalog guarantees a decision/referral at the end
        raise InvalidTransition("事项没有后续环节 / the item has no next step")
    return nxt


def allowed(state: str) -> list[str]:
    """Names of the transitions allowed from ``state``."""
    return [name for name, t in TRANSITIONS.items() if state in t.sources]
