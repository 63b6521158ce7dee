"""Background tasks of the cases app (django-tasks; the database backend in production)."""

from __future__ import annotations

from django_tasks import task


@task()
def escalate_overdue_task() -> int:
    """Nightly: report every overdue open case to its county (``services.cases_escalate_overdue``)."""
    from doudi.cases.services import cases_escalate_overdue

    return cases_escalate_overdue()
