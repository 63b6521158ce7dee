"""Writes for one-window applications and their cases.

Every state change is one service, keyword-only, that checks the actor's role and jurisdiction,
validates everything first, then writes in one transaction: the change, a :class:`CaseEvent` and
the audit row. The transitions follow the state machine in :mod:`doudi.cases.workflow`.

``on`` is the date the act took place (default: today; never in the future). Deadlines are
counted in working days from it with ``doudi.core.workdays`` (the day itself does not count); a
deadline beyond the official holiday schedule is stored with ``estimated=True``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from doudi.cases import payments, workflow
from doudi.cases.catalog import Item, get_item, load_items
from doudi.cases.models import (
    Appeal,
    ApplicantKind,
    Application,
    Case,
    CaseEvent,
    CaseStep,
    CommitteeDecision,
    Document,
    Investigation,
    InvestigationPhoto,
    Origin,
    State,
)
from doudi.core import access, workdays
from doudi.core.audit import audit_record
from doudi.core.models import Role, User

#: who may accept applications at the window (village workers: 帮办代办 for their village)
CAN_INTAKE = frozenset({Role.TOWN_CLERK, Role.VILLAGE_WORKER, Role.CITY_ADMIN})
#: who does the town's steps (verification, first review, notice, referral, advance payment)
CAN_PROCESS = frozenset({Role.TOWN_CLERK, Role.CITY_ADMIN})
#: who may record a home investigation (village cadres take part in it)
CAN_INVESTIGATE = frozenset({Role.TOWN_CLERK, Role.VILLAGE_WORKER, Role.CITY_ADMIN})
#: who decides, by the item's ``decider``
CAN_DECIDE = {
    "county": frozenset({Role.COUNTY_APPROVER, Role.CITY_ADMIN}),
    "town": frozenset({Role.TOWN_CLERK, Role.COUNTY_APPROVER, Role.CITY_ADMIN}),
}
#: the supervisor who may waive a missing document, extend a case, hold a committee
CAN_SUPERVISE = frozenset({Role.COUNTY_APPROVER, Role.CITY_ADMIN})
#: who may record appeals and their outcome
CAN_APPEAL = frozenset({Role.TOWN_CLERK, Role.COUNTY_APPROVER, Role.CITY_ADMIN})

#: working days to collect the papers of an application the office opened itself (from an
#: alert or a scheduled review), when the item does not let the document be deferred
PROACTIVE_DOCUMENTS_DUE = 10  # assumed: the same 10 working days as the items' deferrable papers
#: a 一事一议 committee needs at least this many members (assumed: a chair and two members)
COMMITTEE_MIN_MEMBERS = 3
#: days to settle an appeal: 行政复议 60 days (行政复议法), 行政诉讼 6 months (行政诉讼法,
#: first instance), 信访 60 days (信访工作条例)
APPEAL_DAYS = {"reconsideration": 60, "litigation": 183, "complaint": 60}
MAX_FILE_BYTES = 10 * 1024 * 1024
FILE_FORMATS: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF-",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
}
PHOTO_FORMATS = (".jpg", ".jpeg", ".png")
#: review actions (低保复核) and exit actions (停保退出)
REVIEW_ACTIONS = ("continue", "adjust", "gradual_exit", "stop")
EXIT_ACTIONS = ("stop", "gradual_exit")
ACTION_LABELS = {
    "start": "开始发放",
    "once": "一次性发放",
    "adjust": "调整金额",
    "continue": "继续享受",
    "gradual_exit": "渐退",
    "stop": "停发",
    "refuse": "不予批准",
}
CARE_LEVELS = {"self": "全自理", "partial": "半护理", "full": "全护理"}


# ------------------------------------------------------------------ helpers


def _today() -> dt.date:
    return timezone.localdate()


def _on(on: dt.date | None) -> dt.date:
    day = on or _today()
    if day > _today():
        raise ValidationError(
            f"办理日期 {day.isoformat()} 晚于今天 / the date is in the future", code="future"
        )
    return day


def _u(actor: User | None) -> User | None:
    return actor if actor is not None and actor.is_authenticated else None


def _has(actor: User | None, roles: frozenset[str]) -> bool:
    return bool(
        actor is not None and actor.is_authenticated and actor.is_active and actor.role in roles
    )


def _check(actor: User | None, roles: frozenset[str], region_code: str) -> None:
    """``actor=None`` is the system (demo, scheduled jobs); a user needs the role and the region
    in their jurisdiction."""
    if actor is None:
        return
    if not _has(actor, roles):
        raise PermissionDenied("您的角色不能办理此项操作 / your role may not do this")
    if not access.region_in_jurisdiction(actor, region_code):
        raise PermissionDenied(
            "该申请不在您的辖区内 / the application is outside your jurisdiction"
        )


def deadline(start: dt.date, days: int, unit: str = "working") -> workdays.Deadline:
    """``days`` working (or calendar) days after ``start``."""
    if unit == "calendar":
        return workdays.Deadline(date=start + dt.timedelta(days=days), estimated=False)
    return workdays.add_working_days(start, days)


def _money(value: Any, *, field: str, positive: bool = True) -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("¥", ""))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{field}不是有效金额 / {field} is not an amount") from None
    if not amount.is_finite() or amount < 0 or (positive and amount == 0):
        raise ValidationError(
            f"{field}应大于0 / {field} must be above 0"
            if positive
            else f"{field}不能为负 / {field} cannot be negative"
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(f"{field}最多两位小数 / at most two decimals")
    return amount.quantize(Decimal("0.01"))


def _text(value: str, *, field: str, limit: int = 4000) -> str:
    text = " ".join((value or "").split()) if "\n" not in (value or "") else (value or "").strip()
    if not text:
        raise ValidationError(f"请填写{field} / {field} is required", code="required")
    return text[:limit]


def _check_file(f: UploadedFile, *, formats: Sequence[str] = tuple(FILE_FORMATS)) -> str:
    """Validate an upload (type by extension and content, size); returns its SHA-256."""
    ext = os.path.splitext(f.name or "")[1].lower()
    if ext not in formats:
        allowed = "、".join(e[1:].upper() for e in formats if e != ".jpeg")
        raise ValidationError(
            f"文件只能是 {allowed}（收到 {ext or '无扩展名'}）/ unsupported file type",
            code="file_type",
        )
    size = f.size or 0
    if size == 0:
        raise ValidationError("文件是空的 / the file is empty", code="file_empty")
    if size > MAX_FILE_BYTES:
        raise ValidationError(
            f"文件 {size / 1024 / 1024:.1f} MB，超过 10 MB / larger than 10 MB", code="file_size"
        )
    digest = hashlib.sha256()
    head = b""
    f.seek(0)
    for chunk in f.chunks():
        if len(head) < 16:
            head += chunk[:16]
        digest.update(chunk)
    f.seek(0)
    if not head.startswith(FILE_FORMATS[ext]):
        raise ValidationError(
            f"文件内容不是 {ext[1:].upper()} 格式 / the content is not {ext[1:].upper()}",
            code="file_content",
        )
    return digest.hexdigest()


def _event(
    case: Case,
    *,
    actor: User | None,
    on: dt.date,
    event: str,
    from_state: str = "",
    to_state: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    CaseEvent.objects.create(
        case=case,
        on=on,
        actor=_u(actor),
        event=event,
        from_state=from_state,
        to_state=to_state,
        note=note,
        data=_jsonable(data or {}),
    )
    audit_record(
        actor=actor,
        event=f"cases.{event}",
        subject_type="case",
        subject_id=case.pk,
        subject_label=f"{case.number} {get_item(case.item).short}",
        region_code=case.application.region_id,
        old={"state": from_state} if from_state else None,
        new={"state": to_state, "on": on, "note": note, **(data or {})},
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | Decimal):
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return value


def _open_step(case: Case, step: str, *, on: dt.date, anchor: dt.date | None = None) -> None:
    """Start ``step`` on ``on`` with its deadline (counted from ``anchor`` when given)."""
    item = get_item(case.item)
    spec = item.step(step)
    assert spec is not None
    due = deadline(anchor or on, spec.limit.days, spec.limit.unit)
    if step == State.NOTICE and case.notice_until:
        due = workdays.Deadline(date=case.notice_until + dt.timedelta(days=1), estimated=False)
    CaseStep.objects.create(
        case=case,
        step=step,
        started_on=on,
        due_on=due.date,
        due_estimated=due.estimated,
        limit_days=spec.limit.days,
        limit_unit=spec.limit.unit,
    )
    case.step_due_on = due.date
    case.step_due_estimated = due.estimated


def _close_step(case: Case, *, actor: User | None, on: dt.date) -> None:
    CaseStep.objects.filter(case=case, completed_on__isnull=True).update(
        completed_on=on, completed_by=_u(actor)
    )
    case.step_due_on = None
    case.step_due_estimated = False


def _lock(case: Case) -> Case:
    return (
        Case.objects.select_for_update(of=("self",))
        .select_related("application", "application__household", "person")
        .get(pk=case.pk)
    )


def _move(
    case: Case, *, actor: User | None, on: dt.date, to: str, anchor: dt.date | None = None
) -> None:
    """Close the current step and enter ``to`` (opening its step when it is one)."""
    _close_step(case, actor=actor, on=on)
    case.state = to
    if to in workflow.STEP_STATES:
        _open_step(case, to, on=on, anchor=anchor)


def _age(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _members(household: Any) -> list[Any]:
    from doudi.registry.selectors import household_members

    return [m.person for m in household_members(household=household)]


# ------------------------------------------------------------------ intake


@dataclass(frozen=True)
class Applicant:
    """Who applied: the person themself, a family member, or an agent with an authorisation."""

    kind: str = ApplicantKind.SELF
    person_id: int | None = None
    agent_name: str = ""
    agent_relation: str = ""


def _document_specs(
    items: Sequence[Item], *, agent: bool
) -> dict[str, tuple[str, bool, Any, list[str]]]:
    """Documents of all the items, merged by code: code -> (name, required, due limit, items).

    A document required by one item and deferrable by none stays required; the shortest due
    limit wins."""
    out: dict[str, tuple[str, bool, Any, list[str]]] = {}
    for item in items:
        for d in item.documents_for(agent=agent):
            if d.code in out:
                name, required, due, codes = out[d.code]
                if required and d.required and due is not None and d.due is not None:
                    due = due if due.days <= d.due.days else d.due
                elif d.required and not d.deferrable:
                    due = None
                elif not required and d.required:
                    due = d.due
                out[d.code] = (name, required or d.required, due, [*codes, item.code])
            else:
                out[d.code] = (d.name, d.required, d.due, [item.code])
    return out


@dataclass(frozen=True)
class AuthorisationInput:
    """A signed data-check authorisation handed in at the window (recorded by the policy app)."""

    signed_by: str
    signed_on: dt.date
    scan: UploadedFile | None


def _authorisation(
    *, actor: User | None, household: Any, given: AuthorisationInput | None, on: dt.date
) -> Any:
    """The household's authorisation valid on ``on``: the one handed in now (recorded through
    ``policy.verification.authorisation_record``), or one already on record."""
    from doudi.policy.verification import authorisation_record, authorisation_valid_for

    if given is not None and (given.scan or given.signed_by.strip()):
        if actor is None:
            raise ValidationError("授权书须由工作人员登记 / an authorisation needs a user")
        recorded = authorisation_record(
            actor=actor,
            household=household,
            signed_by=given.signed_by,
            signed_on=given.signed_on,
            scan=given.scan,
        )
        if authorisation_valid_for(household_id=household.pk, as_of=on) != recorded:
            raise ValidationError(
                "授权书签署日期须在受理日当天或之前、12个月以内 / the authorisation must be signed "
                "on or before the day, within 12 months",
                code="authorisation",
            )
        return recorded
    return authorisation_valid_for(household_id=household.pk, as_of=on)


def _intake_documents(
    chosen: Sequence[Item],
    *,
    agent: bool,
    handed: set[str],
    proactive: bool,
    actor: User | None,
    on: dt.date,
) -> list[Document]:
    """The application's document rows: received, or missing with a due date (容缺); refuses
    when a document that cannot be deferred is missing."""
    docs: list[Document] = []
    refused = []
    for code, (name, required, due, for_items) in _document_specs(chosen, agent=agent).items():
        if code in handed:
            docs.append(
                Document(
                    code=code,
                    name=name,
                    items=for_items,
                    required=required,
                    status=Document.Status.RECEIVED,
                    received_on=on,
                    recorded_by=_u(actor),
                )
            )
            continue
        if not required:
            continue
        days = due.days if due is not None else (PROACTIVE_DOCUMENTS_DUE if proactive else None)
        if days is None:
            refused.append(name)
            continue
        when = workdays.add_working_days(on, days)
        docs.append(
            Document(
                code=code,
                name=name,
                items=for_items,
                required=True,
                status=Document.Status.MISSING,
                due_on=when.date,
                due_estimated=when.estimated,
                recorded_by=_u(actor),
            )
        )
    if refused:
        raise ValidationError(
            f"缺少不能容缺的材料：{'、'.join(refused)}。请补齐后再受理 / missing documents that "
            "cannot be deferred",
            code="documents",
        )
    return docs


def application_accept(
    *,
    actor: User | None,
    household: Any,
    items: Sequence[str],
    persons: Mapping[str, int] | None = None,
    applicant: Applicant | None = None,
    received: Iterable[str] = (),
    files: Mapping[str, UploadedFile] | None = None,
    origin: str | None = None,
    alert_ref: str = "",
    note: str = "",
    on: dt.date | None = None,
    review_of: Case | None = None,
    authorisation: AuthorisationInput | None = None,
) -> Application:
    """Accept one application for one or several items (一门受理) and open a case per item.

    ``persons`` names the member each person-level item is for. ``received`` lists the codes of
    the documents handed in (``files`` may hold their scans); a required document not handed in
    is accepted as missing (容缺) when the item allows it, with its due date, and otherwise
    refuses the application, naming the document. The data-check authorisation counts as
    received when the household has one valid on the day (``policy.verification``). An
    application the office opened itself (``origin`` alert or review) takes every missing
    document as deferred, due in ``PROACTIVE_DOCUMENTS_DUE`` working days.

    A village worker's application is help to apply (帮办代办): its origin is ``help_to_apply``
    and the worker is recorded as helper.
    """
    on = _on(on)
    codes = list(dict.fromkeys(items))
    if not codes:
        raise ValidationError("请至少选择一个救助事项 / choose at least one item", code="items")
    catalog = load_items()
    unknown = [c for c in codes if c not in catalog]
    if unknown:
        raise ValidationError(f"未知事项 {'、'.join(unknown)} / unknown item", code="items")
    chosen = [catalog[c] for c in codes]
    _check(actor, CAN_INTAKE, household.region_id)
    if household.status != "active":
        raise ValidationError("该家庭已注销，不能受理 / the household is dissolved")
    applicant = applicant or Applicant()
    is_helper = _has(actor, frozenset({Role.VILLAGE_WORKER}))
    if origin is None:
        origin = Origin.HELP_TO_APPLY if is_helper else Origin.WINDOW
    if origin not in Origin.values:
        raise ValidationError(f"未知来源 {origin} / unknown origin")
    if is_helper and applicant.kind != ApplicantKind.AGENT:
        assert actor is not None
        applicant = Applicant(
            kind=ApplicantKind.AGENT,
            person_id=applicant.person_id,
            agent_name=actor.full_name or actor.username,
            agent_relation="村（社区）帮办代办",
        )
    members = {p.pk: p for p in _members(household)}
    if applicant.kind not in ApplicantKind.values:
        raise ValidationError("申请人类型无效 / invalid applicant kind")
    if applicant.kind in (ApplicantKind.SELF, ApplicantKind.FAMILY):
        if applicant.person_id not in members:
            raise ValidationError(
                "请选择提出申请的家庭成员 / choose the member who applies", code="applicant"
            )
    else:
        if not applicant.agent_name.strip() or not applicant.agent_relation.strip():
            raise ValidationError(
                "委托代理的，请填写代理人姓名和身份（如：村委会干部、女儿） / an agent needs a name "
                "and a relation",
                code="agent",
            )
    persons = dict(persons or {})
    for item in chosen:
        if item.level == "person":
            pid = persons.get(item.code)
            if pid not in members:
                raise ValidationError(
                    f"“{item.name}”须选择对象（本家庭的现有成员）/ {item.code} needs a member",
                    code="person",
                )
            if members[pid].status != "present":
                raise ValidationError(
                    f"{members[pid].name}的状态为“{members[pid].get_status_display()}”，不能申请"
                    f"“{item.name}” / the person is not present",
                    code="person",
                )
    # one open case per item and subject
    for item in chosen:
        clash = Case.objects.filter(
            application__household=household,
            item=item.code,
            person_id=persons.get(item.code) if item.level == "person" else None,
        ).exclude(state__in=workflow.CLOSED_STATES)
        if clash.exists():
            raise ValidationError(
                f"该{'对象' if item.level == 'person' else '家庭'}已有在办的“{item.name}”"
                f"（{clash.first().number}），不能重复受理 / an open case of this item exists",
                code="duplicate",
            )

    files = dict(files or {})
    hashes = {code: _check_file(f) for code, f in files.items() if f}
    with transaction.atomic():
        auth = _authorisation(actor=actor, household=household, given=authorisation, on=on)
        docs = _intake_documents(
            chosen,
            agent=applicant.kind == ApplicantKind.AGENT,
            handed=set(received) | set(hashes) | ({"authorisation"} if auth else set()),
            proactive=origin in (Origin.ALERT, Origin.REVIEW),
            actor=actor,
            on=on,
        )
        application = Application.objects.create(
            household=household,
            region_id=household.region_id,
            town_code=household.region_id[:9],
            county_code=household.region_id[:6],
            origin=origin,
            alert_ref=alert_ref.strip()[:40],
            applicant_kind=applicant.kind,
            applicant_person_id=applicant.person_id
            if applicant.kind != ApplicantKind.AGENT
            else None,
            agent_name=applicant.agent_name.strip()[:64],
            agent_relation=applicant.agent_relation.strip()[:64],
            helper=actor if is_helper else None,
            accepted_on=on,
            accepted_by=_u(actor),
            authorisation_id=auth.pk if auth else None,
            note=note.strip(),
        )
        for d in docs:
            d.application = application
            f = files.get(d.code)
            if f:
                d.sha256 = hashes[d.code]
                f.name = f"app{application.pk}-{d.code}-{d.sha256[:12]}{os.path.splitext(f.name)[1].lower()}"
                d.file.save(f.name, f, save=False)
        Document.objects.bulk_create(docs)
        for item in chosen:
            total = workdays.add_working_days(on, item.total.days)
            case = Case.objects.create(
                application=application,
                item=item.code,
                person_id=persons.get(item.code) if item.level == "person" else None,
                state=workflow.first_state(item),
                opened_on=on,
                due_on=total.date,
                due_estimated=total.estimated,
                review_of=review_of if item.outcome == "review" else None,
            )
            _open_step(case, case.state, on=on)
            case.save()
            _event(
                case,
                actor=actor,
                on=on,
                event="accept",
                to_state=case.state,
                note=note.strip(),
                data={
                    "application": application.pk,
                    "origin": origin,
                    "applicant": applicant.kind,
                    "missing": [d.code for d in docs if d.status == Document.Status.MISSING],
                },
            )
        audit_record(
            actor=actor,
            event="cases.application_accept",
            subject_type="application",
            subject_id=application.pk,
            subject_label=f"{application.number} {household.number}",
            region_code=household.region_id,
            new={
                "items": codes,
                "origin": origin,
                "alert_ref": alert_ref,
                "applicant": applicant.kind,
                "helper": getattr(application.helper, "username", None),
                "documents": {d.code: d.status for d in docs},
            },
        )
    return application


def application_open_from_alert(
    *, actor: User | None, household: Any, items: list[str], alert_ref: str, note: str = ""
) -> Application:
    """Open an accepted application from a monitoring alert (主动发现→主动办理): origin
    ``alert``, the alert's reference kept, papers collected afterwards. Person-level items are
    opened for the head of the household unless that item names nobody else."""
    if not alert_ref.strip():
        raise ValidationError("请提供预警线索编号 / alert_ref is required")
    members = _members(household)
    if not members:
        raise ValidationError("该家庭没有现有成员 / the household has no members")
    catalog = load_items()
    head = members[0]
    persons = {c: head.pk for c in items if c in catalog and catalog[c].level == "person"}
    name = (actor.full_name or actor.username) if actor is not None else "系统"
    return application_accept(
        actor=actor,
        household=household,
        items=items,
        persons=persons,
        applicant=Applicant(
            kind=ApplicantKind.AGENT, agent_name=name, agent_relation="主动发现，工作人员代为发起"
        ),
        origin=Origin.ALERT,
        alert_ref=alert_ref,
        note=note,
    )


# ------------------------------------------------------------------ documents


def _document_event(
    document: Document, *, actor: User | None, on: dt.date, event: str, note: str
) -> None:
    for case in document.application.cases.filter(item__in=document.items):
        _event(case, actor=actor, on=on, event=event, note=note, data={"document": document.code})


def document_supply(
    *,
    actor: User | None,
    document: Document,
    file: UploadedFile | None = None,
    on: dt.date | None = None,
) -> Document:
    """A missing document arrives (补交)."""
    on = _on(on)
    _check(actor, CAN_INTAKE | CAN_SUPERVISE, document.application.region_id)
    digest = _check_file(file) if file else ""
    with transaction.atomic():
        document = (
            Document.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(pk=document.pk)
        )
        if document.status != Document.Status.MISSING:
            raise ValidationError("该材料不是待补状态 / the document is not missing")
        document.status = Document.Status.RECEIVED
        document.received_on = on
        document.recorded_by = _u(actor)
        if file:
            document.sha256 = digest
            name = f"app{document.application_id}-{document.code}-{digest[:12]}{os.path.splitext(file.name)[1].lower()}"
            document.file.save(name, file, save=False)
        document.save()
        _document_event(document, actor=actor, on=on, event="document_supply", note=document.name)
    return document


def document_waive(
    *, actor: User | None, document: Document, reason: str, on: dt.date | None = None
) -> Document:
    """The supervisor waives a missing document, with a reason (免交)."""
    on = _on(on)
    _check(actor, CAN_SUPERVISE, document.application.region_id)
    reason = _text(reason, field="免交理由")
    with transaction.atomic():
        document = (
            Document.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(pk=document.pk)
        )
        if document.status != Document.Status.MISSING:
            raise ValidationError("该材料不是待补状态 / the document is not missing")
        document.status = Document.Status.WAIVED
        document.waived_by = _u(actor)
        document.waived_on = on
        document.waive_reason = reason
        document.save()
        _document_event(
            document, actor=actor, on=on, event="document_waive", note=f"{document.name}：{reason}"
        )
    return document


def document_remind(
    *, actor: User | None, document: Document, on: dt.date | None = None
) -> Document:
    """Record that the applicant was reminded of a missing document."""
    on = _on(on)
    _check(actor, CAN_INTAKE | CAN_SUPERVISE, document.application.region_id)
    with transaction.atomic():
        document = (
            Document.objects.select_for_update(of=("self",))
            .select_related("application")
            .get(pk=document.pk)
        )
        if document.status != Document.Status.MISSING:
            raise ValidationError("该材料不是待补状态 / the document is not missing")
        document.reminded_on = on
        document.save(update_fields=["reminded_on"])
        _document_event(document, actor=actor, on=on, event="document_remind", note=document.name)
    return document


def missing_documents(case: Case) -> list[Document]:
    """Required documents of the case's application still missing for its item."""
    return [
        d
        for d in case.application.documents.filter(status=Document.Status.MISSING)
        if case.item in d.items
    ]


