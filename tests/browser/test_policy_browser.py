"""A town clerk opens a household and sees its classification explained; a city analyst runs a
what-if and sees the charts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from doudi.policy.services import income_declare, sweep_run
from doudi.registry.selectors import household_members
from tests.browser.test_registry_browser import login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def poor_couple(settings, tmp_path, town_households):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    qy = town_households["qy"]
    for m, amount in zip(household_members(household=qy), (300, 200), strict=True):
        income_declare(
            actor=None,
            person_id=m.person_id,
            monthly_income=Decimal(amount),
            declared_on=dt.date(2025, 6, 1),
        )
    sweep_run(actor=None, as_of=dt.date(2026, 1, 1))
    return qy


def test_household_explanation_and_whatif_chart(page, live_server, users, poor_couple):
    base = live_server.url
    login(page, base, "clerk")
    page.goto(f"{base}/registry/households/{poor_couple.pk}/")
    panel = page.get_by_test_id("policy-panel")
    panel.wait_for()
    assert "低保" in page.get_by_test_id("household-categories").inner_text()
    assert "1,638" in page.get_by_test_id("monthly-benefit").inner_text()
    page.get_by_role("link", name="完整说明").click()
    criteria = page.get_by_test_id("household-criteria")
    assert "家庭月人均收入低于低保标准" in criteria.inner_text()
    assert "符合" in criteria.inner_text()
    assert "2026-01-01" in page.get_by_test_id("timeline").inner_text()

    page.get_by_role("button", name="退出").click()
    login(page, base, "analyst")
    page.get_by_role("link", name="政策模拟").click()
    page.get_by_test_id("param-0").select_option("dibao.standard.urban")
    page.get_by_label("或调整%").first.fill("-80")
    page.get_by_role("button", name="模拟").click()
    page.wait_for_selector("body[data-charts-ready='1']")
    assert page.locator("#chart-cats canvas").count() >= 1
    assert page.locator("#chart-county canvas").count() >= 1
    totals = page.get_by_test_id("whatif-totals").inner_text()
    assert "年度支出变化" in totals
    cats = page.get_by_test_id("whatif-categories").inner_text()
    assert "低保" in cats
