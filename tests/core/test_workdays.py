"""The official working-day calendar: the State Council schedule (chinesecalendar), local overrides,
deadlines counted from the day after the event, dates beyond the schedule flagged as estimated,
the calendar page and its overrides."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from chinese_calendar import constants as official
from django.core.exceptions import PermissionDenied, ValidationError

from doudi.core import workdays
from doudi.core.models import AuditEvent, WorkdayOverride
from doudi.core.workdays import Calendar, Deadline, Span

D = dt.date
DAY = dt.timedelta(days=1)
URL = "/system/workdays/"


@pytest.fixture(autouse=True)
def fresh_cache():
    """The default calendar is cached per process: start and end every test without it."""
    workdays.invalidate()
    yield
    workdays.invalidate()


def dates(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + i * DAY for i in range((last - first).days + 1)]


def weekdays_between(start: dt.date, end: dt.date) -> int:
    """Monday-to-Friday days d with start < d <= end, counted by numpy (an independent oracle)."""
    return int(np.busday_count(start + DAY, end + DAY)) if end > start else 0


def nth_weekday_after(start: dt.date, n: int) -> dt.date:
    """The n-th Monday-to-Friday day after ``start``, by numpy (a weekend start rolls back to the
    Friday before, whose n-th weekday after is the same)."""
    return np.busday_offset(start, n, roll="backward").astype(dt.date)


@pytest.fixture
def cal() -> Calendar:
    return Calendar()


@pytest.fixture
def unknown_year() -> int:
    """The first year the installed chinesecalendar does not know."""
    return workdays.known_until().year + 1


# --- the schedule as the package publishes it -------------------------------------------------


def test_known_until_is_the_end_of_the_last_year_in_the_package():
    last = workdays.known_until()
    assert last == D(max(d.year for d in official.holidays), 12, 31)
    assert last >= D(2026, 12, 31)  # the project pins chinesecalendar >= 1.9; 1.11 knows 2026


def test_2025_spring_festival(cal):
    for d in dates(D(2025, 1, 28), D(2025, 2, 4)):
        assert not cal.is_working_day(d), d
        assert cal.day(d).kind == workdays.HOLIDAY and cal.day(d).holiday == "Spring Festival"
    for d in (D(2025, 1, 26), D(2025, 2, 8)):  # Sunday and Saturday worked (调休上班)
        assert d.weekday() >= 5
        assert cal.is_working_day(d)
        assert cal.day(d).kind == workdays.ADJUSTED_WORKDAY
    assert cal.is_working_day(D(2025, 1, 27)) and cal.is_working_day(D(2025, 2, 5))
    assert not cal.is_working_day(D(2025, 2, 9))  # an ordinary Sunday
    assert cal.day(D(2025, 2, 9)).kind == workdays.WEEKEND


def test_2025_national_day_and_mid_autumn(cal):
    for d in dates(D(2025, 10, 1), D(2025, 10, 8)):
        assert not cal.is_working_day(d), d
    assert cal.day(D(2025, 10, 6)).holiday == "Mid-autumn Festival"
    for d in (D(2025, 9, 28), D(2025, 10, 11)):  # Sunday and Saturday worked
        assert d.weekday() >= 5 and cal.is_working_day(d)
    assert cal.is_working_day(D(2025, 9, 30)) and cal.is_working_day(D(2025, 10, 9))


def test_2026_spring_festival(cal):
    # 2026: nine days off, 15–23 February, with Saturdays 14 and 28 February worked
    for d in dates(D(2026, 2, 15), D(2026, 2, 23)):
        assert not cal.is_working_day(d), d
        assert cal.day(d).holiday == "Spring Festival"
    for d in (D(2026, 2, 14), D(2026, 2, 28)):
        assert d.weekday() == 5 and cal.is_working_day(d)
        assert cal.day(d).kind == workdays.ADJUSTED_WORKDAY
    assert cal.is_working_day(D(2026, 2, 13)) and cal.is_working_day(D(2026, 2, 24))


def test_2026_national_day_and_separate_mid_autumn(cal):
    # 2026: 1–7 October off, Sunday 20 September and Saturday 10 October worked; Mid-Autumn is
    # its own break (25–27 September)
    for d in dates(D(2026, 10, 1), D(2026, 10, 7)):
        assert not cal.is_working_day(d), d
        assert cal.day(d).holiday == "National Day"
    for d in (D(2026, 9, 20), D(2026, 10, 10)):
        assert d.weekday() >= 5 and cal.is_working_day(d)
    for d in dates(D(2026, 9, 25), D(2026, 9, 27)):
        assert not cal.is_working_day(d)
        assert cal.day(d).holiday == "Mid-autumn Festival"
    assert cal.is_working_day(D(2026, 10, 8)) and not cal.is_working_day(D(2026, 10, 11))


def test_a_whole_known_year_is_not_estimated(cal):
    assert cal.working_days_between(D(2024, 12, 31), D(2025, 12, 31)) == Span(248, False)


# --- deadlines ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "deadline", "weekends_only"),
    [
        # Fri 24 Jan 2025: Sun 26, Mon 27, (28 Jan–4 Feb off), 5, 6, 7, Sat 8, 10, 11, 12, 13 Feb
        (D(2025, 1, 24), D(2025, 2, 13), D(2025, 2, 7)),
        # Fri 26 Sep 2025: Sun 28, 29, 30, (1–8 Oct off), 9, 10, Sat 11, 13, 14, 15, 16 Oct
        (D(2025, 9, 26), D(2025, 10, 16), D(2025, 10, 10)),
        # Fri 13 Feb 2026: Sat 14, (15–23 off), 24, 25, 26, 27, Sat 28 Feb, 2, 3, 4, 5 Mar
        (D(2026, 2, 13), D(2026, 3, 5), D(2026, 2, 27)),
        # Wed 30 Sep 2026: (1–7 Oct off), 8, 9, Sat 10, 12, 13, 14, 15, 16, 19, 20 Oct
        (D(2026, 9, 30), D(2026, 10, 20), D(2026, 10, 14)),
    ],
)
def test_ten_working_days_across_a_break(cal, start, deadline, weekends_only):
    assert cal.add_working_days(start, 10) == Deadline(deadline, False)
    assert workdays.add_working_days(start, 10) == Deadline(deadline, False)
    assert nth_weekday_after(start, 10) == weekends_only
    assert cal.working_days_between(start, deadline) == Span(10, False)
    assert cal.working_days_between(start, deadline - DAY).days == 9


def test_the_event_day_does_not_count(cal):
    # Mon 3 Mar 2025 + 1 working day is Tue 4 Mar; from a holiday, the next working day
    assert cal.add_working_days(D(2025, 3, 3), 1) == Deadline(D(2025, 3, 4), False)
    assert cal.add_working_days(D(2025, 10, 1), 1) == Deadline(D(2025, 10, 9), False)
    # ending on a Friday, 1 working day later is Monday
    assert cal.add_working_days(D(2025, 3, 7), 1).date == D(2025, 3, 10)


def test_zero_working_days_is_the_start_itself(cal, unknown_year):
    for start in (D(2025, 10, 1), D(2025, 3, 3), D(unknown_year, 6, 6)):
        assert cal.add_working_days(start, 0) == Deadline(start, False)
    assert workdays.add_working_days(D(2025, 10, 1), 0) == Deadline(D(2025, 10, 1), False)


def test_negative_n_and_datetimes_are_refused(cal):
    with pytest.raises(ValueError):
        cal.add_working_days(D(2025, 3, 3), -1)
    with pytest.raises(TypeError):
        cal.add_working_days(dt.datetime(2025, 3, 3, 9, 0), 1)
    with pytest.raises(TypeError):
        cal.working_days_between(D(2025, 3, 3), "2025-03-10")


def test_working_days_between_both_directions(cal):
    a, b = D(2025, 9, 26), D(2025, 10, 16)
    assert cal.working_days_between(a, b) == Span(10, False)
    assert cal.working_days_between(b, a) == Span(0, False)
    assert cal.working_days_between(a, a) == Span(0, False)
    # only the end day counts when the two are adjacent
    assert cal.working_days_between(D(2025, 9, 27), D(2025, 9, 28)).days == 1  # Sun 28 worked
    assert cal.working_days_between(D(2025, 9, 28), D(2025, 9, 29)).days == 1
    assert cal.working_days_between(D(2025, 10, 7), D(2025, 10, 8)).days == 0  # holiday
    assert workdays.working_days_between(b, a) == Span(0, False)


def test_between_and_add_agree(cal):
    for start in (D(2025, 1, 20), D(2025, 9, 25), D(2026, 2, 10), D(2026, 9, 18)):
        for n in range(0, 31):
            deadline = cal.add_working_days(start, n)
            assert cal.working_days_between(start, deadline.date) == Span(n, False)


# --- beyond the schedule: estimated, weekends only ---------------------------------------------


def test_a_year_the_package_does_not_know_is_estimated_on_weekends_only(cal, unknown_year):
    start = D(unknown_year, 1, 10)
    for n in (1, 5, 10, 30):
        got = cal.add_working_days(start, n)
        assert got.estimated
        assert got.date == nth_weekday_after(start, n)
    end = D(unknown_year, 12, 31)
    assert cal.working_days_between(start, end) == Span(weekdays_between(start, end), True)
    first = D(unknown_year, 1, 1)
    assert not cal.is_known(first)
    assert cal.is_working_day(first) == (first.weekday() < 5)  # New Year's Day: not yet known
    assert cal.day(first).estimated
    assert workdays.is_working_day(first) == (first.weekday() < 5)


def test_only_results_that_need_an_unknown_date_are_estimated(cal):
    last = workdays.known_until()
    inside = cal.add_working_days(last - 20 * DAY, 3)
    assert not inside.estimated and inside.date <= last
    crossing = cal.add_working_days(last - 3 * DAY, 10)
    assert crossing.estimated and crossing.date > last
    assert not cal.working_days_between(last - 30 * DAY, last).estimated
    assert cal.working_days_between(last - 30 * DAY, last + DAY).estimated
    assert workdays.add_working_days(last - 3 * DAY, 10) == crossing


def test_an_override_beyond_the_schedule_is_known_and_changes_the_result(unknown_year):
    last = workdays.known_until()
    first, second = D(unknown_year, 1, 1), D(unknown_year, 1, 2)
    plain = Calendar().add_working_days(last, 1)
    assert plain.estimated
    assert plain.date == nth_weekday_after(last, 1)
    # the administrator enters next year's New Year: 1 January off, 2 January worked
    cal = Calendar({first: False, second: True})
    assert cal.is_known(first) and cal.is_known(second)
    assert not cal.day(first).estimated and cal.day(first).kind == workdays.OVERRIDE_REST
    assert cal.add_working_days(last, 1) == Deadline(second, False)
    assert cal.working_days_between(last, second) == Span(1, False)
    # a day after the overrides is still estimated
    assert cal.working_days_between(last, second + DAY).estimated


def test_an_override_beats_the_package_inside_a_known_year():
    base = Calendar()
    assert not base.is_working_day(D(2025, 10, 8))
    cal = Calendar({D(2025, 10, 8): True, D(2025, 10, 16): False})
    assert cal.is_working_day(D(2025, 10, 8))
    assert not cal.is_working_day(D(2025, 10, 16))  # an ordinary Thursday, made a rest day
    info = cal.day(D(2025, 10, 8))
    assert info.kind == workdays.OVERRIDE_WORKING and info.overridden
    assert info.holiday == "National Day"  # what it replaces is kept for the page
    assert base.add_working_days(D(2025, 9, 26), 10) == Deadline(D(2025, 10, 16), False)
    # 8 Oct now counts and 16 Oct does not: the 10th is Wed 15 Oct, the 11th skips to Fri 17
    assert cal.add_working_days(D(2025, 9, 26), 10) == Deadline(D(2025, 10, 15), False)
    assert cal.add_working_days(D(2025, 9, 26), 11) == Deadline(D(2025, 10, 17), False)


def test_without_a_database_the_official_calendar_is_used():
    """No django_db mark: pytest-django refuses the database, as where it is not ready."""
    assert workdays.add_working_days(D(2025, 1, 24), 10) == Deadline(D(2025, 2, 13), False)
    assert workdays.default_calendar().overrides == {}


# --- overrides in the database: services, audit, cache ----------------------------------------


@pytest.mark.django_db
def test_override_services_audit_and_permissions(users):
    admin, clerk = users["admin"], users["clerk"]
    day = D(2025, 10, 8)
    with pytest.raises(PermissionDenied):
        workdays.workday_override_set(actor=clerk, date=day, is_working_day=True, reason="x")
    with pytest.raises(ValidationError):
        workdays.workday_override_set(actor=admin, date=day, is_working_day=True, reason="  ")
    assert not WorkdayOverride.objects.exists()

    o = workdays.workday_override_set(
        actor=admin, date=day, is_working_day=True, reason="烟台市地方性调休"
    )
    assert o.created_by == admin and o.reason == "烟台市地方性调休"
    event = AuditEvent.objects.get(event="core.workday_override_set")
    assert event.actor == admin and event.subject_id == "2025-10-08"
    assert event.old is None
    assert event.new == {"date": "2025-10-08", "is_working_day": True, "reason": "烟台市地方性调休"}

    workdays.workday_override_set(actor=admin, date=day, is_working_day=False, reason="撤回")
    assert WorkdayOverride.objects.get(date=day).is_working_day is False
    second = AuditEvent.objects.filter(event="core.workday_override_set").order_by("id").last()
    assert second.old["is_working_day"] is True and second.new["is_working_day"] is False

    with pytest.raises(PermissionDenied):
        workdays.workday_override_delete(actor=clerk, date=day)
    assert workdays.workday_override_delete(actor=admin, date=day) is True
    assert not WorkdayOverride.objects.exists()
    deleted = AuditEvent.objects.get(event="core.workday_override_delete")
    assert deleted.old["reason"] == "撤回" and deleted.new is None
    assert workdays.workday_override_delete(actor=admin, date=day) is False
    assert AuditEvent.objects.filter(event="core.workday_override_delete").count() == 1


@pytest.mark.django_db
def test_the_cached_calendar_follows_override_changes(users, unknown_year):
    admin = users["admin"]
    day = D(2025, 10, 8)
    assert not workdays.is_working_day(day)  # loads and caches the default calendar
    cached = workdays.default_calendar()
    assert workdays.default_calendar() is cached

    workdays.workday_override_set(actor=admin, date=day, is_working_day=True, reason="补班")
    assert workdays.is_working_day(day)  # the service dropped the cache
    assert workdays.add_working_days(D(2025, 9, 26), 10).date == D(2025, 10, 15)

    # a bulk update bypasses the model's signals: the cache is still used until invalidated
    WorkdayOverride.objects.filter(date=day).update(is_working_day=False)
    assert workdays.is_working_day(day)
    workdays.invalidate()
    assert not workdays.is_working_day(day)

    # saving or deleting the model directly (e.g. the shell) drops it through the signals
    first = D(unknown_year, 1, 1)
    assert workdays.add_working_days(first - DAY, 1).estimated
    WorkdayOverride.objects.create(date=first, is_working_day=True, reason="次年安排")
    assert workdays.add_working_days(first - DAY, 1) == Deadline(first, False)
    WorkdayOverride.objects.filter(date=day).first().delete()
    assert not workdays.is_working_day(day)
    assert workdays.default_calendar().overrides == {first: True}

    workdays.workday_override_delete(actor=admin, date=first)
    assert workdays.default_calendar().overrides == {}


# --- the page ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_page_renders_for_a_clerk_without_the_edit_form(client, users):
    client.force_login(users["clerk"])
    response = client.get(URL, {"year": 2026})
    assert response.status_code == 200
    html = response.content.decode()
    assert "2026 年工作日历" in html
    assert 'data-date="2026-02-14" data-kind="adjusted_workday"' in html
    assert 'data-date="2026-02-16" data-kind="holiday"' in html
    assert 'data-date="2026-03-02" data-kind="workday"' in html
    assert "2026-02-15 至 2026-02-23 春节 · 法定节假日休息" in html
    assert "调休上班" in html
    assert workdays.known_until().strftime("%Y-%m-%d") in html
    assert 'data-testid="override-form"' not in html
    assert "工作日历" in html and 'href="/system/workdays/"' in html  # the menu entry


@pytest.mark.django_db
def test_page_warns_for_a_year_beyond_the_schedule(client, users, unknown_year):
    client.force_login(users["analyst"])
    html = client.get(URL, {"year": unknown_year}).content.decode()
    assert f"{unknown_year} 年的节假日安排尚未公布或未录入" in html
    assert "wd-est" in html


@pytest.mark.django_db
def test_calculator_on_the_page(client, users, unknown_year):
    client.force_login(users["county"])
    html = client.get(URL, {"start": "2025-01-24", "n": "10"}).content.decode()
    assert 'data-testid="deadline"' in html and "2025-02-13" in html
    assert "期间有日期超出" not in html
    html = client.get(URL, {"start": f"{unknown_year}-03-01", "n": "10"}).content.decode()
    assert "期间有日期超出" in html
    html = client.get(URL, {"start": "2025-13-01", "n": "10"}).content.decode()
    assert 'data-testid="deadline"' not in html


@pytest.mark.django_db
def test_page_access_by_role(client, users):
    for name in ("admin", "analyst", "county", "clerk", "village"):
        client.force_login(users[name])
        assert client.get(URL).status_code == 200, name
    for name in ("carer", "api"):
        client.force_login(users[name])
        assert client.get(URL).status_code == 403, name
    client.force_login(users["village"])  # may look, has no menu entry
    assert 'href="/system/workdays/"' not in client.get("/").content.decode()


@pytest.mark.django_db
def test_a_clerk_cannot_add_or_remove_an_override(client, users):
    WorkdayOverride.objects.create(date=D(2025, 10, 9), is_working_day=False, reason="x")
    client.force_login(users["clerk"])
    form = {"action": "set", "date": "2025-10-08", "is_working_day": "1", "reason": "补班"}
    assert client.post(URL, form).status_code == 403
    assert client.post(URL, {"action": "delete", "date": "2025-10-09"}).status_code == 403
    assert list(WorkdayOverride.objects.values_list("date", flat=True)) == [D(2025, 10, 9)]
    assert not AuditEvent.objects.filter(event__startswith="core.workday").exists()


@pytest.mark.django_db
def test_an_admin_adds_and_removes_an_override(client, users):
    client.force_login(users["admin"])
    assert 'data-testid="override-form"' in client.get(URL).content.decode()
    form = {
        "action": "set",
        "date": "2025-10-08",
        "is_working_day": "1",
        "reason": "烟台市地方性调休",
    }
    response = client.post(URL, form)
    assert response.status_code == 302
    assert response["Location"] == f"{URL}?year=2025#overrides"
    o = WorkdayOverride.objects.get(date=D(2025, 10, 8))
    assert o.is_working_day and o.created_by == users["admin"]
    event = AuditEvent.objects.get(event="core.workday_override_set")
    assert event.actor == users["admin"] and event.new["reason"] == "烟台市地方性调休"
    assert workdays.is_working_day(D(2025, 10, 8))

    html = client.get(URL, {"year": 2025}).content.decode()
    assert 'data-date="2025-10-08" data-kind="override_working"' in html
    assert "烟台市地方性调休" in html and "国庆节 · 法定节假日休息" in html

    # an invalid form keeps what was typed and says what is wrong
    bad = client.post(URL, {"action": "set", "date": "2025-10-10", "is_working_day": "0"})
    assert bad.status_code == 200
    assert not WorkdayOverride.objects.filter(date=D(2025, 10, 10)).exists()
    assert 'value="2025-10-10"' in bad.content.decode()

    response = client.post(URL, {"action": "delete", "date": "2025-10-08"})
    assert response.status_code == 302
    assert not WorkdayOverride.objects.exists()
    assert AuditEvent.objects.filter(event="core.workday_override_delete").count() == 1
    assert not workdays.is_working_day(D(2025, 10, 8))
