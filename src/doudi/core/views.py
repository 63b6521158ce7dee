from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from doudi.core import access, workdays
from doudi.core.models import AuditEvent, Role, User
from doudi.registry import selectors as registry


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    context: dict[str, object] = {"role": user.role}
    if user.role in access.REGION_SCOPED:
        persons = registry.persons_visible_to(user)
        households = registry.households_visible_to(user)
        context["person_count"] = persons.count()
        context["household_count"] = households.filter(status="active").count()
        context["deceased_count"] = persons.filter(status="dead").count()
        if user.region is not None and user.role != Role.VILLAGE_WORKER:
            context["breakdown"] = registry.person_counts_by_child_region(
                user=user, region=user.region
            )
        if user.role == Role.VILLAGE_WORKER:
            context["households"] = (
                households.filter(status="active")
                .annotate(size=Count("memberships", filter=Q(memberships__end_date__isnull=True)))
                .order_by("address")[:200]
            )
        prefix = access.jurisdiction_prefix(user) or ""
        context["recent_events"] = registry.recent_events_in(prefix=prefix)[:10]
        if user.role != Role.CITY_ANALYST:
            from doudi.cases import selectors as cases
            from doudi.monitoring import selectors as monitoring

            context["alert_counts"] = monitoring.queue_counts(monitoring.alerts_for_user(user))
            tabs = cases.queue_tabs(user=user, today=timezone.localdate())
            context["case_counts"] = {k: v["count"] for k, v in tabs.items()}
    elif user.role == Role.CARETAKER:
        context["assigned"] = registry.persons_visible_to(user).order_by("name")
    return render(request, "core/home.html", context)


