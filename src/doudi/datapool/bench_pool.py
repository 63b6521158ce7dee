"""``doudi bench pool``: a whole synthetic city's department feeds into the pool, timed.

Generates (or reuses, ``--city DIR``) a synthetic city with its feeds, writes the registry export
from the city's own files (the bench measures the pool, not the loading of 7 million persons into
the operational database), then:

1. ingests every history file and every daily file but the last day's (exact-ID path), interface
   by interface, in date order;
2. runs the bulk probabilistic linking once over the rows without a usable ID;
3. ingests the last day's files of every interface: the incremental daily run;
4. measures linkage against the generator's truth tables (precision and recall of the rows linked
   exactly or probabilistically).

Prints one JSON object: rows, accepted, quarantined, duplicates, seconds per phase, rows per
second, peak RSS, linkage precision/recall.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from doudi.config import bootstrap

DAILY = re.compile(r"-(\d{4}-\d{2}-\d{2})\.[a-z]+$")


def _ingest_interface(item: tuple[str, list[Path]]) -> dict[str, int]:
    """Ingest one interface's files in order (runs in a worker process)."""
    from django.db import connections

    from doudi.datapool import store
    from doudi.datapool.ingest import IngestOptions, ingest_file

    store.reset_connection()
    code, paths = item
    out = {"rows": 0, "accepted": 0, "quarantined": 0, "duplicates": 0, "files": 0, "failed": 0}
    for path in paths:
        try:
            result = ingest_file(code, path, options=IngestOptions(probabilistic=False))
        except Exception:  # noqa: BLE001 - counted and reported
            out["failed"] += 1
            continue
        out["files"] += 1
        for k in ("rows", "accepted", "quarantined", "duplicates"):
            out[k] += getattr(result, k)
    connections.close_all()
    return out


def _worker_setup(threads: int | None) -> None:
    """Start of a worker process: Django set up afresh (the workers are spawned, not forked: a
    process forked after DuckDB, Arrow or Splink started threads can crash in libc, as one did
    on 2026-11-29 after the linking step)."""
    bootstrap.setup()
    if threads:
        import pyarrow as pa

        from doudi.datapool import store

        pa.set_cpu_count(threads)
        store.DEFAULT_THREADS = threads


