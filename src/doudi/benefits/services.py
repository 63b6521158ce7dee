"""Writes for benefits and payment rolls. Each runs in one transaction and writes, in it, its
history row (``BenefitChange``) where there is one and its audit row.

Months are dates on the 1st (``ValueError`` otherwise, see ``months.require_month``); business
rules refused raise ``ValidationError`` with a Chinese and an English message; a user without the
right raises ``PermissionDenied``. ``actor=None`` is a system action (a scheduled build, a demo
import, an automatic stop) and is recorded as such in the audit log.

Who may do what:

- start / adjust / gradual exit / stop a benefit: a city administrator, a county approver or a
  town clerk whose jurisdiction holds the household (the casework and monitoring apps decide who
  reaches the call); town clerks decide 临时救助 themselves, so they are included;
- build a roll: a county approver of that county, or a city administrator;
- approve a roll: a county approver of that county, or a city administrator, who did **not** build
  it (four eyes: the builder may be a county approver, the approver must then be another one or
  the city). A roll built by the system (``actor=None``) can be approved by any of them;
- export a roll for the bank (full ID numbers): a user allowed both to export persons and to see
  full ID numbers (``core.access``), within whose jurisdiction the county lies; approved rolls only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from doudi.benefits.models import (
    CASH_ITEMS,
    HOUSEHOLD_ITEMS,
    PERSON_ITEMS,
    Benefit,
    BenefitChange,
    Item,
    PaymentRoll,
    PaymentRollLine,
)
from doudi.benefits.months import add_months, month_label, require_month
from doudi.benefits.schedule import ChangeRec, entitlement
from doudi.core import access
from doudi.core.audit import audit_record
from doudi.core.models import Region, Role, User

CAN_DECIDE = frozenset({Role.CITY_ADMIN, Role.COUNTY_APPROVER, Role.TOWN_CLERK})
CAN_VIEW_ROLLS = frozenset({Role.CITY_ADMIN, Role.CITY_ANALYST, Role.COUNTY_APPROVER})
CAN_BUILD_ROLLS = frozenset({Role.CITY_ADMIN, Role.COUNTY_APPROVER})
CAN_APPROVE_ROLLS = frozenset({Role.CITY_ADMIN, Role.COUNTY_APPROVER})

#: the longest 渐退 when the policy parameter ``dibao.gradual_exit_months`` is not in force
DEFAULT_GRADUAL_EXIT_MAX = 6


# ------------------------------------------------------------------ permissions


def _active(user: User | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def can_decide(user: User, household) -> bool:  # type: ignore[no-untyped-def]
    return (
        _active(user)
        and user.role in CAN_DECIDE
        and (
            access.region_in_jurisdiction(user, household.region_id)
            or access.region_in_jurisdiction(user, household.hukou_region_id)
        )
    )


def can_view_rolls(user: User) -> bool:
    return (
        _active(user)
        and user.role in CAN_VIEW_ROLLS
        and access.jurisdiction_prefix(user) is not None
    )


def can_build_roll(user: User, county: str) -> bool:
    return (
        _active(user)
        and user.role in CAN_BUILD_ROLLS
        and access.region_in_jurisdiction(user, county)
    )


def can_approve_roll(user: User, roll: PaymentRoll) -> bool:
    return (
        _active(user)
        and user.role in CAN_APPROVE_ROLLS
        and access.region_in_jurisdiction(user, roll.county_id)
        and roll.built_by_id != user.pk
    )


def can_export_roll(user: User, roll: PaymentRoll) -> bool:
    return (
        access.can_export_persons(user)
        and access.can_reveal_id(user)
        and user.role in CAN_VIEW_ROLLS
        and access.region_in_jurisdiction(user, roll.county_id)
    )


def _u(actor: User | None) -> User | None:
    return actor if _active(actor) else None


# ------------------------------------------------------------------ validation


def _amount(value: object, *, item: str, field: str = "monthly_amount") -> Decimal:
    """A non-negative amount with at most 2 decimals (above zero for cash items)."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(
            f"{field} 不是有效金额：{value!r} / {field} is not an amount: {value!r}"
        ) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError(f"{field} 不能为负 / {field} cannot be negative")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(f"{field} 最多两位小数 / {field} has more than 2 decimals")
    if amount == 0 and item in CASH_ITEMS:
        raise ValidationError(
            f"{Item(item).label}的月金额须大于0 / the monthly amount of {item} must be above 0"
        )
    return amount.quantize(Decimal("0.01"))


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationError("请填写原因 / a reason is required")
    return text