def audit_log(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not access.can_view_audit(user):
        raise PermissionDenied
    qs = AuditEvent.objects.all()
    f = {
        k: request.GET.get(k, "").strip()
        for k in ("actor", "event", "subject", "date_from", "date_to", "region")
    }
    if f["actor"]:
        qs = qs.filter(actor_label__icontains=f["actor"])
    if f["event"]:
        qs = qs.filter(event__startswith=f["event"])
    if f["subject"]:
        qs = qs.filter(Q(subject_label__icontains=f["subject"]) | Q(subject_id=f["subject"]))
    if f["region"]:
        qs = qs.filter(region_code__startswith=f["region"])
    for key, lookup in (("date_from", "at__date__gte"), ("date_to", "at__date__lte")):
        if f[key]:
            try:
                qs = qs.filter(**{lookup: dt.date.fromisoformat(f[key])})
            except ValueError:
                f[key] = ""
    page = Paginator(qs.select_related("actor"), 50).get_page(request.GET.get("page"))
    events = AuditEvent.objects.order_by().values_list("event", flat=True).distinct()
    return render(
        request, "core/audit.html", {"page": page, "filters": f, "event_codes": sorted(set(events))}
    )


def users(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not access.can_manage_users_role(user):
        raise PermissionDenied
    qs = User.objects.select_related("region").order_by("role", "username")
    return render(request, "core/users.html", {"users": qs})


# -- the working-day calendar (工作日历) ---------------------------------------------------------

#: chinesecalendar's holiday names, in the page's language
_HOLIDAY_NAMES = {
    "New Year's Day": gettext_lazy("元旦"),
    "Spring Festival": gettext_lazy("春节"),
    "Tomb-sweeping Day": gettext_lazy("清明节"),
    "Labour Day": gettext_lazy("劳动节"),
    "Dragon Boat Festival": gettext_lazy("端午节"),
    "National Day": gettext_lazy("国庆节"),
    "Mid-autumn Festival": gettext_lazy("中秋节"),
}
_WEEKDAYS = [
    gettext_lazy("星期一"),
    gettext_lazy("星期二"),
    gettext_lazy("星期三"),
    gettext_lazy("星期四"),
    gettext_lazy("星期五"),
    gettext_lazy("星期六"),
    gettext_lazy("星期日"),
]
#: kind -> (short mark shown in the day's cell, words for the title and the legend)
_DAY_MARKS = {
    workdays.WORKDAY: ("", gettext_lazy("工作日")),
    workdays.WEEKEND: ("", gettext_lazy("周末休息")),
    workdays.HOLIDAY: (gettext_lazy("休"), gettext_lazy("法定节假日休息")),
    workdays.ADJUSTED_WORKDAY: (gettext_lazy("班"), gettext_lazy("调休上班")),
    workdays.OVERRIDE_WORKING: (gettext_lazy("本地班"), gettext_lazy("本地调整：上班")),
    workdays.OVERRIDE_REST: (gettext_lazy("本地休"), gettext_lazy("本地调整：休息")),
}


class WorkdayCalcForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("起算日（当天不计）"), widget=forms.DateInput(attrs={"type": "date"})
    )
    n = forms.IntegerField(label=gettext_lazy("工作日数"), min_value=0, max_value=1000)


class WorkdayOverrideForm(forms.Form):
    date = forms.DateField(
        label=gettext_lazy("日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    is_working_day = forms.TypedChoiceField(
        label=gettext_lazy("调整为"),
        choices=[("0", gettext_lazy("休息")), ("1", gettext_lazy("上班"))],
        coerce=lambda v: v == "1",
    )
    reason = forms.CharField(
        label=gettext_lazy("原因"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": gettext_lazy("如：烟台市地方性调休")}),
    )


def _year_param(request: HttpRequest, today: dt.date) -> int:
    try:
        year = int(request.GET.get("year", today.year))
    except ValueError:
        return today.year
    return year if 1900 <= year <= 2200 else today.year


def _month_grid(days: list[workdays.DayInfo]) -> list[list[dict[str, object] | None]]:
    """One month as weeks of seven cells (Monday first); None outside the month."""
    cells: list[dict[str, object] | None] = [None] * days[0].date.weekday()
    for info in days:
        mark, words = _DAY_MARKS[info.kind]
        holiday = _HOLIDAY_NAMES.get(info.holiday, info.holiday)
        title = f"{info.date:%Y-%m-%d} {_WEEKDAYS[info.date.weekday()]} · {words}"
        if holiday:
            title += f"（{holiday}）"
        if info.estimated:
            title += " · " + _("推算")
        cells.append({"info": info, "mark": mark, "title": title, "holiday": holiday})
    cells += [None] * (-len(cells) % 7)
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


def _month_notes(days: list[workdays.DayInfo]) -> list[str]:
    """The month's holidays, adjusted working days and overrides in words, runs of days joined."""
    notes: list[str] = []
    run: list[workdays.DayInfo] = []

    def flush() -> None:
        if not run:
            return
        first, last = run[0], run[-1]
        when = first.date.isoformat()
        if last.date != first.date:
            when = _("%(a)s 至 %(b)s") % {"a": when, "b": last.date.isoformat()}
        holiday = _HOLIDAY_NAMES.get(first.holiday, first.holiday)
        words = _DAY_MARKS[first.kind][1]
        notes.append(f"{when} {holiday} · {words}" if holiday else f"{when} {words}")
        run.clear()

    for info in days:
        if info.kind in (workdays.WORKDAY, workdays.WEEKEND):
            flush()
            continue
        if run and (run[-1].kind, run[-1].holiday) != (info.kind, info.holiday):
            flush()
        run.append(info)
    flush()
    return notes


def workday_calendar(request: HttpRequest) -> HttpResponse:
    """The working-day calendar of a year, a deadline calculator and (city admins) local overrides."""
    user: User = request.user  # type: ignore[assignment]
    if not workdays.can_view(user):
        raise PermissionDenied
    can_edit = workdays.can_edit(user)
    override_form = WorkdayOverrideForm()
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        action = request.POST.get("action")
        if action == "delete":
            try:
                day = dt.date.fromisoformat(request.POST.get("date", ""))
            except ValueError:
                messages.error(request, _("日期格式不对，应为 2026-03-02"))
                return redirect("core:workdays")
            if workdays.workday_override_delete(actor=user, date=day):
                messages.success(request, _("已删除 %(d)s 的本地调整") % {"d": day.isoformat()})
            else:
                messages.info(request, _("%(d)s 没有本地调整") % {"d": day.isoformat()})
            return redirect(f"{reverse('core:workdays')}?year={day.year}#overrides")
        if action == "set":
            override_form = WorkdayOverrideForm(request.POST)
            if override_form.is_valid():
                data = override_form.cleaned_data
                try:
                    workdays.workday_override_set(
                        actor=user,
                        date=data["date"],
                        is_working_day=data["is_working_day"],
                        reason=data["reason"],
                    )
                except ValidationError as exc:
                    override_form.add_error("reason", exc)
                else:
                    messages.success(
                        request,
                        _("已将 %(d)s 设为本地%(k)s")
                        % {
                            "d": data["date"].isoformat(),
                            "k": _("上班") if data["is_working_day"] else _("休息"),
                        },
                    )
                    return redirect(
                        f"{reverse('core:workdays')}?year={data['date'].year}#overrides"
                    )
        else:
            return HttpResponse(status=400)

    today = timezone.localdate()
    year = _year_param(request, today)
    calendar = workdays.default_calendar()
    calc_form = WorkdayCalcForm(request.GET if "start" in request.GET else None)
    deadline = None
    if calc_form.is_bound and calc_form.is_valid():
        start, n = calc_form.cleaned_data["start"], calc_form.cleaned_data["n"]
        deadline = calendar.add_working_days(start, n)
        deadline_weekday = _WEEKDAYS[deadline.date.weekday()]
    else:
        deadline_weekday = ""
    known_until = workdays.known_until()
    months = []
    for m in range(1, 13):
        days = calendar.month(year, m)
        months.append({"number": m, "weeks": _month_grid(days), "notes": _month_notes(days)})
    official = workdays.Calendar()  # the schedule without overrides: what each override replaces
    overrides = []
    for o in workdays.workday_overrides():
        info = official.day(o.date)
        holiday = _HOLIDAY_NAMES.get(info.holiday, info.holiday)
        words = _DAY_MARKS[info.kind][1]
        overrides.append(
            {
                "override": o,
                "weekday": _WEEKDAYS[o.date.weekday()],
                "official": f"{holiday} · {words}" if holiday else words,
                "official_estimated": info.estimated,
            }
        )
    year_span = calendar.working_days_between(dt.date(year - 1, 12, 31), dt.date(year, 12, 31))
    context = {
        "year": year,
        "years": range(min(year, today.year) - 2, max(year, today.year, known_until.year) + 3),
        "today": today,
        "months": months,
        "weekday_heads": [_("一"), _("二"), _("三"), _("四"), _("五"), _("六"), _("日")],
        "year_span": year_span,
        "known_until": known_until,
        "year_estimated": not calendar.known_from.year <= year <= known_until.year,
        "calc_form": calc_form,
        "deadline": deadline,
        "deadline_weekday": deadline_weekday,
        "can_edit": can_edit,
        "override_form": override_form,
        "overrides": overrides,
        "legend": [_DAY_MARKS[k] + (k,) for k in _DAY_MARKS],
    }
    return render(request, "core/workdays.html", context)
