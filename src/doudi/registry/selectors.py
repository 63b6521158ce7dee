"""Registry reads. Every read of personal data starts from :func:`persons_visible_to` or
:func:`households_visible_to`, which apply the user's jurisdiction (``doudi.core.access``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Replace
from django.http import Http404

from doudi.core import crypto, idcard
from doudi.core.access import can_export_persons, can_reveal_id, jurisdiction_prefix
from doudi.core.audit import audit_record
from doudi.core.models import Region, Role, User
from doudi.core.pinyin import name_pinyin
from doudi.registry.models import Household, Membership, Person, RegistryEvent

_ID_LIKE = re.compile(r"^[0-9]{14,17}[0-9X]$")
_CJK = re.compile(r"[\u3400-\u9fff]")
_PINYIN = re.compile(r"^[a-z ]+$")


def persons_visible_to(user: User) -> QuerySet[Person]:
    """Persons the user may see: by household registration or residence within their jurisdiction;
    a caretaker's assigned persons; nobody for anyone else."""
    if user.is_authenticated and user.is_active and user.role == Role.CARETAKER:
        return Person.objects.filter(
            assignments__user=user, assignments__end_date__isnull=True
        ).distinct()
    prefix = jurisdiction_prefix(user)
    if prefix is None:
        return Person.objects.none()
    return Person.objects.filter(
        Q(residence_region__code__startswith=prefix) | Q(hukou_region__code__startswith=prefix)
    )


def households_visible_to(user: User) -> QuerySet[Household]:
    if user.is_authenticated and user.is_active and user.role == Role.CARETAKER:
        return Household.objects.filter(
            memberships__end_date__isnull=True,
            memberships__person__assignments__user=user,
            memberships__person__assignments__end_date__isnull=True,
        ).distinct()
    prefix = jurisdiction_prefix(user)
    if prefix is None:
        return Household.objects.none()
    return Household.objects.filter(
        Q(region__code__startswith=prefix) | Q(hukou_region__code__startswith=prefix)
    )


def person_get_for_user(*, user: User, person_id: int) -> Person:
    """The person, if the user may see them; otherwise 404 (existence is not revealed)."""
    person = (
        persons_visible_to(user)
        .select_related("hukou_region", "residence_region", "residence_region__parent")
        .filter(pk=person_id)
        .first()
    )
    if person is None:
        raise Http404("person")
    return person


def household_get_for_user(*, user: User, household_id: int) -> Household:
    household = (
        households_visible_to(user)
        .select_related("region", "hukou_region", "region__parent")
        .filter(pk=household_id)
        .first()
    )
    if household is None:
        raise Http404("household")
    return household


@dataclass(frozen=True)
class SearchOutcome:
    persons: QuerySet[Person]
    kind: str  # "id" | "name" | "pinyin" | "region" | "none"
    message: str = ""


def person_search(
    *, user: User, query: str = "", region_code: str = "", status: str = ""
) -> SearchOutcome:
    """Search by full ID number (exact, through the blind index), by name (also homophones, via
    pinyin), by pinyin or its initials, and/or by region."""
    qs = persons_visible_to(user)
    if region_code:
        qs = qs.filter(
            Q(residence_region__code__startswith=region_code)
            | Q(hukou_region__code__startswith=region_code)
        )
    if status:
        qs = qs.filter(status=status)
    q = " ".join(query.split())
    compact = idcard.normalize_raw(q)
    kind = "region" if region_code else "none"
    message = ""
    if not q:
        if not region_code:
            return SearchOutcome(Person.objects.none(), "none")
    elif _ID_LIKE.match(compact):
        result = idcard.validate(compact)
        if not result.valid:
            return SearchOutcome(
                Person.objects.none(),
                "id",
                f"身份证号无效（{result.error}），请核对后重新输入 / invalid ID number",
            )
        qs = qs.filter(id_index=crypto.blind_index(result.normalized or ""))
        kind = "id"
    elif _CJK.search(q):
        name = "".join(q.split())
        qs = qs.filter(Q(name__contains=name) | Q(name_pinyin=name_pinyin(name)))
        kind = "name"
    elif _PINYIN.match(q.lower()):
        low = q.lower()
        if " " in low:
            qs = qs.filter(name_pinyin__startswith=low)
        else:
            qs = qs.annotate(_py=Replace("name_pinyin", Value(" "), Value(""))).filter(
                Q(name_initials=low) | Q(_py__startswith=low)
            )
        kind = "pinyin"
    else:
        return SearchOutcome(
            Person.objects.none(),
            "none",
            "请输入完整身份证号、姓名或姓名拼音 / enter a full ID number, a name or its pinyin",
        )
    return SearchOutcome(
        qs.select_related("residence_region", "residence_region__parent").order_by(
            "name_pinyin", "id"
        ),
        kind,
        message,
    )