def _changes(benefit: Benefit) -> list[ChangeRec]:
    return [
        ChangeRec(c.id, c.kind, c.from_month, c.new_amount, c.end_month, c.reason)
        for c in benefit.changes.order_by("id")
    ]


def _check_decider(actor: User | None, household) -> None:  # type: ignore[no-untyped-def]
    if actor is None:
        return
    if not can_decide(actor, household):
        raise PermissionDenied(
            "无权决定该家庭的待遇 / not allowed to decide this household's benefits"
        )


def _audit_benefit(
    actor: User | None,
    event: str,
    benefit: Benefit,
    *,
    old: dict[str, object] | None = None,
    new: dict[str, object] | None = None,
) -> None:
    audit_record(
        actor=actor,
        event=event,
        subject_type="benefit",
        subject_id=benefit.pk,
        subject_label=f"{benefit.household.number} {benefit.get_item_display()}",
        region_code=benefit.household.region_id,
        old=old,
        new=new,
    )


# ------------------------------------------------------------------ benefits


def benefit_start(
    *,
    actor: User | None,
    household,  # type: ignore[no-untyped-def]
    item: str,
    monthly_amount: Decimal,
    start_month: dt.date,
    person=None,  # type: ignore[no-untyped-def]
    case_ref: str = "",
    reason: str = "",
) -> Benefit:
    """Start paying ``item`` from ``start_month`` (the month after the decision, DOMAIN §6).

    特困 and 单人保 name the person (a current member of the household); 低保, 低保边缘 and
    刚性支出 are the household's. 临时救助 is one payment: a benefit for ``start_month`` only.
    A household (or person) cannot hold two benefits of the same item at once, 临时救助 apart.
    """
    start_month = require_month(start_month, field="start_month")
    if item not in Item.values:
        raise ValidationError(f"未知待遇项目 {item!r} / unknown benefit item {item!r}")
    if item in PERSON_ITEMS and person is None:
        raise ValidationError(
            f"{Item(item).label}须指定对象 / {item} is paid to a person: give the person"
        )
    if item in HOUSEHOLD_ITEMS and person is not None:
        raise ValidationError(
            f"{Item(item).label}是家庭待遇，不指定个人 / {item} is a household benefit"
        )
    amount = _amount(monthly_amount, item=item)
    if household.status != "active":
        raise ValidationError("家庭已注销，不能开始发放 / the household is dissolved")
    _check_decider(actor, household)
    if person is not None:
        from doudi.registry.selectors import current_household

        membership = current_household(person=person)
        if membership is None or membership.household_id != household.pk:
            raise ValidationError(
                "对象不是该家庭的现有成员 / the person is not a current member of the household"
            )
        if person.status != "present":
            raise ValidationError(
                f"对象状态为“{person.get_status_display()}”，不能开始发放 / the person's status "
                f"is {person.status}: a benefit cannot start"
            )
    one_off = item == Item.TEMPORARY
    with transaction.atomic():
        if not one_off:
            clash = (
                Benefit.objects.select_for_update()
                .filter(household=household, item=item, person=person)
                .exclude(end_month__lt=start_month)
                .order_by("start_month")
                .first()
            )
            if clash is not None:
                raise ValidationError(
                    f"已有{clash.get_item_display()}待遇（自{month_label(clash.start_month)}起，"
                    f"{clash.get_status_display()}），不能重复开始 / a {item} benefit already "
                    f"runs from {clash.start_month:%Y-%m}"
                )
        benefit = Benefit.objects.create(
            household=household,
            person=person,
            item=item,
            monthly_amount=amount,
            start_month=start_month,
            end_month=start_month if one_off else None,
            county_id=household.region_id[:6],
            case_ref=case_ref.strip()[:64],
        )
        BenefitChange.objects.create(
            benefit=benefit,
            kind=BenefitChange.Kind.START,
            from_month=start_month,
            end_month=start_month if one_off else None,
            new_amount=amount,
            reason=reason.strip(),
            source=case_ref.strip()[:64],
            actor=_u(actor),
        )
        _audit_benefit(
            actor,
            "benefit.start",
            benefit,
            new={
                "item": item,
                "person": getattr(person, "pk", None),
                "monthly_amount": amount,
                "start_month": start_month,
                "case_ref": case_ref,
                "reason": reason,
            },
        )
    return benefit


