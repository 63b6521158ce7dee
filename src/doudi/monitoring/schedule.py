"""The nightly jobs: once a day after ``DOUDI_NIGHTLY_HOUR`` (default 2 o'clock, local time), an
incremental monitoring run over the day's new data, and the escalation of overdue one-window
cases to their county, are queued as background tasks. ``doudi serve``
checks every minute (``tick``); an installation that runs ``doudi worker`` separately can call
``doudi monitor`` from cron instead."""

from __future__ import annotations

import datetime as dt
import os

from django.utils import timezone


def nightly_hour() -> int:
    try:
        return max(0, min(23, int(os.environ.get("DOUDI_NIGHTLY_HOUR", "2"))))
    except ValueError:
        return 2


def tick(now: dt.datetime | None = None) -> int | None:
    """Queue today's run if it is due and not queued yet; returns the new run's id."""
    from doudi.monitoring.models import MonitorRun
    from doudi.monitoring.tasks import monitor_task

    now = timezone.localtime(now or timezone.now())
    if now.hour < nightly_hour():
        return None
    today = now.date()
    if MonitorRun.objects.filter(
        as_of=today, mode__in=[MonitorRun.Mode.FULL, MonitorRun.Mode.INCREMENTAL]
    ).exists():
        return None
    run = MonitorRun.objects.create(
        mode=MonitorRun.Mode.INCREMENTAL, as_of=today, since=today, progress="排队中"
    )
    monitor_task.enqueue(run.pk, "")
    # the other nightly job: overdue one-window cases are reported to their county
    from doudi.cases.tasks import escalate_overdue_task

    escalate_overdue_task.enqueue()
    return run.pk
