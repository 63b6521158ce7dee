"""Each branch of the jurisdiction getters (core.access and registry.selectors) has its own test."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from doudi.core.access import jurisdiction_prefix
from doudi.registry.models import PersonAssignment
from doudi.registry.selectors import (
    household_get_for_user,
    households_visible_to,
    person_get_for_user,
    persons_visible_to,
)

pytestmark = pytest.mark.django_db


def names(qs):
    return sorted(p.name for p in qs)


def test_prefix_city_county_town_village(users):
    assert jurisdiction_prefix(users["admin"]) == "3706"
    assert jurisdiction_prefix(users["county"]) == "370611"
    assert jurisdiction_prefix(users["clerk"]) == "370611001"
    assert jurisdiction_prefix(users["village"]) == "370611001001"


def test_prefix_none_for_caretaker_api_anonymous_inactive_and_regionless(users, make_user):
    assert jurisdiction_prefix(users["carer"]) is None
    assert jurisdiction_prefix(users["api"]) is None
    assert jurisdiction_prefix(AnonymousUser()) is None
    users["clerk"].is_active = False
    assert jurisdiction_prefix(users["clerk"]) is None
    assert jurisdiction_prefix(make_user("nobody", "town_clerk", None)) is None


def test_city_staff_see_the_whole_city(users, town_households):
    assert names(persons_visible_to(users["admin"])) == sorted(
        ["单丽", "张伟", "曾小明", "李秀英", "王强"]
    )
    assert persons_visible_to(users["admin"]).count() == 5
    assert persons_visible_to(users["analyst"]).count() == 5


def test_county_sees_only_its_county(users, town_households):
    assert names(persons_visible_to(users["county"])) == sorted(
        ["曾小明", "李秀英", "王强", "张伟"]
    )
    assert names(persons_visible_to(users["other_county"])) == ["单丽"]


def test_town_clerk_sees_only_their_town(users, town_households):
    assert names(persons_visible_to(users["clerk"])) == sorted(["曾小明", "李秀英", "王强"])
    assert names(persons_visible_to(users["clerk2"])) == ["张伟"]


def test_village_worker_sees_only_their_village(users, town_households):
    assert names(persons_visible_to(users["village"])) == sorted(["曾小明", "李秀英"])


def test_hukou_in_jurisdiction_is_visible_even_if_living_elsewhere(users, register):
    from tests.conftest import make_id

    register(
        "370602001001",
        [(make_id("370611", "19660101", 71), "周平", "head")],
        hukou_region_code="370611002001",
    )
    assert names(persons_visible_to(users["clerk2"])) == ["周平"]
    assert names(persons_visible_to(users["clerk"])) == []


def test_caretaker_sees_only_assigned_persons(users, town_households):
    import datetime as dt

    assert persons_visible_to(users["carer"]).count() == 0
    person = town_households["qy"].memberships.get(relation="spouse").person
    PersonAssignment.objects.create(
        user=users["carer"], person=person, start_date=dt.date(2025, 1, 1)
    )
    assert names(persons_visible_to(users["carer"])) == ["李秀英"]
    assert households_visible_to(users["carer"]).count() == 1
    PersonAssignment.objects.filter(person=person).update(end_date=dt.date(2025, 6, 1))
    assert persons_visible_to(users["carer"]).count() == 0


def test_department_api_and_anonymous_see_nobody(users, town_households):
    assert persons_visible_to(users["api"]).count() == 0
    assert persons_visible_to(AnonymousUser()).count() == 0
    assert households_visible_to(users["api"]).count() == 0


def test_get_for_user_404_outside_jurisdiction(users, town_households):
    zf_person = town_households["zf"].memberships.get().person
    assert person_get_for_user(user=users["admin"], person_id=zf_person.pk) == zf_person
    with pytest.raises(Http404):
        person_get_for_user(user=users["clerk"], person_id=zf_person.pk)
    with pytest.raises(Http404):
        household_get_for_user(user=users["clerk"], household_id=town_households["zf"].pk)
    assert (
        household_get_for_user(user=users["other_county"], household_id=town_households["zf"].pk)
        == town_households["zf"]
    )


def test_households_by_jurisdiction(users, town_households):
    assert households_visible_to(users["clerk"]).count() == 2
    assert households_visible_to(users["village"]).count() == 1
    assert households_visible_to(users["county"]).count() == 3
