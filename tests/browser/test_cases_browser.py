"""A town clerk accepts a 低保 application with one document missing (容缺), verifies,
investigates and reviews it; after the 7-day public notice the county approver waives the missing
document, approves, and the household is on the next month's payment roll."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from doudi.cases.models import Case
from doudi.policy.services import income_declare
from doudi.registry.selectors import household_members
from tests.browser.test_registry_browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def poor_couple(settings, tmp_path, town_households):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.MEDIA_ROOT = tmp_path / "media"
    qy = town_households["qy"]
    for m, amount in zip(household_members(household=qy), (300, 200), strict=True):
        income_declare(
            actor=None,
            person_id=m.person_id,
            monthly_income=Decimal(amount),
            declared_on=dt.date(2025, 6, 1),
        )
    return qy


def test_dibao_from_window_to_payment_roll(
    page, live_server, users, poor_couple, tmp_path, monkeypatch
):
    base = live_server.url
    scan = tmp_path / "授权书.pdf"
    scan.write_bytes(b"%PDF-1.4\n% signed by the household\n%%EOF\n")
    today = dt.date.today()

    # --- the town clerk accepts the application at the window
    login(page, base, "clerk")
    page.get_by_role("link", name="受理新申请").first.click()
    page.get_by_label("身份证号 / 姓名 / 拼音").fill("曾小明")
    page.get_by_role("button", name="查找").click()
    page.get_by_test_id("found").get_by_role("link", name="选择此家庭").click()
    page.get_by_test_id("items").get_by_text("最低生活保障申请").click()
    documents = page.get_by_test_id("intake-documents")
    documents.get_by_text("家庭成员收入证明").wait_for()  # the list follows the items chosen
    page.get_by_role("checkbox", name="低保申请书（书面或网上申请）").check()
    page.get_by_role("checkbox", name="家庭成员身份证件、户口簿").check()
    page.get_by_test_id("applicant-kind").select_option("self")
    page.get_by_label("申请的家庭成员").select_option(label="曾小明")
    page.get_by_label("签署人").fill("曾小明、李秀英")
    page.get_by_label("签署日期").fill(today.isoformat())
    page.get_by_label("授权书扫描件").set_input_files(str(scan))
    page.get_by_test_id("accept").click()
    assert "1 项材料容缺待补" in page.locator(".messages").inner_text()
    docs = page.get_by_test_id("documents").inner_text()
    assert "容缺待补" in docs and "家庭成员收入证明" in docs
    page.get_by_test_id("application-cases").get_by_role("link").first.click()

    # --- verification, home investigation, first review
    assert "待信息核对" in page.get_by_test_id("case-state").inner_text()
    page.get_by_test_id("verify").click()
    assert "待入户调查" in page.get_by_test_id("case-state").inner_text()
    assert page.get_by_test_id("snapshot").is_visible()
    page.get_by_label("调查人员（用顿号分隔）").fill("刘晓燕、赵春梅")
    page.get_by_label("调查情况").fill("老两口同住，无劳动能力，无其他收入来源")
    page.get_by_test_id("investigate").click()
    assert "待初审" in page.get_by_test_id("case-state").inner_text()
    page.get_by_label("拟发金额（元）").fill("1638")
    page.get_by_label("初审意见").fill("符合低保条件，建议按差额纳入")
    page.get_by_test_id("first-review").click()
    assert "公示中" in page.get_by_test_id("case-state").inner_text()
    case = Case.objects.get()
    assert case.notice_until == today + dt.timedelta(days=7)
    assert page.get_by_test_id("close-notice").is_disabled()

    # --- eight days later the notice has ended (the server's clock is moved on)
    later = today + dt.timedelta(days=8)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: later)
    page.reload()
    page.get_by_test_id("close-notice").click()
    assert "待审核确认" in page.get_by_test_id("case-state").inner_text()
    page.get_by_role("button", name="退出").click()

    # --- the county approver: waive the missing document, then approve
    login(page, base, "county")
    page.get_by_role("link", name="待办").click()
    assert re.search(r"待审核确认\s*1", page.get_by_test_id("tab-decision").inner_text())
    page.get_by_role("link", name=case.number).click()
    assert "家庭成员收入证明" in page.get_by_test_id("missing-warning").inner_text()
    assert page.get_by_test_id("decide").is_disabled()
    page.get_by_role("link", name="登记补交或免交").click()
    page.get_by_test_id("waive-reason-income_proof").fill(
        "二人均无工作，无收入证明可开具，经入户核实"
    )
    page.get_by_test_id("waive-income_proof").click()
    assert "已免交" in page.get_by_test_id("doc-income_proof").inner_text()
    page.get_by_test_id("application-cases").get_by_role("link", name=case.number).click()
    page.get_by_test_id("amount").fill("1638")
    page.get_by_test_id("decide").click()
    assert "已批准" in page.get_by_test_id("case-state").inner_text()
    decision = page.get_by_test_id("decision").inner_text()
    assert "¥1,638.00" in decision
    start = dt.date(later.year + (later.month == 12), later.month % 12 + 1, 1)
    assert start.strftime("%Y-%m") in decision

    # --- the household is on the next month's payment roll
    page.get_by_role("link", name="发放名册").click()
    page.locator("#build-month").fill(start.strftime("%Y-%m"))
    page.get_by_test_id("build-form").get_by_role("button", name="生成名册").click()
    lines = page.get_by_test_id("lines").inner_text()
    assert poor_couple.number in lines and "1,638" in lines
