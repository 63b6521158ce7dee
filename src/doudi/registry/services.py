"""Registry writes. Each service validates everything first, then writes in one transaction with
its audit row, so a household is either registered whole or not at all."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from doudi.core import crypto, idcard
from doudi.core.access import region_in_jurisdiction
from doudi.core.audit import audit_record
from doudi.core.models import Region, RegionLevel, User
from doudi.core.pinyin import name_initials, name_pinyin
from doudi.registry.errors import (
    DuplicatePerson,
    InvalidIdNumber,
    OutOfJurisdiction,
    RegistryError,
    UnknownRegion,
)
from doudi.registry.models import (
    DisabilityCategory,
    Household,
    Membership,
    Person,
    PersonStatus,
    RegistryEvent,
    Relation,
)

_ID_ERRORS_ZH = {
    "length": "位数不对，应为18位（或旧版15位）",
    "characters": "含有非法字符，只能是数字，最后一位可以是X",
    "birth_date": "出生日期不是有效日期（或晚于今天、早于1880年）",
    "province": "前两位不是有效的省级行政区划代码",
    "checksum": "校验位不正确，请核对是否录入有误",
}


@dataclass(frozen=True)
class MemberInput:
    id_number: str
    name: str
    relation: str
    phone: str = ""
    disability_category: str = ""
    disability_grade: int | None = None


def household_number(pk: int) -> str:
    return f"JT{pk:010d}"


def _validate_id(raw: str, *, label: str) -> idcard.IdResult:
    result = idcard.validate(raw)
    if not result.valid:
        reason = _ID_ERRORS_ZH.get(result.error or "", "无效")
        raise InvalidIdNumber(
            f"{label}的身份证号 {idcard.mask(raw.strip())} {reason}",
            f"{label}: ID number is invalid ({result.error})",
            field="id_number",
        )
    return result


def _village(code: str, *, actor: User | None, field: str) -> Region:
    region = Region.objects.filter(code=code.strip()).first()
    if region is None:
        raise UnknownRegion(
            f"未知的行政区划代码：{code}，请从列表中选择村（社区）",
            f"unknown region code {code}",
            field=field,
        )
    if region.level != RegionLevel.VILLAGE:
        raise UnknownRegion(
            f"{region.name}不是村（社区），家庭须登记到村（社区）一级",
            f"{region.code} is not a village or community",
            field=field,
        )
    if actor is not None and not region_in_jurisdiction(actor, region.code):
        raise OutOfJurisdiction(
            f"{region.name}不在您的管辖范围内",
            f"{region.code} is outside your jurisdiction",
            field=field,
        )
    return region


def _validate_member(m: MemberInput, idx: int) -> idcard.IdResult:
    label = f"第{idx + 1}位成员（{m.name or '未填姓名'}）"
    if not m.name.strip():
        raise RegistryError(f"{label}未填写姓名", f"member {idx + 1}: name missing", field="name")
    if m.relation not in Relation.values:
        raise RegistryError(
            f"{label}与户主关系无效",
            f"member {idx + 1}: unknown relation {m.relation}",
            field="relation",
        )
    if m.disability_category and m.disability_category not in DisabilityCategory.values:
        raise RegistryError(
            f"{label}残疾类别无效",
            f"member {idx + 1}: unknown disability category",
            field="disability_category",
        )
    if m.disability_grade is not None and not 1 <= m.disability_grade <= 4:
        raise RegistryError(
            f"{label}残疾等级应为一至四级",
            f"member {idx + 1}: disability grade must be 1-4",
            field="disability_grade",
        )
    return _validate_id(m.id_number, label=label)


def _new_person(
    m: MemberInput, result: idcard.IdResult, *, hukou: Region, residence: Region, source: str
) -> Person:
    number = result.normalized or ""
    assert result.birth_date is not None and result.sex is not None
    return Person(
        id_enc=crypto.encrypt(number),
        id_index=crypto.blind_index(number),
        id_prefix=number[:6],
        id_last4=number[-4:],
        name="".join(m.name.split()),
        name_pinyin=name_pinyin(m.name),
        name_initials=name_initials(m.name),
        sex=result.sex,
        birth_date=result.birth_date,
        phone_enc=crypto.encrypt(m.phone.strip()) if m.phone.strip() else "",
        hukou_region=hukou,
        residence_region=residence,
        residence_type=residence.residence_type or "rural",
        disability_category=m.disability_category,
        disability_grade=m.disability_grade if m.disability_category else None,
        source=source,
    )


def _check_not_registered(results: Sequence[tuple[MemberInput, idcard.IdResult]]) -> None:
    seen: dict[str, str] = {}
    for m, r in results:
        number = r.normalized or ""
        if number in seen:
            raise DuplicatePerson(
                f"身份证号 {idcard.mask(number)} 在本次登记中重复出现（{seen[number]}、{m.name}）",
                "the same ID number appears twice in this registration",
                field="id_number",
            )
        seen[number] = m.name
    indexes = {crypto.blind_index(r.normalized or ""): m for m, r in results}
    existing = Person.objects.filter(id_index__in=indexes).select_related().first()
    if existing is not None:
        m = indexes[existing.id_index]
        current = existing.memberships.filter(end_date__isnull=True).select_related("household")
        hh = current[0].household.number if current else "无"
        raise DuplicatePerson(
            f"{m.name}（{existing.masked_id}）已在人口库中登记（家庭编号 {hh}），"
            "请查找该人员后办理迁入，不要重复登记",
            f"{existing.masked_id} is already registered (household {hh})",
            field="id_number",
        )


def household_register(
    *,
    actor: User | None,
    region_code: str,
    members: Sequence[MemberInput],
    hukou_region_code: str | None = None,
    address: str = "",
    date: dt.date | None = None,
    source: str = "manual",
) -> Household:
    """Register a new household with its members (exactly one head)."""
    date = date or timezone.localdate()
    residence = _village(region_code, actor=actor, field="region_code")
    hukou = (
        _village(hukou_region_code, actor=None, field="hukou_region_code")
        if hukou_region_code and hukou_region_code != region_code
        else residence
    )
    if not members:
        raise RegistryError("家庭至少要有一名成员", "a household needs at least one member")
    heads = [m for m in members if m.relation == Relation.HEAD]
    if len(heads) != 1:
        raise RegistryError(
            "家庭必须有且只有一位户主", "a household needs exactly one head", field="relation"
        )
    results = [(m, _validate_member(m, i)) for i, m in enumerate(members)]
    _check_not_registered(results)
    with transaction.atomic():
        household = Household.objects.create(
            number=f"tmp-{timezone.now().timestamp()}",
            region=residence,
            hukou_region=hukou,
            residence_type=residence.residence_type or "rural",
            address=address.strip(),
            source=source,
        )
        household.number = household_number(household.pk)
        household.save(update_fields=["number"])
        for m, r in results:
            person = _new_person(m, r, hukou=hukou, residence=residence, source=source)
            person.save()
            Membership.objects.create(
                household=household, person=person, relation=m.relation, start_date=date
            )
            RegistryEvent.objects.create(
                kind=RegistryEvent.Kind.REGISTERED,
                date=date,
                person=person,
                household=household,
                details={"relation": m.relation},
                recorded_by=_u(actor),
            )
        audit_record(
            actor=actor,
            event="household.register",
            subject_type="household",
            subject_id=household.pk,
            subject_label=household.number,
            region_code=residence.code,
            new={
                "region": residence.code,
                "address": household.address,
                "members": [
                    {"name": m.name, "id": idcard.mask(r.normalized or ""), "relation": m.relation}
                    for m, r in results
                ],
            },
        )
    return household


def _u(actor: User | None) -> User | None:
    return actor if actor is not None and actor.is_authenticated else None


def _current_membership(person: Person) -> Membership | None:
    return person.memberships.filter(end_date__isnull=True).select_related("household").first()


def person_add_to_household(
    *, actor: User | None, household: Household, member: MemberInput, date: dt.date | None = None
) -> Person:
    """Register a new person (a birth, someone moving in from outside the registry) into a household."""
    date = date or timezone.localdate()
    if actor is not None and not region_in_jurisdiction(actor, household.region_id):
        raise OutOfJurisdiction("该家庭不在您的管辖范围内", "household outside your jurisdiction")
    if member.relation == Relation.HEAD:
        raise RegistryError("家庭已有户主", "the household already has a head", field="relation")
    result = _validate_member(member, 0)
    _check_not_registered([(member, result)])
    with transaction.atomic():
        person = _new_person(
            member,
            result,
            hukou=household.hukou_region,
            residence=household.region,
            source="manual",
        )
        person.save()
        Membership.objects.create(
            household=household, person=person, relation=member.relation, start_date=date
        )
        RegistryEvent.objects.create(
            kind=RegistryEvent.Kind.JOINED,
            date=date,
            person=person,
            household=household,
            details={"relation": member.relation, "new_person": True},
            recorded_by=_u(actor),
        )
        audit_record(
            actor=actor,
            event="person.register",
            subject_type="person",
            subject_id=person.pk,
            subject_label=person.name,
            region_code=household.region_id,
            new={
                "household": household.number,
                "relation": member.relation,
                "id": person.masked_id,
            },
        )
    return person


def person_move(
    *,
    actor: User | None,
    person: Person,
    to_household: Household,
    relation: str,
    date: dt.date | None = None,
) -> Membership:
    """Move a person into another household: the old membership ends, a new one starts."""
    date = date or timezone.localdate()
    if relation not in Relation.values or relation == Relation.HEAD:
        raise RegistryError(
            "迁入后的关系无效（不能作为户主迁入）", "invalid relation", field="relation"
        )
    if person.status == PersonStatus.DEAD:
        raise RegistryError("该人员已死亡，不能迁移", "person is dead")
    current = _current_membership(person)
    if current and current.household_id == to_household.pk:
        raise RegistryError("该人员已是此家庭成员", "already a member of that household")
    if (
        current
        and current.relation == Relation.HEAD
        and (current.household.memberships.filter(end_date__isnull=True).count() > 1)
    ):
        raise RegistryError(
            "户主迁出前须先更换户主",
            "change the head before moving the head out",
            field="relation",
        )
    with transaction.atomic():
        old = {
            "household": current.household.number if current else None,
            "region": person.residence_region_id,
        }
        if current:
            current.end_date = date
            current.end_reason = "moved"
            current.save(update_fields=["end_date", "end_reason"])
            if not current.household.memberships.filter(end_date__isnull=True).exists():
                current.household.status = Household.Status.DISSOLVED
                current.household.save(update_fields=["status", "updated_at"])
        membership = Membership.objects.create(
            household=to_household, person=person, relation=relation, start_date=date
        )
        person.residence_region = to_household.region
        person.residence_type = to_household.residence_type
        person.save(update_fields=["residence_region", "residence_type", "updated_at"])
        RegistryEvent.objects.create(
            kind=RegistryEvent.Kind.MOVED,
            date=date,
            person=person,
            household=to_household,
            details={"from": old["household"], "to": to_household.number, "relation": relation},
            recorded_by=_u(actor),
        )
        audit_record(
            actor=actor,
            event="person.move",
            subject_type="person",
            subject_id=person.pk,
            subject_label=person.name,
            region_code=to_household.region_id,
            old=old,
            new={"household": to_household.number, "region": to_household.region_id},
        )
    return membership


def person_set_status(
    *,
    actor: User | None,
    person: Person,
    status: str,
    date: dt.date | None = None,
    note: str = "",
) -> Person:
    """Record a change of status (death, imprisonment, declared missing…); the history keeps the old."""
    date = date or timezone.localdate()
    if status not in PersonStatus.values:
        raise RegistryError("状态无效", f"unknown status {status}", field="status")
    if person.status == PersonStatus.DEAD:
        raise RegistryError("该人员已登记死亡，状态不能再变更", "person already recorded dead")
    if date > timezone.localdate():
        raise RegistryError("日期不能晚于今天", "date is in the future", field="date")
    with transaction.atomic():
        old = {"status": person.status}
        person.status = status
        fields = ["status", "updated_at"]
        if status == PersonStatus.DEAD:
            person.death_date = date
            fields.append("death_date")
        person.save(update_fields=fields)
        current = _current_membership(person)
        RegistryEvent.objects.create(
            kind=RegistryEvent.Kind.DIED
            if status == PersonStatus.DEAD
            else RegistryEvent.Kind.STATUS,
            date=date,
            person=person,
            household=current.household if current else None,
            details={"from": old["status"], "to": status, "note": note},
            recorded_by=_u(actor),
        )
        audit_record(
            actor=actor,
            event="person.status",
            subject_type="person",
            subject_id=person.pk,
            subject_label=person.name,
            region_code=person.residence_region_id,
            old=old,
            new={"status": status, "date": date, "note": note},
        )
    return person


def person_record_death(*, actor: User | None, person: Person, date: dt.date) -> Person:
    return person_set_status(actor=actor, person=person, status=PersonStatus.DEAD, date=date)


def household_split(
    *,
    actor: User | None,
    household: Household,
    person_ids: Sequence[int],
    new_head_id: int,
    date: dt.date | None = None,
    address: str = "",
) -> Household:
    """Split some members off into a new household (分户); the old memberships end, history stays."""
    date = date or timezone.localdate()
    if actor is not None and not region_in_jurisdiction(actor, household.region_id):
        raise OutOfJurisdiction("该家庭不在您的管辖范围内", "household outside your jurisdiction")
    current = {
        m.person_id: m
        for m in household.memberships.filter(end_date__isnull=True).select_related("person")
    }
    moving = set(person_ids)
    if not moving or not moving <= current.keys():
        raise RegistryError("分户人员必须是本家庭的现有成员", "persons must be current members")
    if new_head_id not in moving:
        raise RegistryError("新户主必须是分出的成员之一", "the new head must be among those split")
    if moving == set(current):
        raise RegistryError("不能把全部成员分出", "cannot split off every member")
    if any(current[p].relation == Relation.HEAD for p in moving):
        raise RegistryError("原户主不能分出，请先更换户主", "the head cannot be split off")
    with transaction.atomic():
        new = Household.objects.create(
            number=f"tmp-{timezone.now().timestamp()}",
            region=household.region,
            hukou_region=household.hukou_region,
            residence_type=household.residence_type,
            address=address or household.address,
            split_from=household,
        )
        new.number = household_number(new.pk)
        new.save(update_fields=["number"])
        for pid in sorted(moving):
            m = current[pid]
            m.end_date = date
            m.end_reason = "split"
            m.save(update_fields=["end_date", "end_reason"])
            relation = Relation.HEAD if pid == new_head_id else Relation.OTHER
            Membership.objects.create(
                household=new, person_id=pid, relation=relation, start_date=date
            )
        RegistryEvent.objects.create(
            kind=RegistryEvent.Kind.SPLIT,
            date=date,
            household=household,
            details={"new_household": new.number, "persons": sorted(moving)},
            recorded_by=_u(actor),
        )
        RegistryEvent.objects.create(
            kind=RegistryEvent.Kind.SPLIT,
            date=date,
            household=new,
            details={"from_household": household.number, "persons": sorted(moving)},
            recorded_by=_u(actor),
        )
        audit_record(
            actor=actor,
            event="household.split",
            subject_type="household",
            subject_id=household.pk,
            subject_label=household.number,
            region_code=household.region_id,
            new={"new_household": new.number, "persons": sorted(moving), "head": new_head_id},
        )
    return new
