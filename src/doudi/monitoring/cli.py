"""``doudi monitor``: run the warning rules over the data pool."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence

from doudi.config import bootstrap


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"日期格式应为 YYYY-MM-DD：{raw} / dates are YYYY-MM-DD"
        ) from None


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="doudi monitor",
        description=(
            "按预警规则检查数据池，去重、抑制后生成或更新预警 / run the warning rules over the "
            "pool; by default incrementally over what is new since the last run"
        ),
    )
    parser.add_argument("--as-of", type=_date, default=None, help="基准日，默认今天")
    parser.add_argument(
        "--since",
        type=_date,
        default=None,
        help="全量检查该日之后的事件（默认：增量，自上次运行起） / full run over events after it",
    )
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--quiet", action="store_true", help="不输出进度 / no progress on stderr")
    args = parser.parse_args(list(argv))
    bootstrap.setup()
    if not bootstrap.require_ready():
        return 1
    from doudi.monitoring.services import monitor_run

    progress = None if args.quiet else (lambda s: print("  " + s, file=sys.stderr, flush=True))
    try:
        run = monitor_run(
            actor=None,
            as_of=args.as_of,
            since=args.since,
            engine_name=args.engine,
            progress=progress,
        )
    except Exception as exc:  # noqa: BLE001 - reported, recorded on the run
        print(f"监测运行失败：{exc} / the monitoring run failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"run": run.pk, **run.summary}, ensure_ascii=False))
    return 0
