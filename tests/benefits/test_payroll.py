"""Payment rolls: lines and totals that reconcile, approval freezes, corrections on the next
month, a death known late recovered by negative adjustments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from doudi.benefits import selectors as benefit_selectors
from doudi.benefits import services as benefit_services
from doudi.benefits.models import PaymentRoll
from doudi.core.models import AuditEvent
from tests.benefits.conftest import M

pytestmark = pytest.mark.django_db
FUSHAN = "370611"


@pytest.fixture
def benefits(hh, member):
    """福山区: qy 低保 1,638.50 from 2025-03; 王强's household 特困 (王强) 1,402 + 233 from
    2025-04; 张伟's household 低保 872 from 2025-03. 芝罘区: 单丽 低保 1,069 from 2025-03."""
    s = benefit_services
    return {
        "qy": s.benefit_start(
            actor=None,
            household=hh["qy"],
            item="dibao",
            monthly_amount=Decimal("1638.50"),
            start_month=M(2025, 3),
        ),
        "tekun": s.benefit_start(
            actor=None,
            household=hh["qy_village"],
            item="tekun",
            monthly_amount=Decimal("1635"),
            start_month=M(2025, 4),
            person=member("王强"),
        ),
        "fx": s.benefit_start(
            actor=None,
            household=hh["fx"],
            item="dibao",
            monthly_amount=Decimal("872"),
            start_month=M(2025, 3),
        ),
        "zf": s.benefit_start(
            actor=None,
            household=hh["zf"],
            item="dibao",
            monthly_amount=Decimal("1069"),
            start_month=M(2025, 3),
        ),
    }


def build(month, county=FUSHAN, actor=None):
    return benefit_services.payroll_build(actor=actor, county=county, month=month)


def approve(roll, actor=None):
    return benefit_services.payroll_approve(actor=actor, roll=roll)


def lines(roll):
    return list(roll.lines.order_by("seq").values_list("payee_name", "kind", "for_month", "amount"))


def test_roll_lines_and_totals_reconcile(benefits, users, member):
    roll = build(M(2025, 3), actor=users["county"])
    assert roll.status == "draft" and roll.built_by == users["county"]
    assert lines(roll) == [
        ("曾小明", "start", M(2025, 3), Decimal("1639")),  # whole yuan, half up
        ("张伟", "start", M(2025, 3), Decimal("872")),
    ]
    assert (roll.total, roll.paid_count, roll.starts, roll.decided_total) == (
        Decimal("2511"),
        2,
        2,
        Decimal("2510.50"),
    )
    check = benefit_selectors.payroll_reconcile(roll)
    assert check.ok and check.discrepancies == []
    assert check.expected_total == roll.total and check.rounding_difference == Decimal("0.50")
    assert check.benefits_in_force == 2  # 芝罘区's benefit is on 芝罘区's roll, not this one
    line = roll.lines.get(payee_name="曾小明")
    assert line.payee_id_masked == "370611********" + member("曾小明").id_last4
    assert "19500101" not in line.payee_id_masked and line.payee_id_enc.startswith("v1:")
    event = AuditEvent.objects.get(event="payroll.build")
    assert event.new["total"] == "2511" and event.region_code == FUSHAN
    approve(roll, actor=users["admin"])
    april = build(M(2025, 4))
    assert [(name, kind) for name, kind, _, _ in lines(april)] == [
        ("曾小明", "normal"),
        ("王强", "start"),
        ("张伟", "normal"),
    ]
    assert april.total == 1639 + 1635 + 872


def test_a_tampered_or_stale_roll_does_not_reconcile(benefits, users):
    roll = build(M(2025, 3))
    roll.lines.filter(payee_name="张伟").update(amount=Decimal("900"))
    check = benefit_selectors.payroll_reconcile(roll)
    assert not check.ok
    [d] = check.discrepancies
    assert (d.household_number, d.expected, d.on_roll) == (
        benefits["fx"].household.number,
        Decimal("872"),
        Decimal("900"),
    )
    with pytest.raises(ValidationError, match="核对不平"):
        approve(roll, actor=users["county"])
    roll = build(M(2025, 3))  # a rebuild repairs it
    benefit_services.benefit_adjust(
        actor=None,
        benefit=benefits["fx"],
        monthly_amount=Decimal("900"),
        from_month=M(2025, 3),
        reason="更正",
    )
    with pytest.raises(ValidationError, match="重新生成"):
        approve(roll, actor=users["county"])
    assert benefit_selectors.payroll_reconcile(roll).changed_since_build == 1
    roll = build(M(2025, 3))
    assert approve(roll, actor=users["county"]).status == "approved"


def test_approved_roll_is_frozen_and_corrections_go_to_the_next_month(benefits, users):
    march = approve(build(M(2025, 3)), actor=users["county"])
    assert march.approved_by == users["county"] and march.approved_at is not None
    frozen = lines(march)
    with pytest.raises(ValidationError, match="已审核"):
        build(M(2025, 3))
    # a raise decided late, back to March: paid as arrears on April's roll
    benefit_services.benefit_adjust(
        actor=None,
        benefit=benefits["fx"],
        monthly_amount=Decimal("950"),
        from_month=M(2025, 3),
        reason="复核后提高",
    )
    march.refresh_from_db()
    assert lines(march) == frozen and march.total == Decimal("2511")
    assert benefit_selectors.payroll_reconcile(march).ok  # as known when it was built
    april = build(M(2025, 4))
    adjustment = april.lines.get(kind="adjustment")
    assert (adjustment.payee_name, adjustment.for_month, adjustment.amount) == (
        "张伟",
        M(2025, 3),
        Decimal("78"),
    )
    assert "补发2025年3月" in adjustment.note
    assert april.adjustments_total == 78 and april.total == 1639 + 1635 + 950 + 78
    assert benefit_selectors.payroll_reconcile(april).ok
    approve(april, actor=users["county"])
    may = build(M(2025, 5))
    assert not may.lines.filter(kind="adjustment").exists()  # corrected once, not twice


