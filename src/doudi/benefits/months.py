"""Months as ``date`` objects on the 1st of the month: validation and arithmetic.

Every month argument of the benefits app is a ``datetime.date`` whose day is 1 (not a
``datetime``); anything else raises ``ValueError`` with a Chinese and an English message.
"""

from __future__ import annotations

import datetime as dt


def require_month(value: object, *, field: str = "month") -> dt.date:
    """``value`` if it is a date on the 1st of a month, else ``ValueError``."""
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ValueError(
            f"{field} 应为日期型的月份（当月1日），收到 {value!r} / "
            f"{field} must be a date on the 1st of the month, got {value!r}"
        )
    if value.day != 1:
        raise ValueError(
            f"{field} 应为当月1日（如 {value.replace(day=1).isoformat()}），收到 "
            f"{value.isoformat()} / {field} must be the 1st of a month, got {value.isoformat()}"
        )
    return value


def month_of(day: dt.date) -> dt.date:
    """The month (1st) containing ``day``."""
    return dt.date(day.year, day.month, 1)


def add_months(month: dt.date, n: int) -> dt.date:
    k = month.year * 12 + month.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


def months_between(a: dt.date, b: dt.date) -> int:
    """How many months from ``a`` to ``b`` (``b`` - ``a``; 0 for the same month)."""
    return (b.year - a.year) * 12 + b.month - a.month


def month_range(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every month from ``first`` to ``last`` inclusive (empty if ``last`` < ``first``)."""
    return [add_months(first, i) for i in range(months_between(first, last) + 1)]


def month_label(month: dt.date) -> str:
    """``2025-03-01`` → ``2025年3月``."""
    return f"{month.year}年{month.month}月"


def parse_month(text: str) -> dt.date:
    """``2025-03`` or ``2025-03-01`` (an ``<input type="month">`` value) → ``date(2025, 3, 1)``."""
    text = (text or "").strip()
    try:
        if len(text) == 7:
            y, m = text.split("-")
            return dt.date(int(y), int(m), 1)
        return require_month(dt.date.fromisoformat(text))
    except (ValueError, TypeError):
        raise ValueError(
            f"月份格式应为 YYYY-MM，收到 {text!r} / a month must be YYYY-MM, got {text!r}"
        ) from None
