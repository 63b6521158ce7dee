"""A town clerk uploads a GBK CSV, sees the summary and downloads the quarantined rows."""

from __future__ import annotations

import io

import pytest

from tests.browser.test_registry_browser import login
from tests.conftest import make_id

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def pool_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path


def test_clerk_uploads_gbk_csv_and_downloads_quarantine(page, live_server, users, town_households):
    from openpyxl import load_workbook

    number = make_id("370611", "19500101", 11)
    text = (
        "身份证号,姓名,入院日期,出院日期,医疗总费用,统筹支付,个人自付,医疗机构\n"
        f"{number},曾小明,2025-03-01,2025-03-10,12000,8000,4000,毓璜顶医院\n"
        f"{number},曾小明,2025年4月1日,2025-04-02,壹佰元,0,0,毓璜顶医院\n"
    )
    login(page, live_server.url, "clerk")
    page.get_by_role("link", name="上传数据").click()
    page.get_by_label("接口").select_option("medical_inpatient")
    page.get_by_label("数据文件（CSV、Excel、JSON 行）").set_input_files(
        files=[{"name": "住院结算.csv", "mimeType": "text/csv", "buffer": text.encode("gbk")}]
    )
    page.get_by_role("button", name="上传并接收").click()
    summary = page.get_by_test_id("summary")
    summary.wait_for()
    assert "住院结算.csv" in page.content()
    stats = summary.inner_text()
    assert "2\n数据行" in stats and "1\n接收" in stats and "1\n隔离" in stats
    assert "不是有效金额" in page.get_by_test_id("quarantine").inner_text()
    with page.expect_download() as info:
        page.get_by_test_id("download-quarantine").click()
    content = open(info.value.path(), "rb").read()
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[1][0] == 3 and "壹佰元" in rows[1][1]