def benefit_adjust(
    *,
    actor: User | None,
    benefit: Benefit,
    monthly_amount: Decimal,
    from_month: dt.date,
    reason: str,
    source: str = "",
) -> Benefit:
    """Pay ``monthly_amount`` from ``from_month`` on. A month already paid by an approved roll is
    corrected on the next roll (arrears or recovery), never on the frozen one."""
    from_month = require_month(from_month, field="from_month")
    reason = _reason(reason)
    amount = _amount(monthly_amount, item=benefit.item)
    _check_decider(actor, benefit.household)
    with transaction.atomic():
        b = Benefit.objects.select_for_update().select_related("household").get(pk=benefit.pk)
        if from_month < b.start_month:
            raise ValidationError(
                f"调整月份早于起始月份（{month_label(b.start_month)}） / the adjustment starts "
                f"before the benefit ({b.start_month:%Y-%m})"
            )
        if b.end_month is not None and from_month > b.end_month:
            raise ValidationError(
                f"待遇末次发放为{month_label(b.end_month)}，不能调整之后的月份 / the benefit's "
                f"last paid month is {b.end_month:%Y-%m}"
            )
        old = entitlement(_changes(b)).amount_for(from_month)
        BenefitChange.objects.create(
            benefit=b,
            kind=BenefitChange.Kind.ADJUST,
            from_month=from_month,
            old_amount=old,
            new_amount=amount,
            reason=reason,
            source=source.strip()[:64],
            actor=_u(actor),
        )
        b.monthly_amount = amount
        b.save(update_fields=["monthly_amount", "updated_at"])
        _audit_benefit(
            actor,
            "benefit.adjust",
            b,
            old={"monthly_amount": old},
            new={
                "monthly_amount": amount,
                "from_month": from_month,
                "reason": reason,
                "source": source,
            },
        )
    return b


def gradual_exit_max_months(*, from_month: dt.date, county: str | None = None) -> int:
    """The longest 渐退: the policy parameter ``dibao.gradual_exit_months`` in force at
    ``from_month`` (Yantai default 6, DOMAIN §6 "usually ≤ 6 months"), else 6."""
    try:
        from doudi.policy.selectors import parameter_tree

        value = parameter_tree().value("dibao.gradual_exit_months", from_month, county)
    except Exception:  # noqa: BLE001 - the parameter files are optional here
        value = None
    return int(value) if value is not None else DEFAULT_GRADUAL_EXIT_MAX


