"""Pages of 核对与认定: a household's classification explained, parameters and their reviewed
changes, sweeps, what-if. Views parse input, call one selector or service, and render."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from doudi.core import access
from doudi.core.audit import audit_record
from doudi.core.models import Region, User
from doudi.policy import selectors, services
from doudi.policy.assessment import household_assessment, labels
from doudi.policy.engine.core import CATEGORY_LABELS
from doudi.policy.engine.parameters import ParameterError, load_tree
from doudi.policy.models import ParameterChange, SweepRun
from doudi.registry.selectors import household_get_for_user, household_members


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _as_of(request: HttpRequest) -> dt.date:
    raw = request.GET.get("as_of") or request.POST.get("as_of")
    if raw:
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            messages.error(request, _("日期格式应为 YYYY-MM-DD，已改用今天"))
    return timezone.localdate()


# ------------------------------------------------------------------ a household explained


def _explain_context(request: HttpRequest, household_id: int) -> dict[str, object]:
    user = _user(request)
    household = household_get_for_user(user=user, household_id=household_id)
    as_of = _as_of(request)
    assessment = household_assessment(household_id=household.pk, as_of=as_of)
    audit_record(
        actor=user,
        event="policy.household_assess",
        subject_type="household",
        subject_id=household.pk,
        subject_label=household.number,
        region_code=household.region_id,
        new={"as_of": as_of.isoformat()},
    )
    people = {str(m.person_id): m for m in household_members(household=household)}
    member_rows = []
    criteria_by_member: dict[str, list[dict[str, object]]] = {}
    household_criteria = []
    if assessment.result:
        for c in assessment.result["criteria"]:
            if "member" in c:
                criteria_by_member.setdefault(str(c["member"]), []).append(c)
            else:
                household_criteria.append(c)
        for m in assessment.result["members"]:
            membership = people.get(m["id_number"])
            facts = assessment.members.get(m["id_number"], {})
            birth = facts.get("birth_ymd")
            as_of_ymd = as_of.year * 10000 + as_of.month * 100 + as_of.day
            income = {
                label: None if facts.get(col) is None else Decimal(facts[col]) / 100
                for label, col in (
                    (_("工资"), "inc_wage"),
                    (_("养老金"), "inc_pension"),
                    (_("城乡居民基础养老金"), "inc_basic_pension"),
                    (_("申报的其他收入"), "inc_declared"),
                )
            }
            member_rows.append(
                {
                    "membership": membership,
                    "categories": [CATEGORY_LABELS[c] for c in m["categories"]],
                    "care_level": labels()["care"].get(m["care_level"] or "", ""),
                    "single": m.get("single_person_dibao", False),
                    "facts": facts,
                    "age": None if birth is None else (as_of_ymd - birth) // 10000,
                    "income": income,
                    "criteria": criteria_by_member.get(m["id_number"], []),
                }
            )
    return {
        "household": household,
        "assessment": assessment,
        "result": assessment.result,
        "household_criteria": household_criteria,
        "member_rows": member_rows,
        "timeline": selectors.household_timeline(household_id=household.pk)[:24],
        "labels": labels(),
        "as_of": as_of,
    }


def household_explain(request: HttpRequest, household_id: int) -> HttpResponse:
    ctx = _explain_context(request, household_id)
    return render(request, "policy/household.html", ctx)


def household_panel(request: HttpRequest, household_id: int) -> HttpResponse:
    ctx = _explain_context(request, household_id)
    return render(request, "policy/_household_panel.html", ctx)


# ------------------------------------------------------------------ parameters


def parameters(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if access.jurisdiction_prefix(user) is None:
        raise PermissionDenied
    as_of = _as_of(request)
    names = dict(Region.objects.filter(level="county").values_list("code", "name"))
    return render(
        request,
        "policy/parameters.html",
        {
            "rows": selectors.parameter_rows(as_of=as_of),
            "as_of": as_of,
            "county_names": names,
            "pending": selectors.parameter_changes().filter(status="proposed"),
            "can_approve": services.can_approve(user),
        },
    )


def parameter_detail(request: HttpRequest, name: str) -> HttpResponse:
    user = _user(request)
    if access.jurisdiction_prefix(user) is None:
        raise PermissionDenied
    tree = selectors.parameter_tree()
    if name not in tree:
        raise Http404
    param = tree.get(name)
    form: dict[str, str] = {}
    if request.method == "POST":
        form = {
            k: request.POST.get(k, "").strip()
            for k in ("scope", "effective_from", "value", "reference", "reason")
        }
        try:
            effective = dt.date.fromisoformat(form["effective_from"])
        except ValueError:
            messages.error(request, _("生效日期格式应为 YYYY-MM-DD"))
        else:
            try:
                services.parameter_change_propose(
                    actor=user,
                    name=name,
                    scope=form["scope"] or "city",
                    effective_from=effective,
                    value=form["value"],
                    reference=form["reference"],
                    reason=form["reason"],
                )
            except ValidationError as exc:
                messages.error(request, "；".join(exc.messages))
            else:
                messages.success(request, _("已提交调整，等待另一位管理员审核"))
                return redirect("policy:parameter", name=name)
    names = dict(Region.objects.filter(level="county").values_list("code", "name"))
    return render(
        request,
        "policy/parameter.html",
        {
            "param": param,
            "history": list(reversed(param.history())),
            "changes": selectors.parameter_changes(name=name),
            "can_propose": services.can_propose(user),
            "can_approve": services.can_approve(user),
            "county_names": names,
            "counties": sorted(names.items()),
            "form": form,
            "file_values": {(v.start, v.scope) for v in load_tree().get(name).values},
        },
    )


@require_POST
def parameter_decide(request: HttpRequest, change_id: int) -> HttpResponse:
    user = _user(request)
    try:
        change = ParameterChange.objects.get(pk=change_id)
    except ParameterChange.DoesNotExist:
        raise Http404 from None
    approve = request.POST.get("decision") == "approve"
    try:
        services.parameter_change_decide(
            actor=user, change=change, approve=approve, note=request.POST.get("note", "")
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, _("已批准，新取值自生效日期起适用") if approve else _("已驳回"))
    return redirect("policy:parameter", name=change.name)


# ------------------------------------------------------------------ sweeps


def sweeps(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if access.jurisdiction_prefix(user) is None:
        raise PermissionDenied
    latest = selectors.latest_sweep()
    counties = []
    if latest and latest.summary:
        counties = _county_rows(latest)
    return render(
        request,
        "policy/sweeps.html",
        {
            "runs": selectors.sweep_runs(kind=SweepRun.Kind.SWEEP)[:20],
            "latest": latest,
            "counties": counties,
            "labels": labels(),
            "can_sweep": services.can_sweep(user),
            "today": timezone.localdate(),
            "running": SweepRun.objects.filter(status=SweepRun.Status.RUNNING).first(),
        },
    )


def _county_rows(run: SweepRun) -> list[dict[str, object]]:
    import duckdb

    if not run.result_path:
        return []
    path = f"{run.result_path}/households.parquet"
    try:
        rows = (
            duckdb.connect()
            .execute(f"""
            SELECT county_code, count(*), count(*) FILTER (dibao), count(*) FILTER (near_dibao),
                   count(*) FILTER (rigid_expense), count(*) FILTER (has_tekun),
                   count(*) FILTER (dibao IS NULL OR has_tekun IS NULL), sum(monthly_benefit_yuan)
            FROM read_parquet('{path}') GROUP BY 1 ORDER BY 1
        """)
            .fetchall()
        )
    except duckdb.Error:
        return []
    names = dict(Region.objects.filter(level="county").values_list("code", "name"))
    return [
        {
            "code": r[0],
            "name": names.get(r[0], r[0]),
            "households": r[1],
            "dibao": r[2],
            "near": r[3],
            "rigid": r[4],
            "tekun": r[5],
            "unknown": r[6],
            "monthly": int(r[7] or 0),
        }
        for r in rows
    ]


@require_POST
def sweep_start(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not services.can_sweep(user):
        raise PermissionDenied
    if SweepRun.objects.filter(status=SweepRun.Status.RUNNING).exists():
        messages.error(request, _("已有认定任务在运行，请稍候"))
        return redirect("policy:sweeps")
    as_of = _as_of(request)
    engine = request.POST.get("engine", "duckdb")
    if engine not in ("duckdb", "spark"):
        engine = "duckdb"
    run = SweepRun.objects.create(as_of=as_of, engine=engine, started_by=user, progress=_("排队中"))
    from doudi.policy.tasks import sweep_task

    sweep_task.enqueue(run.pk)
    messages.info(request, _("认定任务已开始，可离开本页，稍后回来查看"))
    return redirect("policy:sweeps")


def sweep_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    if access.jurisdiction_prefix(_user(request)) is None:
        raise PermissionDenied
    try:
        run = SweepRun.objects.get(pk=run_id)
    except SweepRun.DoesNotExist:
        raise Http404 from None
    return render(request, "policy/_sweep_progress.html", {"run": run})


# ------------------------------------------------------------------ what-if


WHATIF_ROWS = 3


def whatif(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not services.can_sweep(user):
        raise PermissionDenied
    tree = selectors.parameter_tree()
    as_of = _as_of(request)
    result = None
    rows = []
    for i in range(WHATIF_ROWS):
        rows.append(
            {
                "name": request.GET.get(f"p{i}", ""),
                "value": request.GET.get(f"v{i}", ""),
                "pct": request.GET.get(f"pct{i}", ""),
            }
        )
    sets: dict[str, str] = {}
    errors = []
    for r in rows:
        if not r["name"]:
            continue
        if r["name"] not in tree:
            errors.append(_("未知参数 %(n)s") % {"n": r["name"]})
            continue
        try:
            if r["pct"]:
                current = tree.value(r["name"], as_of)
                if current is None:
                    raise ParameterError(_("该参数在基准日没有在用取值"))
                pct = Decimal(r["pct"])
                value = current * (1 + pct / 100)
                kind = tree.get(r["name"]).kind
                value = value.quantize(Decimal("1") if kind == "int" else Decimal("0.01"))
                sets[r["name"]] = str(value)
            elif r["value"]:
                sets[r["name"]] = str(Decimal(r["value"]))
            tree.with_overrides({r["name"]: sets.get(r["name"], "0")})
        except (InvalidOperation, ParameterError) as exc:
            errors.append(f"{r['name']}：{exc}" if str(exc) else r["name"])
            sets.pop(r["name"], None)
    if sets and not errors:
        from doudi.policy.whatif import simulate, workbook

        result = simulate(as_of=as_of, sets=sets)
        run = SweepRun.objects.create(
            kind=SweepRun.Kind.SIMULATE,
            status=SweepRun.Status.DONE,
            as_of=as_of,
            sets=sets,
            summary=result,
            policy_version=result["new_version"],
            started_by=user,
            finished_at=timezone.now(),
        )
        audit_record(
            actor=user,
            event="policy.simulate",
            subject_type="simulation",
            subject_id=run.pk,
            new={"as_of": as_of.isoformat(), "sets": sets},
        )
        if request.GET.get("export") == "xlsx":
            response = HttpResponse(
                workbook(result),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            response["Content-Disposition"] = (
                f'attachment; filename="whatif-{as_of.isoformat()}.xlsx"'
            )
            return response
    chart = None
    if result:
        cats = [k for k, c in result["categories"].items() if c["gained"] or c["lost"]] or list(
            result["categories"]
        )[:5]
        chart = {
            "categories": [result["categories"][k]["label"] for k in cats],
            "gained": [result["categories"][k]["gained"] for k in cats],
            "lost": [-result["categories"][k]["lost"] for k in cats],
            "counties": [d.get("county_name", d["county_code"]) for d in result["by_county"]],
            "delta": [d.get("delta_monthly", 0) for d in result["by_county"]],
        }
    params = [(n, tree.get(n).label, tree.get(n).unit) for n in tree.names()]
    return render(
        request,
        "policy/whatif.html",
        {
            "rows": rows,
            "params": params,
            "as_of": as_of,
            "result": result,
            "errors": errors,
            "chart_json": json.dumps(chart, ensure_ascii=False) if chart else "",
            "history": selectors.sweep_runs(kind=SweepRun.Kind.SIMULATE)[:10],
            "query": request.GET.urlencode(),
        },
    )