def _check_documents(case: Case) -> None:
    missing = missing_documents(case)
    if missing:
        listed = "、".join(f"{d.name}（期限 {d.due_on:%Y-%m-%d}）" for d in missing)
        raise ValidationError(
            f"尚有容缺材料未补齐：{listed}。请补齐，或由区县审核员说明理由后免交，再作决定 / "
            "missing documents must be supplied or waived before the decision",
            code="documents_missing",
        )


# ------------------------------------------------------------------ transitions


def _verification_snapshot(case: Case, verification: Any) -> dict[str, Any]:
    """What the verification and classification said, for the item and its subject."""
    assessment = verification.assessment or {}
    result = assessment.get("result") or {}
    item = get_item(case.item)
    eligible = "unknown"
    criteria = result.get("criteria") or []
    person_key = str(case.person_id) if case.person_id else None
    if item.category:
        if item.level == "person" and person_key:
            member = next(
                (m for m in result.get("members", []) if str(m.get("id_number")) == person_key),
                None,
            )
            cats = set((member or {}).get("categories") or [])
            if (member or {}).get("single_person_dibao"):
                cats.add("single_person_dibao")
            found = [
                c["outcome"]
                for c in criteria
                if c.get("rule") == item.category and str(c.get("member")) == person_key
            ]
            eligible = "yes" if item.category in cats else (found[0] if found else "no")
        else:
            found = [
                c["outcome"]
                for c in criteria
                if c.get("rule") == item.category and "member" not in c
            ]
            eligible = (
                "yes"
                if item.category in (result.get("household_categories") or [])
                else (found[0] if found else ("no" if result else "unknown"))
            )
    return {
        "verification_id": verification.pk,
        "as_of": verification.as_of.isoformat(),
        "policy_version": verification.policy_version,
        "categories": assessment.get("categories") or [],
        "tier_label": assessment.get("tier_label") or "",
        "monthly_benefit": result.get("monthly_benefit"),
        "per_capita_income": result.get("per_capita_income"),
        "members_counted": result.get("members_counted"),
        "eligible": eligible,
        "why_not": assessment.get("why_not") or [],
        "mismatches": (verification.findings or {}).get("totals", {}).get("mismatches", []),
    }


