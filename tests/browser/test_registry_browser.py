"""Log in, search a person, open the profile, reveal the ID number, find the reveal in the audit
log; a town clerk cannot reach another town's person by URL."""

from __future__ import annotations

import pytest

from doudi.core.models import AuditEvent
from doudi.registry.models import Person
from tests.conftest import make_id

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill("pw-doudi-test")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/")


def test_search_profile_reveal_and_audit(page, live_server, users, town_households):
    base = live_server.url
    login(page, base, "clerk")
    assert "清洋街道" in page.get_by_test_id("who").inner_text()
    page.get_by_role("link", name="人员查询").click()
    page.get_by_label("身份证号 / 姓名 / 拼音").fill("zxm")
    page.get_by_role("button", name="查询").click()
    page.get_by_test_id("results").get_by_role("link", name="曾小明").click()
    number = make_id("370611", "19500101", 11)
    assert page.get_by_test_id("masked-id").inner_text() == number[:6] + "********" + number[-4:]
    assert number not in page.content()
    page.get_by_test_id("reveal").click()
    assert page.get_by_test_id("full-id").inner_text() == number
    person = Person.objects.get(name="曾小明")
    event = AuditEvent.objects.get(event="person.reveal_id")
    assert event.subject_id == str(person.pk) and event.actor_label == "clerk"

    # the administrator finds the reveal in the audit log
    page.get_by_role("button", name="退出").click()
    login(page, base, "admin")
    page.get_by_role("link", name="审计日志").click()
    page.get_by_label("事件").select_option("person.reveal_id")
    page.get_by_role("button", name="筛选").click()
    table = page.get_by_test_id("audit-table")
    assert "person.reveal_id" in table.inner_text() and "clerk" in table.inner_text()
    assert "共 1 条" in table.inner_text()


def test_clerk_cannot_open_another_towns_person_by_url(page, live_server, users, town_households):
    other = Person.objects.get(name="张伟")  # 福新街道
    login(page, live_server.url, "clerk")
    response = page.goto(f"{live_server.url}/registry/persons/{other.pk}/")
    assert response is not None and response.status == 404
    assert "不在您的管辖范围内" in page.content()
    assert "张伟" not in page.content()
    assert not AuditEvent.objects.filter(event="person.view", subject_id=str(other.pk)).exists()


def test_village_worker_phone_layout(phone, live_server, users, town_households):
    login(phone, live_server.url, "village")
    assert phone.locator(".sidebar").is_hidden()
    phone.get_by_role("button", name="菜单").click()
    assert phone.locator(".sidebar").is_visible()
    phone.get_by_role("button", name="菜单").click()  # fold it away again to reach the page
    assert phone.locator(".sidebar").is_hidden()
    link = phone.locator(".cards a").first
    box = link.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] <= 360
    link.click()
    assert "曾小明" in phone.content()
