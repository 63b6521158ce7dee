"""Pages of 一门受理: the queue, intake, an application, a case and its actions, the printable
letters and notice list, reviews due, the cycle-time dashboard and the items' rules.

Views parse input, call one selector or service, and render; services raise ``ValidationError``
with a message in plain Chinese, shown on the page with what was typed kept.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.cases import selectors, services, workflow
from doudi.cases.catalog import STEP_LABELS, get_item, load_items
from doudi.cases.models import (
    Appeal,
    ApplicantKind,
    Case,
    Document,
    InvestigationPhoto,
    Origin,
    State,
)
from doudi.core import access
from doudi.core.audit import audit_record
from doudi.core.models import Region, Role, User


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def _month(raw: str | None) -> dt.date | None:
    raw = (raw or "").strip()
    try:
        if len(raw) == 7:
            y, m = raw.split("-")
            return dt.date(int(y), int(m), 1)
        d = dt.date.fromisoformat(raw)
        return d.replace(day=1)
    except ValueError:
        return None


def _int(raw: str | None) -> int | None:
    try:
        return int((raw or "").strip())
    except ValueError:
        return None


def _lines(raw: str | None) -> list[str]:
    text = (raw or "").replace("、", "\n").replace("，", "\n").replace(",", "\n")
    return [x.strip() for x in text.splitlines() if x.strip()]


def _require_staff(user: User) -> None:
    if access.jurisdiction_prefix(user) is None:
        raise PermissionDenied


def cn_date(d: dt.date | None) -> str:
    """2026年3月2日 (letters and notices)."""
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


def yuan(value: Any) -> str:
    return "" if value is None else f"¥{Decimal(value):,.2f}"


# ------------------------------------------------------------------ queue


def queue(request: HttpRequest) -> HttpResponse:
    """The user's work: due today, overdue, missing documents, on notice, for decision."""
    user = _user(request)
    _require_staff(user)
    today = timezone.localdate()
    tabs = selectors.queue_tabs(user=user, today=today)
    tab = request.GET.get("tab") or selectors.default_tab(user=user)
    if tab not in tabs:
        tab = "due_today"
    rows = tabs[tab]["rows"]
    if request.GET.get("export") == "xlsx":
        return _queue_export(user, tab, tabs[tab]["label"], rows, today)
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/queue.html",
        {
            "tabs": tabs,
            "tab": tab,
            "page": page,
            "today": today,
            "items": load_items(),
            "can_intake": services._has(user, services.CAN_INTAKE),
            "appeals": selectors.open_appeals(user=user)[:20],
        },
    )


def _queue_export(user: User, tab: str, label: str, rows: Any, today: dt.date) -> HttpResponse:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet(label[:30])
    bold = book.add_format({"bold": True, "bg_color": "#E8EEF7", "border": 1})
    items = load_items()
    count = 0
    if tab == "documents":
        sheet.write_row(
            0, 0, ["申请编号", "家庭编号", "村（社区）", "材料", "补交期限", "最近提醒"], bold
        )
        for i, d in enumerate(rows, start=1):
            count += 1
            sheet.write_row(
                i,
                0,
                [
                    d.application.number,
                    d.application.household.number,
                    d.application.region.name,
                    d.name,
                    f"{d.due_on:%Y-%m-%d}" if d.due_on else "",
                    f"{d.reminded_on:%Y-%m-%d}" if d.reminded_on else "",
                ],
            )
    else:
        sheet.write_row(
            0,
            0,
            [
                "办件编号",
                "事项",
                "家庭编号",
                "村（社区）",
                "状态",
                "受理日期",
                "本环节时限",
                "办结时限",
            ],
            bold,
        )
        for i, c in enumerate(rows, start=1):
            count += 1
            sheet.write_row(
                i,
                0,
                [
                    c.number,
                    items[c.item].short,
                    c.application.household.number,
                    c.application.region.name,
                    c.get_state_display(),
                    f"{c.opened_on:%Y-%m-%d}",
                    f"{c.step_due_on:%Y-%m-%d}" if c.step_due_on else "",
                    f"{c.due_on:%Y-%m-%d}",
                ],
            )
    sheet.write(
        count + 2,
        0,
        f"共 {count} 条；导出人 {user.get_username()}；导出时间 {timezone.localtime():%Y-%m-%d %H:%M}",
    )
    sheet.set_column(0, 7, 16)
    book.close()
    audit_record(
        actor=user,
        event="cases.queue_export",
        subject_type="queue",
        subject_label=tab,
        region_code=access.jurisdiction_prefix(user) or "",
        new={"rows": count},
    )
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="cases-{tab}-{today.isoformat()}.xlsx"'
    return response


