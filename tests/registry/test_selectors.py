from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from doudi.core.models import AuditEvent
from doudi.registry.models import Person
from doudi.registry.selectors import person_reveal_id, person_search, persons_export_rows
from tests.conftest import make_id

pytestmark = pytest.mark.django_db


def found(user, q, region=""):
    return sorted(p.name for p in person_search(user=user, query=q, region_code=region).persons)


def test_search_by_full_id_number_in_any_format(users, town_households):
    number = make_id("370611", "19500101", 11)
    assert found(users["clerk"], number) == ["曾小明"]
    spaced = " ".join([number[:6], number[6:14], number[14:]])
    assert found(users["clerk"], spaced.lower()) == ["曾小明"]
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert found(users["clerk"], full_width) == ["曾小明"]


def test_search_by_id_outside_jurisdiction_finds_nothing(users, town_households):
    assert found(users["clerk"], make_id("370602", "19900909", 51)) == []
    assert found(users["admin"], make_id("370602", "19900909", 51)) == ["单丽"]


def test_invalid_id_number_gives_a_message(users, town_households):
    number = make_id("370611", "19500101", 11)
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")
    outcome = person_search(user=users["clerk"], query=bad)
    assert outcome.persons.count() == 0 and "身份证号无效" in outcome.message


def test_search_by_name_homophone_and_pinyin(users, town_households):
    assert found(users["clerk"], "曾小明") == ["曾小明"]
    assert found(users["clerk"], "曾晓明") == ["曾小明"]  # homophone typo
    assert found(users["clerk"], "zeng xiao") == ["曾小明"]
    assert found(users["clerk"], "zengxiaoming") == ["曾小明"]
    assert found(users["clerk"], "zxm") == ["曾小明"]
    assert found(users["county"], "shan li") == []  # 单丽 is in 芝罘区
    assert found(users["admin"], "shan li") == ["单丽"]


def test_search_by_region(users, town_households):
    assert found(users["county"], "", "370611001201") == ["王强"]
    assert found(users["clerk"], "", "370611002") == []  # another town: scoped away


def test_reveal_is_audited_and_role_checked(users, town_households):
    person = Person.objects.get(name="曾小明")
    assert person_reveal_id(user=users["clerk"], person=person) == make_id("370611", "19500101", 11)
    event = AuditEvent.objects.get(event="person.reveal_id")
    assert event.actor == users["clerk"] and event.subject_id == str(person.pk)
    with pytest.raises(PermissionDenied):
        person_reveal_id(user=users["analyst"], person=person)
    assert AuditEvent.objects.filter(event="person.reveal_id").count() == 1


def test_export_is_masked_and_audited(users, town_households):
    outcome = person_search(user=users["clerk"], query="", region_code="370611001")
    rows = persons_export_rows(user=users["clerk"], persons=outcome.persons, description="t")
    assert len(rows) == 3
    assert all("********" in r[1] for r in rows)
    assert AuditEvent.objects.get(event="person.export").new == {"rows": 3}
    with pytest.raises(PermissionDenied):
        persons_export_rows(user=users["village"], persons=outcome.persons, description="t")
