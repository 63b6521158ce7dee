"""The monitoring run end to end on small pools: alerts raised at the right town, deduplicated,
suppressed, updated, escalated; the catalog validates its rules."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.monitoring.conftest import id_of, person_of

AS_OF = dt.date(2026, 3, 2)


def test_catalog_loads_every_rule_with_its_declaration():
    from doudi.monitoring import selectors

    rules = selectors.rules()
    codes = {r.code for r in rules}
    assert {
        "inpatient_cost",
        "chronic_disease",
        "new_disability",
        "unemployed_only_earner",
        "earner_death",
        "child_guardian_loss",
        "elderly_alone",
        "disaster_low_income",
        "entitlement_gap",
        "recipient_death",
        "asset_acquired",
        "business_registered",
        "deposits_over_limit",
        "recipient_prison",
        "income_above_standard",
    } <= codes
    for r in rules:
        assert r.name and r.description and r.reference
        assert r.severity in ("red", "orange", "yellow")
        assert r.deadline_days >= 1


def test_catalog_refuses_a_rule_with_wrong_columns(tmp_path):
    from doudi.monitoring.engine.catalog import RuleError, load_rules

    (tmp_path / "bad.sql").write_text(
        "-- code: bad\n-- name: 坏规则\n-- kind: risk\n-- severity: red\n-- route: town\n"
        "-- deadline_days: 3\n-- suppress_days: 7\n-- reads: m_window\n"
        "SELECT 1 AS household_id FROM m_window\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleError, match="输出列"):
        load_rules(str(tmp_path))


def test_catalog_refuses_an_undeclared_table(tmp_path):
    from doudi.monitoring.engine.catalog import OUTPUT_COLUMNS, RuleError, load_rules

    cols = ", ".join(f"NULL AS {c}" for c in OUTPUT_COLUMNS)
    (tmp_path / "sneaky.sql").write_text(
        "-- code: sneaky\n-- name: 未声明\n-- kind: risk\n-- severity: red\n-- route: town\n"
        f"-- deadline_days: 3\n-- suppress_days: 7\n-- reads: m_window\nSELECT {cols} FROM prisoner\n",
        encoding="utf-8",
    )
    with pytest.raises(RuleError, match="reads"):
        load_rules(str(tmp_path))


def _disability(person, issue: dt.date, grade: str = "一级", category: str = "肢体"):
    return {
        "id_number": id_of(person),
        "name": person.name,
        "category": category,
        "grade": grade,
        "issue_date": issue.isoformat(),
        "certificate_number": f"C{person.pk}{issue:%Y%m%d}",
        "status": "有效",
    }


def test_alert_lands_at_the_household_town_and_is_not_raised_twice(
    town_households, feed, monitor, watch
):
    from doudi.monitoring.models import Alert

    zf = town_households["zf"]
    watch(zf, dt.date(2025, 6, 1))
    head = person_of(zf)
    feed("disability_certificate", [_disability(head, dt.date(2026, 2, 20))])
    run = monitor(AS_OF, since=dt.date(2026, 2, 1))
    assert run.summary["rules"]["new_disability"]["new"] == 1
    alert = Alert.objects.get(rule="new_disability")
    assert alert.household_id == zf.pk
    assert alert.person_id == head.pk
    assert alert.town_code == "370602001"
    assert alert.county_code == "370602"
    assert alert.status == "raised"
    assert alert.evidence[0]["interface"] == "disability_certificate"
    assert alert.evidence[0]["line"] == 1
    assert alert.deadline > AS_OF
    # the same facts again: an update of the open alert, not a second alert
    run2 = monitor(AS_OF + dt.timedelta(days=1), since=dt.date(2026, 2, 1))
    assert run2.summary["rules"]["new_disability"]["update"] == 1
    assert Alert.objects.filter(rule="new_disability").count() == 1


def test_incremental_run_sees_only_new_rows_and_late_data(town_households, feed, monitor, watch):
    from doudi.monitoring.models import Alert

    qy = town_households["qy"]
    fx = town_households["fx"]
    watch(qy, dt.date(2025, 6, 1))
    watch(fx, dt.date(2025, 6, 1))
    feed("disability_certificate", [_disability(person_of(qy), dt.date(2026, 2, 20))])
    first = monitor(AS_OF, since=dt.date(2026, 2, 1))
    assert first.mode == "full"
    assert first.summary["raised"] == 1
    # a certificate issued long before the last run, but received only now (late data)
    feed("disability_certificate", [_disability(person_of(fx), dt.date(2025, 12, 1))])
    second = monitor(AS_OF + dt.timedelta(days=1))
    assert second.mode == "incremental"
    assert second.summary["rules"]["new_disability"]["new"] == 1
    assert second.summary["rules"]["new_disability"]["update"] == 0
    assert Alert.objects.filter(rule="new_disability").count() == 2


def test_closed_alert_suppresses_within_window_and_not_after(
    town_households, feed, monitor, users, watch
):
    from doudi.monitoring import services
    from doudi.monitoring.models import Alert

    zf = town_households["zf"]
    watch(zf, dt.date(2025, 6, 1))
    head = person_of(zf)
    feed("disability_certificate", [_disability(head, dt.date(2026, 2, 20), grade="二级")])
    monitor(AS_OF, since=dt.date(2026, 2, 1))
    alert = Alert.objects.get(rule="new_disability")
    Alert.objects.filter(pk=alert.pk).update(status="closed", outcome="no_action")
    # a second certificate (a regrade to the same grade) within the 365-day suppression window
    feed(
        "disability_certificate",
        [{**_disability(head, dt.date(2026, 3, 5), grade="二级"), "certificate_number": "X2"}],
    )
    run = monitor(dt.date(2026, 3, 10))
    assert run.summary["rules"]["new_disability"]["suppress"] == 1
    assert Alert.objects.filter(rule="new_disability").count() == 1
    # worse facts (grade 1 is more severe than grade 2) break through the suppression
    feed(
        "disability_certificate",
        [{**_disability(head, dt.date(2026, 3, 12), grade="一级"), "certificate_number": "X3"}],
    )
    run = monitor(dt.date(2026, 3, 13))
    assert run.summary["rules"]["new_disability"]["new"] == 1
    assert services is not None


def test_risk_rules_watch_only_the_low_income_population(town_households, feed, monitor, watch):
    """The same new certificate raises nothing for a household outside the monitoring range."""
    zf = town_households["zf"]
    feed("disability_certificate", [_disability(person_of(zf), dt.date(2026, 2, 20))])
    run = monitor(AS_OF, since=dt.date(2026, 2, 1))
    assert run.summary["rules"]["new_disability"]["evidence_rows"] == 0
    watch(zf, dt.date(2025, 6, 1))
    run = monitor(AS_OF, since=dt.date(2026, 2, 1))
    assert run.summary["rules"]["new_disability"]["new"] == 1


def test_overdue_alerts_escalate_to_the_county(town_households, feed, monitor, watch):
    from doudi.monitoring.models import Alert
    from doudi.monitoring.services import alerts_escalate_overdue

    watch(town_households["fx"], dt.date(2025, 6, 1))
    feed(
        "disability_certificate",
        [_disability(person_of(town_households["fx"]), dt.date(2026, 2, 20))],
    )
    monitor(AS_OF, since=dt.date(2026, 2, 1))
    alert = Alert.objects.get()
    assert alerts_escalate_overdue(today=alert.deadline) == 0
    assert alerts_escalate_overdue(today=alert.deadline + dt.timedelta(days=1)) == 1
    alert.refresh_from_db()
    assert alert.escalated
    assert alerts_escalate_overdue(today=alert.deadline + dt.timedelta(days=2)) == 0


def test_nightly_incremental_run_reads_only_the_touched_households(
    town_households, feed, monitor, watch
):
    """Everything ingested before the last run arrived by its date, so tonight's run may read
    only the households with new rows; the result is the same as a full read."""
    from django.utils import timezone

    from doudi.monitoring.models import Alert

    today = timezone.localdate()
    qy, fx = town_households["qy"], town_households["fx"]
    watch(qy, today - dt.timedelta(days=200))
    watch(fx, today - dt.timedelta(days=200))
    first = monitor(today, since=today - dt.timedelta(days=30))
    assert first.summary["raised"] == 0
    feed("disability_certificate", [_disability(person_of(fx), today)])
    second = monitor(today)
    assert second.mode == "incremental" and second.summary["scoped"] is True
    assert second.summary["rules"]["new_disability"]["new"] == 1
    assert Alert.objects.get().household_id == fx.pk


def test_a_night_with_many_new_rows_reads_the_whole_pool(
    town_households, feed, monitor, watch, monkeypatch
):
    """Scoping pays only when few households are touched: above SCOPE_MAX_NEW_ROWS new rows the
    incremental run reads the whole pool, with the same result."""
    from django.utils import timezone

    from doudi.monitoring import selectors
    from doudi.monitoring.models import Alert

    monkeypatch.setattr(selectors, "SCOPE_MAX_NEW_ROWS", 0)
    today = timezone.localdate()
    fx = town_households["fx"]
    watch(fx, today - dt.timedelta(days=200))
    monitor(today, since=today - dt.timedelta(days=30))
    feed("disability_certificate", [_disability(person_of(fx), today)])
    second = monitor(today)
    assert second.mode == "incremental" and second.summary["scoped"] is False
    assert second.summary["rules"]["new_disability"]["new"] == 1
    assert Alert.objects.get().household_id == fx.pk
