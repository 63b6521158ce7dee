"""The month-by-month schedule worked out from a benefit's decisions (pure, no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from doudi.benefits.months import add_months, month_range, parse_month, require_month
from doudi.benefits.schedule import ChangeRec, entitlement, whole_yuan
from tests.benefits.conftest import M

D = Decimal


def test_latest_decision_wins_from_its_month():
    ent = entitlement(
        [
            ChangeRec(1, "start", M(2025, 1), D("500")),
            ChangeRec(2, "adjust", M(2025, 5), D("600")),
            ChangeRec(3, "adjust", M(2025, 3), D("550")),  # recorded later, from an earlier month
        ]
    )
    assert ent.amount_for(M(2024, 12)) is None
    assert ent.amount_for(M(2025, 2)) == D("500")
    assert ent.amount_for(M(2025, 4)) == D("550")
    assert ent.amount_for(M(2025, 6)) == D("550")  # the newer decision overrides May's


def test_stop_sets_the_last_paid_month_and_exit_months_are_known():
    ent = entitlement(
        [
            ChangeRec(1, "start", M(2025, 1), D("800")),
            ChangeRec(2, "gradual_exit", M(2025, 4), D("800"), end_month=M(2025, 9)),
            ChangeRec(3, "stop", M(2025, 6), D("0"), end_month=M(2025, 5)),
        ]
    )
    assert ent.end == M(2025, 5) and ent.ended_by == "stop"
    assert ent.in_exit(M(2025, 4)) and ent.in_exit(M(2025, 5)) and not ent.in_exit(M(2025, 3))
    assert ent.paid_for(M(2025, 5)) == D("800") and ent.paid_for(M(2025, 6)) == 0


def test_one_off_is_paid_in_its_month_only():
    ent = entitlement([ChangeRec(1, "start", M(2025, 3), D("2000"), end_month=M(2025, 3))])
    assert [ent.paid_for(m) for m in month_range(M(2025, 2), M(2025, 4))] == [0, 2000, 0]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("1638.50", "1639"), ("1638.49", "1638"), ("872", "872"), ("0.50", "1"), ("-12.50", "-13")],
)
def test_whole_yuan_rounds_half_up(amount, expected):
    assert whole_yuan(D(amount)) == D(expected)


def test_month_helpers():
    import datetime as dt

    assert add_months(M(2025, 11), 3) == M(2026, 2)
    assert add_months(M(2025, 1), -1) == M(2024, 12)
    assert parse_month("2025-03") == M(2025, 3)
    for bad in (dt.date(2025, 3, 2), dt.datetime(2025, 3, 1, 0, 0), "2025-03-01", None):
        with pytest.raises(ValueError, match="month") as exc:
            require_month(bad)
        assert "当月1日" in str(exc.value) or "月份" in str(exc.value)