def case_verify(*, actor: User | None, case: Case, on: dt.date | None = None) -> Case:
    """信息核对: run the policy engine's household verification and classification as of ``on``
    (with the household's signed authorisation) and attach it to the case as a snapshot. Cases
    of the same application verified the same day share one verification."""
    from doudi.policy.selectors import verifications
    from doudi.policy.verification import verification_run

    on = _on(on)
    workflow.check("verify", case.state)
    _check(actor, CAN_PROCESS, case.application.region_id)
    sibling = (
        Case.objects.filter(application=case.application, verification_id__isnull=False)
        .exclude(pk=case.pk)
        .values_list("verification_id", flat=True)
        .first()
    )
    verification = (
        verifications(household_id=case.application.household_id)
        .filter(pk=sibling, as_of=on)
        .first()
        if sibling
        else None
    )
    if verification is None:
        if actor is None:
            raise ValidationError("信息核对须由工作人员发起 / a verification needs a user")
        verification = verification_run(actor=actor, household=case.application.household, as_of=on)
    with transaction.atomic():
        case = _lock(case)
        workflow.check("verify", case.state)
        old = case.state
        case.verification_id = verification.pk
        case.snapshot = _verification_snapshot(case, verification)
        _move(case, actor=actor, on=on, to=workflow.next_state(get_item(case.item), old))
        case.save()
        _event(
            case,
            actor=actor,
            on=on,
            event="verify",
            from_state=old,
            to_state=case.state,
            data={"verification": verification.pk, "eligible": case.snapshot["eligible"]},
        )
    return case