# ------------------------------------------------------------------ intake


def _intake_docs(codes: list[str], agent: bool) -> list[dict[str, Any]]:
    items = [get_item(c) for c in codes if c in load_items()]
    specs = services._document_specs(items, agent=agent)
    return [
        {
            "code": code,
            "name": name,
            "required": required,
            "deferrable": due is not None,
            "due": due,
            "items": [get_item(i).short for i in for_items],
        }
        for code, (name, required, due, for_items) in specs.items()
    ]


def intake(request: HttpRequest) -> HttpResponse:
    """受理: find the household, choose items (one application, many items), who applied,
    documents (容缺 allowed), the signed authorisation."""
    from doudi.policy.verification import authorisation_valid_for
    from doudi.registry.selectors import (
        current_household,
        household_get_for_user,
        household_members,
        person_search,
    )

    user = _user(request)
    if not services._has(user, services.CAN_INTAKE):
        raise PermissionDenied
    today = timezone.localdate()
    data = request.POST if request.method == "POST" else request.GET
    household = None
    raw_hh = data.get("household")
    if raw_hh:
        household = household_get_for_user(user=user, household_id=_int(raw_hh) or 0)
    q = request.GET.get("q", "").strip()
    found = []
    search_message = ""
    if q and household is None:
        outcome = person_search(user=user, query=q)
        search_message = outcome.message
        for p in outcome.persons[:20]:
            m = current_household(person=p)
            found.append({"person": p, "household": m.household if m else None})
    items = load_items()
    chosen = [c for c in data.getlist("items") if c in items]
    agent = data.get("applicant_kind") == ApplicantKind.AGENT or user.role == Role.VILLAGE_WORKER
    errors: list[str] = []
    status = 200
    if request.method == "POST" and household is not None and "refresh" not in request.POST:
        try:
            application = _accept_from_form(request, user, household, chosen)
        except ValidationError as exc:
            errors.extend(exc.messages)
            status = 400
        except PermissionDenied as exc:
            errors.append(str(exc) or _("无权办理"))
            status = 403
        else:
            missing = application.documents.filter(status=Document.Status.MISSING).count()
            messages.success(
                request,
                _("已受理 %(n)s，共 %(k)s 个事项")
                % {"n": application.number, "k": application.cases.count()}
                + (_("；%(m)s 项材料容缺待补") % {"m": missing} if missing else ""),
            )
            return redirect("cases:application", application_id=application.pk)
    members = list(household_members(household=household)) if household else []
    open_cases = (
        selectors.cases_visible_to(user).filter(
            application__household=household, state__in=workflow.OPEN_STATES
        )
        if household
        else []
    )
    valid_auth = (
        authorisation_valid_for(household_id=household.pk, as_of=today) if household else None
    )
    ctx = {
        "household": household,
        "members": members,
        "open_cases": open_cases,
        "q": q,
        "found": found,
        "search_message": search_message,
        "items": items.values(),
        "chosen": chosen,
        "documents": _intake_docs(chosen, agent),
        "form": data,
        "received": set(data.getlist("received")),
        "errors": errors,
        "valid_auth": valid_auth,
        "today": today,
        "is_helper": user.role == Role.VILLAGE_WORKER,
        "origins": [(Origin.WINDOW, _("窗口申请")), (Origin.ONLINE, _("网上申请"))],
    }
    if request.htmx and request.GET.get("partial") == "documents":
        return render(request, "cases/_intake_documents.html", ctx)
    return render(request, "cases/intake.html", ctx, status=status)


def _accept_from_form(request: HttpRequest, user: User, household: Any, chosen: list[str]) -> Any:
    p = request.POST
    persons = {}
    for code in chosen:
        pid = _int(p.get(f"person_{code}"))
        if pid:
            persons[code] = pid
    kind = p.get("applicant_kind") or ApplicantKind.SELF
    applicant = services.Applicant(
        kind=kind,
        person_id=_int(p.get("applicant_person")),
        agent_name=p.get("agent_name", ""),
        agent_relation=p.get("agent_relation", ""),
    )
    files = {
        key[len("file_") :]: f for key, f in request.FILES.items() if key.startswith("file_") and f
    }
    auth = None
    if request.FILES.get("auth_scan") or p.get("auth_signed_by", "").strip():
        signed_on = _date(p.get("auth_signed_on"))
        if signed_on is None:
            raise ValidationError(_("授权书签署日期格式应为 YYYY-MM-DD"))
        auth = services.AuthorisationInput(
            signed_by=p.get("auth_signed_by", ""),
            signed_on=signed_on,
            scan=request.FILES.get("auth_scan"),
        )
    origin = p.get("origin") or None
    if user.role == Role.VILLAGE_WORKER or origin not in (Origin.WINDOW, Origin.ONLINE):
        origin = None
    return services.application_accept(
        actor=user,
        household=household,
        items=chosen,
        persons=persons,
        applicant=applicant,
        received=p.getlist("received"),
        files=files,
        origin=origin,
        note=p.get("note", ""),
        authorisation=auth,
    )


