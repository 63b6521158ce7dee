"""The monitoring pages: the town queue with counts, an alert with its evidence, handling through
the forms, the village worker's list, the county overview, proactive services, rules and tuning,
runs; access by role and jurisdiction; views and exports audited."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from doudi.core.models import AuditEvent
from tests.monitoring.conftest import id_of, person_of


@pytest.fixture
def alert(town_households, feed, monitor, watch):
    from doudi.monitoring.models import Alert

    head = person_of(town_households["qy"])
    today = timezone.localdate()
    watch(town_households["qy"], today - dt.timedelta(days=200))
    feed(
        "disability_certificate",
        [
            {
                "id_number": id_of(head),
                "name": head.name,
                "category": "精神",
                "grade": "三级",
                "issue_date": (today - dt.timedelta(days=3)).isoformat(),
                "certificate_number": "C1",
                "status": "有效",
            }
        ],
    )
    monitor(today, since=today - dt.timedelta(days=30))
    return Alert.objects.get()


def test_queue_counts_and_rows_for_the_town(client, users, alert):
    client.force_login(users["clerk"])
    r = client.get(reverse("monitoring:queue"))
    assert r.status_code == 200
    html = r.content.decode()
    assert "新办重度残疾人证" in html
    assert alert.household.number in html
    assert "********" in html  # ID numbers masked in the list
    assert 'data-testid="alert-tabs"' in html
    # another town's clerk sees an empty queue, and a 404 for the alert itself
    client.force_login(users["clerk2"])
    r = client.get(reverse("monitoring:queue"))
    assert alert.household.number not in r.content.decode()
    assert client.get(reverse("monitoring:alert", args=[alert.pk])).status_code == 404


def test_alert_page_shows_evidence_and_is_audited(client, users, alert):
    client.force_login(users["clerk"])
    r = client.get(reverse("monitoring:alert", args=[alert.pk]))
    assert r.status_code == 200
    html = r.content.decode()
    assert "残联" in html  # the source interface, by its department
    assert alert.evidence[0]["file"] in html
    assert "精神、智力残疾一至三级" in html or "精神" in html
    assert AuditEvent.objects.filter(
        event="monitoring.alert_view", subject_id=str(alert.pk)
    ).exists()


def test_handling_through_the_forms(client, users, alert):
    client.force_login(users["clerk"])
    today = timezone.localdate()
    r = client.post(
        reverse("monitoring:assign", args=[alert.pk]), {"assignee": users["village"].pk}
    )
    assert r.status_code == 302
    client.force_login(users["village"])
    assert "新办重度残疾人证" in client.get(reverse("monitoring:field")).content.decode()
    r = client.post(
        reverse("monitoring:visit", args=[alert.pk]),
        {
            "visit_date": today.isoformat(),
            "visitors": "网格员甲、网格员乙",
            "findings": "入户核实：持证属实，需要护理。",
            "client_token": "abc",
            "latitude": "37.496",
            "longitude": "121.261",
        },
    )
    assert r.status_code == 302
    alert.refresh_from_db()
    assert alert.status == "verified"
    assert alert.visits.get().latitude is not None
    r = client.post(
        reverse("monitoring:close", args=[alert.pk]),
        {"outcome": "referred", "note": "转介残联办理护理补贴"},
    )
    alert.refresh_from_db()
    assert alert.status == "closed" and alert.outcome == "referred"
    page = client.get(reverse("monitoring:alert", args=[alert.pk])).content.decode()
    assert "已转介" in page and "入户核实" in page


def test_bad_form_input_is_reported_not_crashed(client, users, alert):
    client.force_login(users["clerk"])
    r = client.post(
        reverse("monitoring:visit", args=[alert.pk]),
        {"visit_date": "2026-13-45", "visitors": "甲", "findings": "x"},
        follow=True,
    )
    assert r.status_code == 200
    assert "核实日期格式" in r.content.decode()
    r = client.post(
        reverse("monitoring:close", args=[alert.pk]), {"outcome": "no_action"}, follow=True
    )
    assert "须先上门核实" in r.content.decode()


def test_export_is_masked_and_audited(client, users, alert):
    from openpyxl import load_workbook

    client.force_login(users["clerk"])
    r = client.get(reverse("monitoring:queue"), {"export": "xlsx"})
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "预警编号" and len(rows) == 2
    assert "********" in rows[1][6]
    assert AuditEvent.objects.filter(event="monitoring.alerts_export").exists()


def test_county_overview_shows_overdue_and_escalated(client, users, alert):
    from doudi.monitoring.models import Alert
    from doudi.monitoring.services import alerts_escalate_overdue

    Alert.objects.filter(pk=alert.pk).update(deadline=timezone.localdate() - dt.timedelta(days=2))
    assert alerts_escalate_overdue() == 1
    client.force_login(users["county"])
    r = client.get(reverse("monitoring:overview"))
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="overview-escalated"' in html
    assert alert.household.number in html
    client.force_login(users["clerk"])
    assert client.get(reverse("monitoring:overview")).status_code == 403


def test_rules_pages_and_tuning_preview(client, users, alert):
    client.force_login(users["analyst"])
    r = client.get(reverse("monitoring:rules"))
    assert r.status_code == 200 and "大额住院自付或反复住院" in r.content.decode()
    r = client.get(
        reverse("monitoring:rule", args=["new_disability"]),
        {"preview": "1", "set_monitor.disability.mental_grade": "2", "days": "30"},
    )
    assert r.status_code == 200
    preview = r.context["preview"]
    assert preview["current"]["households"] == 1  # mental grade 3 is in at the default (≤3)
    assert preview["proposed"]["households"] == 0  # not at ≤2
    r = client.post(
        reverse("monitoring:rule_propose", args=["new_disability"]),
        {
            "name": "monitor.disability.mental_grade",
            "value": "2",
            "effective_from": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
            "scope": "city",
            "reference": "市民政局2026年预警规则调整",
        },
    )
    assert r.status_code == 302
    from doudi.policy.models import ParameterChange

    assert ParameterChange.objects.filter(name="monitor.disability.mental_grade").exists()
    client.force_login(users["clerk"])
    r = client.get(
        reverse("monitoring:rule", args=["new_disability"]),
        {"preview": "1", "set_monitor.disability.mental_grade": "2"},
    )
    assert r.context["preview"] is None  # clerks read rules, they do not tune them


def test_runs_page_starts_a_run(client, users, alert):
    client.force_login(users["analyst"])
    r = client.post(reverse("monitoring:run_start"), {"as_of": timezone.localdate().isoformat()})
    assert r.status_code == 302
    from doudi.monitoring.models import MonitorRun

    last = MonitorRun.objects.order_by("-id").first()
    assert last.status == "done" and last.mode == "incremental"
    page = client.get(reverse("monitoring:runs")).content.decode()
    assert "增量" in page
    client.force_login(users["clerk"])
    assert client.post(reverse("monitoring:run_start")).status_code == 403


def test_proactive_page(client, users):
    client.force_login(users["admin"])
    r = client.get(reverse("monitoring:proactive"))
    assert r.status_code == 200
    assert 'data-testid="proactive-stats"' in r.content.decode()
    client.force_login(users["village"])
    assert client.get(reverse("monitoring:proactive")).status_code == 403


def test_nightly_tick_queues_one_run_a_day(db):
    from doudi.monitoring.models import MonitorRun
    from doudi.monitoring.schedule import tick

    early = timezone.make_aware(dt.datetime(2026, 3, 2, 1, 0))
    assert tick(early) is None
    late = timezone.make_aware(dt.datetime(2026, 3, 2, 2, 30))
    first = tick(late)
    assert first is not None
    assert tick(late + dt.timedelta(hours=1)) is None
    assert MonitorRun.objects.filter(as_of=dt.date(2026, 3, 2)).count() == 1