def case_pay_advance(
    *, actor: User | None, case: Case, amount: Decimal | str, reason: str, on: dt.date | None = None
) -> Case:
    """先行救助: pay first (from the town's standby fund), complete the papers afterwards."""
    on = _on(on)
    workflow.check("pay_advance", case.state)
    _check(actor, CAN_PROCESS, case.application.region_id)
    amount = _money(amount, field="先行救助金额")
    reason = _text(reason, field="急难情况")
    item = get_item(case.item)
    with transaction.atomic():
        case = _lock(case)
        workflow.check("pay_advance", case.state)
        old = case.state
        ref = payments.once(
            actor=actor,
            household=case.application.household,
            amount=amount,
            month=dt.date(on.year, on.month, 1),
            person=case.person,
            case_id=case.pk,
            reason=f"先行救助：{reason}",
        )
        case.advance_amount = amount
        case.advance_paid_on = on
        case.benefit_ref = ref
        _move(case, actor=actor, on=on, to=workflow.next_state(item, old))
        case.save()
        _event(
            case,
            actor=actor,
            on=on,
            event="pay_advance",
            from_state=old,
            to_state=case.state,
            note=reason,
            data={"amount": amount, "benefit": ref},
        )
    return case


def care_level(self_care_failed: int) -> str:
    """Six activities of daily living: none failed → self-care, 1–3 → partial, 4+ → full
    (DOMAIN.md §9)."""
    if self_care_failed <= 0:
        return "self"
    return "partial" if self_care_failed <= 3 else "full"


