"""``doudi bench policy``: the rule engine timed on a whole synthetic city, and compared.

1. A synthetic city (``--city DIR``, or ``--persons N`` generated into ``--work``/city once).
2. DuckDB, the production path: the rule inputs straight from the city's Parquet files
   (``sweep.inputs_from_city``), the rule stages (``sweep.run_rules``), the results written as
   Parquet and summarised (``sweep.write_results`` / ``summarise``): seconds per phase, peak
   RSS, households, persons and the results per category.
3. The same input tables (exported once, untimed) through the same rules written in plain
   pandas (``bench_pandas``) and as an OpenFisca tax-benefit system
   (``benchmarks/openfisca_doudi``, outside the package): seconds, peak RSS, the ratios to
   DuckDB and the number of households and members whose results differ from DuckDB's.
   Each engine runs in a fresh process (``spawn``), so each peak RSS is its own.
4. ``assess`` for one household, in-process and warm: median and p95 over ``--assess-calls``
   calls, for a 3-person and a 6-person household.

Prints one JSON object. pandas and OpenFisca are optional (not doudi dependencies): when one is
not importable the benchmark says so and how to install it (``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import math
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

#: per-household outputs compared between engines (DuckDB's ``pr`` columns)
COMPARE_HOUSEHOLD = (
    "n_counted",
    "income_total_fen",
    "a_fin",
    "a_vehicles",
    "a_dwellings",
    "a_business",
    "dibao",
    "near_dibao",
    "rigid_expense",
    "relapse_watch",
    "other_difficulty",
    "has_tekun",
    "tier",
    "monthly_benefit_yuan",
    "per_capita_fen",
)
#: per-member outputs compared (DuckDB's ``pmc`` columns)
COMPARE_MEMBER = ("tekun", "care_level")
INSTALL_HINT = (
    "uv pip install --python .venv/bin/python pandas openfisca-core  (see benchmarks/README.md)"
)


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _cpu() -> float:
    """CPU seconds of this process so far, all threads (user + system): on a shared machine
    the wall-clock seconds depend on the others' load, these much less."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class PhaseError(RuntimeError):
    pass