def person_view_record(*, user: User, person: Person) -> None:
    """Write the audit row for a view of the person's details."""
    audit_record(
        actor=user,
        event="person.view",
        subject_type="person",
        subject_id=person.pk,
        subject_label=person.name,
        region_code=person.residence_region_id,
    )


def person_reveal_id(*, user: User, person: Person) -> str:
    """The full ID number, for a role allowed to see it; the reveal is audited."""
    if not can_reveal_id(user):
        raise PermissionDenied("无权查看完整身份证号 / not allowed to reveal ID numbers")
    with transaction.atomic():
        number = crypto.decrypt(person.id_enc)
        audit_record(
            actor=user,
            event="person.reveal_id",
            subject_type="person",
            subject_id=person.pk,
            subject_label=person.name,
            region_code=person.residence_region_id,
        )
    return number


def person_memberships(*, person: Person) -> QuerySet[Membership]:
    return person.memberships.select_related("household", "household__region").order_by(
        "-start_date", "-id"
    )


def person_events(*, person: Person) -> QuerySet[RegistryEvent]:
    return person.events.select_related("household", "recorded_by")


def household_members(*, household: Household, current: bool = True) -> QuerySet[Membership]:
    qs = household.memberships.select_related("person")
    if current:
        qs = qs.filter(end_date__isnull=True)
    return qs.order_by("end_date", "start_date", "id")


def household_events(*, household: Household) -> QuerySet[RegistryEvent]:
    return household.events.select_related("person", "recorded_by")


def current_household(*, person: Person) -> Membership | None:
    return person.memberships.filter(end_date__isnull=True).select_related("household").first()


def persons_export_rows(
    *, user: User, persons: QuerySet[Person], description: str
) -> list[list[str]]:
    """Rows for an Excel export of a search result (ID numbers masked); the export is audited."""
    if not can_export_persons(user):
        raise PermissionDenied("无权导出人员信息 / not allowed to export persons")
    rows = []
    count = 0
    for p in persons.select_related("residence_region", "residence_region__parent"):
        count += 1
        rows.append(
            [
                p.name,
                p.masked_id,
                p.get_sex_display(),
                p.birth_date.isoformat(),
                p.residence_region.parent.name if p.residence_region.parent else "",
                p.residence_region.name,
                p.get_residence_type_display(),
                p.get_status_display(),
            ]
        )
    audit_record(
        actor=user,
        event="person.export",
        subject_type="search",
        subject_label=description[:200],
        region_code=jurisdiction_prefix(user) or "",
        new={"rows": count},
    )
    return rows


def regions_for_user(*, user: User) -> QuerySet[Region]:
    prefix = jurisdiction_prefix(user)
    if prefix is None:
        return Region.objects.none()
    return Region.objects.filter(code__startswith=prefix)


def recent_events_in(*, prefix: str) -> QuerySet[RegistryEvent]:
    """Latest registry events for households in a jurisdiction (prefix from ``jurisdiction_prefix``)."""
    return (
        RegistryEvent.objects.filter(household__region__code__startswith=prefix)
        .select_related("person", "household")
        .order_by("-recorded_at", "-id")
    )


def person_counts_by_child_region(*, user: User, region: Region) -> list[dict[str, object]]:
    """Persons present, by the sub-regions of ``region`` (counties of the city, towns of a county,
    villages of a town), within the user's jurisdiction."""
    from django.db.models import Count
    from django.db.models.functions import Substr

    children = list(Region.objects.filter(parent=region).order_by("code"))
    if not children:
        return []
    width = len(children[0].code)
    counts = dict(
        persons_visible_to(user)
        .filter(status="present", residence_region__code__startswith=region.scope_prefix)
        .annotate(child=Substr("residence_region_id", 1, width))
        .values("child")
        .annotate(n=Count("id"))
        .values_list("child", "n")
    )
    return [{"region": c, "persons": counts.get(c.code, 0)} for c in children]


def household_view_record(*, user: User, household: Household) -> None:
    """Audit a view of a household's details (its members' names and masked IDs)."""
    audit_record(
        actor=user,
        event="household.view",
        subject_type="household",
        subject_id=household.pk,
        subject_label=household.number,
        region_code=household.region_id,
    )
