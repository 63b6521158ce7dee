"""Background tasks of the policy app (django-tasks; the database backend in production)."""

from __future__ import annotations

from django_tasks import task


@task()
def sweep_task(run_id: int) -> None:
    """Run a sweep that a user started from the page (the ``SweepRun`` row exists already)."""
    from doudi.policy.models import SweepRun
    from doudi.policy.services import sweep_run

    run = SweepRun.objects.get(pk=run_id)
    try:
        sweep_run(actor=run.started_by, as_of=run.as_of, engine=run.engine, run=run)
    except Exception:  # noqa: BLE001 - sweep_run records the failure on the run
        return
