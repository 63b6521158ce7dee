"""``doudi serve``, ``doudi worker`` and ``doudi manage``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from doudi.config import bootstrap


def start_inline_worker() -> None:
    """Process background tasks (sweeps started from the pages) in a thread of this process, so
    a demo or a one-machine installation needs no separate ``doudi worker``. Set
    ``DOUDI_INLINE_WORKER=0`` where ``doudi worker`` runs as its own service."""
    import os
    import threading

    from django.conf import settings

    if os.environ.get("DOUDI_INLINE_WORKER", "1") == "0":
        return
    if "django_tasks_db" not in settings.TASKS["default"]["BACKEND"]:
        return
    from django_tasks_db.management.commands.db_worker import Worker

    worker = Worker(
        queue_names=["*"],
        interval=2,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="inline",
        excluded_queue_names=[],
    )
    threading.Thread(target=worker.run, name="doudi-inline-worker", daemon=True).start()


def start_scheduler() -> None:
    """Queue the scheduled jobs (the nightly monitoring run) and keep the registry export up to
    date (``datapool.services.registry_tick``), from a thread of this process.
    ``DOUDI_SCHEDULER=0`` turns it off (e.g. where cron runs ``doudi monitor``)."""
    import os
    import threading
    import time

    if os.environ.get("DOUDI_SCHEDULER", "1") == "0":
        return

    def loop() -> None:
        from django.db import close_old_connections

        from doudi.datapool.services import registry_tick
        from doudi.monitoring.schedule import tick

        while True:
            try:
                tick()
                registry_tick()
            except Exception as exc:  # noqa: BLE001 - a failed tick is retried next minute
                print(f"定时任务出错 / scheduler error: {exc}", flush=True)
            finally:
                close_old_connections()
            time.sleep(60)

    threading.Thread(target=loop, name="doudi-scheduler", daemon=True).start()


def serve(*, host: str, port: int, threads: int) -> None:
    from waitress import serve as waitress_serve

    from doudi.config.wsgi import application

    start_inline_worker()
    start_scheduler()

    print(f"doudi 正在运行 / serving on http://{host}:{port}/  (Ctrl+C 停止 / to stop)", flush=True)
    waitress_serve(application, host=host, port=port, threads=threads, ident="doudi")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="doudi serve", description="启动网页服务 / serve the web app"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(list(argv))
    bootstrap.setup()
    if not bootstrap.require_ready():
        return 1
    serve(host=args.host, port=args.port, threads=args.threads)
    return 0


def worker_main(argv: Sequence[str]) -> int:
    """Run the background task worker (django-tasks database backend)."""
    bootstrap.setup()
    if not bootstrap.require_ready(need_key=False):
        return 1
    from django.core.management import call_command

    call_command("db_worker", *argv)
    return 0


def manage_main(argv: Sequence[str]) -> int:
    bootstrap.setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["doudi manage", *argv])
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