# ------------------------------------------------------------------ application


def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    from doudi.registry.selectors import household_members

    user = _user(request)
    application = selectors.application_get_for_user(user=user, application_id=application_id)
    audit_record(
        actor=user,
        event="cases.application_view",
        subject_type="application",
        subject_id=application.pk,
        subject_label=application.number,
        region_code=application.region_id,
    )
    items = load_items()
    cases = [
        {"case": c, "item": items[c.item], "overdue": services.is_overdue(c, timezone.localdate())}
        for c in application.cases.select_related("person").order_by("id")
    ]
    return render(
        request,
        "cases/application.html",
        {
            "application": application,
            "household": application.household,
            "members": household_members(household=application.household),
            "cases": cases,
            "documents": application.documents.select_related("waived_by").order_by("status", "id"),
            "today": timezone.localdate(),
            "can_supply": services._has(user, services.CAN_INTAKE | services.CAN_SUPERVISE),
            "can_waive": services._has(user, services.CAN_SUPERVISE),
        },
    )


@require_POST
def document_action(request: HttpRequest, document_id: int) -> HttpResponse:
    user = _user(request)
    document = selectors.document_get_for_user(user=user, document_id=document_id)
    action = request.POST.get("action")
    try:
        if action == "supply":
            services.document_supply(actor=user, document=document, file=request.FILES.get("file"))
            messages.success(request, _("已登记补交：%(d)s") % {"d": document.name})
        elif action == "waive":
            services.document_waive(
                actor=user, document=document, reason=request.POST.get("reason", "")
            )
            messages.success(request, _("已免交：%(d)s") % {"d": document.name})
        elif action == "remind":
            services.document_remind(actor=user, document=document)
            messages.success(request, _("已记录提醒：%(d)s") % {"d": document.name})
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    except PermissionDenied:
        messages.error(request, _("您的角色不能办理此项操作（免交须由区县审核员办理）"))
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = reverse("cases:application", args=[document.application_id])
    return redirect(nxt)


def document_file(request: HttpRequest, document_id: int) -> FileResponse:
    user = _user(request)
    document = selectors.document_get_for_user(user=user, document_id=document_id)
    if not document.file:
        raise Http404
    audit_record(
        actor=user,
        event="cases.document_view",
        subject_type="document",
        subject_id=document.pk,
        subject_label=document.name,
        region_code=document.application.region_id,
    )
    return FileResponse(
        document.file.open("rb"),
        as_attachment=False,
        filename=document.file.name.rsplit("/", 1)[-1],
    )


def photo_file(request: HttpRequest, photo_id: int) -> FileResponse:
    user = _user(request)
    photo = (
        InvestigationPhoto.objects.select_related("investigation__case").filter(pk=photo_id).first()
    )
    if photo is None:
        raise Http404
    case = selectors.case_get_for_user(user=user, case_id=photo.investigation.case_id)
    audit_record(
        actor=user,
        event="cases.photo_view",
        subject_type="case",
        subject_id=case.pk,
        subject_label=case.number,
        region_code=case.application.region_id,
    )
    return FileResponse(photo.file.open("rb"), as_attachment=False)


# ------------------------------------------------------------------ a case


