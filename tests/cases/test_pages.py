"""The cases pages render for each role, keep to the jurisdiction, and carry out actions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from doudi.cases import services
from doudi.cases.models import Case, State
from doudi.core.models import AuditEvent
from tests.cases.conftest import ACCEPTED_ON, pdf

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "".join(
        "".join((p.extract_text() or "").replace("\x00", "").split()) for p in reader.pages
    )


ROLES = ["admin", "analyst", "county", "clerk", "village"]


@pytest.fixture
def decided(accept, users):
    """A refused 低保 case, an approved one and an open one with a missing document."""
    open_app = accept(["near_dibao"])
    refused = accept(
        ["dibao"], received=("application_form", "identity", "income_proof")
    ).cases.get()
    Case.objects.filter(pk=refused.pk).update(state=State.DECISION)
    refused.refresh_from_db()
    refused = services.case_decide(
        actor=users["county"],
        case=refused,
        outcome=services.Outcome(approve=False, reasons="有机动车"),
        on=ACCEPTED_ON + dt.timedelta(days=5),
    )
    return {"open": open_app.cases.get(), "refused": refused}


@pytest.mark.parametrize("role", ROLES)
def test_pages_render_for_each_role(client, users, decided, role):
    client.force_login(users[role])
    case = decided["refused"]
    for name, args in [
        ("cases:queue", []),
        ("cases:notices", []),
        ("cases:dashboard", []),
        ("cases:items", []),
        ("cases:case", [case.pk]),
        ("cases:application", [case.application_id]),
    ]:
        r = client.get(reverse(name, args=args))
        assert r.status_code == 200, (name, r.status_code)
    for tab in ("due_today", "overdue", "documents", "notice", "decision", "escalated", "open"):
        assert client.get(reverse("cases:queue"), {"tab": tab}).status_code == 200
    r = client.get(reverse("cases:reviews"))
    assert r.status_code == (403 if role == "village" else 200)
    r = client.get(reverse("cases:intake"))
    assert r.status_code == (200 if role in ("admin", "clerk", "village") else 403)


def test_caretaker_and_api_users_see_no_cases(client, users, decided):
    for role in ("carer", "api"):
        client.force_login(users[role])
        assert client.get(reverse("cases:queue")).status_code == 403
        assert client.get(reverse("cases:case", args=[decided["refused"].pk])).status_code == 404


def test_other_town_gets_404(client, users, decided):
    client.force_login(users["clerk2"])
    assert client.get(reverse("cases:case", args=[decided["open"].pk])).status_code == 404
    assert (
        client.get(reverse("cases:application", args=[decided["open"].application_id])).status_code
        == 404
    )


def test_queue_counts_and_masked_ids(client, users, decided):
    client.force_login(users["clerk"])
    html = client.get(reverse("cases:queue"), {"tab": "open"}).content.decode()
    assert 'data-testid="tab-open"' in html
    assert decided["open"].number in html
    docs = client.get(reverse("cases:queue"), {"tab": "documents"}).content.decode()
    assert "家庭成员收入证明" in docs
    x = client.get(reverse("cases:queue"), {"tab": "open", "export": "xlsx"})
    assert x.status_code == 200 and x["Content-Type"].startswith("application/vnd.openxml")


def test_refusal_letter_and_approval_form_pdf(client, users, decided):
    client.force_login(users["clerk"])
    r = client.get(reverse("cases:letter", args=[decided["refused"].pk]))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    text = pdf_text(r.content)
    assert "不予批准告知书" in text and "有机动车" in text
    assert "2025年6月7日" in text  # the decision date in letter format
    assert "六十日内" in text
    assert client.get(reverse("cases:letter", args=[decided["open"].pk])).status_code == 404
    r = client.get(reverse("cases:approval", args=[decided["refused"].pk]))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(event="cases.letter_pdf").exists()


def test_intake_page_accepts_with_a_missing_document(client, users, authorised):
    client.force_login(users["clerk"])
    r = client.get(reverse("cases:intake"), {"q": "曾小明"})
    assert r.status_code == 200 and "选择此家庭" in r.content.decode()
    url = reverse("cases:intake")
    r = client.get(
        url,
        {"household": authorised.pk, "items": "dibao", "partial": "documents"},
        HTTP_HX_REQUEST="true",
    )
    assert "家庭成员收入证明" in r.content.decode()
    head = authorised.memberships.get(relation="head").person
    r = client.post(
        url,
        {
            "household": authorised.pk,
            "items": ["dibao"],
            "applicant_kind": "self",
            "applicant_person": head.pk,
            "received": ["application_form", "identity"],
            "auth_signed_by": "曾小明、李秀英",
            "auth_signed_on": str(dt.date.today()),
            "auth_scan": pdf("授权书.pdf", b"% signed again\n"),
            "file_identity": pdf("户口簿.pdf"),
        },
    )
    assert r.status_code == 302, r.content.decode().split('data-testid="errors"')[-1][:500]
    case = Case.objects.get()
    assert case.application.documents.get(code="income_proof").status == "missing"
    assert case.application.documents.get(code="identity").file
    assert case.application.documents.get(code="authorisation").status == "received"
    assert case.application.authorisation_id
    # a document that cannot be deferred: the form comes back with the message and the typed values
    r = client.post(
        url,
        {
            "household": authorised.pk,
            "items": ["tekun"],
            "person_tekun": head.pk,
            "applicant_kind": "self",
            "applicant_person": head.pk,
        },
    )
    assert r.status_code == 400 and "不能容缺" in r.content.decode()


def test_case_actions_through_the_page(client, users, accept):
    case = accept(["dibao"], received=("application_form", "identity", "income_proof")).cases.get()
    Case.objects.filter(pk=case.pk).update(state=State.INVESTIGATION)
    client.force_login(users["clerk"])
    url = reverse("cases:act", args=[case.pk])
    r = client.post(
        url,
        {
            "action": "investigate",
            "visited_on": "2025-06-03",
            "staff": "刘晓燕",
            "findings": "属实",
        },
    )
    assert r.status_code == 400 and "不少于2名" in r.content.decode()
    assert "属实" in r.content.decode()  # what was typed is kept
    r = client.post(
        url,
        {
            "action": "investigate",
            "visited_on": "2025-06-03",
            "staff": "刘晓燕、赵春梅",
            "findings": "属实",
        },
    )
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.state == State.FIRST_REVIEW
    r = client.post(url, {"action": "decide", "decision": "approve", "amount": "100"})
    assert r.status_code == 400  # not in the decision state
    html = client.get(reverse("cases:case", args=[case.pk])).content.decode()
    assert "初审" in html and "假定" in html


def test_notice_list_and_pdf_without_ids(client, users, accept):
    case = accept(["dibao"], received=("application_form", "identity", "income_proof")).cases.get()
    Case.objects.filter(pk=case.pk).update(
        state=State.NOTICE,
        notice_from=dt.date(2025, 6, 6),
        notice_until=dt.date(2025, 6, 12),
        proposed_amount=Decimal("1638"),
    )
    client.force_login(users["clerk"])
    html = client.get(reverse("cases:notices"), {"on": "2025-06-08"}).content.decode()
    assert "曾小明" in html and "¥1,638.00" in html
    r = client.get(reverse("cases:notices_pdf"), {"on": "2025-06-08"})
    text = pdf_text(r.content)
    assert "曾小明" in text and "1,638" in text
    assert "370611" not in text  # no ID numbers


def test_dashboard_figures(client, users, decided):
    client.force_login(users["analyst"])
    html = client.get(reverse("cases:dashboard"), {"since": "2025-01-01"}).content.decode()
    assert 'id="cycle-data"' in html and "最低生活保障申请" in html
