"""The city-wide sweep over a pool (the killed `doudi bench pool` data dir), measured.

    python benchmarks/sweep_pool.py DATA_DIR CITY_DIR [--no-mirror]

By default the sweep reads the pool's mirror (``datapool.mirror``), as `doudi sweep` does; it is
brought up to date first and that is timed apart (``seconds_mirror_update``: a first use copies
the whole pool, later ones append what was ingested since). ``--no-mirror`` reads the Parquet
files."""

import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path

data = Path(sys.argv[1])
city = Path(sys.argv[2])
os.environ["DOUDI_DATA_DIR"] = str(data)
os.environ.setdefault("DOUDI_FIELD_KEY", "YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktMzI=")
from doudi.config import bootstrap  # noqa: E402

bootstrap.setup()
from doudi.datapool.selectors import pool_connection, pool_narrow  # noqa: E402
from doudi.policy.engine import sweep  # noqa: E402
from doudi.policy.engine.parameters import load_tree  # noqa: E402

as_of = dt.date(2026, 1, 1)
use_mirror = "--no-mirror" not in sys.argv[3:]
tm = time.perf_counter()
if use_mirror:
    pool_connection(mirror=True).close()
seconds_mirror = round(time.perf_counter() - tm, 2)
t0 = time.perf_counter()
con = pool_connection(mirror=use_mirror)
con.execute("SET enable_progress_bar = false")
pool_narrow(con, sweep.pool_windows(as_of))
con.execute(f"""CREATE OR REPLACE TEMP VIEW declarations AS
    SELECT person_id, CAST(monthly_income_yuan AS BIGINT) * 100 AS monthly_fen,
           DATE '2025-06-01' AS declared_on FROM read_parquet('{city / "persons.parquet"}')""")
t1 = time.perf_counter()
s = sweep.sweep_duckdb(con, tree=load_tree(), as_of=as_of, out_dir=data / "policy-bench" / "run")
s["seconds_setup"] = round(t1 - t0, 2)
s["mirror"] = use_mirror
s["seconds_mirror_update"] = seconds_mirror
s["seconds_total"] = round(time.perf_counter() - t0, 2)
s["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps(s, ensure_ascii=False))
