"""Pages of 监测预警: the town's alert queue, an alert with its evidence and its handling, the
village worker's visit list, the county and city overview, proactive services, the rule catalog
with quality figures and tuning, and the runs. Views parse input, call one selector or service,
and render."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.core import access
from doudi.core.audit import audit_record
from doudi.core.models import Role, User
from doudi.monitoring import selectors, services
from doudi.monitoring.models import Alert, MonitorRun

SEVERITY_ORDER = Case(
    When(severity="red", then=Value(0)),
    When(severity="orange", then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)
TABS = (
    ("open", "未办结"),
    ("raised", "待分派"),
    ("assigned", "待核实"),
    ("verified", "待办结"),
    ("overdue", "逾期"),
    ("escalated", "已上报区县"),
    ("closed", "已办结"),
)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _require_region(user: User) -> None:
    if access.jurisdiction_prefix(user) is None:
        raise PermissionDenied


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for m in exc.messages:
        messages.error(request, m)


def _filtered(request: HttpRequest, qs):  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    tab = request.GET.get("tab", "open")
    if tab == "open":
        qs = qs.exclude(status=Alert.Status.CLOSED)
    elif tab in ("raised", "assigned", "verified", "closed"):
        qs = qs.filter(status=tab)
    elif tab == "overdue":
        qs = qs.exclude(status=Alert.Status.CLOSED).filter(deadline__lt=today)
    elif tab == "escalated":
        qs = qs.exclude(status=Alert.Status.CLOSED).filter(escalated=True)
    for key in ("severity", "rule", "kind"):
        if request.GET.get(key):
            qs = qs.filter(**{key: request.GET[key]})
    if request.GET.get("town"):
        qs = qs.filter(town_code=request.GET["town"])
    if request.GET.get("mine"):
        qs = qs.filter(assigned_to=_user(request))
    return tab, qs


def queue(request: HttpRequest) -> HttpResponse:
    """The alert queue of the user's jurisdiction: by severity, then deadline."""
    user = _user(request)
    _require_region(user)
    base = selectors.alerts_for_user(user)
    tab, qs = _filtered(request, base)
    qs = qs.select_related("household", "person", "assigned_to").order_by(
        SEVERITY_ORDER, "deadline", "id"
    )
    if request.GET.get("export") == "xlsx":
        return _export(request, user, qs)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    counts = selectors.queue_counts(base)
    rules = {r.code: r for r in selectors.rules()}
    towns = selectors.region_names(base.values_list("town_code", flat=True).distinct())
    return render(
        request,
        "monitoring/queue.html",
        {
            "page": page,
            "tab": tab,
            "tabs": TABS,
            "counts": counts,
            "rules": rules,
            "towns": towns,
            "today": timezone.localdate(),
            "query": request.GET.urlencode(),
            "filters": request.GET,
        },
    )


