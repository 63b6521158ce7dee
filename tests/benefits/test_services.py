"""Benefit services: start, adjust, gradual exit, stop; months validated; history and audit rows;
who may decide; the selectors other apps use."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from doudi.benefits import selectors as benefit_selectors
from doudi.benefits import services as benefit_services
from doudi.benefits.models import Benefit, BenefitChange
from doudi.core.models import AuditEvent
from tests.benefits.conftest import M

pytestmark = pytest.mark.django_db


MARCH = M(2025, 3)


def start_dibao(hh, amount="1638.50", month=MARCH, actor=None, **kw):
    return benefit_services.benefit_start(
        actor=actor,
        household=hh["qy"],
        item="dibao",
        monthly_amount=Decimal(amount),
        start_month=month,
        case_ref="case:1",
        reason="审核确认",
        **kw,
    )


def test_start_records_benefit_change_and_audit(hh, users):
    b = start_dibao(hh, actor=users["county"])
    assert (b.item, b.status, b.county_id, b.start_month, b.end_month) == (
        "dibao",
        "active",
        "370611",
        M(2025, 3),
        None,
    )
    assert b.monthly_amount == Decimal("1638.50") and b.person_id is None
    change = BenefitChange.objects.get(benefit=b)
    assert (change.kind, change.from_month, change.new_amount, change.source) == (
        "start",
        M(2025, 3),
        Decimal("1638.50"),
        "case:1",
    )
    assert change.actor == users["county"]
    event = AuditEvent.objects.get(event="benefit.start", subject_id=str(b.pk))
    assert event.actor == users["county"] and event.region_code == "370611001001"
    assert event.new["monthly_amount"] == "1638.50" and event.new["start_month"] == "2025-03-01"


@pytest.mark.parametrize(
    "bad",
    [dt.date(2025, 3, 2), dt.datetime(2025, 3, 1, 8, 0), "2025-03-01", None],
)
def test_months_must_be_the_first_of_a_month(hh, bad):
    with pytest.raises(ValueError) as exc:
        start_dibao(hh, month=bad)
    assert "start_month" in str(exc.value) and "/" in str(exc.value)  # Chinese / English
    b = start_dibao(hh)
    for call in (
        lambda: benefit_services.benefit_adjust(
            actor=None, benefit=b, monthly_amount=Decimal(1), from_month=bad, reason="x"
        ),
        lambda: benefit_services.benefit_stop(actor=None, benefit=b, from_month=bad, reason="x"),
        lambda: benefit_services.benefit_gradual_exit(
            actor=None, benefit=b, from_month=bad, months=3, reason="x"
        ),
        lambda: benefit_services.payroll_build(actor=None, county="370611", month=bad),
    ):
        with pytest.raises(ValueError):
            call()
    assert BenefitChange.objects.count() == 1  # nothing written by the refused calls


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"item": "tekun", "monthly_amount": Decimal("1402")}, "须指定对象"),
        ({"item": "unknown", "monthly_amount": Decimal("1")}, "未知待遇项目"),
        ({"item": "dibao", "monthly_amount": Decimal("-1")}, "不能为负"),
        ({"item": "dibao", "monthly_amount": Decimal("1.005")}, "两位小数"),
        ({"item": "dibao", "monthly_amount": Decimal("0")}, "须大于0"),
    ],
)
def test_start_validation(hh, kw, message):
    with pytest.raises(ValidationError) as exc:
        benefit_services.benefit_start(actor=None, household=hh["qy"], start_month=M(2025, 3), **kw)
    assert message in " ".join(exc.value.messages)
    assert not Benefit.objects.exists()


def test_person_items_need_a_current_member(hh, member):
    with pytest.raises(ValidationError, match="现有成员"):
        benefit_services.benefit_start(
            actor=None,
            household=hh["qy"],
            item="tekun",
            monthly_amount=Decimal("1635"),
            start_month=M(2025, 3),
            person=member("王强"),  # lives in another household
        )
    with pytest.raises(ValidationError, match="家庭待遇"):
        benefit_services.benefit_start(
            actor=None,
            household=hh["qy"],
            item="dibao",
            monthly_amount=Decimal("800"),
            start_month=M(2025, 3),
            person=member("曾小明"),
        )
    b = benefit_services.benefit_start(
        actor=None,
        household=hh["qy"],
        item="tekun",
        monthly_amount=Decimal("1635"),
        start_month=M(2025, 3),
        person=member("曾小明"),
    )
    assert b.person == member("曾小明")


def test_near_dibao_may_be_recorded_without_cash(hh):
    b = benefit_services.benefit_start(
        actor=None,
        household=hh["fx"],
        item="near_dibao",
        monthly_amount=Decimal("0"),
        start_month=M(2025, 3),
    )
    assert b.monthly_amount == 0 and b.county_id == "370611"


def test_no_two_benefits_of_the_same_item_at_once(hh):
    b = start_dibao(hh)
    with pytest.raises(ValidationError, match="不能重复开始"):
        start_dibao(hh, month=M(2025, 9))
    benefit_services.benefit_stop(actor=None, benefit=b, from_month=M(2025, 6), reason="收入超标")
    again = start_dibao(hh, month=M(2025, 9))
    assert again.pk != b.pk


def test_adjust_keeps_history_and_refuses_months_outside(hh, users):
    b = start_dibao(hh)
    b = benefit_services.benefit_adjust(
        actor=users["clerk"],
        benefit=b,
        monthly_amount=Decimal("1200"),
        from_month=M(2025, 6),
        reason="家庭收入增加",
        source="alert:7",
    )
    assert b.monthly_amount == Decimal("1200.00")
    change = b.changes.get(kind="adjust")
    assert (change.old_amount, change.new_amount, change.source) == (
        Decimal("1638.50"),
        Decimal("1200.00"),
        "alert:7",
    )
    assert benefit_selectors.amount_in_month(benefit_id=b.pk, month=M(2025, 5)) == Decimal(
        "1638.50"
    )
    assert benefit_selectors.amount_in_month(benefit_id=b.pk, month=M(2025, 6)) == Decimal("1200")
    audit = AuditEvent.objects.get(event="benefit.adjust")
    assert audit.old == {"monthly_amount": "1638.50"} and audit.new["source"] == "alert:7"
    with pytest.raises(ValidationError, match="早于起始月份"):
        benefit_services.benefit_adjust(
            actor=None, benefit=b, monthly_amount=Decimal(1), from_month=M(2025, 1), reason="x"
        )
    with pytest.raises(ValidationError, match="原因"):
        benefit_services.benefit_adjust(
            actor=None, benefit=b, monthly_amount=Decimal(1), from_month=M(2025, 7), reason=" "
        )
    benefit_services.benefit_stop(actor=None, benefit=b, from_month=M(2025, 9), reason="退出")
    with pytest.raises(ValidationError, match="末次发放"):
        benefit_services.benefit_adjust(
            actor=None, benefit=b, monthly_amount=Decimal(1), from_month=M(2025, 10), reason="x"
        )


def test_stop_from_month_is_the_first_month_not_paid(hh):
    b = start_dibao(hh)
    b = benefit_services.benefit_stop(
        actor=None, benefit=b, from_month=M(2025, 8), reason="死亡", source="alert:3"
    )
    assert (b.status, b.end_month) == ("stopped", M(2025, 7))
    assert b.status_in(M(2025, 7)) == "active" and b.status_in(M(2025, 8)) == "stopped"
    change = b.changes.get(kind="stop")
    assert (change.from_month, change.end_month, change.old_amount, change.new_amount) == (
        M(2025, 8),
        M(2025, 7),
        Decimal("1638.50"),
        Decimal("0.00"),
    )
    assert AuditEvent.objects.filter(event="benefit.stop", subject_id=str(b.pk)).count() == 1
    with pytest.raises(ValidationError, match="末次发放已定为"):
        benefit_services.benefit_stop(actor=None, benefit=b, from_month=M(2025, 9), reason="x")
    # an earlier stop (the death was earlier than first reported) is allowed
    b = benefit_services.benefit_stop(actor=None, benefit=b, from_month=M(2025, 6), reason="更正")
    assert b.end_month == M(2025, 5)


def test_gradual_exit_keeps_paying_then_stops(hh, users):
    b = start_dibao(hh)
    b = benefit_services.benefit_gradual_exit(
        actor=users["county"],
        benefit=b,
        from_month=M(2025, 7),
        months=3,
        reason="家庭收入超过低保标准",
        source="case:9",
    )
    assert (b.status, b.exit_from_month, b.end_month) == ("gradual_exit", M(2025, 7), M(2025, 9))
    assert b.monthly_amount == Decimal("1638.50")  # the full amount by default (assumed)
    assert [b.status_in(m) for m in (M(2025, 6), M(2025, 9), M(2025, 10))] == [
        "active",
        "gradual_exit",
        "stopped",
    ]
    assert AuditEvent.objects.get(event="benefit.gradual_exit").new["months"] == 3
    with pytest.raises(ValidationError, match="不能再进入渐退"):
        benefit_services.benefit_gradual_exit(
            actor=None, benefit=b, from_month=M(2025, 8), months=2, reason="x"
        )
    # a death during the exit stops it earlier
    b = benefit_services.benefit_stop(actor=None, benefit=b, from_month=M(2025, 8), reason="死亡")
    assert (b.status, b.end_month) == ("stopped", M(2025, 7))


def test_gradual_exit_months_and_amount(hh):
    b = start_dibao(hh)
    for months in (0, 7):
        with pytest.raises(ValidationError, match="1至6个月"):
            benefit_services.benefit_gradual_exit(
                actor=None, benefit=b, from_month=M(2025, 7), months=months, reason="x"
            )
    b = benefit_services.benefit_gradual_exit(
        actor=None,
        benefit=b,
        from_month=M(2025, 7),
        months=6,
        reason="x",
        monthly_amount=Decimal("800"),
    )
    assert benefit_selectors.amount_in_month(benefit_id=b.pk, month=M(2025, 6)) == Decimal(
        "1638.50"
    )
    assert benefit_selectors.amount_in_month(benefit_id=b.pk, month=M(2025, 12)) == Decimal("800")
    assert benefit_selectors.amount_in_month(benefit_id=b.pk, month=M(2026, 1)) is None


def test_temporary_is_one_month(hh, member):
    b = benefit_services.benefit_start(
        actor=None,
        household=hh["fx"],
        item="temporary",
        monthly_amount=Decimal("3000"),
        start_month=M(2025, 4),
        person=member("张伟"),
        case_ref="case:5",
    )
    assert (b.start_month, b.end_month) == (M(2025, 4), M(2025, 4))
    assert b.status_in(M(2025, 4)) == "active" and b.status_in(M(2025, 5)) == "stopped"
    with pytest.raises(ValidationError, match="一次性"):
        benefit_services.benefit_gradual_exit(
            actor=None, benefit=b, from_month=M(2025, 4), months=1, reason="x"
        )
    # a second temporary assistance in the same month is allowed
    benefit_services.benefit_start(
        actor=None,
        household=hh["fx"],
        item="temporary",
        monthly_amount=Decimal("500"),
        start_month=M(2025, 4),
    )


@pytest.mark.parametrize("who", ["clerk2", "analyst", "village", "carer", "other_county"])
def test_only_deciders_in_jurisdiction(hh, users, who):
    with pytest.raises(PermissionDenied):
        start_dibao(hh, actor=users[who])
    assert not Benefit.objects.exists()


@pytest.mark.parametrize("who", ["clerk", "county", "admin"])
def test_deciders_in_jurisdiction(hh, users, who):
    assert start_dibao(hh, actor=users[who]).pk


def test_selectors_for_other_apps(hh, member):
    dibao = start_dibao(hh, month=M(2025, 3))
    tekun = benefit_services.benefit_start(
        actor=None,
        household=hh["qy"],
        item="tekun",
        monthly_amount=Decimal("1635"),
        start_month=M(2025, 5),
        person=member("李秀英"),
    )
    household_id = hh["qy"].pk
    assert benefit_selectors.benefits_received_item_codes(
        household_id=household_id, as_of=dt.date(2025, 4, 20)
    ) == {"dibao"}
    assert benefit_selectors.benefits_received_item_codes(
        household_id=household_id, as_of=dt.date(2025, 5, 2)
    ) == {"dibao", "tekun"}
    # active = in force or decided to start later
    active = benefit_selectors.household_benefits(
        household_id=household_id, as_of=dt.date(2025, 4, 1)
    )
    assert {b.pk for b in active} == {dibao.pk, tekun.pk}
    assert benefit_selectors.person_benefits(person_id=member("李秀英").pk) == [tekun]
    assert benefit_selectors.person_benefits(person_id=member("曾小明").pk) == []
    benefit_services.benefit_stop(actor=None, benefit=dibao, from_month=M(2025, 8), reason="x")
    later = benefit_selectors.household_benefits(
        household_id=household_id, as_of=dt.date(2025, 9, 1)
    )
    assert later == [tekun]
    everything = benefit_selectors.household_benefits(
        household_id=household_id, as_of=dt.date(2025, 9, 1), active_only=False
    )
    assert len(everything) == 2
    rows = benefit_selectors.active_benefit_rows(as_of=dt.date(2025, 6, 15))
    assert sorted(rows, key=lambda r: r[2]) == [
        (None, household_id, "dibao", Decimal("1638.50")),
        (member("李秀英").pk, household_id, "tekun", Decimal("1635.00")),
    ]
