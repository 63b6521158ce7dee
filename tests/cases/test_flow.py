"""A 低保 application through every step: acceptance with a missing document (容缺), the
verification snapshot, the home investigation, the first review, the public notice, the
county's decision (only once the document is supplied or waived), and the benefit it starts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from doudi.cases import services, workflow
from doudi.cases.models import CaseEvent, Document, State
from doudi.core.models import AuditEvent
from tests.cases.conftest import ACCEPTED_ON, jpg

pytestmark = pytest.mark.django_db


def _through_notice(case, users, *, on=ACCEPTED_ON):
    case = services.case_verify(actor=users["clerk"], case=case, on=on)
    case = services.case_investigate(
        actor=users["clerk"],
        case=case,
        visited_on=on + dt.timedelta(days=2),
        staff=["刘晓燕", "赵春梅"],
        findings="老两口同住，无劳动能力，居住条件简陋",
        photos=[jpg()],
        on=on + dt.timedelta(days=2),
    )
    case = services.case_first_review(
        actor=users["clerk"],
        case=case,
        recommend=True,
        opinion="符合低保条件，建议纳入",
        proposed_amount="1638",
        on=on + dt.timedelta(days=3),
    )
    return case


def test_accept_with_missing_document(accept, users):
    application = accept()
    case = application.cases.get()
    assert case.state == State.VERIFICATION
    docs = {d.code: d for d in application.documents.all()}
    assert docs["income_proof"].status == Document.Status.MISSING
    assert docs["authorisation"].status == Document.Status.RECEIVED  # the signed one on record
    assert docs["income_proof"].due_on == dt.date(2025, 6, 16)  # 10 working days after 6-02
    assert application.origin == "window" and application.authorisation_id
    assert AuditEvent.objects.filter(event="cases.application_accept").count() == 1
    assert CaseEvent.objects.filter(case=case, event="accept").exists()
    # the same item cannot be opened twice for the household while one is open
    with pytest.raises(ValidationError, match="在办"):
        accept()


def test_a_document_that_cannot_be_deferred_refuses_the_application(accept):
    with pytest.raises(ValidationError) as exc:
        accept(received=("identity",))
    assert "低保申请书" in exc.value.messages[0]


def test_full_dibao_flow_with_waiver_and_benefit(accept, users):
    from doudi.benefits.models import Benefit

    application = accept()
    case = application.cases.get()
    case = _through_notice(case, users)
    assert case.snapshot["eligible"] in ("yes", "no", "unknown")
    assert case.snapshot["verification_id"] == case.verification_id
    assert case.state == State.NOTICE
    assert case.notice_from == dt.date(2025, 6, 6) and case.notice_until == dt.date(2025, 6, 12)
    inv = case.investigations.get()
    assert inv.staff == ["刘晓燕", "赵春梅"] and inv.photos.count() == 1
    with pytest.raises(ValidationError, match="公示期"):
        services.case_close_notice(actor=users["clerk"], case=case, on=dt.date(2025, 6, 12))
    case = services.case_close_notice(actor=users["clerk"], case=case, on=dt.date(2025, 6, 13))
    assert case.state == State.DECISION
    # 10 working days after the notice's last day (6-12): 6-26
    assert case.step_due_on == dt.date(2025, 6, 26)
    outcome = services.Outcome(approve=True, monthly_amount=Decimal("1638"))
    with pytest.raises(ValidationError, match="容缺"):
        services.case_decide(
            actor=users["county"], case=case, outcome=outcome, on=dt.date(2025, 6, 16)
        )
    assert case.state == State.DECISION
    doc = application.documents.get(code="income_proof")
    with pytest.raises(PermissionDenied):  # a clerk cannot waive: the county supervisor does
        services.document_waive(
            actor=users["clerk"], document=doc, reason="无收入", on=dt.date(2025, 6, 16)
        )
    services.document_waive(
        actor=users["county"],
        document=doc,
        reason="二人均无工作，无收入可证明",
        on=dt.date(2025, 6, 16),
    )
    with pytest.raises(PermissionDenied):  # 低保 is decided by the county
        services.case_decide(
            actor=users["clerk"], case=case, outcome=outcome, on=dt.date(2025, 6, 16)
        )
    case = services.case_decide(
        actor=users["county"], case=case, outcome=outcome, on=dt.date(2025, 6, 16)
    )
    assert case.state == State.APPROVED and case.approved
    assert case.start_month == dt.date(2025, 7, 1)  # the month after the decision
    benefit = Benefit.objects.get(case_ref=f"case:{case.pk}")
    assert benefit.item == "dibao" and benefit.monthly_amount == Decimal("1638.00")
    assert benefit.start_month == dt.date(2025, 7, 1)
    assert case.benefit_ref == f"benefit:{benefit.pk}"
    assert case.cycle_days == 10  # 6-02 → 6-16
    assert case.review_months == 12  # an elderly couple: yearly review
    events = list(CaseEvent.objects.filter(case=case).values_list("event", flat=True))
    assert events == [
        "accept",
        "verify",
        "investigate",
        "first_review",
        "close_notice",
        "document_waive",
        "decide",
    ]
    assert AuditEvent.objects.filter(event="cases.decide", subject_id=str(case.pk)).exists()


def test_decision_after_the_document_is_supplied(accept, users):
    application = accept()
    case = _through_notice(application.cases.get(), users)
    case = services.case_close_notice(actor=users["clerk"], case=case, on=dt.date(2025, 6, 13))
    doc = application.documents.get(code="income_proof")
    services.document_supply(actor=users["clerk"], document=doc, on=dt.date(2025, 6, 13))
    case = services.case_decide(
        actor=users["county"],
        case=case,
        outcome=services.Outcome(approve=False, reasons="家庭有机动车一辆，不符合财产条件"),
        on=dt.date(2025, 6, 16),
    )
    assert case.state == State.REFUSED and case.action == "refuse"
    assert case.letter_due == dt.date(2025, 6, 19)  # 3 working days


def test_investigation_needs_two_staff(accept, users):
    case = services.case_verify(actor=users["clerk"], case=accept().cases.get(), on=ACCEPTED_ON)
    with pytest.raises(ValidationError, match="不少于2名"):
        services.case_investigate(
            actor=users["clerk"],
            case=case,
            visited_on=ACCEPTED_ON,
            staff=["刘晓燕", " 刘晓燕 "],
            findings="x",
            on=ACCEPTED_ON,
        )


def test_minor_is_not_published(users, register, villages):
    from doudi.cases.selectors import notice_rows
    from doudi.policy.verification import authorisation_record
    from tests.cases.conftest import pdf
    from tests.conftest import make_id

    hh = register(
        "370611001001",
        [
            (make_id("370611", "19600101", 71), "孙大爷", "head"),
            (make_id("370611", "20150505", 82), "孙小妹", "grandchild"),
        ],
    )
    authorisation_record(
        actor=users["clerk"],
        household=hh,
        signed_by="孙大爷",
        signed_on=dt.date(2025, 1, 10),
        scan=pdf(),
    )
    child = hh.memberships.get(relation="grandchild").person
    application = services.application_accept(
        actor=users["clerk"],
        household=hh,
        items=["tekun"],
        persons={"tekun": child.pk},
        applicant=services.Applicant(
            kind="family", person_id=hh.memberships.get(relation="head").person_id
        ),
        received=("application_form", "identity", "obligor_status"),
        on=ACCEPTED_ON,
    )
    case = application.cases.get()
    case = services.case_verify(actor=users["clerk"], case=case, on=ACCEPTED_ON)
    with pytest.raises(ValidationError, match="自理"):
        services.case_investigate(
            actor=users["clerk"],
            case=case,
            visited_on=ACCEPTED_ON,
            staff=["a", "b"],
            findings="父母双亡",
            on=ACCEPTED_ON,
        )
    case = services.case_investigate(
        actor=users["clerk"],
        case=case,
        visited_on=ACCEPTED_ON,
        staff=["a", "b"],
        findings="父母双亡",
        self_care_failed=0,
        on=ACCEPTED_ON,
    )
    case = services.case_first_review(
        actor=users["clerk"],
        case=case,
        recommend=True,
        opinion="符合",
        proposed_amount="1120",
        on=ACCEPTED_ON,
    )
    assert case.state == State.DECISION and case.notice_skipped == "未成年人，不公示"
    assert case.notice_from is None
    assert notice_rows(region_prefix="370611001", on=ACCEPTED_ON + dt.timedelta(days=2)) == []


def test_village_worker_help_to_apply(users, authorised):
    application = services.application_accept(
        actor=users["village"],
        household=authorised,
        items=["near_dibao"],
        received=("application_form", "identity", "income_proof", "agent_authorisation"),
        on=ACCEPTED_ON,
    )
    assert application.origin == "help_to_apply" and application.helper == users["village"]
    assert (
        application.applicant_kind == "agent" and application.agent_relation == "村（社区）帮办代办"
    )


def test_open_from_alert_and_proactive_outcomes(users, authorised):
    from doudi.cases.selectors import proactive_outcomes

    application = services.application_open_from_alert(
        actor=users["clerk"],
        household=authorised,
        items=["dibao"],
        alert_ref="alert:45",
        note="大额医疗支出",
    )
    assert application.origin == "alert" and application.alert_ref == "alert:45"
    # papers are collected afterwards: the application form is due, not refused
    missing = set(application.documents.filter(status="missing").values_list("code", flat=True))
    assert {"application_form", "identity", "income_proof"} <= missing
    rows = proactive_outcomes(region_prefix="370611")
    assert rows == [
        {
            "alert_ref": "alert:45",
            "application_id": application.pk,
            "town_code": "370611001",
            "opened_on": application.accepted_on,
            "decided_on": None,
            "approved": None,
            "persons": 0,
            "monthly_amount": Decimal(0),
            "once_amount": Decimal(0),
        }
    ]
    assert proactive_outcomes(region_prefix="370602") == []


def test_withdraw_from_any_open_state(accept, users):
    case = accept().cases.get()
    case = services.case_withdraw(actor=users["clerk"], case=case, reason="申请人自愿撤回")
    assert case.state == State.WITHDRAWN and case.step_due_on is None
    with pytest.raises(workflow.InvalidTransition):
        services.case_withdraw(actor=users["clerk"], case=case, reason="again")