def _export(request: HttpRequest, user: User, qs) -> HttpResponse:  # type: ignore[no-untyped-def]
    """The current list as .xlsx (ID numbers masked), audited as a personal-data export."""
    import io

    import xlsxwriter

    if not access.can_export_persons(user):
        raise PermissionDenied
    rules = {r.code: r for r in selectors.rules()}
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("预警")
    head = [
        "预警编号",
        "等级",
        "规则",
        "预警内容",
        "家庭编号",
        "人员",
        "身份证号",
        "镇街",
        "状态",
        "预警日期",
        "核实期限",
        "处理结果",
    ]
    bold = wb.add_format({"bold": True})
    ws.write_row(0, 0, head, bold)
    towns = selectors.region_names(qs.values_list("town_code", flat=True).distinct())
    n = 0
    for n, a in enumerate(qs[:20000], 1):
        ws.write_row(
            n,
            0,
            [
                a.pk,
                {"red": "红", "orange": "橙", "yellow": "黄"}.get(a.severity, a.severity),
                rules[a.rule].name if a.rule in rules else a.rule,
                a.summary,
                a.household.number,
                a.person.name if a.person else "",
                a.person.masked_id if a.person else "",
                towns.get(a.town_code, a.town_code),
                a.get_status_display(),
                a.raised_on.isoformat(),
                a.deadline.isoformat(),
                a.get_outcome_display() if a.outcome else "",
            ],
        )
    ws.autofilter(0, 0, max(n, 1), len(head) - 1)
    wb.close()
    audit_record(
        actor=user,
        event="monitoring.alerts_export",
        subject_type="alert_list",
        subject_label=request.GET.urlencode()[:200],
        region_code=access.jurisdiction_prefix(user) or "",
        new={"rows": n},
    )
    resp = HttpResponse(
        buf.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    resp["Content-Disposition"] = 'attachment; filename="alerts.xlsx"'
    return resp


def _interface_labels() -> dict[str, str]:
    from doudi.datapool.catalog import load_catalog

    out = {i.code: i.label for i in load_catalog()}
    out.update({"registry_persons": _("人口库"), "policy_sweep": _("全市分层分类认定结果")})
    return out


def detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    """One alert: why (rule, evidence rows with source file and line), the household's
    categories, what to do next, and the handling forms."""
    user = _user(request)
    _require_region(user)
    alert = selectors.alert_get_for_user(user=user, alert_id=alert_id)
    audit_record(
        actor=user,
        event="monitoring.alert_view",
        subject_type="alert",
        subject_id=alert.pk,
        subject_label=f"{alert.rule} {alert.household.number}",
        region_code=alert.village_code or alert.town_code,
    )
    rule = selectors.rule_get(alert.rule)
    from doudi.registry.selectors import household_members

    members = list(household_members(household=alert.household))
    benefits = []
    try:
        from doudi.benefits import selectors as benefit_selectors

        benefits = benefit_selectors.household_benefits(household_id=alert.household_id)
    except ImportError:  # pragma: no cover
        pass
    history = selectors.alert_history(alert=alert)
    return render(
        request,
        "monitoring/alert.html",
        {
            "alert": alert,
            "rule": rule,
            "members": members,
            "benefits": benefits,
            "labels": _interface_labels(),
            "item_labels": selectors.ITEM_LABELS,
            "category_labels": selectors.CATEGORY_LABELS,
            "assignees": selectors.assignees_for(alert=alert)
            if user.role in services.CAN_ASSIGN
            else [],
            "can_assign": user.role in services.CAN_ASSIGN and alert.is_open,
            "can_handle": user.role in services.CAN_HANDLE and alert.is_open,
            "outcomes": Alert.Outcome.choices,
            "case_items": selectors.case_items(),
            "today": timezone.localdate(),
            "next_month": services._next_month(timezone.localdate()),
            "visit_token": uuid.uuid4().hex,
            "history": history,
            "visits": alert.visits.prefetch_related("attachments").select_related("recorded_by"),
        },
    )


@require_POST
def assign(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = _user(request)
    alert = selectors.alert_get_for_user(user=user, alert_id=alert_id)
    try:
        assignee = User.objects.get(pk=int(request.POST.get("assignee", "0")))
        services.alert_assign(actor=user, alert=alert, assignee=assignee)
        messages.success(
            request, _("已分派给 %(n)s") % {"n": assignee.full_name or assignee.username}
        )
    except (User.DoesNotExist, ValueError):
        messages.error(request, _("请选择核实人员"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("monitoring:alert", alert_id=alert.pk)


def _decimal(raw: str | None) -> Decimal | None:
    if not raw:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        return None


@require_POST
def visit(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = _user(request)
    alert = selectors.alert_get_for_user(user=user, alert_id=alert_id)
    try:
        visit_date = dt.date.fromisoformat(request.POST.get("visit_date", ""))
    except ValueError:
        messages.error(request, _("核实日期格式应为 YYYY-MM-DD"))
        return redirect("monitoring:alert", alert_id=alert.pk)
    try:
        services.alert_visit_record(
            actor=user,
            alert=alert,
            visit_date=visit_date,
            visitors=request.POST.get("visitors", ""),
            findings=request.POST.get("findings", ""),
            latitude=_decimal(request.POST.get("latitude")),
            longitude=_decimal(request.POST.get("longitude")),
            files=request.FILES.getlist("photos"),
            client_token=request.POST.get("client_token", "")[:64],
        )
        messages.success(request, _("核实记录已保存"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("monitoring:alert", alert_id=alert.pk)


@require_POST
def close(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = _user(request)
    alert = selectors.alert_get_for_user(user=user, alert_id=alert_id)
    from_month = None
    raw = request.POST.get("from_month", "")
    if raw:
        try:
            from_month = dt.date.fromisoformat(raw + "-01" if len(raw) == 7 else raw)
        except ValueError:
            messages.error(request, _("起始月份格式应为 YYYY-MM"))
            return redirect("monitoring:alert", alert_id=alert.pk)
    try:
        services.alert_close(
            actor=user,
            alert=alert,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
            items=request.POST.getlist("items"),
            benefit_ids=[int(x) for x in request.POST.getlist("benefits") if x.isdigit()],
            new_amount=_decimal(request.POST.get("new_amount")),
            from_month=from_month,
        )
        messages.success(request, _("预警已办结"))
    except ValidationError as exc:
        _errors(request, exc)
    except PermissionDenied:
        messages.error(request, _("无权调整或停发待遇，请由镇街受理员或区县审核员办结"))
    return redirect("monitoring:alert", alert_id=alert.pk)


def field(request: HttpRequest) -> HttpResponse:
    """The village worker's phone page: households to visit, most urgent first."""
    user = _user(request)
    _require_region(user)
    qs = (
        selectors.alerts_for_user(user)
        .exclude(status=Alert.Status.CLOSED)
        .exclude(status=Alert.Status.VERIFIED)
        .select_related("household", "person")
        .order_by(SEVERITY_ORDER, "deadline", "id")
    )
    if user.role != Role.VILLAGE_WORKER:
        qs = qs.filter(assigned_to=user)
    rules = {r.code: r for r in selectors.rules()}
    return render(
        request,
        "monitoring/field.html",
        {"alerts": qs[:200], "rules": rules, "today": timezone.localdate(), "n": qs.count()},
    )


def overview(request: HttpRequest) -> HttpResponse:
    """Counties and the city: handling rates, overdue and escalated alerts, time to outcome per
    town."""
    user = _user(request)
    if user.role not in (Role.CITY_ADMIN, Role.CITY_ANALYST, Role.COUNTY_APPROVER):
        raise PermissionDenied
    qs = selectors.alerts_for_user(user)
    escalated = (
        qs.filter(escalated=True)
        .exclude(status=Alert.Status.CLOSED)
        .select_related("household", "person")
        .order_by("deadline")[:100]
    )
    rules = {r.code: r for r in selectors.rules()}
    return render(
        request,
        "monitoring/overview.html",
        {
            "towns": selectors.handling_stats(qs),
            "counts": selectors.queue_counts(qs),
            "escalated": escalated,
            "rules": rules,
            "today": timezone.localdate(),
            "quality": selectors.rule_quality(qs),
        },
    )


def proactive(request: HttpRequest) -> HttpResponse:
    """主动发现 → 主动办理: services opened from data clues, per month and per town."""
    user = _user(request)
    if user.role not in (Role.CITY_ADMIN, Role.CITY_ANALYST, Role.COUNTY_APPROVER):
        raise PermissionDenied
    prefix = access.jurisdiction_prefix(user)
    data = selectors.proactive_services(region_prefix=prefix or None)
    chart = {
        "months": [m["month"] for m in data["months"]],
        "opened": [m["opened"] for m in data["months"]],
        "approved": [m["approved"] for m in data["months"]],
        "persons": [m["persons"] for m in data["months"]],
    }
    return render(
        request,
        "monitoring/proactive.html",
        {"data": data, "chart": chart},
    )


def rule_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_region(user)
    return render(
        request,
        "monitoring/rules.html",
        {"quality": selectors.rule_quality(selectors.alerts_for_user(user))},
    )


def rule_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A rule: what it means, its parameters (dated values), its quality, and for the city
    analyst a preview of a new parameter value on recent data before proposing the change."""
    user = _user(request)
    _require_region(user)
    rule = selectors.rule_get(code)
    params = selectors.rule_parameters(rule)
    preview = None
    can_tune = services.can_run(user)
    if can_tune and request.GET.get("preview"):
        sets = {}
        for p in params:
            raw = request.GET.get(f"set_{p['name']}", "").strip()
            if raw and raw != p["current_raw"]:
                sets[p["name"]] = raw
        try:
            days = max(7, min(365, int(request.GET.get("days", "90"))))
        except ValueError:
            days = 90
        if sets:
            try:
                preview = services.rule_preview(rule=rule, sets=sets, days=days)
            except (ValidationError, ValueError) as exc:
                messages.error(request, str(exc))
        else:
            messages.info(request, _("请至少修改一个参数值再预演"))
    quality = next(
        (
            q
            for q in selectors.rule_quality(selectors.alerts_for_user(user))
            if q["rule"].code == code
        ),
        None,
    )
    return render(
        request,
        "monitoring/rule.html",
        {
            "rule": rule,
            "params": params,
            "preview": preview,
            "can_tune": can_tune,
            "quality": quality,
            "filters": request.GET,
            "today": timezone.localdate(),
        },
    )


@require_POST
def rule_propose(request: HttpRequest, code: str) -> HttpResponse:
    """Propose the previewed value as a dated change (reviewed by another administrator)."""
    user = _user(request)
    rule = selectors.rule_get(code)
    if not services.can_run(user):
        raise PermissionDenied
    from doudi.policy import services as policy_services

    name = request.POST.get("name", "")
    if name not in rule.params:
        messages.error(request, _("该参数不属于此规则"))
        return redirect("monitoring:rule", code=code)
    try:
        effective = dt.date.fromisoformat(request.POST.get("effective_from", ""))
    except ValueError:
        messages.error(request, _("生效日期格式应为 YYYY-MM-DD"))
        return redirect("monitoring:rule", code=code)
    try:
        policy_services.parameter_change_propose(
            actor=user,
            name=name,
            scope=request.POST.get("scope", "city"),
            effective_from=effective,
            value=request.POST.get("value", ""),
            reference=request.POST.get("reference", ""),
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, _("调整已提交，待另一名管理员审核后生效"))
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("monitoring:rule", code=code)


def runs(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_region(user)
    return render(
        request,
        "monitoring/runs.html",
        {
            "runs": selectors.latest_runs(),
            "can_run": services.can_run(user),
            "today": timezone.localdate(),
            "running": MonitorRun.objects.filter(status=MonitorRun.Status.RUNNING).first(),
        },
    )


@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not services.can_run(user):
        raise PermissionDenied
    if MonitorRun.objects.filter(status=MonitorRun.Status.RUNNING).exists():
        messages.error(request, _("已有监测任务在运行，请稍候"))
        return redirect("monitoring:runs")
    try:
        as_of = dt.date.fromisoformat(request.POST.get("as_of") or timezone.localdate().isoformat())
    except ValueError:
        messages.error(request, _("日期格式应为 YYYY-MM-DD"))
        return redirect("monitoring:runs")
    since = None
    if request.POST.get("since"):
        try:
            since = dt.date.fromisoformat(request.POST["since"])
        except ValueError:
            messages.error(request, _("日期格式应为 YYYY-MM-DD"))
            return redirect("monitoring:runs")
    engine_name = request.POST.get("engine", "duckdb")
    if engine_name not in ("duckdb", "spark"):
        engine_name = "duckdb"
    run = MonitorRun.objects.create(
        mode=MonitorRun.Mode.FULL if since else MonitorRun.Mode.INCREMENTAL,
        engine=engine_name,
        as_of=as_of,
        since=since or as_of,
        started_by=user,
        progress=_("排队中"),
    )
    from doudi.monitoring.tasks import monitor_task

    monitor_task.enqueue(run.pk, since.isoformat() if since else "")
    messages.info(request, _("监测任务已开始，可离开本页，稍后回来查看"))
    return redirect("monitoring:runs")


def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    _require_region(_user(request))
    run = MonitorRun.objects.filter(pk=run_id).first()
    if run is None:
        from django.http import Http404

        raise Http404
    return render(request, "monitoring/_run_progress.html", {"run": run})
