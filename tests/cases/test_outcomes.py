"""What decisions do to benefits (start, one-off with 先行救助, adjust, gradual exit, stop),
一事一议, reviews due and opened in bulk, appeals, escalation of overdue cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from doudi.benefits.models import Benefit
from doudi.cases import selectors, services
from doudi.cases.models import Appeal, Case, State
from tests.cases.conftest import ACCEPTED_ON

pytestmark = pytest.mark.django_db

DECIDED = dt.date(2025, 6, 16)


def _at(case, state):
    Case.objects.filter(pk=case.pk).update(state=state)
    case.refresh_from_db()
    return case


def _approved_dibao(accept, users, amount="1638"):
    case = accept(["dibao"], received=("application_form", "identity", "income_proof")).cases.get()
    return services.case_decide(
        actor=users["county"],
        case=_at(case, State.DECISION),
        outcome=services.Outcome(approve=True, monthly_amount=amount),
        on=DECIDED,
    )


def test_emergency_pays_first_and_large_amounts_go_to_the_committee(accept, users):
    application = accept(["temporary_emergency"], received=())
    case = application.cases.get()
    assert case.state == State.ADVANCE_PAYMENT
    assert set(application.documents.values_list("status", flat=True)) == {"missing"}
    case = services.case_pay_advance(
        actor=users["clerk"], case=case, amount="800", reason="房屋失火", on=ACCEPTED_ON
    )
    advance = Benefit.objects.get(case_ref=f"case:{case.pk}")
    assert advance.item == "temporary" and advance.start_month == dt.date(2025, 6, 1)
    assert advance.end_month == dt.date(2025, 6, 1)  # one month only
    assert case.state == State.INVESTIGATION
    case = services.case_investigate(
        actor=users["village"],
        case=case,
        visited_on=ACCEPTED_ON,
        staff=["赵春梅", "刘晓燕"],
        findings="房屋烧毁",
        on=ACCEPTED_ON,
    )
    assert case.state == State.DECISION
    for d in application.documents.all():
        services.document_supply(actor=users["clerk"], document=d, on=ACCEPTED_ON)
    with pytest.raises(ValidationError, match="一事一议"):
        services.case_decide(
            actor=users["clerk"],
            case=case,
            outcome=services.Outcome(approve=True, monthly_amount="3000"),
            on=ACCEPTED_ON,
        )
    case = services.case_to_committee(
        actor=users["clerk"], case=case, reason="损失大，超过乡镇额度", on=ACCEPTED_ON
    )
    with pytest.raises(ValidationError, match="超过参会人数的一半"):
        services.case_committee_decide(
            actor=users["county"],
            case=case,
            met_on=ACCEPTED_ON,
            members=["甲", "乙", "丙"],
            votes_for=1,
            votes_against=2,
            votes_abstain=0,
            minutes="意见不一",
            outcome=services.Outcome(approve=True, monthly_amount="3000"),
            on=ACCEPTED_ON,
        )
    case = services.case_committee_decide(
        actor=users["county"],
        case=case,
        met_on=ACCEPTED_ON,
        members=["甲", "乙", "丙"],
        votes_for=3,
        votes_against=0,
        votes_abstain=0,
        minutes="同意一次性救助3,000元",
        outcome=services.Outcome(approve=True, monthly_amount="3000"),
        on=ACCEPTED_ON,
    )
    assert case.state == State.APPROVED and case.committee.votes_for == 3
    assert Benefit.objects.filter(case_ref=f"case:{case.pk}", item="temporary").count() == 2


def test_review_adjusts_and_exit_stops(accept, users):
    approved = _approved_dibao(accept, users)
    benefit = Benefit.objects.get(case_ref=f"case:{approved.pk}")
    review = accept(
        ["dibao_review"], received=("authorisation", "income_declaration"), on=DECIDED
    ).cases.get()
    review = services.case_decide(
        actor=users["county"],
        case=_at(review, State.DECISION),
        outcome=services.Outcome(approve=True, action="adjust", monthly_amount="1500"),
        on=DECIDED,
    )
    assert review.action == "adjust" and review.benefit_ref == f"benefit:{benefit.pk}"
    benefit.refresh_from_db()
    assert benefit.monthly_amount == Decimal("1500.00")
    exit_case = accept(["benefit_exit"], received=("exit_evidence",), on=DECIDED).cases.get()
    with pytest.raises(ValidationError, match="理由"):
        services.case_decide(
            actor=users["county"],
            case=_at(exit_case, State.DECISION),
            outcome=services.Outcome(approve=True, action="stop"),
            on=DECIDED,
        )
    exit_case = services.case_decide(
        actor=users["county"],
        case=exit_case,
        outcome=services.Outcome(approve=True, action="gradual_exit", reasons="收入超过低保标准"),
        on=DECIDED,
    )
    benefit.refresh_from_db()
    assert exit_case.exit_months == 6 and benefit.status == "gradual_exit"


def test_care_level_change_adjusts_the_tekun_benefit(accept, users):
    case = accept(
        ["tekun"], received=("application_form", "identity", "obligor_status")
    ).cases.get()
    case = services.case_decide(
        actor=users["county"],
        case=_at(case, State.DECISION),
        outcome=services.Outcome(approve=True, monthly_amount="1353"),
        on=DECIDED,
    )
    change = accept(["tekun_care_change"], received=("application_form",), on=DECIDED).cases.get()
    assert change.state == State.INVESTIGATION
    change = services.case_investigate(
        actor=users["clerk"],
        case=change,
        visited_on=DECIDED,
        staff=["甲", "乙"],
        findings="卧床，吃饭穿衣需人照料",
        self_care_failed=5,
        on=DECIDED,
    )
    assert change.care_level == "full"
    change = services.case_decide(
        actor=users["county"],
        case=change,
        outcome=services.Outcome(approve=True, action="adjust", monthly_amount="1892"),
        on=DECIDED,
    )
    benefit = Benefit.objects.get(case_ref=f"case:{case.pk}")
    assert benefit.monthly_amount == Decimal("1892.00") and change.care_level == "full"


def test_reviews_due_and_opened_in_bulk(accept, users):
    approved = _approved_dibao(accept, users)
    assert approved.review_months == 12
    today = dt.date.today()
    due = selectors.reviews_due(region_prefix="370611001", as_of=today)
    assert [r["household"].pk for r in due] == [approved.application.household_id]
    assert due[0]["due_on"] == dt.date(2026, 6, 16)
    assert selectors.reviews_due(region_prefix="370611002", as_of=today) == []
    opened = services.reviews_open(actor=users["clerk"], town_code="370611001")
    assert len(opened) == 1 and opened[0].origin == "review"
    review = opened[0].cases.get()
    assert review.item == "dibao_review" and review.review_of == approved
    assert selectors.reviews_due(region_prefix="370611001", as_of=today) == []
    assert review in selectors.queue_tabs(user=users["clerk"], today=today)["open"]["rows"]


def test_review_every_six_months_with_a_working_age_member(register, users):
    from tests.conftest import make_id

    hh = register("370611001001", [(make_id("370611", "19800101", 91), "周强", "head")])
    assert services.review_months(household=hh, on=DECIDED) == 6


def test_proactive_outcome_after_approval(users, authorised):
    application = services.application_open_from_alert(
        actor=users["clerk"], household=authorised, items=["dibao"], alert_ref="alert:7"
    )
    case = application.cases.get()
    for d in application.documents.all():
        services.document_supply(actor=users["clerk"], document=d)
    case = services.case_decide(
        actor=users["county"],
        case=_at(case, State.DECISION),
        outcome=services.Outcome(approve=True, monthly_amount="1638"),
    )
    (row,) = selectors.proactive_outcomes(since=dt.date(2020, 1, 1))
    assert row["approved"] is True and row["persons"] == 2
    assert row["monthly_amount"] == Decimal("1638.00") and row["decided_on"] == case.decided_on


def test_appeal_recorded_and_resolved(accept, users):
    case = accept(["dibao"], received=("application_form", "identity", "income_proof")).cases.get()
    with pytest.raises(ValidationError):
        services.appeal_record(
            actor=users["clerk"],
            case=case,
            kind="reconsideration",
            received_on=DECIDED,
            appellant="曾小明",
            grounds="不服",
        )
    case = services.case_decide(
        actor=users["county"],
        case=_at(case, State.DECISION),
        outcome=services.Outcome(approve=False, reasons="存款超过规定"),
        on=DECIDED,
    )
    appeal = services.appeal_record(
        actor=users["clerk"],
        case=case,
        kind="reconsideration",
        received_on=dt.date(2025, 6, 20),
        appellant="曾小明",
        grounds="存款是医疗借款",
    )
    assert appeal.due_on == dt.date(2025, 8, 19)  # 60 days
    appeal = services.appeal_resolve(
        actor=users["county"],
        appeal=appeal,
        status="overturned",
        resolution="撤销原决定，重新核查",
    )
    assert appeal.status == Appeal.Status.OVERTURNED
    assert case.events.filter(event="appeal_resolve").exists()


def test_overdue_cases_are_escalated_and_extended(accept, users):
    case = accept(["dibao"]).cases.get()
    today = dt.date.today()
    assert services.is_overdue(case, today)
    tabs = selectors.queue_tabs(user=users["clerk"], today=today)
    assert tabs["overdue"]["count"] == 1 and tabs["escalated"]["count"] == 0
    assert services.cases_escalate_overdue(today=today) == 1
    county_tabs = selectors.queue_tabs(user=users["county"], today=today)
    assert county_tabs["escalated"]["count"] == 1
    old_due = case.due_on
    case = services.case_extend(actor=users["county"], case=case, reason="需外地协查")
    assert case.due_on > old_due and case.extended
    with pytest.raises(ValidationError):
        services.case_extend(actor=users["county"], case=case, reason="again")


def test_refused_for_missing_person_and_applicant(accept, users, authorised):
    with pytest.raises(ValidationError, match="对象"):
        accept(["tekun"], persons={})
    with pytest.raises(ValidationError, match="代理人"):
        accept(["dibao"], applicant=services.Applicant(kind="agent"))