def _case_context(
    request: HttpRequest, case: Case, *, form: Any = None, errors: list[str] | None = None
) -> dict[str, Any]:
    from doudi.policy.verification import authorisation_valid_for
    from doudi.registry.selectors import household_members

    user = _user(request)
    today = timezone.localdate()
    item = get_item(case.item)
    steps = []
    for s in case.steps.select_related("completed_by").order_by("started_on", "id"):
        spec = item.step(s.step)
        late = (s.completed_on or today) > s.due_on if s.completed_on else s.due_on < today
        steps.append(
            {"step": s, "label": STEP_LABELS.get(s.step, s.step), "spec": spec, "late": late}
        )
    household = case.application.household
    decider_roles = services.CAN_DECIDE[item.decider]
    benefits: list[Any] = []
    if item.outcome in ("adjust", "review", "stop") and case.state in (
        State.DECISION,
        State.COMMITTEE,
    ):
        try:
            from doudi.cases import payments

            benefits = payments.active_benefits(household_id=household.pk)
        except Exception:  # noqa: BLE001 - the benefits app's selector missing must not break the page
            benefits = []
    snapshot = case.snapshot or {}
    default_amount = case.proposed_amount or (
        Decimal(snapshot["monthly_benefit"]) if snapshot.get("monthly_benefit") else None
    )
    return {
        "case": case,
        "item": item,
        "application": case.application,
        "household": household,
        "members": household_members(household=household),
        "steps": steps,
        "documents": [d for d in case.application.documents.order_by("id") if case.item in d.items],
        "missing": services.missing_documents(case),
        "investigations": case.investigations.prefetch_related("photos"),
        "committee": getattr(case, "committee", None),
        "appeals": case.appeals.order_by("-received_on"),
        "events": case.events.select_related("actor").order_by("on", "id"),
        "allowed": workflow.allowed(case.state),
        "overdue": services.is_overdue(case, today),
        "today": today,
        "next_month": services.payments.next_month(today),
        "can_process": services._has(user, services.CAN_PROCESS)
        and access.region_in_jurisdiction(user, case.application.region_id),
        "can_investigate": services._has(user, services.CAN_INVESTIGATE),
        "can_decide": services._has(user, decider_roles),
        "can_supervise": services._has(user, services.CAN_SUPERVISE),
        "can_appeal": services._has(user, services.CAN_APPEAL),
        "valid_auth": authorisation_valid_for(household_id=household.pk, as_of=today),
        "benefits": benefits,
        "default_amount": default_amount,
        "form": form or {},
        "errors": errors or [],
        "care_levels": services.CARE_LEVELS,
        "review_actions": [(a, services.ACTION_LABELS[a]) for a in services.REVIEW_ACTIONS],
        "exit_actions": [(a, services.ACTION_LABELS[a]) for a in services.EXIT_ACTIONS],
        "appeal_kinds": Appeal.Kind.choices,
        "appeal_outcomes": [c for c in Appeal.Status.choices if c[0] != "open"],
        "action_labels": services.ACTION_LABELS,
        "eligible_labels": {"yes": _("符合"), "no": _("不符合"), "unknown": _("待核实")},
        "is_tekun": item.category == "tekun",
    }


def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    user = _user(request)
    case = selectors.case_get_for_user(user=user, case_id=case_id)
    audit_record(
        actor=user,
        event="cases.case_view",
        subject_type="case",
        subject_id=case.pk,
        subject_label=case.number,
        region_code=case.application.region_id,
    )
    return render(request, "cases/case.html", _case_context(request, case))


def _outcome(p: Any) -> services.Outcome:
    decision = p.get("decision", "approve")
    return services.Outcome(
        approve=decision != "refuse",
        reasons=p.get("reasons", ""),
        monthly_amount=p.get("amount") or None,
        start_month=_month(p.get("start_month")),
        action=p.get("outcome_action", ""),
        exit_months=_int(p.get("exit_months")),
        care_level=p.get("care_level", ""),
        benefit_id=_int(p.get("benefit_id")),
    )


_DONE = {
    "verify": "信息核对完成，结果已附在办件上",
    "pay_advance": "先行救助已发放，请在期限内补齐手续",
    "investigate": "入户调查已登记",
    "first_review": "初审意见已提交",
    "close_notice": "公示已结束，待审核确认",
    "decide": "决定已作出",
    "to_committee": "已提交一事一议",
    "committee_decide": "一事一议决定已登记",
    "refer": "已转介",
    "withdraw": "已撤回",
    "extend": "已延期",
    "escalate": "已上报区县",
    "appeal": "复议（申诉）已登记",
    "appeal_resolve": "复议（申诉）办理结果已登记",
    "referral_outcome": "转介办理结果已登记",
}