def case_investigate(
    *,
    actor: User | None,
    case: Case,
    visited_on: dt.date,
    staff: Sequence[str],
    findings: str,
    neighbours: str = "",
    self_care_failed: int | None = None,
    photos: Sequence[UploadedFile] = (),
    on: dt.date | None = None,
) -> Case:
    """入户调查 by at least two staff: what they found, neighbours heard, photos; for 特困 the
    self-care assessment (how many of the six activities the person cannot do)."""
    on = _on(on)
    workflow.check("investigate", case.state)
    _check(actor, CAN_INVESTIGATE, case.application.region_id)
    names = [n for n in dict.fromkeys(" ".join((s or "").split()) for s in staff) if n]
    if len(names) < 2:
        raise ValidationError(
            "入户调查须由不少于2名工作人员进行，请填写全部调查人员 / at least two staff",
            code="staff",
        )
    findings = _text(findings, field="调查情况")
    if visited_on > on:
        raise ValidationError("调查日期不能晚于办理日期 / the visit date is after today")
    if visited_on < case.opened_on:
        raise ValidationError("调查日期不能早于受理日期 / the visit is before the acceptance")
    item = get_item(case.item)
    if item.category == "tekun":
        if self_care_failed is None or not 0 <= self_care_failed <= 6:
            raise ValidationError(
                "特困人员须评估生活自理能力：6项中不能自理的项数（0至6）/ self-care assessment "
                "(0-6) is required",
                code="self_care",
            )
    hashes = [_check_file(p, formats=PHOTO_FORMATS) for p in photos]
    with transaction.atomic():
        case = _lock(case)
        workflow.check("investigate", case.state)
        old = case.state
        inv = Investigation.objects.create(
            case=case,
            visited_on=visited_on,
            staff=names,
            findings=findings,
            neighbours=(neighbours or "").strip(),
            self_care_failed=self_care_failed,
            recorded_by=_u(actor),
        )
        for p, digest in zip(photos, hashes, strict=True):
            photo = InvestigationPhoto(investigation=inv, sha256=digest)
            photo.file.save(
                f"case{case.pk}-{digest[:16]}{os.path.splitext(p.name)[1].lower()}", p, save=False
            )
            photo.save()
        if self_care_failed is not None:
            case.care_level = care_level(self_care_failed)
        _move(case, actor=actor, on=on, to=workflow.next_state(item, old))
        case.save()
        _event(
            case,
            actor=actor,
            on=on,
            event="investigate",
            from_state=old,
            to_state=case.state,
            note=findings[:200],
            data={"staff": names, "photos": len(hashes), "care_level": case.care_level},
        )
    return case


def _subject_is_minor(case: Case, on: dt.date) -> bool:
    person = case.person
    if person is None:
        return False
    from doudi.policy.selectors import parameter_tree

    try:
        age = int(parameter_tree().value("tekun.minor_age", on, case.application.county_code) or 18)
    except Exception:  # noqa: BLE001 - the parameter missing must not stop the window
        age = 18
    return _age(person.birth_date, on) < age


def case_first_review(
    *,
    actor: User | None,
    case: Case,
    recommend: bool,
    opinion: str,
    proposed_amount: Decimal | str | None = None,
    on: dt.date | None = None,
) -> Case:
    """初审: the town's opinion. A case the town recommends goes on public notice for the item's
    days (from the next day), unless the person is a minor and the item skips the notice for
    minors; a case not recommended is not published and goes to the decision."""
    on = _on(on)
    workflow.check("first_review", case.state)
    _check(actor, CAN_PROCESS, case.application.region_id)
    opinion = _text(opinion, field="初审意见")
    item = get_item(case.item)
    amount = None
    if recommend and item.paid and item.outcome in ("start", "once"):
        if proposed_amount in (None, ""):
            raise ValidationError("请填写拟发金额 / the proposed amount is required", code="amount")
        amount = _money(proposed_amount, field="拟发金额")
    with transaction.atomic():
        case = _lock(case)
        workflow.check("first_review", case.state)
        old = case.state
        case.recommend = recommend
        case.review_opinion = opinion
        case.proposed_amount = amount
        skip = ""
        if item.next_step(State.FIRST_REVIEW) == State.NOTICE:
            if not recommend:
                skip = "初审不符合条件，不公示"
            elif item.skip_notice_for_minors and _subject_is_minor(case, on):
                skip = "未成年人，不公示"
        if item.next_step(State.FIRST_REVIEW) == State.NOTICE and not skip:
            spec = item.step(State.NOTICE)
            assert spec is not None
            case.notice_from = on + dt.timedelta(days=1)
            case.notice_until = on + dt.timedelta(days=spec.limit.days)
        case.notice_skipped = skip
        _move(case, actor=actor, on=on, to=workflow.next_state(item, old, skip_notice=bool(skip)))
        case.save()
        _event(
            case,
            actor=actor,
            on=on,
            event="first_review",
            from_state=old,
            to_state=case.state,
            note=opinion[:200],
            data={
                "recommend": recommend,
                "proposed_amount": amount,
                "notice_until": case.notice_until,
                "notice_skipped": skip,
            },
        )
    return case