def _call(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - sent back as text: not every error pickles
        import traceback

        raise PhaseError(f"{fn.__name__}: {exc!r}\n{traceback.format_exc()}") from None


def _in_fresh_process(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """Run ``fn(*args)`` in a new interpreter (its peak RSS is its own)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(_call, fn, *args).result()


# ------------------------------------------------------------------------------------ DuckDB


def duckdb_phase(
    city: str, as_of: str, threads: int, run_dir: str, memory_limit: str
) -> dict[str, Any]:
    """The production path on DuckDB, timed; then (untimed) the inputs and the results to
    compare exported as Parquet under ``run_dir``."""
    import duckdb

    from doudi.policy.engine.parameters import load_tree
    from doudi.policy.engine.rules import load_stages
    from doudi.policy.engine.schema import params_table
    from doudi.policy.engine.sweep import inputs_from_city, run_rules, summarise, write_results

    day = dt.date.fromisoformat(as_of)
    # warm, as a long-lived worker is: the parsed rule files, the parameters, and the modules
    # pyarrow imports lazily when it first builds a table (pandas, where installed)
    tw = time.perf_counter()
    tree = load_tree()
    load_stages()
    params_table(tree, day, [])
    warmup = time.perf_counter() - tw
    out = Path(run_dir)
    con = duckdb.connect(config={"threads": threads, "autoinstall_known_extensions": False})
    con.execute("SET enable_progress_bar = false")
    # the settings sweep.sweep_duckdb gives its connection (memory cap, spilling, no insertion
    # order), here from the start, so that building the inputs is capped too
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{out / 'duckdb-spill'}'")
    con.execute("SET preserve_insertion_order = false")
    c0, t0 = _cpu(), time.perf_counter()
    counts = inputs_from_city(con, Path(city), day)
    c1, t1 = _cpu(), time.perf_counter()
    run_rules(con, tree=tree, as_of=day)
    c2, t2 = _cpu(), time.perf_counter()
    paths = write_results(con, out / "duckdb")
    c3, t3 = _cpu(), time.perf_counter()
    summary = summarise(con, str(paths["households"]), str(paths["members"]))
    t4 = time.perf_counter()
    peak = _peak_mib()
    # untimed: the same inputs for the other engines, and DuckDB's results to compare with
    (out / "inputs").mkdir(parents=True, exist_ok=True)
    for rel in ("p_households", "p_members", "p_params"):
        con.execute(f"COPY {rel} TO '{out / 'inputs' / rel}.parquet' (FORMAT parquet)")
    con.execute(
        f"COPY (SELECT household_id, {', '.join(COMPARE_HOUSEHOLD)} FROM pr) "
        f"TO '{out / 'duckdb' / 'compare_households.parquet'}' (FORMAT parquet)"
    )
    con.execute(
        f"COPY (SELECT household_id, member_idx, {', '.join(COMPARE_MEMBER)} FROM pmc) "
        f"TO '{out / 'duckdb' / 'compare_members.parquet'}' (FORMAT parquet)"
    )
    con.close()
    return {
        "threads": threads,
        "memory_limit": memory_limit,
        "households": counts["households"],
        "persons": counts["persons"],
        "seconds_warmup": round(warmup, 2),
        "seconds_inputs": round(t1 - t0, 2),
        "seconds_rules": round(t2 - t1, 2),
        "seconds_write": round(t3 - t2, 2),
        "seconds_summary": round(t4 - t3, 2),
        "seconds_total": round(t3 - t0, 2),
        "cpu_seconds_inputs": round(c1 - c0, 2),
        "cpu_seconds_rules": round(c2 - c1, 2),
        "cpu_seconds_write": round(c3 - c2, 2),
        "cpu_seconds_total": round(c3 - c0, 2),
        "peak_rss_mib": peak,
        "summary": summary,
    }


# ------------------------------------------------------------------------------------ pandas


def pandas_phase(run_dir: str) -> dict[str, Any]:
    from doudi.policy import bench_pandas

    out = Path(run_dir)
    inputs = out / "inputs"
    t0 = time.perf_counter()
    h, m, p = bench_pandas.read_inputs(
        str(inputs / "p_households.parquet"),
        str(inputs / "p_members.parquet"),
        str(inputs / "p_params.parquet"),
    )
    c1, t1 = _cpu(), time.perf_counter()
    hh, mem = bench_pandas.run(h, m, p)
    c2, t2 = _cpu(), time.perf_counter()
    peak = _peak_mib()
    (out / "pandas").mkdir(parents=True, exist_ok=True)
    hh.to_parquet(out / "pandas" / "compare_households.parquet", index=False)
    mem.to_parquet(out / "pandas" / "compare_members.parquet", index=False)
    import pandas

    return {
        "version": pandas.__version__,
        "seconds_load": round(t1 - t0, 2),
        "seconds_rules": round(t2 - t1, 2),
        "cpu_seconds_rules": round(c2 - c1, 2),
        "peak_rss_mib": peak,
    }


# ------------------------------------------------------------------------------------ OpenFisca


def openfisca_dir() -> Path | None:
    """``benchmarks/`` of the source tree this module is in (or of the working directory)."""
    for root in (Path(__file__).resolve().parents[3], Path.cwd()):
        if (root / "benchmarks" / "openfisca_doudi" / "__init__.py").exists():
            return root / "benchmarks"
    return None


def openfisca_phase(run_dir: str, as_of: str, package_dir: str) -> dict[str, Any]:
    import pyarrow.parquet as pq

    sys.path.insert(0, package_dir)
    import openfisca_core
    from openfisca_doudi import DoudiTaxBenefitSystem
    from openfisca_doudi.simulate import parameter_value, run

    from doudi.policy.engine.schema import PARAM_COLUMNS

    out = Path(run_dir)
    day = dt.date.fromisoformat(as_of)
    t0 = time.perf_counter()
    h = pq.read_table(out / "inputs" / "p_households.parquet")
    m = pq.read_table(out / "inputs" / "p_members.parquet")
    t1 = time.perf_counter()
    tbs = DoudiTaxBenefitSystem()
    c2, t2 = _cpu(), time.perf_counter()
    hh, mem, secs = run(h, m, day, tbs)
    c3 = _cpu()
    peak = _peak_mib()
    (out / "openfisca").mkdir(parents=True, exist_ok=True)
    pq.write_table(hh, out / "openfisca" / "compare_households.parquet")
    pq.write_table(mem, out / "openfisca" / "compare_members.parquet")
    # the YAML parameters against doudi's parameter table for the date, county by county
    params = pq.read_table(out / "inputs" / "p_params.parquet").to_pylist()
    differ = []
    for row in params:
        for name, (col, how) in PARAM_COLUMNS.items():
            try:
                v = parameter_value(tbs, name, day, row["county_code"])
            except Exception:  # noqa: BLE001 - not in force in OpenFisca: a difference
                v = None
            stored = (
                None
                if v is None
                else round(v * 100)
                if how == "fen"
                else round(v * 10000)
                if how == "bp"
                else int(v)
            )
            if stored != row[col]:
                differ.append(f"{row['county_code']}:{name}={v} (doudi {row[col]})")
    return {
        "version": openfisca_core.__version__
        if hasattr(openfisca_core, "__version__")
        else _dist_version("openfisca-core"),
        "seconds_load": round(t1 - t0, 2),
        "seconds_system": round(t2 - t1, 2),
        "seconds_build": round(secs["build"], 2),
        "seconds_calculate": round(secs["calculate"], 2),
        "seconds_rules": round(secs["build"] + secs["calculate"], 2),
        "cpu_seconds_rules": round(c3 - c2, 2),
        "peak_rss_mib": peak,
        "parameters_differ": differ,
    }


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


# ------------------------------------------------------------------------------------ compare


def compare(run_dir: Path, engine: str) -> dict[str, Any]:
    """Households and members whose compared outputs differ from DuckDB's (NULL-aware)."""
    import duckdb

    con = duckdb.connect(config={"threads": 2})
    con.execute("SET enable_progress_bar = false")
    d = f"read_parquet('{run_dir / 'duckdb' / 'compare_households.parquet'}')"
    o = f"read_parquet('{run_dir / engine / 'compare_households.parquet'}')"
    diff = [f"d.{c} IS DISTINCT FROM o.{c}" for c in COMPARE_HOUSEHOLD]
    row = con.execute(
        "SELECT count(*) FILTER (d.household_id IS NULL OR o.household_id IS NULL), "
        + ", ".join(f"count(*) FILTER ({x})" for x in diff)
        + f", count(*) FILTER ({' OR '.join(diff)}) "
        f"FROM {d} d FULL OUTER JOIN {o} o ON d.household_id = o.household_id"
    ).fetchall()[0]
    examples = [
        r[0]
        for r in con.execute(
            f"SELECT coalesce(d.household_id, o.household_id) FROM {d} d "
            f"FULL OUTER JOIN {o} o ON d.household_id = o.household_id "
            f"WHERE d.household_id IS NULL OR o.household_id IS NULL OR {' OR '.join(diff)} "
            "ORDER BY 1 LIMIT 5"
        ).fetchall()
    ]
    dm = f"read_parquet('{run_dir / 'duckdb' / 'compare_members.parquet'}')"
    om = f"read_parquet('{run_dir / engine / 'compare_members.parquet'}')"
    mdiff = [f"d.{c} IS DISTINCT FROM o.{c}" for c in COMPARE_MEMBER]
    mrow = con.execute(
        "SELECT count(*) FILTER (d.household_id IS NULL OR o.household_id IS NULL), "
        + ", ".join(f"count(*) FILTER ({x})" for x in mdiff)
        + f" FROM {dm} d FULL OUTER JOIN {om} o "
        "ON d.household_id = o.household_id AND d.member_idx = o.member_idx"
    ).fetchall()[0]
    con.close()
    households = {"missing_on_one_side": row[0]}
    households.update({c: row[1 + i] for i, c in enumerate(COMPARE_HOUSEHOLD)})
    members = {"missing_on_one_side": mrow[0]}
    members.update({c: mrow[1 + i] for i, c in enumerate(COMPARE_MEMBER)})
    total = row[-1] + row[0] + sum(mrow)
    return {
        "households_differing": row[-1] + row[0],
        "households": households,
        "members": members,
        "total": total,
        "example_household_ids": examples,
    }


# ------------------------------------------------------------------------------------ assess


def _member(idx: int, relation: str, birth: str, income: int | None, **extra: Any) -> dict:
    m: dict[str, Any] = {
        "id_number": f"M{idx}",
        "name": "成员",
        "relation": relation,
        "birth_date": birth,
        "disability": None,
        "monthly_income": {"wage": income} if income is not None else {},
    }
    m.update(extra)
    return m


def sample_households() -> dict[str, dict[str, Any]]:
    """A typical 3-person household (a couple and a child) and a 6-person one (three
    generations, an elderly parent with a disability and a self-care need)."""
    assets = {"financial": 5000, "vehicles": 0, "dwellings": 1, "business_registered": False}
    three = {
        "id": "bench-3",
        "region_code": "370611001",
        "residence": "urban",
        "members": [
            _member(1, "head", "1980-05-01", 1068),
            _member(2, "spouse", "1982-03-01", 1068),
            _member(3, "child", "2015-06-01", None),
        ],
        "assets": assets,
    }
    six = {
        "id": "bench-6",
        "region_code": "370687100",
        "residence": "rural",
        "members": [
            _member(1, "head", "1975-02-01", 900),
            _member(2, "spouse", "1977-08-15", 300),
            _member(3, "child", "2010-01-01", None),
            _member(4, "child", "2016-09-30", None),
            _member(
                5,
                "parent",
                "1945-04-01",
                150,
                disability={"category": "physical", "grade": 1},
                self_care_failed_activities=4,
            ),
            _member(6, "parent", "1948-11-11", 150),
        ],
        "assets": assets,
        "rigid_expenses_12m": {"medical": 12000},
    }
    return {"3_persons": three, "6_persons": six}


def assess_latency(as_of: dt.date, calls: int) -> dict[str, Any]:
    """Milliseconds per ``assess_json`` call on one household, warm, in this process."""
    from doudi.policy.engine.assess import assess_json
    from doudi.policy.engine.parameters import load_tree

    tree = load_tree()
    # the window's engine (python) is what assess uses; the in-process DuckDB engine, far
    # slower per call, is timed on fewer calls for reference
    counts = {"python": calls, "duckdb": max(5, calls // 10)}
    out: dict[str, Any] = {"calls": counts}
    for engine, n in counts.items():
        for label, household in sample_households().items():
            doc = {"households": [household]}
            for _ in range(5):  # warm: compiled rules, DuckDB connection, caches
                assess_json(doc, as_of=as_of, tree=tree, engine=engine)
            times = []
            for _ in range(n):
                t = time.perf_counter()
                assess_json(doc, as_of=as_of, tree=tree, engine=engine)
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            out[f"{engine}_{label}"] = {
                "median_ms": round(statistics.median(times), 2),
                "p95_ms": round(times[max(0, math.ceil(0.95 * len(times)) - 1)], 2),
                "max_ms": round(times[-1], 2),
            }
    return out


# ------------------------------------------------------------------------------------ main


def _ensure_city(args: argparse.Namespace) -> tuple[Path, float | None]:
    if args.city is not None:
        return args.city, None
    city = args.work / "city"
    manifest = city / "manifest.json"
    if manifest.exists():
        info = json.loads(manifest.read_text("utf-8"))
        if info.get("persons") == args.persons and info.get("seed") == args.seed:
            return city, None
    from doudi.synth.generator import generate

    t = time.perf_counter()
    generate(persons=args.persons, seed=args.seed, out_dir=city, as_of=args.as_of)
    return city, round(time.perf_counter() - t, 1)


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or not b:
        return None
    return round(a / b, 2)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="doudi bench policy",
        description="规则引擎基准：DuckDB 与 pandas、OpenFisca 对比 / the rule engine benchmark",
    )
    parser.add_argument("--persons", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--city", type=Path, default=None, help="an already generated city")
    parser.add_argument("--work", type=Path, default=Path("bench-out/policy"))
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 1, 1))
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    parser.add_argument(
        "--memory-limit",
        default=os.environ.get("DOUDI_SWEEP_MEMORY", "6GB"),
        help="DuckDB's memory_limit (default: $DOUDI_SWEEP_MEMORY or 6GB, as the sweep)",
    )
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--skip-openfisca", action="store_true")
    parser.add_argument(
        "--assess-calls", type=int, default=200, help="assess calls to time (0: none)"
    )
    args = parser.parse_args(list(argv))

    args.work.mkdir(parents=True, exist_ok=True)
    city, generated = _ensure_city(args)
    run_dir = (args.work / "run").resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {
        "city": str(city),
        "as_of": args.as_of.isoformat(),
        "cpus": os.cpu_count(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }
    if generated is not None:
        out["generate_seconds"] = generated
    as_of = args.as_of.isoformat()

    duck = _in_fresh_process(
        duckdb_phase, str(city.resolve()), as_of, args.threads, str(run_dir), args.memory_limit
    )
    summary = duck.pop("summary")
    out["households"] = duck["households"]
    out["persons"] = duck["persons"]
    out["duckdb"] = duck
    out["results"] = {
        "categories": summary["categories"],
        "tiers": summary["tiers"],
        "no_tier": summary["households"] - sum(summary["tiers"].values()),
        "monthly_benefit_total_yuan": summary["monthly_benefit_total"],
        "policy_version": None,
    }
    print(json.dumps({"duckdb": duck}, ensure_ascii=False), file=sys.stderr, flush=True)

    if args.skip_pandas:
        out["pandas"] = {"skipped": "--skip-pandas"}
    elif importlib.util.find_spec("pandas") is None:
        out["pandas"] = {"skipped": f"pandas is not installed: {INSTALL_HINT}"}
    else:
        res = _in_fresh_process(pandas_phase, str(run_dir))
        res["mismatches"] = compare(run_dir, "pandas")
        out["pandas"] = res
        print(json.dumps({"pandas": res}, ensure_ascii=False), file=sys.stderr, flush=True)

    package_dir = openfisca_dir()
    if args.skip_openfisca:
        out["openfisca"] = {"skipped": "--skip-openfisca"}
    elif importlib.util.find_spec("openfisca_core") is None:
        out["openfisca"] = {"skipped": f"openfisca-core is not installed: {INSTALL_HINT}"}
    elif package_dir is None:
        out["openfisca"] = {"skipped": "benchmarks/openfisca_doudi not found (run from a clone)"}
    else:
        res = _in_fresh_process(openfisca_phase, str(run_dir), as_of, str(package_dir))
        res["mismatches"] = compare(run_dir, "openfisca")
        out["openfisca"] = res
        print(json.dumps({"openfisca": res}, ensure_ascii=False), file=sys.stderr, flush=True)

    rules, cpu = duck["seconds_rules"], duck["cpu_seconds_rules"]
    out["ratios"] = {
        "basis": "seconds_rules (from the in-memory input tables to the results) of the engine "
        "over DuckDB's; *_cpu: the same with CPU seconds (DuckDB's over all its threads)",
        "pandas_to_duckdb": _ratio(out["pandas"].get("seconds_rules"), rules),
        "openfisca_to_duckdb": _ratio(out["openfisca"].get("seconds_rules"), rules),
        "pandas_to_duckdb_cpu": _ratio(out["pandas"].get("cpu_seconds_rules"), cpu),
        "openfisca_to_duckdb_cpu": _ratio(out["openfisca"].get("cpu_seconds_rules"), cpu),
    }
    from doudi.policy.engine.parameters import load_tree

    out["results"]["policy_version"] = load_tree().version(args.as_of)
    if args.assess_calls > 0:
        out["assess"] = assess_latency(args.as_of, args.assess_calls)
    else:
        out["assess"] = {"skipped": "--assess-calls 0"}
    out["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