@require_POST
def case_act(request: HttpRequest, case_id: int) -> HttpResponse:
    """Every action on a case: parse the form, call the one service, go back to the case."""
    user = _user(request)
    case = selectors.case_get_for_user(user=user, case_id=case_id)
    p = request.POST
    action = p.get("action", "")
    try:
        if action == "verify":
            services.case_verify(actor=user, case=case)
        elif action == "pay_advance":
            services.case_pay_advance(
                actor=user, case=case, amount=p.get("amount", ""), reason=p.get("reason", "")
            )
        elif action == "investigate":
            visited = _date(p.get("visited_on"))
            if visited is None:
                raise ValidationError(_("调查日期格式应为 YYYY-MM-DD"))
            failed = p.get("self_care_failed")
            services.case_investigate(
                actor=user,
                case=case,
                visited_on=visited,
                staff=_lines(p.get("staff")),
                findings=p.get("findings", ""),
                neighbours=p.get("neighbours", ""),
                self_care_failed=_int(failed) if failed not in (None, "") else None,
                photos=request.FILES.getlist("photos"),
            )
        elif action == "first_review":
            services.case_first_review(
                actor=user,
                case=case,
                recommend=p.get("recommend") != "no",
                opinion=p.get("opinion", ""),
                proposed_amount=p.get("amount") or None,
            )
        elif action == "close_notice":
            services.case_close_notice(actor=user, case=case, objections=p.get("objections", ""))
        elif action == "decide":
            services.case_decide(actor=user, case=case, outcome=_outcome(p))
        elif action == "to_committee":
            services.case_to_committee(actor=user, case=case, reason=p.get("reason", ""))
        elif action == "committee_decide":
            met = _date(p.get("met_on"))
            if met is None:
                raise ValidationError(_("会议日期格式应为 YYYY-MM-DD"))
            services.case_committee_decide(
                actor=user,
                case=case,
                met_on=met,
                members=_lines(p.get("members")),
                votes_for=_int(p.get("votes_for")) or 0,
                votes_against=_int(p.get("votes_against")) or 0,
                votes_abstain=_int(p.get("votes_abstain")) or 0,
                minutes=p.get("minutes", ""),
                outcome=_outcome(p),
            )
        elif action == "refer":
            services.case_refer(
                actor=user, case=case, department=p.get("department", ""), note=p.get("note", "")
            )
        elif action == "referral_outcome":
            services.case_referral_outcome(actor=user, case=case, outcome=p.get("outcome", ""))
        elif action == "withdraw":
            services.case_withdraw(actor=user, case=case, reason=p.get("reason", ""))
        elif action == "extend":
            services.case_extend(actor=user, case=case, reason=p.get("reason", ""))
        elif action == "escalate":
            services.case_escalate(actor=user, case=case)
        elif action == "appeal":
            received = _date(p.get("received_on"))
            if received is None:
                raise ValidationError(_("收到日期格式应为 YYYY-MM-DD"))
            services.appeal_record(
                actor=user,
                case=case,
                kind=p.get("kind", ""),
                received_on=received,
                appellant=p.get("appellant", ""),
                grounds=p.get("grounds", ""),
            )
        elif action == "appeal_resolve":
            appeal = case.appeals.filter(pk=_int(p.get("appeal")) or 0).first()
            if appeal is None:
                raise Http404
            services.appeal_resolve(
                actor=user,
                appeal=appeal,
                status=p.get("status", ""),
                resolution=p.get("resolution", ""),
            )
        else:
            raise Http404
    except (ValidationError, PermissionDenied) as exc:
        errors = exc.messages if isinstance(exc, ValidationError) else [str(exc) or _("无权办理")]
        case = selectors.case_get_for_user(user=user, case_id=case_id)
        ctx = _case_context(request, case, form=p, errors=errors)
        ctx["failed_action"] = action
        return render(
            request,
            "cases/case.html",
            ctx,
            status=403 if isinstance(exc, PermissionDenied) else 400,
        )
    messages.success(request, _(_DONE.get(action, "已办理")))
    return redirect("cases:case", case_id=case.pk)


# ------------------------------------------------------------------ printed documents