def case_close_notice(
    *, actor: User | None, case: Case, objections: str = "", on: dt.date | None = None
) -> Case:
    """公示结束: after the notice period, record any objections and send the case for the
    decision; the decision's deadline counts from the notice's last day."""
    on = _on(on)
    workflow.check("close_notice", case.state)
    _check(actor, CAN_PROCESS, case.application.region_id)
    if case.notice_until is None or on <= case.notice_until:
        raise ValidationError(
            f"公示期至 {case.notice_until:%Y-%m-%d}，期满后才能结束公示 / the notice has not ended",
            code="notice_running",
        )
    item = get_item(case.item)
    with transaction.atomic():
        case = _lock(case)
        workflow.check("close_notice", case.state)
        old = case.state
        case.objections = (objections or "").strip()
        _move(case, actor=actor, on=on, to=workflow.next_state(item, old), anchor=case.notice_until)
        case.save()
        _event(
            case,
            actor=actor,
            on=on,
            event="close_notice",
            from_state=old,
            to_state=case.state,
            note=case.objections or "公示无异议",
        )
    return case


@dataclass(frozen=True)
class Outcome:
    """What a decision says: approve or refuse, and for an approval the amount and action."""

    approve: bool
    reasons: str = ""
    monthly_amount: Decimal | str | None = None
    start_month: dt.date | None = None
    action: str = ""
    exit_months: int | None = None
    care_level: str = ""
    benefit_id: int | None = None


def _apply_outcome(
    case: Case, outcome: Outcome, *, actor: User | None, on: dt.date, committee: bool
) -> None:
    """Validate the outcome for the item and carry it out (benefits), filling the case."""
    item = get_item(case.item)
    household = case.application.household
    first = payments.next_month(on)
    reasons = (outcome.reasons or "").strip()
    case.approved = outcome.approve
    case.reasons = reasons
    case.decided_on = on
    case.decided_by = _u(actor)
    span = workdays.working_days_between(case.opened_on, on)
    case.cycle_days = span.days
    case.cycle_estimated = span.estimated
    if not outcome.approve:
        if not reasons:
            raise ValidationError("不予批准须写明理由 / a refusal needs reasons", code="reasons")
        case.action = "refuse"
        if item.refusal_letter is not None:
            letter = workdays.add_working_days(on, item.refusal_letter.days)
            case.letter_due = letter.date
            case.letter_due_estimated = letter.estimated
        return
    action = (
        outcome.action
        or {
            "start": "start",
            "once": "once",
            "adjust": "adjust",
            "review": "continue",
            "stop": "stop",
            "refer": "",
        }[item.outcome]
    )
    case.action = action
    start_month = outcome.start_month or first
    if start_month < first:
        raise ValidationError(
            f"待遇自决定次月起发放，起始月份不能早于 {first:%Y-%m} / payment starts the month "
            "after the decision",
            code="start_month",
        )
    reason = f"{item.name}（{case.number}）" + (f"：{reasons}" if reasons else "")
    if item.outcome == "start":
        amount = (
            _money(outcome.monthly_amount, field="月金额")
            if item.paid
            else _money(outcome.monthly_amount or 0, field="金额", positive=False)
        )
        if item.committee_above and amount > item.committee_above and not committee:
            raise ValidationError(
                f"金额超过乡镇审批额度 ¥{item.committee_above:,.2f}，须提交一事一议 / above the "
                "town's limit: refer to the committee",
                code="committee_required",
            )
        case.monthly_amount = amount
        case.start_month = start_month
        case.benefit_ref = payments.start(
            actor=actor,
            household=household,
            item=item.benefit,
            monthly_amount=amount,
            start_month=start_month,
            person=case.person,
            case_id=case.pk,
            reason=reason,
        )
        if item.code in ("dibao", "single_person_dibao"):
            case.review_months = review_months(household=household, on=on)
    elif item.outcome == "once":
        already = case.advance_amount or Decimal(0)
        amount = _money(outcome.monthly_amount or 0, field="救助金额", positive=already == 0)
        if item.committee_above and amount + already > item.committee_above and not committee:
            raise ValidationError(
                f"救助金额合计超过乡镇审批额度 ¥{item.committee_above:,.2f}，须提交一事一议 / above "
                "the town's limit: refer to the committee",
                code="committee_required",
            )
        case.monthly_amount = amount
        case.start_month = start_month
        if amount > 0:
            case.benefit_ref = payments.once(
                actor=actor,
                household=household,
                amount=amount,
                month=start_month,
                person=case.person,
                case_id=case.pk,
                reason=reason,
            )
    elif item.outcome in ("adjust", "review", "stop"):
        allowed = {"adjust": ("adjust",), "review": REVIEW_ACTIONS, "stop": EXIT_ACTIONS}[
            item.outcome
        ]
        if action not in allowed:
            raise ValidationError(f"决定内容应为 {allowed} 之一 / action must be one of {allowed}")
        benefit = _target_benefit(case, outcome, on=on)
        case.start_month = start_month
        if action == "continue":
            case.benefit_ref = f"benefit:{benefit.pk}" if benefit is not None else ""
        elif action == "adjust":
            if item.code == "tekun_care_change":
                level = outcome.care_level or case.care_level
                if level not in CARE_LEVELS:
                    raise ValidationError(
                        "请确定护理等级 / choose the care level", code="care_level"
                    )
                case.care_level = level
            amount = _money(outcome.monthly_amount, field="调整后月金额")
            case.monthly_amount = amount
            case.benefit_ref = payments.adjust(
                actor=actor,
                benefit=benefit,
                monthly_amount=amount,
                from_month=start_month,
                case_id=case.pk,
                reason=reason,
            )
        elif action == "gradual_exit":
            months = outcome.exit_months or gradual_exit_months(
                on=on, county=case.application.county_code
            )
            case.exit_months = months
            case.benefit_ref = payments.gradual_exit(
                actor=actor,
                benefit=benefit,
                from_month=start_month,
                months=months,
                case_id=case.pk,
                reason=reason,
            )
        elif action == "stop":
            if not reasons:
                raise ValidationError("停发须写明理由 / a stop needs reasons", code="reasons")
            case.benefit_ref = payments.stop(
                actor=actor, benefit=benefit, from_month=start_month, case_id=case.pk, reason=reason
            )
            if item.refusal_letter is not None:
                letter = workdays.add_working_days(on, item.refusal_letter.days)
                case.letter_due = letter.date
                case.letter_due_estimated = letter.estimated
        if action in ("continue", "adjust") and item.code == "dibao_review":
            case.review_months = review_months(household=household, on=on)


def _target_benefit(case: Case, outcome: Outcome, *, on: dt.date) -> Any:
    item = get_item(case.item)
    household_id = case.application.household_id
    if outcome.benefit_id:
        found = [
            b
            for b in payments.active_benefits(household_id=household_id)
            if b.pk == outcome.benefit_id
        ]
        return found[0] if found else None
    return payments.find_benefit(
        household_id=household_id, item=item.benefit, person_id=case.person_id
    )


def gradual_exit_months(*, on: dt.date, county: str) -> int:
    """The 渐退 period in force (policy parameter ``dibao.gradual_exit_months``, default 6)."""
    from doudi.policy.selectors import parameter_tree

    try:
        value = parameter_tree().value("dibao.gradual_exit_months", on, county)
    except Exception:  # noqa: BLE001
        value = None
    return int(value or 6)


