"""Background tasks of the monitoring app (django-tasks)."""

from __future__ import annotations

import datetime as dt

from django_tasks import task


@task()
def monitor_task(run_id: int, since: str = "") -> None:
    """A run started from the page (its ``MonitorRun`` row exists already)."""
    from doudi.monitoring.models import MonitorRun
    from doudi.monitoring.services import monitor_run

    run = MonitorRun.objects.get(pk=run_id)
    try:
        monitor_run(
            actor=run.started_by,
            as_of=run.as_of,
            since=dt.date.fromisoformat(since) if since else None,
            engine_name=run.engine,
            run=run,
        )
    except Exception:  # noqa: BLE001 - monitor_run records the failure on the run
        return


@task()
def nightly_task() -> None:
    """The nightly incremental run over the day's new data, then escalation of overdue alerts."""
    from doudi.monitoring.services import monitor_run

    monitor_run(actor=None)
