"""``doudi bench monitor``: the warning rules over a whole synthetic city's data pool, timed.

Builds (once, in ``--work``) a pool from a generated city (``doudi generate --out CITY``): the
registry export from the city's own files, then the history files of the interfaces the rules read
(exact-ID path, in date order, ``--jobs`` processes), keeping the last day's files aside. Then:

1. **full run**: every rule over the pool for the year before ``--as-of`` (the framework tables,
   the rules, deduplication and suppression against no previous alert), timed per phase with
   peak RSS, alert counts per rule and severity;
2. **incremental run**: ingests the last day's files (timed apart: that is ingest), then runs
   the rules over what is new since the full run (events after its as-of date, rows ingested
   after its last batch), with the full run's alerts as the open alerts to deduplicate against.

The rules and the deduplication are what the 60 s / 5 s targets time; writing the alerts into
the operational database is not (the bench's city is not loaded into it). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from doudi.config import bootstrap

DAILY = re.compile(r"-(\d{4}-\d{2}-\d{2})\.[a-z]+$")


def _rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _interfaces() -> list[str]:
    from doudi.datapool.catalog import load_catalog
    from doudi.monitoring.engine.catalog import load_rules

    rules = load_rules(interfaces=frozenset(i.code for i in load_catalog()))
    from doudi.monitoring.engine.run import ROLL_INTERFACES

    return sorted({i for r in rules for i in r.interfaces()} | set(ROLL_INTERFACES))


def _build(city: Path, jobs: int, out: dict[str, object]) -> list[tuple[str, Path]]:
    """Ingest the history files; return the last day's files (for the incremental run)."""
    from doudi.datapool import registry_export, store
    from doudi.datapool.bench_pool import _ingest_interface, worker_pool
    from doudi.datapool.models import IngestFile

    wanted = set(_interfaces())
    feeds = city / "feeds"
    history: dict[str, list[Path]] = {}
    last_day: list[tuple[str, Path]] = []
    for code in sorted(wanted):
        folder = feeds / code
        if not folder.exists():
            continue
        files = sorted(p for p in folder.iterdir() if p.is_file())
        days = {p: m.group(1) for p in files if (m := DAILY.search(p.name))}
        last = max(days.values(), default=None)
        for p in files:
            if last is not None and days.get(p) == last:
                last_day.append((code, p))
            else:
                history.setdefault(code, []).append(p)
    if IngestFile.objects.filter(status=IngestFile.Status.COMMITTED).exists():
        out["build"] = "reused"
        return last_day
    t = time.perf_counter()
    registry_export.registry_from_synthetic_city(
        store.pool_root(), city / "persons.parquet", city / "households.parquet"
    )
    work = sorted(history.items(), key=lambda kv: -sum(p.stat().st_size for p in kv[1]))
    if jobs <= 1:
        results = [_ingest_interface(item) for item in work]
    else:
        with worker_pool(jobs, store.DEFAULT_THREADS) as pool:
            results = list(pool.map(_ingest_interface, work))
    out["build_seconds"] = round(time.perf_counter() - t, 1)
    out["build_rows"] = sum(r["rows"] for r in results)
    return last_day


def _evaluate(window, tree, prior=None, scope=None):  # type: ignore[no-untyped-def]
    """The engine part of a run, timed per phase (no Django models written)."""
    from doudi.monitoring import selectors
    from doudi.monitoring.engine import run as engine

    rules = selectors.rules()
    t0 = time.perf_counter()
    con = selectors.rules_connection(rules, scope=scope if window.scoped else None)
    t1 = time.perf_counter()
    engine.prepare(
        con,
        window=window,
        tree=tree,
        benefits=selectors.benefits_table(as_of=window.as_of),
        entitled=selectors.entitled_table(as_of=window.as_of),
    )
    t2 = time.perf_counter()
    seconds, rows = engine.run_rules(con, rules, share_all=window.scoped)
    t3 = time.perf_counter()
    decisions = engine.decide(con, rules, prior=prior)
    t4 = time.perf_counter()
    scanned = selectors.rows_scanned(con, rules)
    con.close()
    by_rule: dict[str, dict[str, int]] = {}
    for r, a in zip(
        decisions.column("rule").to_pylist(), decisions.column("action").to_pylist(), strict=True
    ):
        by_rule.setdefault(r, {"new": 0, "update": 0, "suppress": 0})[a] += 1
    sev = {r.code: r.severity for r in rules}
    by_severity: dict[str, int] = {"red": 0, "orange": 0, "yellow": 0}
    for code, counts in by_rule.items():
        by_severity[sev[code]] += counts["new"]
    return decisions, {
        "rows_scanned": scanned,
        "seconds_views": round(t1 - t0, 2),
        "seconds_prepare": round(t2 - t1, 2),
        "seconds_rules": round(t3 - t2, 2),
        "seconds_decide": round(t4 - t3, 2),
        "seconds_total": round(t4 - t0, 2),
        "seconds_per_rule": seconds,
        "evidence_rows": rows,
        "alerts": by_rule,
        "alerts_new": sum(c["new"] for c in by_rule.values()),
        "alerts_by_severity": by_severity,
    }


