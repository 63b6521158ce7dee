"""A town clerk opens the alert queue, opens an alert, sees its evidence, records a visit and an
outcome; an overdue alert shows in the county's view. The visit is recorded on a phone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.browser.test_registry_browser import login
from tests.monitoring.conftest import feed, id_of, monitor, person_of, pool_dir, watch  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alerts(town_households, feed, monitor, watch):  # noqa: F811
    """Two 清洋街道 households with a new severe disability certificate: one raised today, one
    whose deadline passed (escalated to the county)."""
    from doudi.monitoring.models import Alert
    from doudi.monitoring.services import alerts_escalate_overdue

    today = timezone.localdate()
    rows = []
    for key in ("qy", "qy_village"):
        household = town_households[key]
        watch(household, today - dt.timedelta(days=200))
        head = person_of(household)
        rows.append(
            {
                "id_number": id_of(head),
                "name": head.name,
                "category": "肢体",
                "grade": "一级",
                "issue_date": (today - dt.timedelta(days=2)).isoformat(),
                "certificate_number": f"C-{key}",
                "status": "有效",
            }
        )
    feed("disability_certificate", rows)
    monitor(today, since=today - dt.timedelta(days=30))
    fresh = Alert.objects.get(household=town_households["qy"])
    late = Alert.objects.get(household=town_households["qy_village"])
    Alert.objects.filter(pk=late.pk).update(deadline=today - dt.timedelta(days=3))
    alerts_escalate_overdue(today=today)
    return fresh, late


def test_clerk_handles_an_alert_and_the_county_sees_the_overdue_one(
    page, phone, live_server, users, alerts
):
    fresh, late = alerts
    base = live_server.url
    login(page, base, "clerk")
    page.get_by_role("link", name="预警处置").click()
    queue = page.get_by_test_id("alert-queue")
    assert "新办重度残疾人证" in queue.inner_text()
    assert "逾期" in queue.inner_text()
    page.get_by_test_id("alert-tabs").get_by_role("link", name="逾期").click()
    assert late.household.number in page.get_by_test_id("alert-queue").inner_text()
    page.goto(f"{base}/monitoring/alerts/{fresh.pk}/")
    evidence = page.get_by_test_id("alert-evidence").inner_text()
    assert "残疾人证" in evidence and ".jsonl" in evidence
    page.get_by_test_id("assign-form").get_by_label("核实人员").select_option(
        str(users["village"].pk)
    )
    page.get_by_role("button", name="分派").click()
    assert page.get_by_test_id("alert-status").inner_text() == "待核实"

    # the village worker records the visit on a phone
    login(phone, base, "village")
    phone.goto(f"{base}/monitoring/field/")
    phone.get_by_test_id("field-list").get_by_role("link").first.click()
    form = phone.get_by_test_id("visit-form")
    form.get_by_label("核实人员（两人以上，用顿号分隔）").fill("网格员甲、网格员乙")
    form.get_by_label("核实情况").fill("入户核实：残疾属实，需要护理，家庭收入低。")
    form.get_by_role("button", name="保存核实记录").click()
    assert phone.get_by_test_id("alert-status").inner_text() == "已核实"

    # the clerk closes it with an outcome
    page.reload()
    close = page.get_by_test_id("close-form")
    close.get_by_label("已转介其他部门或慈善").check()
    close.get_by_label("说明（无需处理的理由、转介去向）").fill("转介区残联办理护理补贴")
    close.get_by_role("button", name="办结").click()
    assert page.get_by_test_id("alert-status").inner_text() == "已办结"
    assert "转介区残联" in page.get_by_test_id("alert-outcome").inner_text()

    page.get_by_role("button", name="退出").click()
    login(page, base, "county")
    page.get_by_role("link", name="处置情况").click()
    escalated = page.get_by_test_id("overview-escalated").inner_text()
    assert late.household.number in escalated
    assert fresh.household.number not in escalated
