"""Pages of 待遇发放: payment rolls (list, detail, build, approve, bank export), the benefits
ledger and a household's benefits panel. Views parse input, call one selector or service, and
render."""

from __future__ import annotations

import datetime as dt
import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.benefits import selectors, services
from doudi.benefits.models import Benefit, Item, PaymentRoll, PaymentRollLine
from doudi.benefits.months import add_months, month_label, month_of, parse_month
from doudi.core import access
from doudi.core.audit import audit_record
from doudi.core.models import Region, User
from doudi.registry.selectors import household_get_for_user

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _month_param(request: HttpRequest, name: str) -> dt.date | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse_month(raw)
    except ValueError:
        messages.error(request, _("月份格式应为 YYYY-MM"))
        return None


# ------------------------------------------------------------------ rolls


def rolls(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not services.can_view_rolls(user):
        raise PermissionDenied
    counties = selectors.payroll_counties_for_user(user=user)
    county = request.GET.get("county", "")
    if county not in {c.code for c in counties}:
        county = ""
    status = request.GET.get("status", "")
    if status not in PaymentRoll.Status.values:
        status = ""
    month_from = _month_param(request, "from")
    month_to = _month_param(request, "to")
    qs = selectors.payrolls_for_user(
        user=user, county=county, month_from=month_from, month_to=month_to, status=status
    )
    if request.GET.get("export") == "xlsx":
        return _rolls_workbook(qs)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    this_month = month_of(timezone.localdate())
    buildable = [c for c in counties if services.can_build_roll(user, c.code)]
    return render(
        request,
        "benefits/rolls.html",
        {
            "page": page,
            "counties": counties,
            "buildable": buildable,
            "county": county,
            "status": status,
            "statuses": PaymentRoll.Status.choices,
            "month_from": month_from,
            "month_to": month_to,
            "summary": selectors.payroll_summary(rolls=qs),
            "pending": qs.filter(status=PaymentRoll.Status.DRAFT).count(),
            "this_month": this_month,
            "query": request.GET.urlencode(),
        },
    )


def _rolls_workbook(qs) -> HttpResponse:  # type: ignore[no-untyped-def]
    """The list of rolls (no personal data) as .xlsx."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("发放名册")
    bold = wb.add_format({"bold": True, "bg_color": "#EEF1F5", "border": 1})
    money = wb.add_format({"num_format": "#,##0.00"})
    headers = [
        "区县",
        "区划代码",
        "发放月份",
        "状态",
        "发放笔数",
        "金额合计",
        "新增",
        "停发",
        "渐退",
        "调整笔数",
        "调整金额",
    ]
    ws.write_row(0, 0, headers, bold)
    r = 0
    for r, roll in enumerate(qs, start=1):
        ws.write_row(
            r,
            0,
            [
                roll.county.name,
                roll.county_id,
                f"{roll.month:%Y-%m}",
                roll.get_status_display(),
                roll.paid_count,
            ],
        )
        ws.write_number(r, 5, float(roll.total), money)
        ws.write_row(r, 6, [roll.starts, roll.stops, roll.gradual_exits, roll.adjustments])
        ws.write_number(r, 10, float(roll.adjustments_total), money)
    ws.set_column(0, 3, 12)
    ws.set_column(5, 5, 16)
    wb.close()
    response = HttpResponse(buf.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="payrolls.xlsx"'
    return response


def roll_detail(request: HttpRequest, roll_id: int) -> HttpResponse:
    user = _user(request)
    roll = selectors.payroll_get_for_user(user=user, roll_id=roll_id)
    kind = request.GET.get("kind", "")
    if kind not in PaymentRollLine.Kind.values:
        kind = ""
    q = request.GET.get("q", "").strip()
    lines = selectors.payroll_lines(roll=roll, kind=kind, query=q)
    page = Paginator(lines, 100).get_page(request.GET.get("page"))
    region_names = dict(
        Region.objects.filter(code__in={line.region for line in page.object_list}).values_list(
            "code", "name"
        )
    )
    check = selectors.payroll_reconcile(roll)
    audit_record(
        actor=user,
        event="payroll.view",
        subject_type="payroll",
        subject_id=roll.pk,
        subject_label=f"{roll.county.name} {month_label(roll.month)}",
        region_code=roll.county_id,
    )
    return render(
        request,
        "benefits/roll.html",
        {
            "roll": roll,
            "page": page,
            "kind": kind,
            "q": q,
            "kinds": PaymentRollLine.Kind.choices,
            "check": check,
            "page_total": sum(line.amount for line in page.object_list),
            "region_names": region_names,
            "can_build": roll.status == PaymentRoll.Status.DRAFT
            and services.can_build_roll(user, roll.county_id),
            "can_approve": roll.status == PaymentRoll.Status.DRAFT
            and services.can_approve_roll(user, roll),
            "own_build": roll.built_by_id == user.pk,
            "can_export": roll.status == PaymentRoll.Status.APPROVED
            and services.can_export_roll(user, roll),
            "month_label": month_label(roll.month),
            "next_month": add_months(roll.month, 1),
        },
    )


@require_POST
def roll_build(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    county = request.POST.get("county", "")
    try:
        month = parse_month(request.POST.get("month", ""))
    except ValueError:
        messages.error(request, _("月份格式应为 YYYY-MM"))
        return redirect("benefits:rolls")
    if not services.can_build_roll(user, county):
        raise PermissionDenied
    try:
        roll = services.payroll_build(actor=user, county=county, month=month)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("benefits:rolls")
    messages.success(
        request,
        _("已生成 %(m)s 发放名册：%(n)s 笔，合计 ¥%(t)s")
        % {"m": month_label(month), "n": roll.paid_count, "t": f"{roll.total:,.2f}"},
    )
    return redirect("benefits:roll", roll_id=roll.pk)


@require_POST
def roll_approve(request: HttpRequest, roll_id: int) -> HttpResponse:
    user = _user(request)
    roll = selectors.payroll_get_for_user(user=user, roll_id=roll_id)
    try:
        services.payroll_approve(actor=user, roll=roll)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("名册已审核，已冻结；之后的更正将计入下月名册"))
    return redirect("benefits:roll", roll_id=roll.pk)


def roll_export(request: HttpRequest, roll_id: int) -> HttpResponse:
    user = _user(request)
    roll = selectors.payroll_get_for_user(user=user, roll_id=roll_id)
    try:
        content = services.payroll_export(actor=user, roll=roll)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("benefits:roll", roll_id=roll.pk)
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = (
        f'attachment; filename="payroll-{roll.county_id}-{roll.month:%Y-%m}.xlsx"'
    )
    return response


# ------------------------------------------------------------------ benefits


def benefit_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if access.jurisdiction_prefix(user) is None:
        raise PermissionDenied
    item = request.GET.get("item", "")
    if item not in Item.values:
        item = ""
    status = request.GET.get("status", "")
    if status not in Benefit.Status.values:
        status = ""
    region = request.GET.get("region", "").strip()
    month = _month_param(request, "month")
    if "month" not in request.GET:
        month = month_of(timezone.localdate())
    qs = selectors.benefit_list(user=user, item=item, status=status, region=region, month=month)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "benefits/benefits.html",
        {
            "page": page,
            "item": item,
            "status": status,
            "region": region,
            "month": month,
            "items": Item.choices,
            "statuses": Benefit.Status.choices,
            "counties": selectors.payroll_counties_for_user(user=user),
        },
    )


def household_panel(request: HttpRequest, household_id: int) -> HttpResponse:
    """The household's benefits as a panel (for ``hx-get`` from other pages)."""
    household = household_get_for_user(user=_user(request), household_id=household_id)
    ctx = selectors.household_benefits_context(household_id=household.pk)
    ctx["household"] = household
    return render(request, "benefits/_household_benefits.html", ctx)
