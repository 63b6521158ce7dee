"""The alert lifecycle: every allowed transition, the forbidden ones, access per branch of the
getter, and the end-to-end path from a death record to a stopped benefit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from tests.monitoring.conftest import id_of, person_of

AS_OF = dt.date(2026, 3, 2)


def _raise_one(household, feed, monitor, watch, *, as_of=AS_OF):
    from doudi.monitoring.models import Alert

    watch(household, as_of - dt.timedelta(days=200))
    head = person_of(household)
    feed(
        "disability_certificate",
        [
            {
                "id_number": id_of(head),
                "name": head.name,
                "category": "肢体",
                "grade": "一级",
                "issue_date": (as_of - dt.timedelta(days=5)).isoformat(),
                "certificate_number": f"C{head.pk}",
                "status": "有效",
            }
        ],
    )
    monitor(as_of, since=as_of - dt.timedelta(days=30))
    return Alert.objects.get(household=household)


@pytest.fixture
def alert(town_households, feed, monitor, watch):
    return _raise_one(town_households["qy"], feed, monitor, watch)


def test_getter_branches(alert, users, make_user):
    """Village worker: own village only; clerk: own town; county: own county; city: all;
    caretaker and another town: 404."""
    from doudi.monitoring.selectors import alert_get_for_user

    assert alert_get_for_user(user=users["admin"], alert_id=alert.pk) == alert
    assert alert_get_for_user(user=users["county"], alert_id=alert.pk) == alert
    assert alert_get_for_user(user=users["clerk"], alert_id=alert.pk) == alert
    assert alert_get_for_user(user=users["village"], alert_id=alert.pk) == alert
    for key in ("other_county", "clerk2"):
        if key in users:
            with pytest.raises(Http404):
                alert_get_for_user(user=users[key], alert_id=alert.pk)
    other_village = make_user("v2", "village_worker", "370611001201")
    with pytest.raises(Http404):
        alert_get_for_user(user=other_village, alert_id=alert.pk)
    carer = make_user("carer-x", "caretaker", "370611001001")
    with pytest.raises(Http404):
        alert_get_for_user(user=carer, alert_id=alert.pk)


def test_assign_visit_close_no_action(alert, users):
    from doudi.core.models import AuditEvent
    from doudi.monitoring import services

    clerk, village = users["clerk"], users["village"]
    services.alert_assign(actor=clerk, alert=alert, assignee=village)
    alert.refresh_from_db()
    assert alert.status == "assigned" and alert.assigned_to == village
    # closing before a visit is refused
    with pytest.raises(ValidationError):
        services.alert_close(actor=clerk, alert=alert, outcome="no_action", note="误报")
    visit = services.alert_visit_record(
        actor=village,
        alert=alert,
        visit_date=AS_OF,
        visitors="网格员甲、网格员乙",
        findings="已入户，家庭情况稳定。",
        client_token="tok-1",
    )
    # the phone sends the same visit again after a dropped connection: one visit
    again = services.alert_visit_record(
        actor=village,
        alert=alert,
        visit_date=AS_OF,
        visitors="网格员甲、网格员乙",
        findings="已入户，家庭情况稳定。",
        client_token="tok-1",
    )
    assert again.pk == visit.pk and alert.visits.count() == 1
    alert.refresh_from_db()
    assert alert.status == "verified"
    with pytest.raises(ValidationError):  # no action needs a reason
        services.alert_close(actor=village, alert=alert, outcome="no_action", note=" ")
    services.alert_close(
        actor=village, alert=alert, outcome="no_action", note="已有亲属照料", today=AS_OF
    )
    alert.refresh_from_db()
    assert alert.status == "closed" and alert.outcome == "no_action"
    events = list(
        AuditEvent.objects.filter(subject_type="alert", subject_id=str(alert.pk))
        .order_by("id")
        .values_list("event", flat=True)
    )
    assert events == [
        "monitoring.alert_assign",
        "monitoring.alert_verify",
        "monitoring.alert_close",
    ]
    # a closed alert takes no more transitions
    with pytest.raises(ValidationError):
        services.alert_assign(actor=clerk, alert=alert, assignee=village)
    with pytest.raises(ValidationError):
        services.alert_visit_record(
            actor=clerk, alert=alert, visit_date=AS_OF, visitors="甲、乙", findings="再访"
        )
    with pytest.raises(ValidationError):
        services.alert_close(actor=clerk, alert=alert, outcome="referred", note="x")


def test_forbidden_actors(alert, users, make_user):
    from doudi.monitoring import services

    with pytest.raises(PermissionDenied):  # analysts read, they do not handle
        services.alert_assign(actor=users["analyst"], alert=alert, assignee=users["village"])
    with pytest.raises(PermissionDenied):  # a village worker does not assign
        services.alert_assign(actor=users["village"], alert=alert, assignee=users["clerk"])
    other_clerk = make_user("zf-clerk", "town_clerk", "370602001")
    with pytest.raises(PermissionDenied):
        services.alert_visit_record(
            actor=other_clerk, alert=alert, visit_date=AS_OF, visitors="甲、乙", findings="x"
        )
    with pytest.raises(ValidationError):  # the assignee must cover the household
        services.alert_assign(actor=users["clerk"], alert=alert, assignee=other_clerk)
    with pytest.raises(ValidationError):  # a visit cannot be in the future
        services.alert_visit_record(
            actor=users["clerk"],
            alert=alert,
            visit_date=dt.date.today() + dt.timedelta(days=3),
            visitors="甲、乙",
            findings="x",
        )


def test_referral_outcome(alert, users):
    from doudi.monitoring import services

    clerk = users["clerk"]
    services.alert_visit_record(
        actor=clerk, alert=alert, visit_date=AS_OF, visitors="甲、乙", findings="需康复服务"
    )
    services.alert_close(
        actor=clerk, alert=alert, outcome="referred", note="转介区残联康复中心", today=AS_OF
    )
    alert.refresh_from_db()
    assert alert.outcome == "referred" and "残联" in alert.outcome_note


def test_death_of_a_dibao_recipient_stops_the_benefit_from_next_month(
    town_households, feed, monitor, users
):
    """Ingest a death record of a 低保 recipient → monitor → a red reverse alert at the right
    town → the clerk visits and records the outcome → the benefit stops from the next month."""
    from doudi.benefits import selectors as benefit_selectors
    from doudi.benefits import services as benefit_services
    from doudi.monitoring import services
    from doudi.monitoring.models import Alert

    household = town_households["fx"]  # 张伟, alone, 福山区福新街道
    head = person_of(household)
    benefit = benefit_services.benefit_start(
        actor=None,
        household=household,
        item="dibao",
        monthly_amount=Decimal("1069.00"),
        start_month=dt.date(2025, 6, 1),
        reason="低保审批",
    )
    feed(
        "death_registration",
        [
            {
                "id_number": id_of(head),
                "name": head.name,
                "death_date": "2026-02-25",
                "registration_authority": "福山区公安分局",
                "region_code": "370611002",
            }
        ],
    )
    run = monitor(AS_OF, since=dt.date(2026, 2, 1))
    assert run.summary["rules"]["recipient_death"]["new"] == 1
    alert = Alert.objects.get(rule="recipient_death")
    assert alert.kind == "reverse" and alert.severity == "red"
    assert alert.town_code == "370611002"
    assert alert.person_id == head.pk
    assert "dibao" in alert.categories["receives"]
    clerk = users["clerk2"]  # 福新街道's window
    services.alert_visit_record(
        actor=clerk, alert=alert, visit_date=AS_OF, visitors="甲、乙", findings="邻居证实已去世"
    )
    services.alert_close(
        actor=clerk,
        alert=alert,
        outcome="benefit_stopped",
        note="死亡，次月停发",
        benefit_ids=[benefit.pk],
        today=AS_OF,
    )
    alert.refresh_from_db()
    assert alert.outcome == "benefit_stopped" and alert.outcome_ref == f"benefit:{benefit.pk}"
    benefit.refresh_from_db()
    assert benefit.status == "stopped"
    assert benefit.end_month == dt.date(2026, 3, 1)  # paid for March, stopped from April
    assert not benefit_selectors.household_benefits(
        household_id=household.pk, as_of=dt.date(2026, 4, 1)
    )


def test_application_opened_from_an_alert_links_to_the_case(alert, users, client):
    """主动发现 → 主动办理: the outcome opens an application for the household (origin alert),
    the alert links to it, and the city's proactive figures count it."""
    from django.urls import reverse

    from doudi.cases import selectors as case_selectors
    from doudi.monitoring import services
    from doudi.monitoring.selectors import proactive_services

    clerk = users["clerk"]
    services.alert_visit_record(
        actor=clerk, alert=alert, visit_date=AS_OF, visitors="甲、乙", findings="收入骤降"
    )
    services.alert_close(
        actor=clerk,
        alert=alert,
        outcome="application_opened",
        items=["single_person_dibao"],
        note="帮助申请单人保",
        today=AS_OF,
    )
    alert.refresh_from_db()
    assert alert.outcome_ref.startswith("case:")
    app_id = int(alert.outcome_ref[5:])
    outcomes = case_selectors.proactive_outcomes()
    assert [o["application_id"] for o in outcomes] == [app_id]
    assert outcomes[0]["alert_ref"] == f"alert:{alert.pk}"
    figures = proactive_services()
    assert figures["total"]["opened"] == 1 and figures["total"]["approved"] == 0
    client.force_login(clerk)
    page = client.get(reverse("monitoring:alert", args=[alert.pk])).content.decode()
    assert reverse("cases:application", args=[app_id]) in page
