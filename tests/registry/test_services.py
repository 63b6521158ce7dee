from __future__ import annotations

import datetime as dt

import pytest

from doudi.core.models import AuditEvent
from doudi.registry import services
from doudi.registry.errors import DuplicatePerson, InvalidIdNumber, OutOfJurisdiction, UnknownRegion
from doudi.registry.models import Household, Membership, Person, RegistryEvent
from doudi.registry.services import MemberInput
from tests.conftest import make_id

pytestmark = pytest.mark.django_db

HEAD = make_id("370611", "19600101", 11)
SPOUSE = make_id("370611", "19620202", 22)


def test_register_household_encrypts_and_audits(register):
    household = register("370611001001", [(HEAD, "曾小明", "head"), (SPOUSE, "李秀英", "spouse")])
    assert household.number.startswith("JT")
    assert household.memberships.filter(end_date__isnull=True).count() == 2
    head = Person.objects.get(name="曾小明")
    assert head.id_enc and HEAD not in head.id_enc
    assert head.masked_id == HEAD[:6] + "********" + HEAD[-4:]
    assert head.sex == "M" and head.birth_date == dt.date(1960, 1, 1)
    assert head.name_pinyin == "zeng xiao ming" and head.name_initials == "zxm"
    event = AuditEvent.objects.get(event="household.register")
    assert event.subject_label == household.number
    assert HEAD not in str(event.new)  # the audit keeps masked numbers only
    assert RegistryEvent.objects.filter(kind="registered", household=household).count() == 2


def test_fifteen_digit_and_lowercase_numbers_are_normalised(register):
    register("370611001001", [("370602800101001", "老王", "head")])
    assert Person.objects.get().masked_id == "370602********0012"


def test_invalid_member_writes_nothing(register):
    bad = HEAD[:-1] + ("0" if HEAD[-1] != "0" else "1")
    with pytest.raises(InvalidIdNumber) as info:
        register("370611001001", [(SPOUSE, "李秀英", "head"), (bad, "曾小明", "spouse")])
    assert "校验位" in info.value.zh and "第2位成员" in info.value.zh
    assert Household.objects.count() == 0 and Person.objects.count() == 0
    assert not AuditEvent.objects.filter(event="household.register").exists()


def test_duplicate_person_is_refused_with_existing_household(register):
    first = register("370611001001", [(HEAD, "曾小明", "head")])
    with pytest.raises(DuplicatePerson) as info:
        register("370611001201", [(SPOUSE, "李秀英", "head"), (HEAD, "曾小明", "spouse")])
    assert first.number in info.value.zh
    assert Household.objects.count() == 1 and Person.objects.count() == 1


def test_duplicate_within_one_registration(register):
    with pytest.raises(DuplicatePerson):
        register("370611001001", [(HEAD, "曾小明", "head"), (HEAD, "曾小明", "spouse")])


@pytest.mark.parametrize("code", ["370611001999", "370611001", "999999999999"])
def test_unknown_or_non_village_region(register, code):
    with pytest.raises(UnknownRegion):
        register(code, [(HEAD, "曾小明", "head")])


def test_exactly_one_head(register):
    with pytest.raises(services.RegistryError, match="户主"):
        register("370611001001", [(HEAD, "曾小明", "spouse")])
    with pytest.raises(services.RegistryError, match="户主"):
        register("370611001001", [(HEAD, "曾小明", "head"), (SPOUSE, "李秀英", "head")])


def test_clerk_cannot_register_outside_town(users):
    with pytest.raises(OutOfJurisdiction):
        services.household_register(
            actor=users["clerk"],
            region_code="370611002001",
            members=[MemberInput(HEAD, "曾小明", "head")],
        )


def test_move_keeps_history(register):
    a = register("370611001001", [(HEAD, "曾小明", "head"), (SPOUSE, "李秀英", "spouse")])
    b = register("370611002001", [(make_id("370611", "19700101", 31), "王强", "head")])
    person = Person.objects.get(name="李秀英")
    services.person_move(
        actor=None, person=person, to_household=b, relation="other", date=dt.date(2025, 5, 1)
    )
    history = Membership.objects.filter(person=person).order_by("start_date")
    assert [(m.household_id, m.end_date) for m in history] == [
        (a.pk, dt.date(2025, 5, 1)),
        (b.pk, None),
    ]
    person.refresh_from_db()
    assert person.residence_region_id == "370611002001"
    assert RegistryEvent.objects.filter(person=person, kind="moved").count() == 1
    assert AuditEvent.objects.filter(event="person.move", subject_id=str(person.pk)).exists()


def test_head_must_be_changed_before_moving_out(register):
    register("370611001001", [(HEAD, "曾小明", "head"), (SPOUSE, "李秀英", "spouse")])
    b = register("370611002001", [(make_id("370611", "19700101", 31), "王强", "head")])
    with pytest.raises(services.RegistryError, match="户主"):
        services.person_move(
            actor=None, person=Person.objects.get(name="曾小明"), to_household=b, relation="other"
        )


def test_death_is_recorded_not_overwritten(register):
    register("370611001001", [(HEAD, "曾小明", "head")])
    person = Person.objects.get()
    services.person_record_death(actor=None, person=person, date=dt.date(2025, 3, 1))
    person.refresh_from_db()
    assert person.status == "dead" and person.death_date == dt.date(2025, 3, 1)
    event = RegistryEvent.objects.get(person=person, kind="died")
    assert event.details["from"] == "present"
    with pytest.raises(services.RegistryError):
        services.person_set_status(actor=None, person=person, status="present")


def test_split_creates_new_household_and_ends_old_memberships(register):
    son = make_id("370611", "19900101", 51)
    a = register(
        "370611001001",
        [(HEAD, "曾小明", "head"), (SPOUSE, "李秀英", "spouse"), (son, "曾强", "child")],
    )
    son_p = Person.objects.get(name="曾强")
    new = services.household_split(
        actor=None,
        household=a,
        person_ids=[son_p.pk],
        new_head_id=son_p.pk,
        date=dt.date(2025, 6, 1),
    )
    assert new.split_from_id == a.pk
    assert new.memberships.get(end_date__isnull=True).relation == "head"
    assert a.memberships.filter(end_date__isnull=True).count() == 2
    assert a.memberships.get(person=son_p).end_reason == "split"
    with pytest.raises(services.RegistryError):
        services.household_split(
            actor=None,
            household=a,
            person_ids=[Person.objects.get(name="曾小明").pk],
            new_head_id=Person.objects.get(name="曾小明").pk,
        )