def benefit_gradual_exit(
    *,
    actor: User | None,
    benefit: Benefit,
    from_month: dt.date,
    months: int,
    reason: str,
    source: str = "",
    monthly_amount: Decimal | None = None,
) -> Benefit:
    """渐退: keep paying for ``months`` months from ``from_month`` (so the last month paid is
    ``from_month`` + ``months`` - 1), then stop.

    The city's rule for the amount during 渐退 is not known: by default the full amount in force
    goes on being paid (**assumed**); ``monthly_amount`` sets another amount for the exit months,
    and a stepped reduction can be made with ``benefit_adjust`` inside the exit period. ``months``
    is at most the policy parameter ``dibao.gradual_exit_months``.
    """
    from_month = require_month(from_month, field="from_month")
    reason = _reason(reason)
    if isinstance(months, bool) or not isinstance(months, int):
        raise ValidationError("渐退月数应为整数 / months must be an integer")
    limit = gradual_exit_max_months(from_month=from_month, county=benefit.county_id)
    if not 1 <= months <= limit:
        raise ValidationError(
            f"渐退期应为1至{limit}个月 / the gradual exit lasts 1 to {limit} months"
        )
    _check_decider(actor, benefit.household)
    with transaction.atomic():
        b = Benefit.objects.select_for_update().select_related("household").get(pk=benefit.pk)
        if b.item == Item.TEMPORARY:
            raise ValidationError("临时救助为一次性发放，不适用渐退 / 临时救助 is a one-off")
        if b.status != Benefit.Status.ACTIVE:
            raise ValidationError(
                f"待遇状态为“{b.get_status_display()}”，不能再进入渐退 / the benefit is "
                f"{b.status}: no gradual exit"
            )
        if from_month < b.start_month:
            raise ValidationError(
                f"渐退月份早于起始月份（{month_label(b.start_month)}） / the exit starts before "
                "the benefit"
            )
        current = entitlement(_changes(b)).amount_for(from_month)
        amount = (
            _amount(monthly_amount, item=b.item)
            if monthly_amount is not None
            else (current if current is not None else b.monthly_amount)
        )
        end = add_months(from_month, months - 1)
        BenefitChange.objects.create(
            benefit=b,
            kind=BenefitChange.Kind.GRADUAL_EXIT,
            from_month=from_month,
            end_month=end,
            old_amount=current,
            new_amount=amount,
            reason=reason,
            source=source.strip()[:64],
            actor=_u(actor),
        )
        old = {"status": b.status, "end_month": b.end_month, "monthly_amount": current}
        b.status = Benefit.Status.GRADUAL_EXIT
        b.end_month = end
        b.exit_from_month = from_month
        b.monthly_amount = amount
        b.save()
        _audit_benefit(
            actor,
            "benefit.gradual_exit",
            b,
            old=old,
            new={
                "status": b.status,
                "from_month": from_month,
                "months": months,
                "end_month": end,
                "monthly_amount": amount,
                "reason": reason,
                "source": source,
            },
        )
    return b


def benefit_stop(
    *,
    actor: User | None,
    benefit: Benefit,
    from_month: dt.date,
    reason: str,
    source: str = "",
) -> Benefit:
    """Stop paying from ``from_month`` (the first month no longer paid; after a death, the month
    after it). A stop known late (``from_month`` already paid by approved rolls) is recovered on
    the next roll as negative adjustment lines; frozen rolls are never edited. A benefit may be
    stopped earlier than an end already decided (a death during 渐退), never later.
    """
    from_month = require_month(from_month, field="from_month")
    reason = _reason(reason)
    _check_decider(actor, benefit.household)
    with transaction.atomic():
        b = Benefit.objects.select_for_update().select_related("household").get(pk=benefit.pk)
        new_end = add_months(max(from_month, b.start_month), -1)
        if b.end_month is not None and new_end >= b.end_month:
            raise ValidationError(
                f"待遇末次发放已定为{month_label(b.end_month)}（{b.get_status_display()}），"
                f"停发月份须早于{month_label(add_months(b.end_month, 1))} / the benefit already "
                f"ends with {b.end_month:%Y-%m}"
            )
        current = entitlement(_changes(b)).amount_for(add_months(from_month, -1))
        BenefitChange.objects.create(
            benefit=b,
            kind=BenefitChange.Kind.STOP,
            from_month=from_month,
            end_month=new_end,
            old_amount=current if current is not None else b.monthly_amount,
            new_amount=Decimal("0.00"),
            reason=reason,
            source=source.strip()[:64],
            actor=_u(actor),
        )
        old = {"status": b.status, "end_month": b.end_month}
        b.status = Benefit.Status.STOPPED
        b.end_month = new_end
        if b.exit_from_month is not None and b.exit_from_month > new_end:
            b.exit_from_month = None
        b.save()
        _audit_benefit(
            actor,
            "benefit.stop",
            b,
            old=old,
            new={
                "status": b.status,
                "from_month": from_month,
                "end_month": new_end,
                "reason": reason,
                "source": source,
            },
        )
    return b


# ------------------------------------------------------------------ payment rolls


def _county(county: str) -> Region:
    region = Region.objects.filter(code=county, level="county").first()
    if region is None:
        raise ValidationError(f"未知区县 {county!r} / unknown county {county!r}")
    return region