def worker_pool(jobs: int, threads: int | None = None):  # type: ignore[no-untyped-def]
    """Processes that ingest interfaces in parallel (spawned; the environment carries the data
    directory and keys)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_setup,
        initargs=(threads,),
    )


def evaluate(feeds: Path) -> dict[str, object]:
    """Precision and recall of the pool's person links against the feeds' truth tables."""
    from doudi.datapool.catalog import load_catalog
    from doudi.datapool.selectors import pool_connection

    con = pool_connection()
    con.execute("SET preserve_insertion_order = false")
    linked = right = true_persons = prob_linked = prob_right = 0
    for interface in load_catalog():
        truth = feeds / "_truth" / f"{interface.code}.parquet"
        if not interface.person_field or not truth.exists():
            continue
        row = con.execute(f"""
            SELECT count(*) FILTER (WHERE l.person_id IS NOT NULL),
                   count(*) FILTER (WHERE l.person_id IS NOT NULL AND l.person_id = t.person_id),
                   count(*) FILTER (WHERE t.person_id IS NOT NULL),
                   count(*) FILTER (WHERE l.link_method = 'probabilistic'),
                   count(*) FILTER (WHERE l.link_method = 'probabilistic'
                                    AND l.person_id = t.person_id)
            FROM (SELECT _file, _line, person_id, link_method FROM {interface.code}) l
            JOIN read_parquet('{truth}') t ON t.file = l._file AND t.line = l._line
        """).fetchone()
        linked += row[0]
        right += row[1]
        true_persons += row[2]
        prob_linked += row[3]
        prob_right += row[4]
    return {
        "precision": round(right / linked, 5) if linked else None,
        "recall": round(right / true_persons, 5) if true_persons else None,
        "probabilistic_linked": prob_linked,
        "probabilistic_precision": round(prob_right / prob_linked, 5) if prob_linked else None,
    }


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="doudi bench pool")
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--city", type=Path, default=None, help="a generated city with feeds/")
    parser.add_argument("--work", type=Path, default=Path("bench-out/pool"))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="only measure linkage on the pool already in --work",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="processes ingesting interfaces in parallel (one interface's files "
        "stay in order in one process)",
    )
    args = parser.parse_args(list(argv))
    args.work.mkdir(parents=True, exist_ok=True)
    os.environ["DOUDI_DATA_DIR"] = str((args.work / "data").resolve())
    os.environ.setdefault("DOUDI_FIELD_KEY", "YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktMzI=")
    bootstrap.setup()
    from django.core.management import call_command

    from doudi.datapool import registry_export, store
    from doudi.datapool.catalog import load_catalog
    from doudi.datapool.linking import link_pending

    call_command("migrate", verbosity=0)
    if args.threads:
        import pyarrow as pa

        pa.set_cpu_count(args.threads)
        store.DEFAULT_THREADS = args.threads
    out: dict[str, object] = {"persons": args.persons}
    if args.evaluate_only:
        print(json.dumps({"linkage": evaluate(args.city / "feeds")}, ensure_ascii=False))
        return 0
    city = args.city
    if city is None:
        from doudi.synth.feeds import generate_feeds
        from doudi.synth.generator import generate

        city = args.work / "city"
        t = time.perf_counter()
        generate(persons=args.persons, seed=args.seed, out_dir=city, as_of=date(2026, 1, 1))
        generate_feeds(
            city_dir=city, out_dir=city / "feeds", seed=args.seed, as_of=date(2026, 1, 1)
        )
        out["generate_seconds"] = round(time.perf_counter() - t, 1)
    feeds = city / "feeds"
    root = store.pool_root()
    t = time.perf_counter()
    registry_export.registry_from_synthetic_city(
        root, city / "persons.parquet", city / "households.parquet"
    )
    out["registry_seconds"] = round(time.perf_counter() - t, 1)

    history, last_day = [], []
    for interface in load_catalog():
        folder = feeds / interface.code
        if not folder.exists():
            continue
        files = sorted(p for p in folder.iterdir() if p.is_file())
        days = {p: m.group(1) for p in files if (m := DAILY.search(p.name))}
        last = max(days.values(), default=None)
        for p in files:
            (last_day if last is not None and days.get(p) == last else history).append(
                (interface.code, p)
            )
    totals = {"rows": 0, "accepted": 0, "quarantined": 0, "duplicates": 0, "files": 0, "failed": 0}

    def run(batch):  # type: ignore[no-untyped-def]
        by_interface: dict[str, list[Path]] = {}
        for code, path in batch:
            by_interface.setdefault(code, []).append(path)
        # biggest interfaces first, so the processes finish together
        work = sorted(by_interface.items(), key=lambda kv: -sum(p.stat().st_size for p in kv[1]))
        if args.jobs <= 1:
            results = [_ingest_interface(item) for item in work]
        else:
            with worker_pool(args.jobs, args.threads) as pool:
                results = list(pool.map(_ingest_interface, work))
        for r in results:
            for k, v in r.items():
                totals[k] += v

    t = time.perf_counter()
    run(history)
    out["ingest_seconds"] = round(time.perf_counter() - t, 1)
    out["ingest"] = dict(totals)
    out["rows_per_second"] = round(totals["rows"] / max(out["ingest_seconds"], 1e-9))
    print(json.dumps(out, ensure_ascii=False), file=sys.stderr, flush=True)
    t = time.perf_counter()
    out["linking"] = link_pending()
    out["linking_seconds"] = round(time.perf_counter() - t, 1)
    print(json.dumps(out, ensure_ascii=False), file=sys.stderr, flush=True)
    before = dict(totals)
    t = time.perf_counter()
    run(last_day)
    out["daily_seconds"] = round(time.perf_counter() - t, 1)
    out["daily_rows"] = totals["rows"] - before["rows"]
    out["daily_files"] = totals["files"] - before["files"]

    # linkage quality against the generator's truth, one interface at a time (bounded memory)
    out["linkage"] = evaluate(feeds)
    out["store_mib"] = round(sum(p.stat().st_size for p in root.rglob("*.parquet")) / 2**20, 1)
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out, ensure_ascii=False))
    return 0
