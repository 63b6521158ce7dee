"""The official working-day calendar (工作日): statutory time limits are counted in working days.

Which days are worked follows the State Council's holiday schedule (国务院办公厅关于部分节假日安排的
通知), published each year for the next year only: weekends are rest days, public holidays are rest
days, and some weekends are worked to make up for a longer break (调休上班). The schedule comes from
the ``chinesecalendar`` package, which knows the years up to its release (:func:`known_until`), plus
local overrides (``WorkdayOverride``) that an administrator enters, e.g. a local decision or next
year's schedule before the package knows it. An override wins over the package, and a date with an
override counts as known.

A date the schedule does not cover is judged by weekends only (Monday to Friday worked) and every
result that needed such a date says ``estimated=True``, so the page can flag it: DOMAIN.md §6, "a
date beyond the known schedule must be flagged, not silently computed".

Counting starts the day after the event: the event day itself never counts (低保 confirmation
"within 10 working days of the notice ending" is the 10th working day after the notice's last day).

The calculation is in :class:`Calendar`, which imports no Django and can be built with any overrides
(pure tests, batch engines). The module-level functions use a default calendar whose overrides are
read from the database once, kept, and dropped when an override changes (the services, and the
model's save/delete signals, call :func:`invalidate`; other processes re-read at most
``REFRESH_SECONDS`` later). Where the database is not there (no settings, no table yet), the default
calendar has no overrides.

The services :func:`workday_override_set` and :func:`workday_override_delete` change overrides
(city administrators only), each in a transaction with its audit row.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chinese_calendar import constants as _official

if TYPE_CHECKING:
    from doudi.core.models import User, WorkdayOverride

logger = logging.getLogger(__name__)

_ONE_DAY = dt.timedelta(days=1)

#: day kinds (:attr:`DayInfo.kind`)
WORKDAY = "workday"  # Monday to Friday, worked
WEEKEND = "weekend"  # Saturday or Sunday, rest
HOLIDAY = "holiday"  # a public holiday or a day of its break, rest
ADJUSTED_WORKDAY = "adjusted_workday"  # a weekend worked for a break (调休上班)
OVERRIDE_WORKING = "override_working"  # a local override: worked
OVERRIDE_REST = "override_rest"  # a local override: rest

#: roles that see the calendar page; only city administrators change overrides
VIEW_ROLES = frozenset(
    {"city_admin", "city_analyst", "county_approver", "town_clerk", "village_worker"}
)
EDIT_ROLES = frozenset({"city_admin"})


@dataclass(frozen=True)
class Deadline:
    """The date a time limit ends; ``estimated`` when a date on the way is beyond the schedule."""

    date: dt.date
    estimated: bool


@dataclass(frozen=True)
class Span:
    """A number of working days; ``estimated`` when a date counted is beyond the schedule."""

    days: int
    estimated: bool


@dataclass(frozen=True)
class DayInfo:
    """One day as the calendar sees it (for pages that show the calendar)."""

    date: dt.date
    is_working: bool
    kind: str
    #: chinesecalendar's name of the holiday, for a holiday or an adjusted working day ("" otherwise),
    #: also kept when an override replaces it
    holiday: str = ""
    overridden: bool = False
    #: judged by weekends only: beyond the official schedule and no override
    estimated: bool = False


def _official_range() -> tuple[dt.date, dt.date]:
    """First and last date chinesecalendar covers: whole years, from the first to the last year
    its holiday table names (the package itself refuses dates outside those years)."""
    years = {d.year for d in _official.holidays} | {d.year for d in _official.workdays}
    return dt.date(min(years), 1, 1), dt.date(max(years), 12, 31)


_KNOWN_FROM, _KNOWN_UNTIL = _official_range()


def _check_date(value: object, name: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(
            f"{name} must be a datetime.date (a local date), not {type(value).__name__}"
        )
    return value


class Calendar:
    """Working days on the official schedule plus local overrides (``{date: is_working_day}``).

    Immutable once built; imports no Django.
    """

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None) -> None:
        self._overrides: dict[dt.date, bool] = dict(overrides or {})
        self._holidays: Mapping[dt.date, Any] = _official.holidays
        self._workdays: Mapping[dt.date, Any] = _official.workdays
        self.known_from = _KNOWN_FROM
        self.known_until = _KNOWN_UNTIL

    @property
    def overrides(self) -> Mapping[dt.date, bool]:
        return dict(self._overrides)

    def _judge(self, d: dt.date) -> tuple[bool, bool]:
        """(is working, is known) for one date."""
        override = self._overrides.get(d)
        if override is not None:
            return override, True
        if self.known_from <= d <= self.known_until:
            if d in self._workdays:
                return True, True
            if d in self._holidays:
                return False, True
            return d.weekday() < 5, True
        return d.weekday() < 5, False

    def is_known(self, d: dt.date) -> bool:
        """Whether the official schedule or an override covers the date."""
        return self._judge(_check_date(d, "d"))[1]

    def is_working_day(self, d: dt.date) -> bool:
        """Whether the date is worked (beyond the schedule: Monday to Friday)."""
        return self._judge(_check_date(d, "d"))[0]

    def day(self, d: dt.date) -> DayInfo:
        """What kind of day the date is, and why."""
        _check_date(d, "d")
        known = self.known_from <= d <= self.known_until
        holiday = ""
        if known and d in self._workdays:
            kind, holiday = ADJUSTED_WORKDAY, str(self._workdays[d])
        elif known and d in self._holidays:
            kind, holiday = HOLIDAY, str(self._holidays[d])
        else:
            kind = WORKDAY if d.weekday() < 5 else WEEKEND
        override = self._overrides.get(d)
        if override is not None:
            return DayInfo(
                date=d,
                is_working=override,
                kind=OVERRIDE_WORKING if override else OVERRIDE_REST,
                holiday=holiday,
                overridden=True,
            )
        return DayInfo(
            date=d,
            is_working=kind in (WORKDAY, ADJUSTED_WORKDAY),
            kind=kind,
            holiday=holiday,
            estimated=not known,
        )

    def add_working_days(self, start: dt.date, n: int) -> Deadline:
        """The n-th working day after ``start`` (``start`` itself never counts; n=0 gives ``start``).

        ``estimated`` when any date after ``start`` up to the result is beyond the schedule.
        """
        d = _check_date(start, "start")
        if n < 0:
            raise ValueError("n must be >= 0 (working days after start)")
        estimated = False
        counted = 0
        while counted < n:
            d += _ONE_DAY
            working, known = self._judge(d)
            estimated = estimated or not known
            counted += working
        return Deadline(date=d, estimated=estimated)

    def working_days_between(self, start: dt.date, end: dt.date) -> Span:
        """The number of working days d with start < d <= end (0 when end <= start).

        ``estimated`` when any of those dates is beyond the schedule.
        """
        _check_date(start, "start")
        _check_date(end, "end")
        days = 0
        estimated = False
        for d in _dates_after(start, end):
            working, known = self._judge(d)
            days += working
            estimated = estimated or not known
        return Span(days=days, estimated=estimated)

    def month(self, year: int, month: int) -> list[DayInfo]:
        """Every day of one month."""
        first = dt.date(year, month, 1)
        last = dt.date(year + (month == 12), month % 12 + 1, 1) - _ONE_DAY
        return [self.day(d) for d in _dates_after(first - _ONE_DAY, last)]


def _dates_after(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    d = start + _ONE_DAY
    while d <= end:
        yield d
        d += _ONE_DAY


# -- the default calendar: overrides from the database, cached --------------------------------

#: seconds a process keeps the overrides it read before reading them again (changes made in this
#: process are seen at once; this bounds how stale another process, e.g. the task worker, can be)
REFRESH_SECONDS = 60.0

_lock = threading.Lock()
_cache: tuple[Calendar, float, int] | None = None  # calendar, loaded at (monotonic), generation
_generation = 0


def _load_overrides() -> dict[dt.date, bool]:
    """All overrides from the database, or none where the database is not there."""
    try:
        from django.db import transaction

        from doudi.core.models import WorkdayOverride

        # a savepoint, so a missing table does not break the caller's transaction on PostgreSQL
        with transaction.atomic():
            return dict(WorkdayOverride.objects.values_list("date", "is_working_day"))
    except Exception as exc:  # no settings, apps not ready, no table yet, database refused
        logger.info("working-day overrides not read (%s); using the official calendar only", exc)
        return {}


def default_calendar() -> Calendar:
    """The calendar the module-level functions use (official schedule + database overrides)."""
    global _cache
    cached = _cache
    if cached is not None and time.monotonic() - cached[1] < REFRESH_SECONDS:
        return cached[0]
    with _lock:
        cached = _cache  # another thread may have read them while this one waited
        if cached is not None and time.monotonic() - cached[1] < REFRESH_SECONDS:
            return cached[0]
        generation = _generation
        calendar = Calendar(_load_overrides())
        if generation == _generation:  # not invalidated while reading
            _cache = (calendar, time.monotonic(), generation)
    return calendar


def invalidate() -> None:
    """Forget the cached overrides; the next call reads them again."""
    global _cache, _generation
    _generation += 1
    _cache = None


def known_until() -> dt.date:
    """The last date the official calendar (chinesecalendar) covers."""
    return _KNOWN_UNTIL


def is_working_day(d: dt.date) -> bool:
    """Whether the date is worked (overrides first, then the official schedule, then weekends)."""
    return default_calendar().is_working_day(d)


def add_working_days(start: dt.date, n: int) -> Deadline:
    """The n-th working day after ``start`` (the event day does not count; n=0 gives ``start``)."""
    return default_calendar().add_working_days(start, n)


def working_days_between(start: dt.date, end: dt.date) -> Span:
    """The number of working days d with start < d <= end (0 when end <= start)."""
    return default_calendar().working_days_between(start, end)


# -- access and services -----------------------------------------------------------------------


def can_view(user: Any) -> bool:
    """Staff of the city, counties, towns and villages see the calendar."""
    return bool(user.is_authenticated and user.is_active and user.role in VIEW_ROLES)


def can_edit(user: Any) -> bool:
    """Only city administrators change local overrides."""
    return bool(user.is_authenticated and user.is_active and user.role in EDIT_ROLES)


def workday_overrides() -> Any:
    """All local overrides, by date, with who set them (a queryset of ``WorkdayOverride``)."""
    from doudi.core.models import WorkdayOverride

    return WorkdayOverride.objects.select_related("created_by").order_by("date")


def _override_values(o: WorkdayOverride) -> dict[str, Any]:
    return {"date": o.date, "is_working_day": o.is_working_day, "reason": o.reason}


def workday_override_set(
    *, actor: User, date: dt.date, is_working_day: bool, reason: str
) -> WorkdayOverride:
    """Declare a date worked or not worked locally, replacing any earlier override of that date.

    The override wins over chinesecalendar and makes the date known (not estimated).
    """
    from django.core.exceptions import PermissionDenied, ValidationError
    from django.db import transaction
    from django.utils import timezone

    from doudi.core.audit import audit_record
    from doudi.core.models import WorkdayOverride

    if not can_edit(actor):
        raise PermissionDenied
    _check_date(date, "date")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("请填写调整原因 / a reason is required", code="reason_required")
    with transaction.atomic():
        override = WorkdayOverride.objects.select_for_update().filter(date=date).first()
        old = _override_values(override) if override is not None else None
        if override is None:
            override = WorkdayOverride(date=date)
        override.is_working_day = bool(is_working_day)
        override.reason = reason[:200]
        override.created_by = actor
        override.created_at = timezone.now()
        override.save()
        audit_record(
            actor=actor,
            event="core.workday_override_set",
            subject_type="workday",
            subject_id=date.isoformat(),
            subject_label=date.isoformat(),
            old=old,
            new=_override_values(override),
        )
        transaction.on_commit(invalidate)
    invalidate()
    return override


def workday_override_delete(*, actor: User, date: dt.date) -> bool:
    """Remove the local override of a date (the official schedule applies again).

    Returns False when the date had no override (nothing changed, nothing audited).
    """
    from django.core.exceptions import PermissionDenied
    from django.db import transaction

    from doudi.core.audit import audit_record
    from doudi.core.models import WorkdayOverride

    if not can_edit(actor):
        raise PermissionDenied
    _check_date(date, "date")
    with transaction.atomic():
        override = WorkdayOverride.objects.select_for_update().filter(date=date).first()
        if override is None:
            return False
        old = _override_values(override)
        override.delete()
        audit_record(
            actor=actor,
            event="core.workday_override_delete",
            subject_type="workday",
            subject_id=date.isoformat(),
            subject_label=date.isoformat(),
            old=old,
        )
        transaction.on_commit(invalidate)
    invalidate()
    return True