def test_death_known_late_is_recovered_on_the_next_roll(benefits, users, member):
    for m in (M(2025, 3), M(2025, 4), M(2025, 5)):
        approve(build(m), actor=users["county"])
    # 王强 (特困) died on 2025-04-10, which becomes known in June: stop from May, the month
    # after the death; April and May are already paid by approved rolls
    benefit_services.benefit_stop(
        actor=users["county"],
        benefit=benefits["tekun"],
        from_month=M(2025, 5),
        reason="死亡（迟报）",
        source="alert:45",
    )
    may = PaymentRoll.objects.get(county_id=FUSHAN, month=M(2025, 5))
    assert may.lines.filter(payee_name="王强", amount=Decimal("1635")).exists()  # untouched
    check = benefit_selectors.payroll_reconcile(may)
    assert check.ok and check.changed_since_build == 1
    june = build(M(2025, 6))
    mine = list(
        june.lines.filter(payee_name="王强").values_list("kind", "for_month", "amount", "note")
    )
    assert mine == [
        ("stop", M(2025, 6), Decimal("0"), "自2025年5月起停发：死亡（迟报）"),
        ("adjustment", M(2025, 5), Decimal("-1635"), "追回2025年5月多发"),
    ]
    assert (june.stops, june.adjustments, june.adjustments_total) == (1, 1, Decimal("-1635"))
    assert june.total == 1639 + 872 - 1635
    assert benefit_selectors.payroll_reconcile(june).ok
    approve(june, actor=users["county"])
    july = build(M(2025, 7))
    assert not july.lines.filter(payee_name="王强").exists()


def test_stops_and_gradual_exits_on_the_roll_of_their_month(benefits, users):
    benefit_services.benefit_gradual_exit(
        actor=None, benefit=benefits["fx"], from_month=M(2025, 4), months=2, reason="收入超标"
    )
    benefit_services.benefit_stop(
        actor=None, benefit=benefits["qy"], from_month=M(2025, 5), reason="迁出本市"
    )
    approve(build(M(2025, 3)))
    april = build(M(2025, 4))
    notes = dict(april.lines.values_list("payee_name", "note"))
    kinds = dict(april.lines.values_list("payee_name", "kind"))
    assert kinds == {"曾小明": "normal", "王强": "start", "张伟": "gradual_exit"}
    assert notes["曾小明"] == "末次发放" and notes["张伟"] == "渐退第1/2个月"
    assert april.gradual_exits == 1
    approve(april)
    may = build(M(2025, 5))
    assert sorted(may.lines.values_list("payee_name", "kind", "amount")) == [
        ("张伟", "gradual_exit", Decimal("872")),
        ("曾小明", "stop", Decimal("0")),
        ("王强", "normal", Decimal("1635")),
    ]
    approve(may)
    june = build(M(2025, 6))
    assert sorted(june.lines.values_list("payee_name", "kind", "note")) == [
        ("张伟", "stop", "渐退期满，自2025年6月起停发"),
        ("王强", "normal", ""),
    ]


def test_roll_order_rules(benefits, users):
    build(M(2025, 3))
    with pytest.raises(ValidationError, match="请先审核2025年3月"):
        build(M(2025, 4))
    approve(PaymentRoll.objects.get(month=M(2025, 3)), actor=users["county"])
    approve(build(M(2025, 4)), actor=users["county"])
    with pytest.raises(ValidationError, match="不能再生成更早月份"):
        build(M(2025, 2))
    with pytest.raises(ValidationError, match="未知区县"):
        build(M(2025, 5), county="370611001")


def test_who_may_build_and_approve(benefits, users):
    with pytest.raises(PermissionDenied):
        build(M(2025, 3), actor=users["other_county"])
    with pytest.raises(PermissionDenied):
        build(M(2025, 3), actor=users["clerk"])
    roll = build(M(2025, 3), actor=users["county"])
    with pytest.raises(ValidationError, match="制表人以外"):
        approve(roll, actor=users["county"])  # four eyes
    for who in ("other_county", "analyst", "clerk"):
        with pytest.raises(PermissionDenied):
            approve(roll, actor=users[who])
    roll = approve(roll, actor=users["admin"])
    assert roll.status == "approved"
    assert AuditEvent.objects.filter(event="payroll.approve", subject_id=str(roll.pk)).exists()
    zf = build(M(2025, 3), county="370602", actor=users["admin"])
    assert [line[0] for line in lines(zf)] == ["单丽"]
    approve(zf, actor=users["other_county"])


def test_payee_of_a_household_benefit_when_the_head_died(benefits, member):
    from doudi.registry.services import person_record_death

    person_record_death(actor=None, person=member("曾小明"), date=dt.date(2025, 2, 10))
    roll = build(M(2025, 3))
    line = roll.lines.get(household=benefits["qy"].household)
    assert line.payee_name == "李秀英"
    assert line.payee_id_masked == "370611********" + member("李秀英").id_last4
