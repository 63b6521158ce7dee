"""Pages of 居民家庭经济状况核对: a household's authorisations and verifications, the report and
its printable PDF. Views parse input, call one service or selector, and render."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from doudi.core.models import User
from doudi.policy import selectors
from doudi.policy import verification as vf
from doudi.policy.engine.core import CATEGORY_LABELS
from doudi.policy.models import Verification
from doudi.registry.selectors import household_get_for_user


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _parse_date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


# ------------------------------------------------------------------ the household's verifications


def verify(request: HttpRequest, household_id: int) -> HttpResponse:
    """Authorisations (with the upload form), past verifications, and "run as of a date"."""
    user = _user(request)
    household = household_get_for_user(user=user, household_id=household_id)
    today = timezone.localdate()
    raw_as_of = request.GET.get("as_of") or request.POST.get("as_of")
    as_of = _parse_date(raw_as_of) or today
    form = {"signed_by": "", "signed_on": ""}
    errors: list[str] = []
    if raw_as_of and _parse_date(raw_as_of) is None:
        errors.append(_("核对基准日格式应为 YYYY-MM-DD，已改用今天"))
    status = 200
    if request.method == "POST":
        if not vf.can_verify(user):
            raise PermissionDenied
        action = request.POST.get("action")
        if action == "authorise":
            form = {k: request.POST.get(k, "").strip() for k in form}
            signed_on = _parse_date(form["signed_on"])
            if signed_on is None:
                errors.append(_("签署日期格式应为 YYYY-MM-DD，例如 2025-03-02"))
            else:
                try:
                    vf.authorisation_record(
                        actor=user,
                        household=household,
                        signed_by=form["signed_by"],
                        signed_on=signed_on,
                        scan=request.FILES.get("scan"),
                    )
                except ValidationError as exc:
                    errors.extend(exc.messages)
                else:
                    messages.success(request, _("授权书已登记，可以开始核对"))
                    return redirect("policy:verify", household_id=household.pk)
            status = 400
        elif action == "run":
            raw = request.POST.get("as_of")
            run_as_of = _parse_date(raw)
            if run_as_of is None:
                errors.append(_("核对基准日格式应为 YYYY-MM-DD"))
            else:
                try:
                    v = vf.verification_run(actor=user, household=household, as_of=run_as_of)
                except ValidationError as exc:
                    errors.extend(exc.messages)
                else:
                    messages.success(request, _("核对完成"))
                    return redirect("policy:verification", verification_id=v.pk)
            status = 400
    valid = vf.authorisation_valid_for(household_id=household.pk, as_of=as_of)
    return render(
        request,
        "policy/verify.html",
        {
            "household": household,
            "as_of": as_of,
            "today": today,
            "authorisations": selectors.authorisations(household_id=household.pk),
            "verifications": selectors.verifications(household_id=household.pk)[:50],
            "valid": valid,
            "valid_from": vf.authorisation_valid_from(as_of),
            "valid_months": vf.AUTHORISATION_VALID_MONTHS,
            "can_verify": vf.can_verify(user),
            "form": form,
            "errors": errors,
            "max_mb": vf.MAX_SCAN_BYTES // (1024 * 1024),
        },
        status=status,
    )


def authorisation_scan(request: HttpRequest, authorisation_id: int) -> FileResponse:
    """The scanned authorisation, for users who may see the household (audited)."""
    auth = vf.authorisation_scan_open(user=_user(request), authorisation_id=authorisation_id)
    ext = auth.scan.name.rsplit(".", 1)[-1].lower()
    content_type = vf.SCAN_FORMATS.get(f".{ext}", ("application/octet-stream",))[0]
    return FileResponse(
        auth.scan.open("rb"),
        content_type=content_type,
        filename=f"authorisation-{auth.household.number}-{auth.signed_on.isoformat()}.{ext}",
        as_attachment=False,
    )


# ------------------------------------------------------------------ the report


def _report_context(v: Verification) -> dict[str, Any]:
    findings = v.findings
    assessment = v.assessment or {}
    result = assessment.get("result") or {}
    person_cats = {
        str(m["id_number"]): [CATEGORY_LABELS.get(c, c) for c in m.get("categories", [])]
        + (["单人保"] if m.get("single_person_dibao") else [])
        for m in result.get("members", [])
    }
    members = []
    for m in findings.get("members", []):
        sections = [
            {"code": code, "label": label, "items": m["sections"].get(code, [])}
            for code, label in vf.SECTION_LABELS.items()
        ]
        monthly = [
            {"type": t, "label": vf.KIND_LABELS[t], "amount": m["monthly"].get(t)}
            for t, _col in vf.MONTHLY_TYPES
        ]
        members.append(
            {
                **m,
                "section_list": sections,
                "monthly_list": monthly,
                "categories": person_cats.get(str(m["person_id"]), []),
                "none_found_rows": [n for n in m["none_found"] if n["received"]],
                "no_data_rows": [n for n in m["none_found"] if not n["received"]],
            }
        )
    totals = findings.get("totals", {})
    monthly_totals = [
        {"label": vf.KIND_LABELS[t], "amount": totals.get("monthly", {}).get(t)}
        for t, _col in vf.MONTHLY_TYPES
    ]
    return {
        "v": v,
        "household": v.household,
        "findings": findings,
        "members": members,
        "totals": totals,
        "monthly_totals": monthly_totals,
        "result": result,
        "assessment": assessment,
        "windows": findings.get("windows", {}),
        "interfaces": findings.get("interfaces", []),
    }


def verification_report(request: HttpRequest, verification_id: int) -> HttpResponse:
    user = _user(request)
    v = selectors.verification_get_for_user(user=user, verification_id=verification_id)
    vf.verification_view_record(user=user, verification=v)
    return render(request, "policy/verification.html", _report_context(v))


def _yuan(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return f"¥{Decimal(value):,.2f}"


def _amount(item: dict[str, Any]) -> str:
    if item.get("amount") is None:
        return "—"
    if item.get("unit") == "m2":
        return f"{Decimal(item['amount']):,.2f} m²"
    return _yuan(item["amount"])


def _cn_date(iso: str) -> str:
    d = dt.date.fromisoformat(iso)
    return f"{d.year}年{d.month}月{d.day}日"


def _source(item: dict[str, Any]) -> str:
    if not item.get("file"):
        return item["interface_name"]
    key = (item.get("record_key") or "")[:12]
    return f"{item['interface_name']}\n{item['file']} 第{item['line']}行\n记录 {key}"


def verification_pdf(request: HttpRequest, verification_id: int) -> HttpResponse:
    """The report as an A4 PDF (Chinese fonts embedded), with places for 核对人 and 复核人."""
    from doudi.core.pdf import Heading, KeyValues, Paragraph, Spacer, Table, render_document

    user = _user(request)
    v = selectors.verification_get_for_user(user=user, verification_id=verification_id)
    ctx = _report_context(v)
    household = ctx["household"]
    result = ctx["result"]
    assessment = ctx["assessment"]
    totals = ctx["totals"]
    windows = ctx["windows"]
    auth = v.authorisation
    blocks: list[Any] = [
        KeyValues(
            [
                ("家庭编号", household.number),
                ("居住地", household.region.full_name or household.region.name),
                ("核对基准日", _cn_date(v.as_of.isoformat())),
                (
                    "查询范围",
                    f"收入近12个月（{windows['12m']['from']} 至 {windows['12m']['to']}），"
                    f"养老金等按月发放项目近3个月（{windows['3m']['from']} 起）",
                ),
                (
                    "核对授权",
                    f"{auth.signed_by} 于 {_cn_date(auth.signed_on.isoformat())} 签署"
                    f"（扫描件 SHA-256 {auth.scan_sha256[:16]}…）",
                ),
                ("核对编号", f"V{v.pk} · {timezone.localtime(v.requested_at):%Y-%m-%d %H:%M}"),
                ("政策版本", v.policy_version),
            ]
        ),
        Heading("一、认定结论"),
    ]
    if result:
        categories = "、".join(assessment.get("categories") or []) or "无"
        blocks.append(
            KeyValues(
                [
                    (
                        "救助层级",
                        f"第{result['tier']}层 {assessment.get('tier_label', '')}"
                        if result.get("tier")
                        else "不在救助层级内",
                    ),
                    ("家庭类别", categories),
                    ("计入成员", f"{result.get('members_counted', 0)} 人"),
                    (
                        "月人均收入",
                        _yuan(result["per_capita_income"])
                        if result.get("per_capita_income") is not None
                        else "未知（有成员收入未申报、数据池也无记录）",
                    ),
                    ("月待遇", _yuan(result.get("monthly_benefit"))),
                ]
            )
        )
        for w in assessment.get("why_not") or []:
            reasons = "；".join(r["text"] for r in w["reasons"])
            blocks.append(Paragraph(f"为什么不是{w['label']}：{reasons}"))
    else:
        blocks.append(Paragraph("该家庭在核对基准日没有有效成员，无法认定。"))

    blocks.append(Heading("二、家庭汇总（认定规则使用的数值）"))
    rows = [[t["label"], _yuan(t["amount"])] for t in ctx["monthly_totals"]]
    rows.append(["家庭月收入合计（计入成员）", _yuan(totals.get("monthly_income"))])
    rows += [
        ["金融资产（存款、证券最新余额）", _yuan(totals.get("financial"))],
        ["非豁免机动车", f"{totals.get('vehicles', '—')} 辆"],
        ["住房（现势住宅）", f"{totals.get('dwellings', '—')} 套"],
        ["登记的市场主体", "有" if totals.get("business") else "无"],
        ["近12个月医疗自付", _yuan(totals.get("rigid_medical"))],
        ["近12个月康复自付", _yuan(totals.get("rigid_rehab"))],
    ]
    blocks.append(Table(columns=["项目", "数值"], rows=rows, col_widths=[3, 2], align=["L", "R"]))
    for warning in totals.get("mismatches") or []:
        blocks.append(Paragraph(f"注意：{warning}"))

    blocks.append(Heading("三、成员核对结果"))
    for n, m in enumerate(ctx["members"], start=1):
        title = f"（{n}）{m['name']}  {m['relation_label']}  {m['masked_id']}"
        if not m["in_household"]:
            title += f"  {m['status_label']}，不计入家庭人口"
        blocks.append(Heading(title))
        monthly = "；".join(
            f"{t['label']} {_yuan(t['amount'])}" for t in m["monthly_list"] if t["amount"] != "0.00"
        )
        blocks.append(
            Paragraph(
                f"认定规则计入的月收入：{_yuan(m['monthly_total'])}"
                + (f"（{monthly}）" if monthly else "")
                + (f"；类别：{'、'.join(m['categories'])}" if m["categories"] else "")
            )
        )
        item_rows = [
            [
                s["label"],
                "\n".join(x for x in (i["kind_label"], i["label"], i["detail"]) if x),
                _amount(i),
                i["date"] or "—",
                i["status_label"],
                _source(i),
            ]
            for s in m["section_list"]
            for i in s["items"]
        ]
        if item_rows:
            blocks.append(
                Table(
                    columns=["类别", "项目", "金额", "日期", "是否计入", "来源"],
                    rows=item_rows,
                    col_widths=[1.2, 3, 1.8, 1.9, 2.4, 3.4],
                    align=["L", "L", "R", "L", "L", "L"],
                )
            )
        if m["none_found_rows"]:
            blocks.append(
                Paragraph(
                    "查无记录："
                    + "、".join(
                        f"{r['interface_name']}（{r['window_label']}）"
                        for r in m["none_found_rows"]
                    )
                )
            )
        if m["no_data_rows"]:
            blocks.append(
                Paragraph(
                    "接口尚未接收数据，无法核对："
                    + "、".join(r["interface_name"] for r in m["no_data_rows"])
                )
            )

    blocks.append(Heading("四、查询的数据接口"))
    blocks.append(
        Table(
            columns=["接口", "查询范围", "最近接收", "本户记录"],
            rows=[
                [i["name"], i["window_label"], i["last_received"] or "尚未接收", str(i["found"])]
                for i in ctx["interfaces"]
            ],
            col_widths=[3, 1.6, 2.2, 1.2],
            align=["L", "L", "L", "R"],
        )
    )
    blocks.append(Spacer(4))
    blocks.append(
        Paragraph(
            "说明：“计入”为分层分类认定规则使用的数值；“不计入（政策规定）”为高龄津贴、残疾人两项补贴、"
            "优抚金、计生特扶金、学生资助及社会救助金等不计入家庭收入的项目；“查无记录”表示该部门接口在"
            "查询范围内没有该成员的记录。"
        )
    )
    pdf = render_document(
        title="居民家庭经济状况核对报告",
        subtitle=f"家庭编号 {household.number} · 核对基准日 {_cn_date(v.as_of.isoformat())}",
        blocks=blocks,
        footer=f"{household.number} 核对编号 V{v.pk} · 身份证号已脱敏 · 依据数据池截至基准日的数据生成",
        signature_lines=["核对人", "复核人"],
    )
    vf.verification_view_record(user=user, verification=v, pdf=True)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'inline; filename="verification-{household.number}-{v.as_of.isoformat()}.pdf"'
    )
    return response
