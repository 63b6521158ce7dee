"""Finish the 7M pool for the sweep benchmark: ingest (in order) the files of the interfaces the
sweep reads, into the pool the killed `doudi bench pool` run left in /work/bench7m (files already
committed are recognised by hash and skipped). Not part of doudi: a one-off for this benchmark.

    python benchmarks/pool_ingest_sweep_interfaces.py [DATA_DIR [FEEDS_DIR]]

(defaults /work/bench7m/data and /work/bench7m/city/feeds; the monitor bench's pool is
/work/bench7m/mon/data)."""
import json, os, sys, time
from pathlib import Path
os.environ["DOUDI_DATA_DIR"] = sys.argv[1] if len(sys.argv) > 1 else "/work/bench7m/data"
os.environ.setdefault("DOUDI_FIELD_KEY", "YmVuY2gta2V5LWJlbmNoLWtleS1iZW5jaC1rZXktMzI=")
from doudi.config import bootstrap
bootstrap.setup()
from doudi.datapool.bench_pool import _ingest_interface
SWEEP = ["tax_income", "pension_payment", "unemployment_insurance", "bank_deposit", "securities",
         "commercial_insurance", "vehicle_registration", "fishing_vessel", "real_estate",
         "business_registration", "medical_inpatient", "medical_outpatient", "disability_rehab",
         "relapse_watch", "disaster_loss", "dibao_roll", "tekun_roll", "disability_certificate",
         "serious_disease", "death_registration", "prisoner", "orphan_roll",
         "unsupported_child_roll"]
feeds = Path(sys.argv[2] if len(sys.argv) > 2 else "/work/bench7m/city/feeds")
t0 = time.perf_counter()
total = {}
for code in SWEEP:
    folder = feeds / code
    if not folder.exists():
        continue
    files = sorted(p for p in folder.iterdir() if p.is_file())
    t = time.perf_counter()
    r = _ingest_interface((code, files))
    r["seconds"] = round(time.perf_counter() - t, 1)
    total[code] = r
    print(code, json.dumps(r), flush=True)
print("total seconds", round(time.perf_counter() - t0, 1), sum(v["rows"] for v in total.values()), "rows", flush=True)