def review_months(*, household: Any, on: dt.date) -> int:
    """How often a 低保 household is reviewed (民发〔2021〕57号): every 6 months when a member is
    of working age (18–59) and not severely disabled — such households are taken to have
    irregular income, which the registry does not record (assumed) — otherwise every 12 months."""
    for p in _members(household):
        if p.status != "present":
            continue
        age = _age(p.birth_date, on)
        severe = p.disability_grade is not None and (
            p.disability_grade <= 2
            or (p.disability_category in ("intellectual", "mental") and p.disability_grade <= 3)
        )
        if 18 <= age <= 59 and not severe:
            return 6
    return 12


def _decide(
    case: Case,
    outcome: Outcome,
    *,
    actor: User | None,
    on: dt.date,
    transition: str,
    committee: bool,
    data: dict[str, Any] | None = None,
) -> Case:
    with transaction.atomic():
        case = _lock(case)
        workflow.check(transition, case.state)
        _check_documents(case)
        old = case.state
        _apply_outcome(case, outcome, actor=actor, on=on, committee=committee)
        _close_step(case, actor=actor, on=on)
        case.state = State.APPROVED if outcome.approve else State.REFUSED
        case.save()
        _event(
            case,
            actor=actor,
            on=on,
            event=transition,
            from_state=old,
            to_state=case.state,
            note=case.reasons[:200],
            data={
                "approved": outcome.approve,
                "action": case.action,
                "monthly_amount": case.monthly_amount,
                "start_month": case.start_month,
                "benefit": case.benefit_ref,
                "cycle_days": case.cycle_days,
                **(data or {}),
            },
        )
    return case


def case_decide(
    *, actor: User | None, case: Case, outcome: Outcome, on: dt.date | None = None
) -> Case:
    """审核确认 by the item's authorised level: approve (with the amount; payment starts the
    month after) or refuse (with reasons; the letter is due within the item's working days).
    Refused while a required document is missing and not waived."""
    on = _on(on)
    workflow.check("decide", case.state)
    _check(actor, CAN_DECIDE[get_item(case.item).decider], case.application.region_id)
    return _decide(case, outcome, actor=actor, on=on, transition="decide", committee=False)


def case_to_committee(
    *, actor: User | None, case: Case, reason: str, on: dt.date | None = None
) -> Case:
    """一事一议: a case outside the rules (or above the town's limit) goes to the committee."""
    on = _on(on)
    workflow.check("to_committee", case.state)
    _check(actor, CAN_PROCESS | CAN_SUPERVISE, case.application.region_id)
    reason = _text(reason, field="提交理由")
    with transaction.atomic():
        case = _lock(case)
        workflow.check("to_committee", case.state)
        old = case.state
        CommitteeDecision.objects.update_or_create(
            case=case,
            defaults={
                "referred_on": on,
                "referred_by": _u(actor),
                "referral_reason": reason,
            },
        )
        _move(case, actor=actor, on=on, to=State.COMMITTEE)
        case.save()
        _event(
            case,
            actor=actor,
            on=on,
            event="to_committee",
            from_state=old,
            to_state=case.state,
            note=reason,
        )
    return case


def case_committee_decide(
    *,
    actor: User | None,
    case: Case,
    met_on: dt.date,
    members: Sequence[str],
    votes_for: int,
    votes_against: int,
    votes_abstain: int,
    minutes: str,
    outcome: Outcome,
    on: dt.date | None = None,
) -> Case:
    """The committee's recorded decision: who sat, how they voted, the minutes. An approval needs
    more than half of the members present voting for it."""
    on = _on(on)
    workflow.check("committee_decide", case.state)
    _check(actor, CAN_SUPERVISE, case.application.region_id)
    names = [n for n in dict.fromkeys(" ".join((m or "").split()) for m in members) if n]
    if len(names) < COMMITTEE_MIN_MEMBERS:
        raise ValidationError(
            f"一事一议须不少于{COMMITTEE_MIN_MEMBERS}名成员参会 / at least "
            f"{COMMITTEE_MIN_MEMBERS} members",
            code="members",
        )
    votes = (votes_for, votes_against, votes_abstain)
    if any(v < 0 for v in votes) or sum(votes) != len(names):
        raise ValidationError(
            f"表决票数（{sum(votes)}）应等于参会人数（{len(names)}）/ the votes must add up to the members",
            code="votes",
        )
    majority = votes_for * 2 > len(names)
    if outcome.approve != majority:
        raise ValidationError(
            "议定结果与表决不一致：同意票须超过参会人数的一半才能批准 / the outcome must follow the "
            "majority",
            code="votes",
        )
    minutes = _text(minutes, field="会议纪要")
    if met_on > on:
        raise ValidationError("会议日期不能晚于办理日期 / the meeting is after today")
    with transaction.atomic():
        CommitteeDecision.objects.filter(case=case).update(
            met_on=met_on,
            members=names,
            votes_for=votes_for,
            votes_against=votes_against,
            votes_abstain=votes_abstain,
            minutes=minutes,
            approve=outcome.approve,
            recorded_by=_u(actor),
        )
        return _decide(
            case,
            outcome,
            actor=actor,
            on=on,
            transition="committee_decide",
            committee=True,
            data={"members": names, "votes": list(votes)},
        )


def case_refer(
    *, actor: User | None, case: Case, department: str, note: str = "", on: dt.date | None = None
) -> Case:
    """转介: hand the case to the department that runs the assistance (医保, 教育)."""
    on = _on(on)
    workflow.check("refer", case.state)
    _check(actor, CAN_PROCESS, case.application.region_id)
    department = _text(department, field="转介部门", limit=64)
    with transaction.atomic():
        case = _lock(case)
        workflow.check("refer", case.state)
        _check_documents(case)
        old = case.state
        case.referral_department = department
        case.referral_note = (note or "").strip()
        case.decided_on = on
        case.decided_by = _u(actor)
        span = workdays.working_days_between(case.opened_on, on)
        case.cycle_days, case.cycle_estimated = span.days, span.estimated
        _move(case, actor=actor, on=on, to=State.REFERRED)
        case.save()
        _event(
            case,
            actor=actor,
            on=on,
            event="refer",
            from_state=old,
            to_state=case.state,
            note=f"{department} {case.referral_note}".strip(),
        )
    return case


def case_referral_outcome(
    *, actor: User | None, case: Case, outcome: str, on: dt.date | None = None
) -> Case:
    """What the receiving department did with a referred case (tracked, not a state change)."""
    on = _on(on)
    if case.state != State.REFERRED:
        raise workflow.InvalidTransition("只有已转介的事项才能登记办理结果 / not referred")
    _check(actor, CAN_PROCESS, case.application.region_id)
    outcome = _text(outcome, field="办理结果")
    with transaction.atomic():
        case = _lock(case)
        case.referral_outcome = outcome
        case.save(update_fields=["referral_outcome", "updated_at"])
        _event(case, actor=actor, on=on, event="referral_outcome", note=outcome)
    return case


