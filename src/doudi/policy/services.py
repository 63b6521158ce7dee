"""Writes for the policy app: reviewed parameter changes, declarations, sweeps and the timeline.

Every state change runs in a transaction and writes an audit row in it.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from doudi.core.audit import audit_record
from doudi.core.models import Role, User
from doudi.policy import selectors
from doudi.policy.engine.parameters import CITY, ParameterError
from doudi.policy.engine.sweep import HOUSEHOLD_FLAGS, MEMBER_FLAGS, sweep_duckdb
from doudi.policy.models import (
    HouseholdClassification,
    IncomeDeclaration,
    ParameterChange,
    SweepRun,
)

CAN_PROPOSE = frozenset({Role.CITY_ADMIN, Role.CITY_ANALYST})
CAN_APPROVE = frozenset({Role.CITY_ADMIN})
CAN_SWEEP = frozenset({Role.CITY_ADMIN, Role.CITY_ANALYST})


def can_propose(user: User) -> bool:
    return bool(user.is_authenticated and user.role in CAN_PROPOSE)


def can_approve(user: User) -> bool:
    return bool(user.is_authenticated and user.role in CAN_APPROVE)


def can_sweep(user: User) -> bool:
    return bool(user.is_authenticated and user.role in CAN_SWEEP)


# ------------------------------------------------------------------ parameter changes


def parameter_change_propose(
    *,
    actor: User,
    name: str,
    scope: str,
    effective_from: dt.date,
    value: Decimal | str,
    reference: str,
    reason: str = "",
) -> ParameterChange:
    """Propose a new dated value. It must take effect after every value already recorded for that
    parameter and scope (history is never rewritten), and needs a policy reference."""
    if not can_propose(actor):
        raise PermissionDenied
    tree = selectors.parameter_tree()
    try:
        param = tree.get(name)
        checked = tree.with_overrides({name: value}).overrides[name]
    except ParameterError as exc:
        raise ValidationError(str(exc)) from None
    scope = (scope or CITY).strip()
    if scope != CITY and not (len(scope) == 6 and scope.isdigit()):
        raise ValidationError("适用范围应为 city 或6位区县代码 / scope must be city or a county")
    if not reference.strip():
        raise ValidationError("请填写政策依据 / a policy reference is required")
    last = max((v.start for v in param.values if v.scope == scope), default=None)
    if last is not None and effective_from <= last:
        raise ValidationError(
            f"生效日期须晚于已有的最近一次取值（{last}），历史取值不能修改 / the date must be "
            f"after the latest recorded value ({last}); history is never edited"
        )
    if ParameterChange.objects.filter(
        name=name, scope=scope, effective_from=effective_from, status="proposed"
    ).exists():
        raise ValidationError("已有相同日期的待审核调整 / a change for that date is pending")
    with transaction.atomic():
        change = ParameterChange.objects.create(
            name=name,
            scope=scope,
            effective_from=effective_from,
            value=checked,
            reference=reference.strip(),
            reason=reason.strip(),
            proposed_by=actor,
        )
        audit_record(
            actor=actor,
            event="policy.parameter_propose",
            subject_type="parameter",
            subject_id=change.pk,
            subject_label=name,
            new={
                "name": name,
                "scope": scope,
                "from": effective_from.isoformat(),
                "value": str(checked),
                "reference": reference,
            },
        )
    return change


def parameter_change_decide(
    *, actor: User, change: ParameterChange, approve: bool, note: str = ""
) -> ParameterChange:
    """Approve or reject a proposed change; the approver must not be the proposer."""
    if not can_approve(actor):
        raise PermissionDenied
    if change.proposed_by_id == actor.pk:
        raise ValidationError("不能审核自己提出的调整 / you cannot review your own proposal")
    with transaction.atomic():
        change = ParameterChange.objects.select_for_update().get(pk=change.pk)
        if change.status != ParameterChange.Status.PROPOSED:
            raise ValidationError("该调整已审核 / this change was already decided")
        old = change.status
        change.status = (
            ParameterChange.Status.APPROVED if approve else ParameterChange.Status.REJECTED
        )
        change.decided_by = actor
        change.decided_at = timezone.now()
        change.decision_note = note.strip()
        change.save()
        audit_record(
            actor=actor,
            event="policy.parameter_approve" if approve else "policy.parameter_reject",
            subject_type="parameter",
            subject_id=change.pk,
            subject_label=change.name,
            old={"status": old},
            new={"status": change.status, "note": change.decision_note},
        )
    return change


# ------------------------------------------------------------------ declarations


def income_declare(
    *, actor: User | None, person_id: int, monthly_income: Decimal, declared_on: dt.date
) -> IncomeDeclaration:
    if monthly_income < 0:
        raise ValidationError("申报收入不能为负 / declared income cannot be negative")
    with transaction.atomic():
        d = IncomeDeclaration.objects.create(
            person_id=person_id, monthly_income=monthly_income, declared_on=declared_on
        )
        audit_record(
            actor=actor,
            event="policy.income_declare",
            subject_type="person",
            subject_id=person_id,
            new={"monthly_income": str(monthly_income), "declared_on": declared_on.isoformat()},
        )
    return d


def declarations_table() -> pa.Table:
    """Every declaration as (person_id, monthly_fen, declared_on) for the sweep."""
    rows = IncomeDeclaration.objects.values_list("person_id", "monthly_income", "declared_on")
    pid, fen, day = [], [], []
    for p, m, d in rows.iterator(chunk_size=50_000):
        pid.append(p)
        fen.append(int(m * 100))
        day.append(d)
    return pa.table(
        {"person_id": pid, "monthly_fen": fen, "declared_on": day},
        schema=pa.schema(
            [("person_id", pa.int64()), ("monthly_fen", pa.int64()), ("declared_on", pa.date32())]
        ),
    )


# ------------------------------------------------------------------ sweeps


def _pool_with_declarations(  # type: ignore[no-untyped-def]
    as_of: dt.date | None = None, *, mirror: bool = False
):
    """A pool connection with the declarations; with ``as_of``, the large interfaces narrowed to
    the sweep's date windows (``engine.sweep.pool_windows``). ``mirror``: a city-wide job,
    reading the pool's mirror where it can (``datapool.mirror``; close the connection)."""
    from doudi.datapool.selectors import pool_connection, pool_narrow
    from doudi.datapool.services import registry_refresh
    from doudi.policy.engine.sweep import pool_windows

    registry_refresh()
    con = pool_connection(mirror=mirror)
    if as_of is not None:
        pool_narrow(con, pool_windows(as_of))
    con.register("_declarations", declarations_table())
    con.execute("CREATE OR REPLACE TEMP VIEW declarations AS SELECT * FROM _declarations")
    return con


