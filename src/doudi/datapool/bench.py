"""``doudi bench ingest``: ingest throughput on the exact-ID path, measured on a synthetic city.

Builds a synthetic city in memory, writes its registry (with blind indexes) where the pool's
linkage reads it, writes one UTF-8 CSV of ``--rows`` inpatient settlements about its people, and
ingests it through the real pipeline (validation, normalisation, keys, dedup against the store,
exact linkage, Parquet store, ledger) with DuckDB and Arrow limited to ``--threads`` threads.
Prints JSON: rows, seconds, rows per second, rows per second per thread, peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from doudi.config import bootstrap


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="doudi bench ingest")
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: temp)")
    parser.add_argument(
        "--floors",
        action="store_true",
        help="also time what the libraries alone take for the unavoidable steps on the same data",
    )
    args = parser.parse_args(list(argv))
    work = args.dir or Path(tempfile.mkdtemp(prefix="doudi-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["DOUDI_DATA_DIR"] = str(work / "data")
    os.environ.setdefault("DOUDI_FIELD_KEY", "YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktMzI=")
    bootstrap.setup()
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    from django.core.management import call_command

    from doudi.datapool import registry_export, store
    from doudi.datapool.ingest import IngestOptions, ingest_file
    from doudi.synth.generator import build_tables

    call_command("migrate", verbosity=0)
    pa.set_cpu_count(args.threads)
    pa.set_io_thread_count(args.threads)
    store.DEFAULT_THREADS = args.threads
    t0 = time.perf_counter()
    tables = build_tables(persons=args.persons, seed=args.seed, as_of=date(2026, 1, 1))
    persons, households = tables["persons"], tables["households"]
    registry_export.registry_from_synthetic_city(store.pool_root(), persons, households)
    rng = np.random.default_rng(args.seed)
    pick = pa.array(rng.integers(0, persons.num_rows, args.rows))
    ids = pc.take(persons["id_number"], pick)
    names = pc.take(persons["name"], pick)
    day = rng.integers(0, 365, args.rows)
    admit = (np.datetime64("2025-01-01") + day).astype("datetime64[D]")
    stay = rng.integers(1, 20, args.rows)
    total = rng.integers(500, 60000, args.rows)
    csv = pa.table(
        {
            "身份证号": ids,
            "姓名": names,
            "入院日期": pa.array(admit).cast(pa.string()),
            "出院日期": pa.array(admit + stay).cast(pa.string()),
            "医疗总费用": pa.array(total).cast(pa.string()),
            "统筹支付": pa.array((total * 0.6).astype(np.int64)).cast(pa.string()),
            "个人自付": pa.array(total - (total * 0.6).astype(np.int64)).cast(pa.string()),
            "医疗机构": pa.array(
                rng.choice(
                    ["烟台毓璜顶医院", "烟台山医院", "福山区人民医院", "莱州市人民医院"], args.rows
                )
            ),
        }
    )
    path = work / "medical_inpatient.csv"
    pacsv.write_csv(csv, path, pacsv.WriteOptions(quoting_style="none"))
    prepared = time.perf_counter() - t0
    t1 = time.perf_counter()
    steps: dict[str, float] = {}
    ingest = ingest_file(
        "medical_inpatient", path, options=IngestOptions(probabilistic=False, timings=steps)
    )
    seconds = time.perf_counter() - t1
    summary = ingest.summary()
    floors = _floors(path, ingest.pk) if args.floors else None
    print(
        json.dumps(
            {
                "benchmark": "ingest exact-ID path, UTF-8 CSV",
                "persons": args.persons,
                "rows": summary["rows"],
                "accepted": summary["accepted"],
                "linked": summary["linked"],
                "duplicates": summary["duplicates"],
                "threads": args.threads,
                "seconds": round(seconds, 2),
                "rows_per_second": round(summary["rows"] / seconds),
                "rows_per_second_per_thread": round(summary["rows"] / seconds / args.threads),
                "file_mib": round(path.stat().st_size / 2**20, 1),
                "prepare_seconds": round(prepared, 1),
                "peak_rss_mib": _peak_mib(),
                "steps_seconds": steps,
                **({"library_floors_seconds": floors} if floors else {}),
            },
            ensure_ascii=False,
        )
    )
    return 0


def _floors(csv_path: Path, ingest_id: int) -> dict[str, float]:
    """What the libraries alone take, on the same data and threads, for steps any ingest on this
    stack must do: parse the CSV (Arrow), write the stored rows as Parquet (Arrow; zstd level 1 as
    the store does, and uncompressed), build and MD5 the rows' key and content texts (DuckDB),
    find the distinct ID numbers and SHA-256 each (DuckDB). Their sum is a floor for the whole
    ingest with these libraries (validation, dedup, linkage and the period order come on top)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from doudi.core import crypto
    from doudi.datapool import store
    from doudi.datapool.catalog import load_catalog
    from doudi.datapool.ingest import _hash_sql
    from doudi.datapool.models import StoreFile

    interface = load_catalog().get("medical_inpatient")
    root = store.pool_root()
    out: dict[str, float] = {}

    def timed(label: str, work) -> object:
        t = time.perf_counter()
        result = work()
        out[label] = round(time.perf_counter() - t, 3)
        return result

    headers = [f.header for f in interface.fields if f.header]
    timed(
        "Arrow: parse the CSV as text",
        lambda: pacsv.read_csv(
            csv_path,
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in headers}, strings_can_be_null=False
            ),
        ),
    )
    paths = [
        root / p
        for p in StoreFile.objects.filter(ingest_id=ingest_id).values_list("path", flat=True)
    ]
    stored = pa.concat_tables([pq.read_table(p) for p in paths]).combine_chunks()
    target = Path(tempfile.mkdtemp(prefix="doudi-floor-")) / "rows.parquet"
    timed(
        "Arrow: write the stored rows, zstd 1",
        lambda: pq.write_table(stored, target, compression="zstd", compression_level=1),
    )
    timed(
        "Arrow: write the stored rows, uncompressed",
        lambda: pq.write_table(stored, target, compression="none"),
    )
    target.unlink()
    con = store.connect(private=True)
    con.register("stored", stored)
    fields = [f.name for f in interface.fields if f.name in stored.column_names]
    key = [c if c in stored.column_names else "id_index" for c in interface.key]
    timed(
        "DuckDB: key and content texts, MD5 (stored rows)",
        lambda: con.sql(
            f"SELECT {_hash_sql(key)}, {_hash_sql(['id_index', *fields])} FROM stored"
        ).to_arrow_table(),
    )
    timed(
        "DuckDB: distinct ID numbers, SHA-256 of each",
        lambda: con.sql(
            f"SELECT {crypto.blind_index_sql('v')} FROM (SELECT DISTINCT left(id_index, 18) AS v"
            " FROM stored)"
        ).to_arrow_table(),
    )
    con.close()
    out["sum (with the store's zstd write)"] = round(
        sum(v for k, v in out.items() if k != "Arrow: write the stored rows, uncompressed"), 3
    )
    return out
