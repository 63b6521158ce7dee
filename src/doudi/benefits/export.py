"""An approved roll as the bank's batch-payment workbook (代发清单), written with XlsxWriter.

Sheets:

1. ``代发清单`` — what the bank pays: a header block (county, month, number of payments, total,
   制表 / 审核 / 导出 with times), then one row per payee and benefit (序号, 姓名, 身份证号,
   银行账号, 金额, 项目, 备注) netting that benefit's lines on the roll (this month's amount plus
   arrears, minus recoveries), and a 合计 row. Only positive nets are sent to the bank.
2. ``追回清单`` — payees whose net is negative (e.g. a death known late with nothing left to pay
   this month): the amount to recover outside the bank batch.
3. ``名册明细`` — every line of the roll (masked ID numbers), with its kind and month.
4. ``核对`` — the reconciliation: roll total = this month's benefits + adjustments = bank total +
   recoveries; the rounding difference against the decided amounts.

银行账号 is left empty: the registry holds no bank accounts (see README). Amounts are whole yuan
(numbers formatted ``#,##0.00``); ID numbers are written as text so Excel keeps all 18 digits.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from decimal import Decimal

from django.utils import timezone

from doudi.benefits.models import Item, PaymentRoll, PaymentRollLine
from doudi.benefits.months import month_label
from doudi.core import crypto
from doudi.core.models import User

BANK_HEADERS = ["序号", "姓名", "身份证号", "银行账号", "金额", "项目", "备注"]
BANK_ACCOUNT_NOTE = (
    "说明：人口库未登记银行账号，“银行账号”列留空，由代发银行按身份证号匹配账户或由镇街补录；"
    "金额为整元（每月金额四舍五入到元）。"
)


def _who(user: User | None, when) -> str:  # type: ignore[no-untyped-def]
    name = (user.full_name or user.username) if user else "系统"
    stamp = timezone.localtime(when).strftime("%Y-%m-%d %H:%M") if when else ""
    return f"{name} {stamp}".strip()


def payee_groups(roll: PaymentRoll) -> list[dict[str, object]]:
    """The roll's lines netted per payee and benefit, in roll order."""
    groups: OrderedDict[tuple[object, int], dict[str, object]] = OrderedDict()
    for line in roll.lines.order_by("seq"):
        if line.amount == 0 and line.kind == PaymentRollLine.Kind.STOP:
            continue
        key = (line.payee_id or f"h{line.household_id}", line.benefit_id)
        g = groups.get(key)
        if g is None:
            g = groups[key] = {
                "name": line.payee_name,
                "id_enc": line.payee_id_enc,
                "id_masked": line.payee_id_masked,
                "item": Item(line.item).label,
                "amount": Decimal(0),
                "notes": [],
            }
        g["amount"] += line.amount  # type: ignore[operator]
        if line.note:
            g["notes"].append(line.note)  # type: ignore[attr-defined]
    return list(groups.values())