def case_withdraw(
    *, actor: User | None, case: Case, reason: str, on: dt.date | None = None
) -> Case:
    """The applicant withdraws (撤回), or the case is closed because it can no longer proceed."""
    on = _on(on)
    workflow.check("withdraw", case.state)
    _check(actor, CAN_PROCESS | CAN_SUPERVISE, case.application.region_id)
    reason = _text(reason, field="撤回原因")
    with transaction.atomic():
        case = _lock(case)
        workflow.check("withdraw", case.state)
        old = case.state
        case.reasons = reason
        _move(case, actor=actor, on=on, to=State.WITHDRAWN)
        case.save()
        _event(
            case,
            actor=actor,
            on=on,
            event="withdraw",
            from_state=old,
            to_state=case.state,
            note=reason,
        )
    return case


def case_extend(*, actor: User | None, case: Case, reason: str, on: dt.date | None = None) -> Case:
    """Extend the time limit to the item's extended limit (e.g. 低保 30 → 45 working days), once,
    with a reason, by the supervisor."""
    on = _on(on)
    if case.state not in workflow.OPEN_STATES:
        raise workflow.InvalidTransition("已办结的事项不能延期 / the case is closed")
    _check(actor, CAN_SUPERVISE, case.application.region_id)
    reason = _text(reason, field="延期理由")
    item = get_item(case.item)
    with transaction.atomic():
        case = _lock(case)
        if case.extended:
            raise ValidationError("该事项已延期过一次 / already extended")
        old_due = case.due_on
        due = workdays.add_working_days(case.opened_on, item.extended_days)
        case.due_on, case.due_estimated = due.date, due.estimated
        case.extended = True
        case.extension_reason = reason
        case.save()
        _event(
            case,
            actor=actor,
            on=on,
            event="extend",
            note=reason,
            data={"from": old_due, "to": due.date},
        )
    return case


def is_overdue(case: Case, today: dt.date) -> bool:
    return case.state in workflow.OPEN_STATES and (
        (case.step_due_on is not None and case.step_due_on < today) or case.due_on < today
    )


def case_escalate(*, actor: User | None, case: Case, on: dt.date | None = None) -> Case:
    """Report an overdue case to the county (逾期上报); the county's queue lists it."""
    on = _on(on)
    if not is_overdue(case, on):
        raise ValidationError("该事项未逾期 / the case is not overdue")
    if actor is not None:
        _check(actor, CAN_PROCESS | CAN_SUPERVISE, case.application.region_id)
    with transaction.atomic():
        case = _lock(case)
        if case.escalated_on is not None:
            return case
        case.escalated_on = on
        case.save(update_fields=["escalated_on", "updated_at"])
        _event(
            case,
            actor=actor,
            on=on,
            event="escalate",
            note="逾期上报区县",
            data={"step_due": case.step_due_on, "due": case.due_on},
        )
    return case


def cases_escalate_overdue(*, today: dt.date | None = None) -> int:
    """Escalate every overdue open case not yet escalated (the nightly task)."""
    today = today or _today()
    from django.db.models import Q

    ids = list(
        Case.objects.filter(state__in=workflow.OPEN_STATES, escalated_on__isnull=True)
        .filter(Q(step_due_on__lt=today) | Q(due_on__lt=today))
        .values_list("pk", flat=True)
    )
    for pk in ids:
        case_escalate(
            actor=None, case=Case.objects.select_related("application").get(pk=pk), on=today
        )
    return len(ids)


# ------------------------------------------------------------------ appeals


def appeal_record(
    *,
    actor: User | None,
    case: Case,
    kind: str,
    received_on: dt.date,
    appellant: str,
    grounds: str,
) -> Appeal:
    """Record an appeal against a decision (行政复议, 行政诉讼, 信访) and its deadline."""
    if case.state not in workflow.DECIDED_STATES:
        raise workflow.InvalidTransition(
            "只能对已作出的决定提出复议或申诉 / only a decision can be appealed"
        )
    _check(actor, CAN_APPEAL, case.application.region_id)
    if kind not in Appeal.Kind.values:
        raise ValidationError("类型无效 / invalid kind")
    received_on = _on(received_on)
    if case.decided_on and received_on < case.decided_on:
        raise ValidationError("收到日期早于决定日期 / received before the decision")
    appellant = _text(appellant, field="申请人", limit=64)
    grounds = _text(grounds, field="理由")
    with transaction.atomic():
        appeal = Appeal.objects.create(
            case=case,
            kind=kind,
            received_on=received_on,
            due_on=received_on + dt.timedelta(days=APPEAL_DAYS[kind]),
            appellant=appellant,
            grounds=grounds,
            recorded_by=_u(actor),
        )
        _event(
            case,
            actor=actor,
            on=received_on,
            event="appeal_record",
            note=grounds[:200],
            data={"appeal": appeal.pk, "kind": kind, "due": appeal.due_on},
        )
    return appeal


def appeal_resolve(
    *, actor: User | None, appeal: Appeal, status: str, resolution: str, on: dt.date | None = None
) -> Appeal:
    on = _on(on)
    _check(actor, CAN_APPEAL, appeal.case.application.region_id)
    if status not in (Appeal.Status.UPHELD, Appeal.Status.OVERTURNED, Appeal.Status.WITHDRAWN):
        raise ValidationError("办理结果无效 / invalid outcome")
    resolution = _text(resolution, field="办理结果")
    with transaction.atomic():
        appeal = (
            Appeal.objects.select_for_update(of=("self",))
            .select_related("case", "case__application")
            .get(pk=appeal.pk)
        )
        if appeal.status != Appeal.Status.OPEN:
            raise ValidationError("该复议已办结 / already resolved")
        appeal.status = status
        appeal.resolution = resolution
        appeal.resolved_on = on
        appeal.save()
        _event(
            appeal.case,
            actor=actor,
            on=on,
            event="appeal_resolve",
            note=resolution[:200],
            data={"appeal": appeal.pk, "status": status},
        )
    return appeal


# ------------------------------------------------------------------ reviews


def reviews_open(
    *, actor: User | None, town_code: str, as_of: dt.date | None = None, within_days: int = 30
) -> list[Application]:
    """Open a 低保复核 case for every household of the town whose review falls due within
    ``within_days`` (see ``selectors.reviews_due``); each is its own accepted application with
    origin ``review``."""
    from doudi.cases.selectors import reviews_due

    as_of = _on(as_of)
    if actor is not None:
        _check(actor, CAN_PROCESS | CAN_SUPERVISE, town_code)
    opened = []
    for row in reviews_due(region_prefix=town_code, as_of=as_of, within_days=within_days):
        case = row["case"]
        opened.append(
            application_accept(
                actor=actor,
                household=row["household"],
                items=["dibao_review"],
                applicant=Applicant(
                    kind=ApplicantKind.AGENT,
                    agent_name=(actor.full_name or actor.username) if actor else "系统",
                    agent_relation="定期复核，工作人员发起",
                ),
                origin=Origin.REVIEW,
                note=f"定期复核（每{row['months']}个月），应复核日期 {row['due_on']:%Y-%m-%d}",
                on=as_of,
                review_of=case,
            )
        )
    return opened
