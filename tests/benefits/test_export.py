"""The bank batch workbook of an approved roll, read back with openpyxl; the export's access
check and audit row."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from doudi.benefits import services as benefit_services
from doudi.core import crypto
from doudi.core.models import AuditEvent
from tests.benefits.conftest import M
from tests.benefits.test_payroll import benefits  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def _rows(ws):
    return [list(r) for r in ws.iter_rows(values_only=True)]


@pytest.fixture
def june(benefits, users):  # noqa: F811
    """福山区 rolls of March–May approved; 王强's 特困 stopped late from May; June approved."""
    for m in (M(2025, 3), M(2025, 4), M(2025, 5)):
        benefit_services.payroll_approve(
            actor=users["admin"],
            roll=benefit_services.payroll_build(actor=users["county"], county="370611", month=m),
        )
    benefit_services.benefit_stop(
        actor=None, benefit=benefits["tekun"], from_month=M(2025, 5), reason="死亡（迟报）"
    )
    roll = benefit_services.payroll_build(actor=users["county"], county="370611", month=M(2025, 6))
    return benefit_services.payroll_approve(actor=users["admin"], roll=roll)


def test_bank_workbook_header_rows_and_totals(june, users, member):
    content = benefit_services.payroll_export(actor=users["county"], roll=june)
    wb = openpyxl.load_workbook(io.BytesIO(content), data_only=True)
    assert wb.sheetnames == ["代发清单", "追回清单", "名册明细", "核对"]
    rows = _rows(wb["代发清单"])
    assert rows[0][0] == "烟台市福山区2025年6月社会救助资金代发清单"
    assert rows[1][:4] == ["区县", "福山区（370611）", "发放月份", "2025年6月"]
    assert rows[2][:4] == ["笔数", 2, "金额合计", 1639 + 872]
    assert rows[3][0] == "制表" and rows[3][1].startswith("county ")
    assert rows[3][2] == "审核" and rows[3][3].startswith("admin ")
    assert "人口库未登记银行账号" in rows[5][0]
    assert rows[6] == ["序号", "姓名", "身份证号", "银行账号", "金额", "项目", "备注"]
    zeng = member("曾小明")
    assert rows[7][:6] == [1, "曾小明", crypto.decrypt(zeng.id_enc), None, 1639, "低保"]
    assert rows[8][:6] == [2, "张伟", crypto.decrypt(member("张伟").id_enc), None, 872, "低保"]
    assert rows[9][0] == "合计" and rows[9][1] == "2笔" and rows[9][4] == 1639 + 872
    assert len(rows) == 10  # 王强 nets to -1,635: not sent to the bank
    recover = _rows(wb["追回清单"])
    assert recover[2][:4] == ["笔数", 1, "金额合计", -1635]
    assert recover[6][:5] == [1, "王强", crypto.decrypt(member("王强").id_enc), -1635, "特困供养"]
    assert "追回2025年5月多发" in recover[6][5]
    detail = _rows(wb["名册明细"])
    assert detail[0][:4] == ["序号", "村（社区）代码", "姓名", "身份证号"]
    assert {r[3] for r in detail[1:-1]} >= {"370611********" + zeng.id_last4}
    assert detail[-1][0] == "合计" and detail[-1][7] == float(june.total) == 1639 + 872 - 1635
    check = dict((r[0], r[1]) for r in _rows(wb["核对"]))
    assert check["名册合计"] == 876 and check["代发合计 + 追回合计"] == 876
    assert check["核对结果"] == "平衡" and check["差异项数"] == 0
    event = AuditEvent.objects.get(event="payroll.export")
    assert event.actor == users["county"] and event.subject_id == str(june.pk)
    assert event.new == {"rows": 2, "total": "876", "full_id_numbers": True}


def test_export_needs_an_approved_roll_and_the_right(benefits, users):  # noqa: F811
    draft = benefit_services.payroll_build(actor=None, county="370611", month=M(2025, 3))
    with pytest.raises(ValidationError, match="审核后才能导出"):
        benefit_services.payroll_export(actor=users["county"], roll=draft)
    roll = benefit_services.payroll_approve(actor=users["county"], roll=draft)
    for who in ("analyst", "other_county", "clerk", "village"):
        with pytest.raises(PermissionDenied):
            benefit_services.payroll_export(actor=users[who], roll=roll)
    assert not AuditEvent.objects.filter(event="payroll.export").exists()
    assert benefit_services.payroll_export(actor=users["admin"], roll=roll)[:2] == b"PK"
    assert roll.total == Decimal("2511")