def _pdf_response(pdf: bytes, name: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{name}"'
    return response


def _subject(case: Case) -> tuple[str, str]:
    """The name and masked ID of the case's person, or of the household's head."""
    from doudi.registry.selectors import household_members

    person = case.person
    if person is None:
        m = household_members(household=case.application.household).filter(relation="head").first()
        person = m.person if m else None
    return (person.name, person.masked_id) if person else ("", "")


def refusal_letter(request: HttpRequest, case_id: int) -> HttpResponse:
    """不予批准（停发）告知书, A4, with the reasons, the legal basis and the appeal rights."""
    from doudi.core.pdf import KeyValues, Paragraph, Spacer, render_document

    user = _user(request)
    case = selectors.case_get_for_user(user=user, case_id=case_id)
    if not (
        case.state == State.REFUSED or (case.state == State.APPROVED and case.action == "stop")
    ):
        raise Http404
    item = get_item(case.item)
    name, masked = _subject(case)
    county = Region.objects.filter(code=case.application.county_code).first()
    town = Region.objects.filter(code=case.application.town_code).first()
    stop = case.action == "stop"
    title = f"{item.short}{'停发' if stop else '不予批准'}告知书"
    body = (
        f"{name}：\n你（你家庭）于{cn_date(case.opened_on)}提出的{item.name}"
        f"（办件编号 {case.number}），经信息核对、入户调查和审核，"
        f"{county.name if county else ''}民政局于{cn_date(case.decided_on)}决定"
        f"{'自' + cn_date(case.start_month)[:-2] + '起停发' if stop and case.start_month else '不予批准'}。"
    )
    blocks = [
        KeyValues(
            [
                ("申请人", f"{name}（{masked}）"),
                ("家庭编号", case.application.household.number),
                ("申请事项", item.name),
                ("受理日期", cn_date(case.opened_on)),
                ("决定日期", cn_date(case.decided_on)),
            ]
        ),
        Spacer(4),
        Paragraph(body, indent=True),
        Paragraph(f"理由：{case.reasons}", indent=True),
        Paragraph("依据：" + "；".join(item.legal_basis), indent=True),
        Paragraph(
            "如对本决定不服，可以自收到本告知书之日起六十日内依法申请行政复议，或者自收到本告知书之日起"
            "六个月内依法向人民法院提起行政诉讼。家庭情况发生变化的，可以重新提出申请。",
            indent=True,
        ),
        Spacer(6),
        Paragraph(
            f"{county.name if county else ''}民政局\n{town.name if town else ''}人民政府（办事处）代转\n"
            f"{cn_date(case.decided_on)}"
        ),
    ]
    pdf = render_document(
        title=title,
        subtitle=f"办件编号 {case.number}",
        blocks=blocks,
        footer=f"{case.number} · 告知时限 {case.letter_due:%Y-%m-%d}"
        if case.letter_due
        else case.number,
        signature_lines=["经办人", "审核人"],
    )
    audit_record(
        actor=user,
        event="cases.letter_pdf",
        subject_type="case",
        subject_id=case.pk,
        subject_label=case.number,
        region_code=case.application.region_id,
    )
    return _pdf_response(pdf, f"letter-{case.number}.pdf")


def approval_form(request: HttpRequest, case_id: int) -> HttpResponse:
    """审核审批表: the case's record from acceptance to decision, for signing and filing."""
    from doudi.core.pdf import Heading, KeyValues, Paragraph, Table, render_document

    user = _user(request)
    case = selectors.case_get_for_user(user=user, case_id=case_id)
    ctx = _case_context(request, case)
    item = ctx["item"]
    name, masked = _subject(case)
    snap = case.snapshot or {}
    blocks: list[Any] = [
        KeyValues(
            [
                ("申请人（对象）", f"{name}（{masked}）"),
                ("家庭编号", case.application.household.number),
                ("住址", case.application.household.address or case.application.region.name),
                ("申请事项", item.name),
                (
                    "申请方式",
                    case.application.get_origin_display()
                    + (
                        f"，代理人 {case.application.agent_name}（{case.application.agent_relation}）"
                        if case.application.agent_name
                        else ""
                    ),
                ),
                ("受理日期", cn_date(case.opened_on)),
                ("办结时限", f"{cn_date(case.due_on)}{'（估算）' if case.due_estimated else ''}"),
            ]
        ),
        Heading("一、材料"),
        Table(
            columns=["材料", "状态", "说明"],
            rows=[
                [
                    d.name,
                    d.get_status_display(),
                    d.waive_reason
                    or (f"期限 {d.due_on:%Y-%m-%d}" if d.due_on and d.status == "missing" else ""),
                ]
                for d in ctx["documents"]
            ]
            or [["—", "", ""]],
            col_widths=[4, 1.4, 3],
        ),
        Heading("二、信息核对"),
        Paragraph(
            f"核对基准日 {snap.get('as_of', '—')}；家庭类别：{'、'.join(snap.get('categories') or []) or '无'}；"
            f"月人均收入 {yuan(snap.get('per_capita_income')) or '未知'}；测算月待遇 {yuan(snap.get('monthly_benefit')) or '—'}；"
            f"政策版本 {snap.get('policy_version', '—')}"
            if snap
            else "本事项无信息核对环节。"
        ),
        Heading("三、入户调查"),
    ]
    for inv in ctx["investigations"]:
        blocks.append(
            Paragraph(
                f"{cn_date(inv.visited_on)}，调查人员：{'、'.join(inv.staff)}。{inv.findings}"
            )
        )
    blocks += [
        Heading("四、办理环节"),
        Table(
            columns=["环节", "开始", "时限", "完成", "经办人"],
            rows=[
                [
                    s["label"],
                    f"{s['step'].started_on:%Y-%m-%d}",
                    f"{s['step'].due_on:%Y-%m-%d}{'（估算）' if s['step'].due_estimated else ''}",
                    f"{s['step'].completed_on:%Y-%m-%d}" if s["step"].completed_on else "",
                    str(s["step"].completed_by or ""),
                ]
                for s in ctx["steps"]
            ],
            col_widths=[1.6, 1.6, 2.2, 1.6, 1.6],
        ),
        Heading("五、初审意见"),
        Paragraph(case.review_opinion or "—"),
        Heading("六、审核确认"),
        Paragraph(
            (
                f"{'批准' if case.approved else '不予批准'}；{ctx['action_labels'].get(case.action, '')}"
                + (f"；金额 {yuan(case.monthly_amount)}" if case.monthly_amount else "")
                + (f"；自{cn_date(case.start_month)[:-2]}起" if case.start_month else "")
                + (f"；理由：{case.reasons}" if case.reasons else "")
            )
            if case.decided_on
            else "尚未作出决定。"
        ),
    ]
    pdf = render_document(
        title=f"{item.name}审核审批表",
        subtitle=f"办件编号 {case.number}",
        blocks=blocks,
        footer=f"{case.number} · 身份证号已脱敏",
        signature_lines=["经办人", "初审人", "审核确认人"],
    )
    audit_record(
        actor=user,
        event="cases.approval_pdf",
        subject_type="case",
        subject_id=case.pk,
        subject_label=case.number,
        region_code=case.application.region_id,
    )
    return _pdf_response(pdf, f"approval-{case.number}.pdf")


def _notice_scope(request: HttpRequest, user: User) -> tuple[str, dt.date]:
    prefix = access.jurisdiction_prefix(user)
    if prefix is None:
        raise PermissionDenied
    region = (request.GET.get("region") or prefix).strip()
    if not region.startswith(prefix):
        region = prefix
    on = _date(request.GET.get("on")) or timezone.localdate()
    return region, on


def notices(request: HttpRequest) -> HttpResponse:
    """The cases on public notice on a date, by village (what the notice board shows)."""
    user = _user(request)
    region, on = _notice_scope(request, user)
    from doudi.registry.selectors import regions_for_user

    return render(
        request,
        "cases/notices.html",
        {
            "rows": selectors.notice_rows(region_prefix=region, on=on),
            "region": region,
            "on": on,
            "regions": regions_for_user(user=user).filter(level__in=["county", "town"]),
        },
    )


def notices_pdf(request: HttpRequest) -> HttpResponse:
    """公示名单, A4: no ID numbers, no minors, the period and where to object."""
    from doudi.core.pdf import Paragraph, Spacer, Table, render_document

    user = _user(request)
    region, on = _notice_scope(request, user)
    rows = selectors.notice_rows(region_prefix=region, on=on)
    place = Region.objects.filter(code=region).first()
    periods = sorted({(r["notice_from"], r["notice_until"]) for r in rows})
    blocks: list[Any] = [
        Paragraph(
            "根据《最低生活保障审核确认办法》（民发〔2021〕57号）和《特困人员认定办法》，现将下列拟纳入"
            "（或拟变更、终止）社会救助的对象予以公示。如有异议，请在公示期内向乡镇人民政府（街道办事处）"
            "社会救助窗口实名反映，我们将依法保护反映人信息。",
            indent=True,
        ),
        Table(
            columns=[
                "序号",
                "村（社区）",
                "姓名",
                "家庭人口",
                "救助事项",
                "拟发金额（元/月）",
                "公示期",
            ],
            rows=[
                [
                    str(i),
                    r["village"],
                    r["name"],
                    str(r["members"]),
                    r["item"],
                    f"{Decimal(r['amount']):,.0f}" if r["amount"] is not None else "—",
                    f"{r['notice_from']:%m-%d}至{r['notice_until']:%m-%d}",
                ]
                for i, r in enumerate(rows, start=1)
            ]
            or [["—", "本期无公示对象", "", "", "", "", ""]],
            col_widths=[0.8, 2, 1.4, 1.1, 1.8, 1.6, 1.8],
            align=["C", "L", "L", "R", "L", "R", "C"],
        ),
        Spacer(3),
        Paragraph(
            f"公示期：{cn_date(periods[0][0])}至{cn_date(periods[-1][1])}（每户7天）。"
            if periods
            else "公示期：7天。"
        ),
        Paragraph("监督电话：________________    未成年人信息依法不予公示。"),
    ]
    pdf = render_document(
        title=f"{place.name if place else ''}社会救助对象公示名单",
        subtitle=f"{cn_date(on)}",
        blocks=blocks,
        footer="依法公示，请勿撕毁 · 不含身份证号码",
        signature_lines=["公示单位"],
    )
    audit_record(
        actor=user,
        event="cases.notice_pdf",
        subject_type="notice",
        subject_label=region,
        region_code=region,
        new={"on": on, "rows": len(rows)},
    )
    return _pdf_response(pdf, f"notice-{region}-{on.isoformat()}.pdf")


# ------------------------------------------------------------------ reviews


def reviews(request: HttpRequest) -> HttpResponse:
    """Households due for review (yearly or six-monthly), and opening review cases in bulk."""
    user = _user(request)
    prefix = access.jurisdiction_prefix(user)
    if prefix is None or user.role not in (
        Role.TOWN_CLERK,
        Role.COUNTY_APPROVER,
        Role.CITY_ADMIN,
        Role.CITY_ANALYST,
    ):
        raise PermissionDenied
    today = timezone.localdate()
    within = _int(request.GET.get("within")) or 30
    if request.method == "POST":
        town = request.POST.get("town", "").strip()
        try:
            opened = services.reviews_open(actor=user, town_code=town, within_days=within)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("已发起复核 %(n)s 户") % {"n": len(opened)})
        return redirect(f"{reverse('cases:reviews')}?within={within}")
    rows = selectors.reviews_due(region_prefix=prefix, as_of=today, within_days=within)
    towns: dict[str, int] = {}
    for r in rows:
        code = r["household"].region_id[:9]
        towns[code] = towns.get(code, 0) + 1
    names = dict(Region.objects.filter(code__in=towns).values_list("code", "name"))
    return render(
        request,
        "cases/reviews.html",
        {
            "rows": rows,
            "within": within,
            "today": today,
            "towns": [
                {"code": c, "name": names.get(c, c), "n": n} for c, n in sorted(towns.items())
            ],
            "can_open": services._has(user, services.CAN_PROCESS | services.CAN_SUPERVISE),
        },
    )


