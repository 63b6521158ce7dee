from __future__ import annotations

import io

import pytest
from django.db import OperationalError
from django.urls import reverse

from doudi.core.models import AuditEvent
from doudi.registry.models import Household, Person
from tests.conftest import make_id

pytestmark = pytest.mark.django_db


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


def test_login_page_is_chinese(client):
    response = client.get(reverse("login"))
    text = response.content.decode()
    assert response.status_code == 200
    assert "登录" in text and "用户名" in text and 'lang="zh-CN"' in text


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("registry:search"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_english_is_available(client):
    client.post(reverse("set_language"), {"language": "en", "next": "/login/"})
    text = client.get(reverse("login")).content.decode()
    assert 'lang="en"' in text


def test_home_for_each_role(login, users, town_households):
    for key, needle in [
        ("admin", "辖区分布"),
        ("county", "清洋街道"),
        ("clerk", "辖区人员"),
        ("village", "本村（社区）家庭"),
        ("carer", "我照护的人员"),
        ("api", "部门接口账号"),
    ]:
        client = login(users[key])
        text = client.get(reverse("home")).content.decode()
        assert needle in text, key


def test_search_page_masks_ids(login, users, town_households):
    client = login(users["clerk"])
    text = client.get(reverse("registry:search"), {"q": "曾小明"}).content.decode()
    number = make_id("370611", "19500101", 11)
    assert "曾小明" in text and number not in text and number[:6] + "********" in text
    assert "共 1 条" in text


def test_person_view_is_audited(login, users, town_households):
    person = Person.objects.get(name="曾小明")
    client = login(users["clerk"])
    response = client.get(reverse("registry:person", args=[person.pk]))
    assert response.status_code == 200
    assert make_id("370611", "19500101", 11) not in response.content.decode()
    assert (
        AuditEvent.objects.filter(
            event="person.view", subject_id=str(person.pk), actor=users["clerk"]
        ).count()
        == 1
    )


def test_reveal_returns_number_and_audits(login, users, town_households):
    person = Person.objects.get(name="曾小明")
    client = login(users["clerk"])
    response = client.post(
        reverse("registry:person_reveal", args=[person.pk]), HTTP_HX_REQUEST="true"
    )
    assert make_id("370611", "19500101", 11) in response.content.decode()
    assert AuditEvent.objects.filter(event="person.reveal_id").count() == 1
    assert client.get(reverse("registry:person_reveal", args=[person.pk])).status_code == 405


def test_other_towns_person_and_household_are_404(login, users, town_households):
    person = Person.objects.get(name="单丽")
    client = login(users["clerk"])
    for url in (
        reverse("registry:person", args=[person.pk]),
        reverse("registry:household", args=[town_households["zf"].pk]),
    ):
        response = client.get(url)
        assert response.status_code == 404
        assert "不在您的管辖范围内" in response.content.decode()
    response = client.post(reverse("registry:person_reveal", args=[person.pk]))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(event__in=["person.view", "person.reveal_id"]).exists()


def test_analyst_cannot_reveal(login, users, town_households):
    person = Person.objects.get(name="曾小明")
    response = login(users["analyst"]).post(reverse("registry:person_reveal", args=[person.pk]))
    assert response.status_code == 403 and "无权访问" in response.content.decode()


def test_export_xlsx(login, users, town_households):
    from openpyxl import load_workbook

    client = login(users["clerk"])
    response = client.get(reverse("registry:search"), {"region": "370611001", "export": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][1] == "身份证号（脱敏）"
    assert sorted(r[0] for r in rows[1:4]) == sorted(["曾小明", "李秀英", "王强"])
    assert AuditEvent.objects.filter(event="person.export").count() == 1


def test_village_worker_cannot_export(login, users, town_households):
    response = login(users["village"]).get(
        reverse("registry:search"), {"region": "370611001", "export": "xlsx"}
    )
    assert response.status_code == 403


def test_household_page_lists_members(login, users, town_households):
    client = login(users["village"])
    text = client.get(
        reverse("registry:household", args=[town_households["qy"].pk])
    ).content.decode()
    assert "曾小明" in text and "李秀英" in text and "配偶" in text
    assert AuditEvent.objects.filter(event="household.view").count() == 1


def test_register_household_form(login, users, villages):
    client = login(users["clerk"])
    data = {
        "region_code": "370611001001",
        "address": "清洋社区3号",
        "m-TOTAL_FORMS": "2",
        "m-INITIAL_FORMS": "0",
        "m-MIN_NUM_FORMS": "1",
        "m-MAX_NUM_FORMS": "20",
        "m-0-name": "赵一",
        "m-0-id_number": make_id("370611", "19700101", 11),
        "m-0-relation": "head",
        "m-1-name": "钱二",
        "m-1-id_number": make_id("370611", "19720101", 22)[:-1] + "Z",
        "m-1-relation": "spouse",
    }
    response = client.post(reverse("registry:household_new"), data)
    assert response.status_code == 200
    text = response.content.decode()
    assert "含有非法字符" in text and "赵一" in text  # error shown, input kept
    assert Household.objects.count() == 0
    data["m-1-id_number"] = make_id("370611", "19720101", 22)
    response = client.post(reverse("registry:household_new"), data)
    assert response.status_code == 302
    assert Household.objects.get().memberships.count() == 2


def test_register_duplicate_shows_message(login, users, town_households):
    client = login(users["clerk"])
    data = {
        "region_code": "370611001001",
        "address": "",
        "m-TOTAL_FORMS": "1",
        "m-INITIAL_FORMS": "0",
        "m-MIN_NUM_FORMS": "1",
        "m-MAX_NUM_FORMS": "20",
        "m-0-name": "曾小明",
        "m-0-id_number": make_id("370611", "19500101", 11),
        "m-0-relation": "head",
    }
    text = client.post(reverse("registry:household_new"), data).content.decode()
    assert "已在人口库中登记" in text
    assert Household.objects.count() == 4


def test_record_death_from_person_page(login, users, town_households):
    person = Person.objects.get(name="王强")
    client = login(users["clerk"])
    client.post(
        reverse("registry:person_status", args=[person.pk]),
        {"status": "dead", "date": "2025-02-01", "note": "殡葬数据"},
    )
    person.refresh_from_db()
    assert person.status == "dead"
    text = client.get(reverse("registry:person", args=[person.pk])).content.decode()
    assert "2025-02-01" in text and "死亡" in text


def test_audit_log_page_only_for_admin(login, users, town_households):
    assert login(users["clerk"]).get(reverse("core:audit")).status_code == 403
    client = login(users["admin"])
    text = client.get(reverse("core:audit"), {"event": "household.register"}).content.decode()
    assert "household.register" in text and "共 4 条" in text


def test_missing_key_page(login, users, town_households, settings):
    settings.DOUDI_FIELD_KEY = ""
    client = login(users["clerk"])
    response = client.get(reverse("registry:search"), {"q": make_id("370611", "19500101", 11)})
    assert response.status_code == 503
    assert "加密密钥" in response.content.decode()


def test_unmigrated_database_page(login, users, monkeypatch):
    from doudi.registry import selectors

    def broken(**kwargs):
        raise OperationalError("no such table: registry_person")

    client = login(users["clerk"])
    monkeypatch.setattr(selectors, "person_search", broken)
    response = client.get(reverse("registry:search"), {"q": "张"})
    assert response.status_code == 503
    assert "数据库尚未初始化" in response.content.decode()