def payroll_build(*, actor: User | None, county: str, month: dt.date) -> PaymentRoll:
    """Build (or rebuild) the draft roll of ``county`` for ``month`` from the benefits.

    Refused for an approved roll (frozen: corrections go to the next month), for a month before
    the county's latest approved roll, and while an earlier month's roll still waits for approval
    (rolls are approved in month order, so each roll's adjustments see every earlier payment).
    """
    from doudi.benefits.payroll import roll_lines

    month = require_month(month)
    if actor is not None and not can_build_roll(actor, county):
        raise PermissionDenied("无权生成该区县的发放名册 / not allowed to build this county's roll")
    region = _county(county)
    with transaction.atomic():
        roll = PaymentRoll.objects.select_for_update().filter(county=region, month=month).first()
        if roll is not None and roll.status == PaymentRoll.Status.APPROVED:
            raise ValidationError(
                f"{region.name}{month_label(month)}的发放名册已审核，不能重新生成；更正请在下月名册"
                f"中以调整行处理 / the roll of {month:%Y-%m} is approved and frozen: corrections "
                "go to the next month"
            )
        later = (
            PaymentRoll.objects.filter(
                county=region, month__gt=month, status=PaymentRoll.Status.APPROVED
            )
            .order_by("-month")
            .first()
        )
        if later is not None:
            raise ValidationError(
                f"{month_label(later.month)}的名册已审核，不能再生成更早月份的名册 / a later "
                f"roll ({later.month:%Y-%m}) is already approved"
            )
        earlier = (
            PaymentRoll.objects.filter(
                county=region, month__lt=month, status=PaymentRoll.Status.DRAFT
            )
            .order_by("month")
            .first()
        )
        if earlier is not None:
            raise ValidationError(
                f"请先审核{month_label(earlier.month)}的名册 / approve the roll of "
                f"{earlier.month:%Y-%m} first"
            )
        now = timezone.now()
        old = None
        if roll is None:
            roll = PaymentRoll(county=region, month=month, built_at=now)
        else:
            old = {"total": roll.total, "lines": roll.lines_count, "built_at": roll.built_at}
            roll.lines.all().delete()
        roll.built_at = now
        roll.built_by = _u(actor)
        roll.save()
        drafts = roll_lines(region.code, month)
        lines = [
            PaymentRollLine(
                roll=roll,
                seq=i,
                benefit_id=d.benefit_id,
                household_id=d.household_id,
                payee_id=d.payee_id,
                payee_name=d.payee_name,
                payee_id_masked=d.payee_id_masked,
                payee_id_enc=d.payee_id_enc,
                region=d.region,
                item=d.item,
                kind=d.kind,
                for_month=d.for_month,
                amount=d.amount,
                decided_amount=d.decided_amount,
                note=d.note,
            )
            for i, d in enumerate(drafts, start=1)
        ]
        PaymentRollLine.objects.bulk_create(lines, batch_size=2000)
        _set_totals(roll, lines)
        roll.save()
        audit_record(
            actor=actor,
            event="payroll.build",
            subject_type="payroll",
            subject_id=roll.pk,
            subject_label=f"{region.name} {month_label(month)}",
            region_code=region.code,
            old=old,
            new=_totals(roll),
        )
    return roll


def _set_totals(roll: PaymentRoll, lines: Iterable[PaymentRollLine]) -> None:
    K = PaymentRollLine.Kind
    roll.in_force_total = roll.adjustments_total = Decimal(0)
    roll.decided_total = Decimal("0.00")
    roll.paid_count = roll.lines_count = roll.starts = roll.stops = 0
    roll.gradual_exits = roll.adjustments = 0
    for line in lines:
        roll.lines_count += 1
        if line.kind == K.ADJUSTMENT:
            roll.adjustments += 1
            roll.adjustments_total += line.amount
            continue
        if line.kind == K.STOP:
            roll.stops += 1
            continue
        roll.in_force_total += line.amount
        roll.decided_total += line.decided_amount or Decimal(0)
        roll.paid_count += 1
        roll.starts += line.kind == K.START
        roll.gradual_exits += line.kind == K.GRADUAL_EXIT
    roll.total = roll.in_force_total + roll.adjustments_total


