"""Reviewed parameter changes, sweeps and the category timeline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from doudi.core.models import AuditEvent
from doudi.policy import selectors, services
from doudi.policy.models import HouseholdClassification, ParameterChange

pytestmark = pytest.mark.django_db


def test_change_is_proposed_then_approved_by_another_admin(users):
    change = services.parameter_change_propose(
        actor=users["analyst"],
        name="dibao.standard.urban",
        scope="city",
        effective_from=dt.date(2026, 7, 1),
        value="1100",
        reference="烟台市民政局通知（测试）",
        reason="测试",
    )
    assert change.status == ParameterChange.Status.PROPOSED
    before = selectors.parameter_tree()
    assert before.value("dibao.standard.urban", dt.date(2026, 7, 1)) == Decimal("1069")
    with pytest.raises(PermissionDenied):
        services.parameter_change_decide(actor=users["analyst"], change=change, approve=True)
    services.parameter_change_decide(actor=users["admin"], change=change, approve=True)
    tree = selectors.parameter_tree()
    assert tree.value("dibao.standard.urban", dt.date(2026, 6, 30)) == Decimal("1069")
    assert tree.value("dibao.standard.urban", dt.date(2026, 7, 1)) == Decimal("1100")
    assert tree.version(dt.date(2026, 7, 1)) != before.version(dt.date(2026, 7, 1))
    events = set(AuditEvent.objects.values_list("event", flat=True))
    assert {"policy.parameter_propose", "policy.parameter_approve"} <= events


def test_admin_cannot_approve_own_proposal(users):
    change = services.parameter_change_propose(
        actor=users["admin"],
        name="near_dibao.income_multiplier",
        scope="city",
        effective_from=dt.date(2026, 7, 1),
        value="2.0",
        reference="测试",
    )
    with pytest.raises(ValidationError):
        services.parameter_change_decide(actor=users["admin"], change=change, approve=True)


@pytest.mark.parametrize(
    ("name", "scope", "day", "value", "ref"),
    [
        ("dibao.standard.urban", "city", dt.date(2025, 1, 1), "1100", "x"),  # not after history
        ("dibao.standard.urban", "city", dt.date(2024, 1, 1), "1100", "x"),  # before history
        ("dibao.standard.urban", "city", dt.date(2026, 7, 1), "-5", "x"),  # negative
        ("dibao.standard.urban", "city", dt.date(2026, 7, 1), "abc", "x"),  # not a number
        ("assets.financial_months", "city", dt.date(2026, 7, 1), "24.5", "x"),  # not whole
        ("no.such.parameter", "city", dt.date(2026, 7, 1), "1", "x"),
        ("dibao.standard.urban", "3706", dt.date(2026, 7, 1), "1100", "x"),  # bad scope
        ("dibao.standard.urban", "city", dt.date(2026, 7, 1), "1100", " "),  # no reference
    ],
)
def test_invalid_proposals_are_refused(users, name, scope, day, value, ref):
    with pytest.raises(ValidationError):
        services.parameter_change_propose(
            actor=users["analyst"],
            name=name,
            scope=scope,
            effective_from=day,
            value=value,
            reference=ref,
        )
    assert not ParameterChange.objects.exists()


def test_county_scope_value_applies_to_that_county_only(users):
    change = services.parameter_change_propose(
        actor=users["analyst"],
        name="tekun.standard.urban",
        scope="370611",
        effective_from=dt.date(2026, 1, 1),
        value="1450",
        reference="测试",
    )
    services.parameter_change_decide(actor=users["admin"], change=change, approve=True)
    tree = selectors.parameter_tree()
    day = dt.date(2026, 2, 1)
    assert tree.value("tekun.standard.urban", day, "370611") == Decimal("1450")
    assert tree.value("tekun.standard.urban", day, "370602") == Decimal("1430")
    assert tree.value("tekun.standard.urban", day, "370612") == Decimal("1402")


def test_clerk_cannot_propose(users):
    with pytest.raises(PermissionDenied):
        services.parameter_change_propose(
            actor=users["clerk"],
            name="dibao.standard.urban",
            scope="city",
            effective_from=dt.date(2026, 7, 1),
            value="1100",
            reference="x",
        )


def test_sweep_classifies_and_records_timeline_changes_only(declared):
    run = services.sweep_run(actor=None, as_of=dt.date(2026, 1, 1))
    s = run.summary
    assert s["households"] == 4
    assert s["persons"] == 5
    # 清洋 couple: 300 + 200 = 250 per head < 1,069 (urban) -> 低保, 1,069*2 - 500 = 1,638
    qy = declared["qy"]
    point = HouseholdClassification.objects.get(household=qy)
    assert point.categories == "dibao"
    assert point.tier == 1
    assert point.monthly_benefit == Decimal("1638")
    assert point.per_capita_income == Decimal("250")
    # 福新 single adult declared 900 (< 1,069) -> 低保 too; the others none
    assert HouseholdClassification.objects.get(household=declared["fx"]).categories == "dibao"
    assert HouseholdClassification.objects.get(household=declared["zf"]).categories == ""
    assert s["categories"]["dibao"]["yes"] == 2
    assert s["monthly_benefit_total"] == 1638 + 169
    assert run.result_path and AuditEvent.objects.filter(event="policy.sweep").exists()
    # the same data again: nothing changed, nothing added to the timeline
    again = services.sweep_run(actor=None, as_of=dt.date(2026, 2, 1))
    assert again.summary["timeline_changes"] == 0
    assert HouseholdClassification.objects.count() == 4
    # before the 2025 standard was in force (and before the declarations) every 低保 outcome
    # is unknown: a change for every household
    early = services.sweep_run(actor=None, as_of=dt.date(2024, 6, 1))
    assert early.summary["categories"]["dibao"] == {"yes": 0, "unknown": 4}
    assert early.summary["timeline_changes"] == 4
    point = selectors.household_timeline(household_id=qy.pk).get(as_of=dt.date(2024, 6, 1))
    assert (point.categories, point.tier, point.monthly_benefit) == ("", None, Decimal("0"))
    assert "dibao" in point.unknown.split(",")


def test_sweep_counts_a_raised_declaration(declared):
    from doudi.policy.services import income_declare
    from doudi.registry.selectors import household_members

    services.sweep_run(actor=None, as_of=dt.date(2026, 1, 1))
    fx = declared["fx"]
    person = household_members(household=fx).first().person_id
    income_declare(
        actor=None, person_id=person, monthly_income=Decimal(3000), declared_on=dt.date(2026, 3, 1)
    )
    run = services.sweep_run(actor=None, as_of=dt.date(2026, 4, 1))
    assert run.summary["timeline_changes"] == 1
    latest = selectors.household_timeline(household_id=fx.pk).first()
    assert latest.categories == ""
    assert latest.as_of == dt.date(2026, 4, 1)
