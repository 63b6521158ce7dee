"""The state machine: every transition from every state, allowed or refused (parametrised over
the transition table)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from doudi.cases import services, workflow
from doudi.cases.catalog import get_item
from doudi.cases.models import Case, CaseEvent, State
from tests.cases.conftest import ACCEPTED_ON

pytestmark = pytest.mark.django_db

ON = ACCEPTED_ON + dt.timedelta(days=3)
ALL_DOCS = (
    "application_form",
    "identity",
    "authorisation",
    "income_proof",
    "hardship_proof",
    "medical_bills",
)
#: the item used to put a case in each state (a state only exists for items with that step)
ITEM_FOR_STATE = {
    State.ADVANCE_PAYMENT: "temporary_emergency",
    State.REFERRAL: "medical_referral",
    State.REFERRED: "medical_referral",
}


def _call(name: str, case: Case, users) -> Case:
    clerk, county = users["clerk"], users["county"]
    approve = services.Outcome(approve=True, monthly_amount=Decimal("1000"))
    calls = {
        "pay_advance": lambda: services.case_pay_advance(
            actor=clerk, case=case, amount="800", reason="火灾", on=ON
        ),
        "verify": lambda: services.case_verify(actor=clerk, case=case, on=ON),
        "investigate": lambda: services.case_investigate(
            actor=clerk, case=case, visited_on=ON, staff=["甲", "乙"], findings="属实", on=ON
        ),
        "first_review": lambda: services.case_first_review(
            actor=clerk, case=case, recommend=True, opinion="符合", proposed_amount="1000", on=ON
        ),
        "close_notice": lambda: services.case_close_notice(actor=clerk, case=case, on=ON),
        "decide": lambda: services.case_decide(actor=county, case=case, outcome=approve, on=ON),
        "to_committee": lambda: services.case_to_committee(
            actor=clerk, case=case, reason="家庭情况特殊", on=ON
        ),
        "committee_decide": lambda: services.case_committee_decide(
            actor=county,
            case=case,
            met_on=ON,
            members=["甲", "乙", "丙"],
            votes_for=3,
            votes_against=0,
            votes_abstain=0,
            minutes="一致同意",
            outcome=approve,
            on=ON,
        ),
        "refer": lambda: services.case_refer(
            actor=clerk, case=case, department="福山区医疗保障局", on=ON
        ),
        "withdraw": lambda: services.case_withdraw(actor=clerk, case=case, reason="撤回", on=ON),
    }
    return calls[name]()


def _expected(name: str, item_code: str, state: str) -> str:
    t = workflow.TRANSITIONS[name]
    if workflow.NEXT in t.targets:
        return get_item(item_code).next_step(state)
    if name in ("decide", "committee_decide"):
        return State.APPROVED
    (target,) = t.targets
    return target


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.value)
@pytest.mark.parametrize("name", list(workflow.TRANSITIONS))
def test_transition(name, state, accept, users):
    item_code = ITEM_FOR_STATE.get(state, "dibao")
    case = accept([item_code], received=ALL_DOCS).cases.get()
    Case.objects.filter(pk=case.pk).update(
        state=state, notice_from=ON - dt.timedelta(days=8), notice_until=ON - dt.timedelta(days=1)
    )
    case.refresh_from_db()
    allowed = state in workflow.TRANSITIONS[name].sources
    events = CaseEvent.objects.filter(case=case).count()
    if allowed:
        case = _call(name, case, users)
        assert case.state == _expected(name, item_code, state)
        case.refresh_from_db()
        assert case.state == _expected(name, item_code, state)
        assert CaseEvent.objects.filter(case=case).count() > events
    else:
        with pytest.raises(workflow.InvalidTransition):
            _call(name, case, users)
        case.refresh_from_db()
        assert case.state == state
        assert CaseEvent.objects.filter(case=case).count() == events


def test_every_item_starts_in_its_first_step(accept, users):
    from doudi.cases.catalog import load_items

    for code, item in load_items().items():
        assert workflow.first_state(item) == item.step_codes[0], code
    assert set(workflow.OPEN_STATES) | set(workflow.CLOSED_STATES) == set(State.values)