# ------------------------------------------------------------------ dashboard


def dashboard(request: HttpRequest) -> HttpResponse:
    """Cycle times: median and 90th percentile working days from application to decision, per
    item against the statutory limit, per town and per month."""
    user = _user(request)
    prefix = access.jurisdiction_prefix(user)
    if prefix is None:
        raise PermissionDenied
    today = timezone.localdate()
    since = _date(request.GET.get("since")) or today.replace(year=today.year - 1) + dt.timedelta(
        days=1
    )
    until = _date(request.GET.get("until")) or today
    region = request.GET.get("region", "").strip() or prefix
    if not region.startswith(prefix):
        region = prefix
    item = request.GET.get("item", "")
    data = selectors.cycle_times(region_prefix=region, since=since, until=until, item=item)
    items = [r for r in data["items"]]
    chart = {
        "items": [r["item"].short for r in items],
        "median": [r["median"] for r in items],
        "p90": [r["p90"] for r in items],
        "limit": [r["limit"] for r in items],
        "months": data["month_list"],
        "series": [],
    }
    by_item: dict[str, dict[str, Any]] = {}
    for r in data["months"]:
        by_item.setdefault(r["item"].short, {})[r["month"]] = r["median"]
    for label, values in by_item.items():
        chart["series"].append({"name": label, "data": [values.get(m) for m in data["month_list"]]})
    from doudi.registry.selectors import regions_for_user

    return render(
        request,
        "cases/dashboard.html",
        {
            "data": data,
            "since": since,
            "until": until,
            "region": region,
            "item": item,
            "items": load_items().values(),
            "regions": regions_for_user(user=user).filter(level__in=["city", "county", "town"]),
            "chart": chart,
        },
    )


def items_catalog(request: HttpRequest) -> HttpResponse:
    """The items' steps, limits and documents, with the text each comes from."""
    _require_staff(_user(request))
    return render(
        request, "cases/items.html", {"items": load_items().values(), "step_labels": STEP_LABELS}
    )
