"""Reads for the policy app: the parameter tree in force, parameters' history, sweeps, timelines,
household assessments for the pages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from doudi.core.models import User
from doudi.policy.engine.parameters import DatedValue, ParameterTree, load_tree
from doudi.policy.models import (
    Authorisation,
    HouseholdClassification,
    ParameterChange,
    SweepRun,
    Verification,
)


def parameter_tree() -> ParameterTree:
    """The bundled parameter files plus every approved change (as extra dated values)."""
    tree = load_tree()
    approved = ParameterChange.objects.filter(status=ParameterChange.Status.APPROVED).order_by(
        "decided_at", "id"
    )
    extra = [
        (
            c.name,
            DatedValue(
                start=c.effective_from,
                scope=c.scope,
                value=c.value.normalize(),
                reference=c.reference,
                assumed=False,
                note=c.reason,
                origin=f"change:{c.id}",
            ),
        )
        for c in approved
        if c.name in tree
    ]
    return tree.with_values(extra) if extra else tree


def parameter_tree_or_files() -> ParameterTree:
    """``parameter_tree()``, or the files alone when the database is not set up (the CLI)."""
    from django.db import DatabaseError

    try:
        return parameter_tree()
    except DatabaseError:
        return load_tree()


def parameter_rows(*, as_of: dt.date) -> list[dict[str, Any]]:
    tree = parameter_tree()
    rows = []
    for name in tree.names():
        p = tree.get(name)
        current = p.lookup(as_of)
        rows.append(
            {
                "param": p,
                "current": current,
                "scoped": [(s, p.lookup(as_of, s)) for s in p.scopes()],
                "assumed": p.assumed,
                "pending": ParameterChange.objects.filter(
                    name=name, status=ParameterChange.Status.PROPOSED
                ).count(),
            }
        )
    return rows


def parameter_changes(*, name: str | None = None) -> QuerySet[ParameterChange]:
    qs = ParameterChange.objects.select_related("proposed_by", "decided_by")
    return qs.filter(name=name) if name else qs


def sweeps_dir() -> Path:
    return Path(settings.DATA_DIR) / "policy" / "sweeps"


def latest_sweep(*, kind: str = SweepRun.Kind.SWEEP) -> SweepRun | None:
    return SweepRun.objects.filter(kind=kind, status=SweepRun.Status.DONE).first()


def sweep_runs(*, kind: str | None = None) -> QuerySet[SweepRun]:
    qs = SweepRun.objects.all()
    return qs.filter(kind=kind) if kind else qs


def household_timeline(*, household_id: int) -> QuerySet[HouseholdClassification]:
    return HouseholdClassification.objects.filter(household_id=household_id).order_by(
        "-as_of", "-id"
    )


def authorisations(*, household_id: int) -> QuerySet[Authorisation]:
    return Authorisation.objects.filter(household_id=household_id).select_related("recorded_by")


def verifications(*, household_id: int) -> QuerySet[Verification]:
    return Verification.objects.filter(household_id=household_id).select_related("requested_by")


def verification_get_for_user(*, user: User, verification_id: int) -> Verification:
    """The verification if its household is in the user's jurisdiction, else 404."""
    from django.http import Http404

    from doudi.registry.selectors import household_get_for_user

    try:
        v = Verification.objects.select_related("requested_by", "authorisation").get(
            pk=verification_id
        )
    except Verification.DoesNotExist:
        raise Http404 from None
    household_get_for_user(user=user, household_id=v.household_id)
    return v