def _totals(roll: PaymentRoll) -> dict[str, object]:
    return {
        "month": roll.month,
        "total": roll.total,
        "in_force_total": roll.in_force_total,
        "adjustments_total": roll.adjustments_total,
        "decided_total": roll.decided_total,
        "paid_count": roll.paid_count,
        "starts": roll.starts,
        "stops": roll.stops,
        "gradual_exits": roll.gradual_exits,
        "adjustments": roll.adjustments,
    }


def payroll_approve(*, actor: User | None, roll: PaymentRoll) -> PaymentRoll:
    """Approve (freeze) a draft roll. Refused when the approver built it, when benefits changed
    or an earlier roll was approved after it was built (rebuild first), when an earlier month
    still waits, or when it does not reconcile."""
    from doudi.benefits.payroll import reconcile

    if actor is not None and not can_approve_roll(actor, roll):
        if _active(actor) and actor.pk == roll.built_by_id:
            raise ValidationError(
                "名册须由制表人以外的人员审核 / the roll must be approved by someone other than "
                "its builder"
            )
        raise PermissionDenied("无权审核该区县的发放名册 / not allowed to approve this roll")
    with transaction.atomic():
        roll = PaymentRoll.objects.select_for_update().select_related("county").get(pk=roll.pk)
        if roll.status != PaymentRoll.Status.DRAFT:
            raise ValidationError("该名册已审核 / the roll is already approved")
        earlier = PaymentRoll.objects.filter(
            county_id=roll.county_id, month__lt=roll.month, status=PaymentRoll.Status.DRAFT
        ).first()
        if earlier is not None:
            raise ValidationError(
                f"请先审核{month_label(earlier.month)}的名册 / approve {earlier.month:%Y-%m} first"
            )
        stale = (
            BenefitChange.objects.filter(
                benefit__county_id=roll.county_id,
                at__gt=roll.built_at,
                from_month__lte=roll.month,
            ).exists()
            or PaymentRoll.objects.filter(
                county_id=roll.county_id,
                month__lt=roll.month,
                status=PaymentRoll.Status.APPROVED,
                approved_at__gt=roll.built_at,
            ).exists()
        )
        if stale:
            raise ValidationError(
                "名册生成后待遇或前期名册有变动，请重新生成后再审核 / benefits changed after the "
                "roll was built: rebuild it first"
            )
        check = reconcile(roll)
        if not check.ok:
            raise ValidationError(
                f"名册核对不平（{len(check.discrepancies)}处差异），请重新生成 / the roll does "
                "not reconcile: rebuild it"
            )
        roll.status = PaymentRoll.Status.APPROVED
        roll.approved_at = timezone.now()
        roll.approved_by = _u(actor)
        roll.save()
        audit_record(
            actor=actor,
            event="payroll.approve",
            subject_type="payroll",
            subject_id=roll.pk,
            subject_label=f"{roll.county.name} {month_label(roll.month)}",
            region_code=roll.county_id,
            old={"status": PaymentRoll.Status.DRAFT},
            new={"status": roll.status, **_totals(roll)},
        )
    return roll


def payroll_export(*, actor: User, roll: PaymentRoll) -> bytes:
    """The approved roll as the bank's batch-payment workbook (full ID numbers): a personal-data
    export, checked and audited."""
    from doudi.benefits.export import roll_workbook

    if not can_export_roll(actor, roll):
        raise PermissionDenied("无权导出发放名册 / not allowed to export payment rolls")
    if roll.status != PaymentRoll.Status.APPROVED:
        raise ValidationError(
            "名册审核后才能导出给银行 / only an approved roll can be exported for the bank"
        )
    with transaction.atomic():
        content, rows = roll_workbook(roll, exported_by=actor)
        audit_record(
            actor=actor,
            event="payroll.export",
            subject_type="payroll",
            subject_id=roll.pk,
            subject_label=f"{roll.county.name} {month_label(roll.month)}",
            region_code=roll.county_id,
            new={"rows": rows, "total": roll.total, "full_id_numbers": True},
        )
    return content