def roll_workbook(roll: PaymentRoll, *, exported_by: User | None) -> tuple[bytes, int]:
    """The workbook and the number of bank rows. Decrypts the payees' ID numbers: callers check
    the right to export and audit it (``services.payroll_export``)."""
    import xlsxwriter

    county = roll.county
    city = county.parent.name if county.parent_id else ""
    groups = payee_groups(roll)
    pay = [g for g in groups if g["amount"] > 0]  # type: ignore[operator]
    recover = [g for g in groups if g["amount"] < 0]  # type: ignore[operator]
    pay_total = sum((g["amount"] for g in pay), Decimal(0))  # type: ignore[misc]
    recover_total = sum((g["amount"] for g in recover), Decimal(0))  # type: ignore[misc]

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_numbers": False})
    title = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
    label = wb.add_format({"bold": True, "bg_color": "#EEF1F5", "border": 1})
    cell = wb.add_format({"border": 1})
    text = wb.add_format({"border": 1, "num_format": "@"})
    money = wb.add_format({"border": 1, "num_format": "#,##0.00"})
    head = wb.add_format({"bold": True, "bg_color": "#DDE5F0", "border": 1, "align": "center"})
    total_label = wb.add_format({"bold": True, "border": 1, "bg_color": "#FAFBFC"})
    total_money = wb.add_format(
        {"bold": True, "border": 1, "bg_color": "#FAFBFC", "num_format": "#,##0.00"}
    )
    note_fmt = wb.add_format({"italic": True, "font_color": "#555555", "text_wrap": True})

    def header_block(ws, heading: str, count: int, total: Decimal, width: int) -> int:  # type: ignore[no-untyped-def]
        ws.merge_range(0, 0, 0, width - 1, heading, title)
        rows = [
            ("区县", f"{county.name}（{county.code}）", "发放月份", month_label(roll.month)),
            ("笔数", count, "金额合计", total),
            (
                "制表",
                _who(roll.built_by, roll.built_at),
                "审核",
                _who(roll.approved_by, roll.approved_at),
            ),
            (
                "导出",
                _who(exported_by, timezone.now()),
                "名册编号",
                f"{county.code}-{roll.month:%Y%m}",
            ),
        ]
        for r, (k1, v1, k2, v2) in enumerate(rows, start=1):
            ws.write_string(r, 0, k1, label)
            for c, v in ((1, v1), (3, v2)):
                if isinstance(v, Decimal):
                    ws.write_number(r, c, float(v), money)
                elif isinstance(v, int):
                    ws.write_number(r, c, v, cell)
                else:
                    ws.write_string(r, c, str(v), cell)
            ws.write_string(r, 2, k2, label)
        return len(rows) + 1

    # 1. the bank's batch
    ws = wb.add_worksheet("代发清单")
    r = header_block(
        ws,
        f"{city}{county.name}{month_label(roll.month)}社会救助资金代发清单",
        len(pay),
        pay_total,
        7,
    )
    ws.merge_range(r, 0, r, 6, BANK_ACCOUNT_NOTE, note_fmt)
    ws.set_row(r, 32)
    r += 1
    ws.write_row(r, 0, BANK_HEADERS, head)
    first = r + 1
    for i, g in enumerate(pay, start=1):
        r += 1
        ws.write_number(r, 0, i, cell)
        ws.write_string(r, 1, str(g["name"]), cell)
        ws.write_string(r, 2, crypto.decrypt(str(g["id_enc"])) if g["id_enc"] else "", text)
        ws.write_blank(r, 3, None, text)
        ws.write_number(r, 4, float(g["amount"]), money)  # type: ignore[arg-type]
        ws.write_string(r, 5, str(g["item"]), cell)
        ws.write_string(r, 6, "；".join(g["notes"]), cell)  # type: ignore[arg-type]
    r += 1
    ws.write_string(r, 0, "合计", total_label)
    ws.write_string(r, 1, f"{len(pay)}笔", total_label)
    for c in (2, 3, 5, 6):
        ws.write_blank(r, c, None, total_label)
    ws.write_formula(
        r, 4, f"=SUM(E{first + 1}:E{max(r, first + 1)})", total_money, float(pay_total)
    )
    ws.set_column(0, 0, 8)
    ws.set_column(1, 1, 12)
    ws.set_column(2, 3, 22)
    ws.set_column(4, 4, 12)
    ws.set_column(5, 5, 12)
    ws.set_column(6, 6, 40)
    ws.freeze_panes(first, 0)

    # 2. recoveries
    ws = wb.add_worksheet("追回清单")
    r = header_block(
        ws,
        f"{county.name}{month_label(roll.month)}待追回清单（不通过银行代发）",
        len(recover),
        recover_total,
        6,
    )
    ws.write_row(r, 0, ["序号", "姓名", "身份证号", "金额", "项目", "备注"], head)
    for i, g in enumerate(recover, start=1):
        r += 1
        ws.write_number(r, 0, i, cell)
        ws.write_string(r, 1, str(g["name"]), cell)
        ws.write_string(r, 2, crypto.decrypt(str(g["id_enc"])) if g["id_enc"] else "", text)
        ws.write_number(r, 3, float(g["amount"]), money)  # type: ignore[arg-type]
        ws.write_string(r, 4, str(g["item"]), cell)
        ws.write_string(r, 5, "；".join(g["notes"]), cell)  # type: ignore[arg-type]
    r += 1
    ws.write_string(r, 0, "合计", total_label)
    ws.write_number(r, 3, float(recover_total), total_money)
    ws.set_column(1, 2, 22)
    ws.set_column(5, 5, 40)

    # 3. every line
    ws = wb.add_worksheet("名册明细")
    ws.write_row(
        0,
        0,
        [
            "序号",
            "村（社区）代码",
            "姓名",
            "身份证号",
            "项目",
            "类型",
            "所属月份",
            "金额",
            "决定金额",
            "备注",
        ],
        head,
    )
    n = 0
    for n, line in enumerate(roll.lines.order_by("seq"), start=1):
        ws.write_number(n, 0, line.seq, cell)
        ws.write_string(n, 1, line.region, text)
        ws.write_string(n, 2, line.payee_name, cell)
        ws.write_string(n, 3, line.payee_id_masked, text)
        ws.write_string(n, 4, line.get_item_display(), cell)
        ws.write_string(n, 5, line.get_kind_display(), cell)
        ws.write_string(n, 6, f"{line.for_month:%Y-%m}", text)
        ws.write_number(n, 7, float(line.amount), money)
        if line.decided_amount is not None:
            ws.write_number(n, 8, float(line.decided_amount), money)
        else:
            ws.write_blank(n, 8, None, cell)
        ws.write_string(n, 9, line.note, cell)
    ws.write_string(n + 1, 0, "合计", total_label)
    ws.write_number(n + 1, 7, float(roll.total), total_money)
    ws.set_column(1, 3, 20)
    ws.set_column(9, 9, 40)
    ws.freeze_panes(1, 0)

    # 4. reconciliation
    from doudi.benefits.payroll import reconcile

    check = reconcile(roll)
    ws = wb.add_worksheet("核对")
    rows: list[tuple[str, object]] = [
        ("名册合计", roll.total),
        ("当月待遇合计（整元）", roll.in_force_total),
        ("调整合计（补发为正、追回为负）", roll.adjustments_total),
        ("按待遇决定应发（当月待遇 + 调整）", check.expected_total),
        ("决定金额合计（未取整）", check.decided_total),
        ("取整差额", check.rounding_difference),
        ("代发合计", pay_total),
        ("追回合计", recover_total),
        ("代发合计 + 追回合计", pay_total + recover_total),
        ("核对结果", "平衡" if check.ok and pay_total + recover_total == roll.total else "不平"),
        ("差异项数", len(check.discrepancies)),
    ]
    for i, (k, v) in enumerate(rows):
        ws.write_string(i, 0, k, label)
        if isinstance(v, Decimal):
            ws.write_number(i, 1, float(v), money)
        elif isinstance(v, int):
            ws.write_number(i, 1, v, cell)
        else:
            ws.write_string(i, 1, str(v), cell)
    ws.set_column(0, 0, 36)
    ws.set_column(1, 1, 18)
    wb.close()
    return buf.getvalue(), len(pay)