def sweep_run(
    *,
    actor: User | None,
    as_of: dt.date,
    engine: str = "duckdb",
    run: SweepRun | None = None,
) -> SweepRun:
    """Classify every registry household as of ``as_of``; store results and the timeline."""
    if actor is not None and not can_sweep(actor):
        raise PermissionDenied
    tree = selectors.parameter_tree()
    if run is None:
        run = SweepRun.objects.create(
            kind=SweepRun.Kind.SWEEP, as_of=as_of, engine=engine, started_by=actor
        )
    out = selectors.sweeps_dir() / f"run-{run.pk}"

    def progress(text: str) -> None:
        SweepRun.objects.filter(pk=run.pk).update(progress=text)

    try:
        con = _pool_with_declarations(as_of, mirror=True)
        if engine == "spark":
            from doudi.policy.engine.spark import sweep_spark

            summary = sweep_spark(con, tree=tree, as_of=as_of, out_dir=out, progress=progress)
        elif engine == "duckdb":
            summary = sweep_duckdb(con, tree=tree, as_of=as_of, out_dir=out, progress=progress)
        else:
            raise ValidationError(f"未知引擎 {engine} / unknown engine")
        con.close()  # it holds the pool's mirror open
        progress("recording the timeline")
        changed = _record_timeline(run, out, as_of=as_of, version=summary["policy_version"])
        summary["timeline_changes"] = changed
    except Exception as exc:
        SweepRun.objects.filter(pk=run.pk).update(
            status=SweepRun.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        shutil.rmtree(out, ignore_errors=True)
        raise
    with transaction.atomic():
        SweepRun.objects.filter(pk=run.pk).update(
            status=SweepRun.Status.DONE,
            finished_at=timezone.now(),
            summary=summary,
            policy_version=summary["policy_version"],
            result_path=str(out),
            progress="",
        )
        audit_record(
            actor=actor,
            event="policy.sweep",
            subject_type="sweep",
            subject_id=run.pk,
            new={k: summary[k] for k in ("as_of", "households", "monthly_benefit_total")},
        )
    run.refresh_from_db()
    return run


def _record_timeline(run: SweepRun, out: Path, *, as_of: dt.date, version: str) -> int:
    """Write a HouseholdClassification row for every household whose result changed."""
    import duckdb

    con = duckdb.connect()
    hh = out / "households.parquet"
    mem = out / "members.parquet"
    cat_list = " || ".join(f"CASE WHEN {c} THEN '{c},' ELSE '' END" for c in HOUSEHOLD_FLAGS)
    unk_list = " || ".join(
        f"CASE WHEN {c} IS NULL THEN '{c},' ELSE '' END" for c in HOUSEHOLD_FLAGS
    )
    person_cats = " || ".join(
        f"CASE WHEN {c} THEN '{'single_person_dibao' if c == 'single_dibao' else c},' ELSE '' END"
        for c in MEMBER_FLAGS
    )
    rows = con.sql(f"""
        WITH m AS (
            SELECT household_id,
                   to_json(map(list(id_number ORDER BY id_number),
                               list(rtrim({person_cats}, ',') ORDER BY id_number))) AS pc
            FROM read_parquet('{mem}')
            WHERE ({" OR ".join(f"coalesce({c}, FALSE)" for c in MEMBER_FLAGS)})
            GROUP BY household_id
        )
        SELECT CAST(h.household_id AS BIGINT), rtrim({cat_list}, ','), rtrim({unk_list}, ','),
               h.tier, h.monthly_benefit_yuan, h.per_capita_fen, coalesce(m.pc, '{{}}')
        FROM read_parquet('{hh}') h LEFT JOIN m USING (household_id)
    """).fetchall()
    latest: dict[int, tuple[Any, ...]] = {}
    for r in (
        HouseholdClassification.objects.order_by("household_id", "-as_of", "-id")
        .values_list(
            "household_id", "categories", "tier", "monthly_benefit", "person_categories", "unknown"
        )
        .iterator(chunk_size=50_000)
    ):
        latest.setdefault(r[0], r)
    new = []
    for hid, cats, unknown, tier, benefit, pc_fen, pcats in rows:
        person_categories = {
            k: [c for c in v.split(",") if c] for k, v in json.loads(pcats).items() if v
        }
        prev = latest.get(hid)
        benefit_d = Decimal(int(benefit or 0))
        if (
            prev is not None
            and prev[1] == cats
            and prev[2] == tier
            and prev[3] == benefit_d
            and prev[4] == person_categories
            and prev[5] == unknown
        ):
            continue
        new.append(
            HouseholdClassification(
                household_id=hid,
                run=run,
                as_of=as_of,
                categories=cats,
                person_categories=person_categories,
                unknown=unknown,
                tier=tier,
                monthly_benefit=benefit_d,
                per_capita_income=None if pc_fen is None else Decimal(int(pc_fen)) / 100,
                policy_version=version,
            )
        )
    from doudi.registry.models import Household

    existing = set(Household.objects.values_list("id", flat=True))
    new = [n for n in new if n.household_id in existing]
    HouseholdClassification.objects.bulk_create(new, batch_size=5000)
    return len(new)
