from __future__ import annotations

import io

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.core import access
from doudi.core.models import RegionLevel, User
from doudi.registry import selectors, services
from doudi.registry.errors import RegistryError
from doudi.registry.forms import HouseholdForm, MemberFormSet, SearchForm, StatusForm


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def search(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not access.can_search_persons(user):
        raise PermissionDenied
    form = SearchForm(request.GET or None)
    outcome = None
    page = None
    if form.is_valid() and (form.cleaned_data["q"] or form.cleaned_data["region"]):
        outcome = selectors.person_search(
            user=user,
            query=form.cleaned_data["q"],
            region_code=form.cleaned_data["region"],
            status=form.cleaned_data["status"],
        )
        if request.GET.get("export") == "xlsx":
            return _export(request, user, outcome.persons, form.cleaned_data)
        page = Paginator(outcome.persons, 25).get_page(request.GET.get("page"))
    regions = selectors.regions_for_user(user=user).exclude(level=RegionLevel.VILLAGE)
    template = "registry/_results.html" if request.htmx else "registry/search.html"
    return render(
        request,
        template,
        {
            "form": form,
            "outcome": outcome,
            "page": page,
            "regions": regions,
            "can_export": access.can_export_persons(user),
        },
    )


def _export(request: HttpRequest, user: User, persons, criteria: dict) -> HttpResponse:
    import xlsxwriter

    description = "；".join(f"{k}={v}" for k, v in criteria.items() if v)
    rows = selectors.persons_export_rows(user=user, persons=persons, description=description)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("人员")
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    headers = ["姓名", "身份证号（脱敏）", "性别", "出生日期", "镇街", "村居", "城乡", "状态"]
    sheet.write_row(0, 0, headers, bold)
    for i, row in enumerate(rows, start=1):
        sheet.write_row(i, 0, row)
    sheet.write(
        len(rows) + 2,
        0,
        f"共 {len(rows)} 条；导出人 {user.get_username()}；"
        f"导出时间 {timezone.localtime():%Y-%m-%d %H:%M}",
    )
    sheet.set_column(0, 0, 10)
    sheet.set_column(1, 1, 22)
    sheet.set_column(3, 5, 14)
    sheet.freeze_panes(1, 0)
    book.close()
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="persons-{stamp}.xlsx"'
    return response


def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    user = _user(request)
    person = selectors.person_get_for_user(user=user, person_id=person_id)
    selectors.person_view_record(user=user, person=person)
    return render(
        request,
        "registry/person.html",
        {
            "person": person,
            "memberships": selectors.person_memberships(person=person),
            "events": selectors.person_events(person=person),
            "current": selectors.current_household(person=person),
            "can_reveal": access.can_reveal_id(user),
            "can_edit": access.can_register(user),
            "status_form": StatusForm(initial={"date": timezone.localdate()}),
        },
    )


@require_POST
def person_reveal(request: HttpRequest, person_id: int) -> HttpResponse:
    user = _user(request)
    person = selectors.person_get_for_user(user=user, person_id=person_id)
    number = selectors.person_reveal_id(user=user, person=person)
    if request.htmx:
        return render(request, "registry/_revealed_id.html", {"number": number})
    messages.info(request, _("完整身份证号：%(n)s（本次查看已记入审计日志）") % {"n": number})
    return redirect("registry:person", person_id=person.pk)


@require_POST
def person_status(request: HttpRequest, person_id: int) -> HttpResponse:
    user = _user(request)
    if not access.can_register(user):
        raise PermissionDenied
    person = selectors.person_get_for_user(user=user, person_id=person_id)
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            services.person_set_status(
                actor=user,
                person=person,
                status=form.cleaned_data["status"],
                date=form.cleaned_data["date"],
                note=form.cleaned_data["note"],
            )
        except RegistryError as exc:
            messages.error(request, exc.zh)
        else:
            messages.success(request, _("状态已更新，原状态保留在历史中。"))
    else:
        for errors in form.errors.values():
            for e in errors:
                messages.error(request, e)
    return redirect("registry:person", person_id=person.pk)


def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    user = _user(request)
    household = selectors.household_get_for_user(user=user, household_id=household_id)
    selectors.household_view_record(user=user, household=household)
    return render(
        request,
        "registry/household.html",
        {
            "household": household,
            "members": selectors.household_members(household=household),
            "former": selectors.household_members(household=household, current=False).filter(
                end_date__isnull=False
            ),
            "events": selectors.household_events(household=household),
        },
    )


def household_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not access.can_register(user):
        raise PermissionDenied
    villages = [
        (r.code, f"{r.parent.name if r.parent else ''} {r.name}")
        for r in selectors.regions_for_user(user=user)
        .filter(level=RegionLevel.VILLAGE)
        .select_related("parent")
        .order_by("code")[:2000]
    ]
    if request.method == "POST":
        form = HouseholdForm(request.POST, villages=villages)
        formset = MemberFormSet(request.POST, prefix="m")
        if form.is_valid() and formset.is_valid():
            members = [
                services.MemberInput(
                    id_number=f.cleaned_data["id_number"],
                    name=f.cleaned_data["name"],
                    relation=f.cleaned_data["relation"],
                    phone=f.cleaned_data.get("phone", ""),
                    disability_category=f.cleaned_data.get("disability_category") or "",
                    disability_grade=f.cleaned_data.get("disability_grade"),
                )
                for f in formset.forms
                if f.cleaned_data
            ]
            try:
                household = services.household_register(
                    actor=user,
                    region_code=form.cleaned_data["region_code"],
                    members=members,
                    address=form.cleaned_data["address"],
                )
            except RegistryError as exc:
                form.add_error(None, exc.zh)
            else:
                messages.success(request, _("家庭 %(n)s 登记成功") % {"n": household.number})
                return redirect("registry:household", household_id=household.pk)
    else:
        form = HouseholdForm(villages=villages)
        formset = MemberFormSet(prefix="m", initial=[{"relation": "head"}])
    return render(request, "registry/household_new.html", {"form": form, "formset": formset})