def _prior(decisions, as_of: dt.date):  # type: ignore[no-untyped-def]
    """The full run's alerts as the open alerts an incremental run deduplicates against."""
    import pyarrow as pa

    n = decisions.num_rows
    return pa.table(
        {
            "rule": decisions.column("rule"),
            "household_id": decisions.column("household_id"),
            "alert_id": pa.array(range(1, n + 1), pa.int64()),
            "is_open": pa.array([True] * n, pa.bool_()),
            "raised_on": pa.array([as_of] * n, pa.date32()),
            "magnitude": decisions.column("magnitude"),
        }
    )


def _replay(day: dt.date, decisions, as_of: dt.date, tree) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """An incremental run over the files of ``day`` that are already in the pool: the scope is
    their ingest batches; everything ingested before the first of them counts as seen. (Files of
    later days ingested after it, in the parallel build, count as new for the scoped households:
    a superset of a real night's work, never less.)"""
    from doudi.datapool.models import IngestFile
    from doudi.monitoring.engine import run as engine

    stamp = day.isoformat()
    scope = [
        pk
        for pk, name in IngestFile.objects.filter(status=IngestFile.Status.COMMITTED).values_list(
            "id", "file_name"
        )
        if (m := DAILY.search(name)) and m.group(1) == stamp
    ]
    if not scope:
        return {"day": stamp, "error": "no files of that day in the pool"}
    rows = sum(IngestFile.objects.filter(id__in=scope).values_list("rows", flat=True))
    from doudi.monitoring import selectors

    window = engine.Window(
        as_of=day, since=as_of, last_ingest=min(scope) - 1, scoped=selectors.worth_scoping(scope)
    )
    _, res = _evaluate(window, tree, prior=_prior(decisions, as_of), scope=scope)
    res["day"] = stamp
    res["files"] = len(scope)
    res["rows"] = rows
    res["peak_rss_mib"] = _rss_mib()
    return res


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="doudi bench monitor")
    parser.add_argument("--city", type=Path, required=True, help="a generated city with feeds/")
    parser.add_argument("--work", type=Path, default=Path("bench-out/monitor"))
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads")
    parser.add_argument("--skip-incremental", action="store_true")
    parser.add_argument(
        "--replay-day",
        type=dt.date.fromisoformat,
        default=None,
        help="also time an incremental run over the files of this day, already in the pool "
        "(a typical day, where the last day of the feeds is a quarter-end bank batch); use with "
        "--as-of the day before",
    )
    args = parser.parse_args(list(argv))
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ["DOUDI_DATA_DIR"] = str((args.work / "data").resolve())
    os.environ.setdefault("DOUDI_FIELD_KEY", "YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktMzI=")
    bootstrap.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from doudi.datapool import store
    from doudi.datapool.ingest import IngestOptions, ingest_file
    from doudi.datapool.models import IngestFile
    from doudi.monitoring import selectors
    from doudi.monitoring.engine import run as engine
    from doudi.policy import selectors as policy_selectors

    if args.threads:
        store.DEFAULT_THREADS = args.threads
    out: dict[str, object] = {"city": str(args.city)}
    last_day = _build(args.city, args.jobs, out)
    manifest = json.loads((args.city / "manifest.json").read_text(encoding="utf-8"))
    out["persons"] = manifest.get("persons")
    last = max((m.group(1) for _, p in last_day if (m := DAILY.search(p.name))), default=None)
    as_of = args.as_of or (
        dt.date.fromisoformat(last) - dt.timedelta(days=1) if last else dt.date(2026, 1, 1)
    )
    tree = policy_selectors.parameter_tree()
    max_ingest = IngestFile.objects.order_by("-id").values_list("id", flat=True).first() or 0
    full_window = engine.Window(
        as_of=as_of, since=as_of - dt.timedelta(days=365), last_ingest=max_ingest
    )
    # the pool's mirror brought up to date with everything ingested (a first use copies the
    # whole pool: timed apart, it is paid once; a night's run appends that day's files)
    t = time.perf_counter()
    selectors.rules_connection(selectors.rules()).close()
    out["mirror_update_seconds"] = round(time.perf_counter() - t, 1)
    decisions, full = _evaluate(full_window, tree)
    full["peak_rss_mib"] = _rss_mib()
    out["as_of"] = as_of.isoformat()
    out["full"] = full
    print(json.dumps(out, ensure_ascii=False, default=str), file=sys.stderr, flush=True)
    if args.replay_day is not None:
        out["replay"] = _replay(args.replay_day, decisions, as_of, tree)
    if not args.skip_incremental and last_day:
        prior = _prior(decisions, as_of)
        t = time.perf_counter()
        rows = 0
        day_ingests = []
        for code, path in last_day:
            f = ingest_file(code, path, options=IngestOptions(probabilistic=False))
            rows += f.rows
            day_ingests.append(f.pk)
        out["daily_ingest"] = {
            "files": len(last_day),
            "rows": rows,
            "seconds": round(time.perf_counter() - t, 1),
        }
        day = dt.date.fromisoformat(last) if last else as_of + dt.timedelta(days=1)
        # the nightly case: the history arrived before the full run, the day's files after it
        inc_window = engine.Window(
            as_of=day,
            since=as_of,
            last_ingest=max_ingest,
            scoped=selectors.worth_scoping(day_ingests),
        )
        _, inc = _evaluate(inc_window, tree, prior=prior, scope=day_ingests)
        inc["peak_rss_mib"] = _rss_mib()
        out["incremental"] = inc
    print(json.dumps(out, ensure_ascii=False, default=str))
    return 0
