"""Deadlines in working days across the 2025 and 2026 Spring Festival and National Day breaks
(with their adjusted working weekends), and beyond the known calendar (estimated)."""

from __future__ import annotations

import datetime as dt

import pytest

from doudi.cases import services
from doudi.cases.models import State
from doudi.core import workdays

pytestmark = pytest.mark.django_db

WITH_AUTH = ("application_form", "identity", "authorisation")


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # 2025 Spring Festival: 1-28..2-04 off, Sunday 1-26 worked
        (dt.date(2025, 1, 24), 3, dt.date(2025, 2, 5)),
        # 2025 National Day: 10-01..10-08 off, Sunday 9-28 and Saturday 10-11 worked
        (dt.date(2025, 9, 30), 3, dt.date(2025, 10, 11)),
        (dt.date(2025, 9, 26), 1, dt.date(2025, 9, 28)),
        # 2026 Spring Festival: 2-15..2-23 off, Saturdays 2-14 and 2-28 worked
        (dt.date(2026, 2, 13), 3, dt.date(2026, 2, 25)),
        # 2026 Mid-Autumn 9-25 and National Day 10-01..10-07 off, Saturday 10-10 worked
        (dt.date(2026, 9, 30), 10, dt.date(2026, 10, 20)),
        (dt.date(2026, 9, 24), 3, dt.date(2026, 9, 30)),
    ],
)
def test_deadline_across_breaks(start, days, due):
    d = services.deadline(start, days)
    assert d.date == due and d.estimated is False


def test_deadline_in_an_unknown_year_is_estimated():
    d = services.deadline(dt.date(2031, 12, 24), 10)
    assert d.estimated is True
    assert d.date == dt.date(2032, 1, 7)  # weekends only: 10 weekdays after 12-24
    assert services.deadline(dt.date(2031, 12, 24), 7, "calendar").date == dt.date(2031, 12, 31)


@pytest.mark.parametrize(
    ("accepted", "verification_due"),
    [
        (dt.date(2025, 1, 24), dt.date(2025, 2, 5)),
        (dt.date(2025, 9, 30), dt.date(2025, 10, 11)),
        (dt.date(2026, 2, 13), dt.date(2026, 2, 25)),
    ],
)
def test_case_step_deadlines_across_breaks(accept, accepted, verification_due):
    case = accept(on=accepted, received=WITH_AUTH).cases.get()
    assert case.state == State.VERIFICATION
    assert case.step_due_on == verification_due and not case.step_due_estimated
    step = case.steps.get()
    assert step.due_on == verification_due and step.limit_days == 3
    assert case.due_on == workdays.add_working_days(accepted, 30).date


def test_decision_deadline_counts_from_the_notice_end_across_national_day_2026(accept, users):
    from doudi.cases.models import Case

    case = accept(on=dt.date(2026, 9, 14), received=WITH_AUTH + ("income_proof",)).cases.get()
    Case.objects.filter(pk=case.pk).update(state=State.FIRST_REVIEW)
    case.refresh_from_db()
    case = services.case_first_review(
        actor=users["clerk"],
        case=case,
        recommend=True,
        opinion="符合",
        proposed_amount="900",
        on=dt.date(2026, 9, 23),
    )
    assert (case.notice_from, case.notice_until) == (dt.date(2026, 9, 24), dt.date(2026, 9, 30))
    case = services.case_close_notice(actor=users["clerk"], case=case, on=dt.date(2026, 10, 8))
    assert case.step_due_on == dt.date(2026, 10, 20)


def test_case_total_deadline_beyond_the_calendar_is_flagged(accept):
    accepted = dt.date(2026, 11, 27)
    case = accept(on=accepted, received=WITH_AUTH).cases.get()
    expected = workdays.add_working_days(accepted, 30)
    assert case.due_on == expected.date
    assert case.due_estimated == (expected.date > workdays.known_until())
    # the first step ends within the known year
    assert case.step_due_on == dt.date(2026, 12, 2) and not case.step_due_estimated
