"""Running the rule stages on Apache Spark (PySpark, local mode): the province-sized sweep.

The stages are the same files DuckDB runs (``rules/NN_*.sql``), transpiled by ``sqlglot`` from
DuckDB's dialect to Spark's (``Stage.spark_sql()``); nothing about a rule is written twice.

- ``spark_session()`` — one local SparkSession per process, configured so the rule SQL means on
  Spark exactly what it means on DuckDB (see ``SPARK_CONF``).
- ``run_stages_spark(spark, inputs)`` — the three input relations from Parquet files, every stage
  a temp view in file order (stages read by more than one later stage are cached), returns the
  ``pr`` and ``pmc`` DataFrames.
- ``sweep_spark(con, ...)`` — the night sweep on Spark: the inputs already built on a DuckDB
  connection (``sweep.build_inputs`` / ``sweep.inputs_from_city``) go out as Parquet, Spark runs the
  stages, and the two result files come back exactly as ``sweep.write_results`` writes them (same
  columns, same types, same order), so ``sweep.summarise`` gives the same numbers.

PySpark is an optional extra (``spark``): this module imports without it, and ``spark_session()``
then says how to install it. No Django here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from doudi.policy.engine.core import define_stages
from doudi.policy.engine.parameters import ParameterTree
from doudi.policy.engine.rules import INPUTS, OUTPUT_HOUSEHOLDS, OUTPUT_MEMBERS, Stage, load_stages
from doudi.policy.engine.schema import params_table
from doudi.policy.engine.sweep import (
    RESULT_HOUSEHOLD_COLUMNS,
    RESULT_MEMBER_COLUMNS,
    summarise,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Settings that make the transpiled rule SQL behave as it does on DuckDB, and keep a local
#: session small and quiet. The semantic ones, and why:
#:
#: - ``spark.sql.ansi.enabled=true``: integer overflow and division / remainder by zero raise an
#:   error, as on DuckDB (2.0, the locked version, raises "Overflow in addition of INT64" and
#:   "Division by zero"); without ANSI mode Spark silently wraps around on overflow and returns
#:   NULL for ``x DIV 0``, so an absurd input would give a wrong amount instead of an error.
#:   (Spark 4 defaults to true, Spark 3.5 to false: set explicitly.) Integer ``DIV`` and ``%``
#:   truncate toward zero on both engines in either mode (``-7 DIV 2 = -3``, ``-7 % 2 = -1``);
#:   Spark's ``DIV`` returns BIGINT where DuckDB's ``//`` keeps INTEGER (same values; the sweep
#:   casts the results back to DuckDB's types).
#: - ``spark.sql.caseSensitive=false`` (the default, pinned): column names are matched without
#:   regard to case, as on DuckDB.
#: - ``spark.sql.session.timeZone=UTC``: no rule uses times (dates are ``YYYYMMDD`` integers),
#:   but nothing should depend on the host's zone.
#:
#: NULL handling, three-valued AND / OR / NOT, ``IN`` with NULL, ``CASE`` without ``ELSE`` and
#: ``COALESCE`` follow the SQL standard on both engines and need no setting.
SPARK_CONF: dict[str, str] = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.caseSensitive": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.parquet.compression.codec": "zstd",
}
MASTER = "local[2]"
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
# a failed task is raised to Python (naming the rule file): no stack traces on stderr too
logger.executor.name = org.apache.spark.executor.Executor
logger.executor.level = fatal
logger.tasks.name = org.apache.spark.scheduler.TaskSetManager
logger.tasks.level = fatal
"""
_INSTALL = (
    "未安装 PySpark，无法用 Spark 运行规则：请安装 spark 可选依赖"
    "（uv sync --extra spark，或 pip install 'doudi[spark]'）。 / "
    "PySpark is not installed, so the rules cannot run on Spark: install the 'spark' extra "
    "(uv sync --extra spark, or pip install 'doudi[spark]')."
)

_lock = threading.Lock()
_session: SparkSession | None = None


class SparkUnavailable(RuntimeError):
    """PySpark (or the Java it needs) is missing; the message says what to install."""


class SparkRuleError(RuntimeError):
    """A rule stage failed to transpile or to run on Spark; the message names the rule file."""


@contextlib.contextmanager
def _no_pandas_warning() -> Iterator[None]:
    # PySpark warns that it "does not yet fully support pandas >= 3" when a session starts; the
    # rules never go through pandas.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas")
        yield


def _pyspark() -> Any:
    try:
        with _no_pandas_warning():
            import pyspark
            import pyspark.sql  # noqa: F401
    except ImportError as exc:
        raise SparkUnavailable(_INSTALL) from exc
    return pyspark


def available() -> bool:
    """True when PySpark can be imported (Java is only checked when a session starts)."""
    try:
        _pyspark()
    except SparkUnavailable:
        return False
    return True


def _quiet_python_loggers() -> None:
    # PySpark 4 logs every SQL error with its Java stack trace before raising it; the error is
    # raised to the caller anyway (with the rule file named), so the log is only noise.
    try:
        from pyspark.logger import PySparkLogger
    except ImportError:  # PySpark 3.5
        return
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)


def _sql_conf(session: SparkSession) -> SparkSession:
    for key, value in SPARK_CONF.items():
        if key.startswith("spark.sql."):
            session.conf.set(key, value)
    return session


def spark_session() -> SparkSession:
    """The process's local SparkSession (``local[2]``), created on first use.

    Driver memory from ``DOUDI_SPARK_MEMORY`` (default ``4g``; read when the session starts).
    Raises ``SparkUnavailable`` (Chinese / English) without PySpark or Java.
    """
    global _session
    pyspark = _pyspark()
    with _lock:
        if _session is not None and _session.sparkContext._jsc is not None:
            return _session
        from pyspark.sql import SparkSession

        log_conf = Path(tempfile.gettempdir()) / f"doudi-spark-log4j2-{os.getpid()}.properties"
        log_conf.write_text(_LOG4J2, encoding="utf-8")
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = SparkSession.builder.master(MASTER).appName("doudi-rules")
        for key, value in SPARK_CONF.items():
            builder = builder.config(key, value)
        builder = builder.config(
            "spark.driver.memory", os.environ.get("DOUDI_SPARK_MEMORY", "").strip() or "4g"
        ).config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile=file:{log_conf}")
        try:
            with _no_pandas_warning():
                session = builder.getOrCreate()
        except Exception as exc:
            raise SparkUnavailable(
                f"无法启动 Spark（PySpark {pyspark.__version__}；需要 Java 17 或更高版本，"
                f"并设置 JAVA_HOME 或把 java 放在 PATH 上）：{exc} / cannot start Spark "
                "(it needs Java 17 or later, on PATH or in JAVA_HOME)"
            ) from exc
        finally:
            log_conf.unlink(missing_ok=True)  # read once, when the JVM starts
        session.sparkContext.setLogLevel("ERROR")
        _sql_conf(session)  # a session that existed before (getOrCreate) gets them too
        _quiet_python_loggers()
        _session = session
        return session


# ------------------------------------------------------------------------------ the stages


def _plan(stages: tuple[Stage, ...]) -> tuple[set[str], dict[str, tuple[Stage, ...]]]:
    """Which stages to cache (read by more than one later stage, or by a stage and the caller),
    and for each stage the stages a Spark job computing it runs: the uncached stages it reads,
    transitively, then itself (where to look for the fault when that job fails)."""
    readers = Counter(r for s in stages for r in s.reads)
    readers[OUTPUT_HOUSEHOLDS] += 1
    readers[OUTPUT_MEMBERS] += 1
    cached = {s.name for s in stages if readers[s.name] > 1}
    computes: dict[str, tuple[Stage, ...]] = {}
    for s in stages:
        upstream: list[Stage] = []
        for r in s.reads:
            if r in computes and r not in cached:
                upstream.extend(x for x in computes[r] if x not in upstream)
        computes[s.name] = (*upstream, s)
    return cached, computes


_TRANSPILE = ("转换", "transpile")
_RUN = ("运行", "run")


def _stage_error(stage: Stage, what: tuple[str, str], exc: BaseException) -> SparkRuleError:
    return SparkRuleError(
        f"规则文件 {stage.path.name}（{stage.name}）在 Spark 上{what[0]}失败 / rule file "
        f"{stage.path.name} ({stage.name}) failed to {what[1]} on Spark: {_message(exc)}"
    )


def _run_error(spark: SparkSession, chain: tuple[Stage, ...], exc: BaseException) -> SparkRuleError:
    """A job for ``chain[-1]`` failed; it also computed the uncached stages before it in
    ``chain``. Run each of those alone, every column (the ``noop`` sink), to find the stage at
    fault, and name its file."""
    culprit = chain[-1]
    for stage in chain[:-1]:
        try:
            spark.table(stage.name).write.format("noop").mode("overwrite").save()
        except Exception:
            culprit = stage
            break
    return _stage_error(culprit, _RUN, exc)


def _message(exc: BaseException) -> str:
    """The first line of the error that caused ``exc`` (PySpark 3.5 raises a bare Py4JJavaError,
    "An error occurred while calling o87.count", around a job failure around the SQL error)."""
    text = str(exc)
    java = getattr(exc, "java_exception", None)
    if java is not None:
        try:
            root = java
            while root.getCause() is not None:
                root = root.getCause()
            text = str(root.toString())
        except Exception:  # the JVM is gone: keep what Python has
            pass
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def release(spark: SparkSession) -> None:
    """Drop the stage and input views of a previous run on ``spark`` and free their cache."""
    names = [s.name for s in load_stages()] + list(INPUTS)
    for name in names:
        if spark.catalog.tableExists(name):
            try:
                if spark.catalog.isCached(name):
                    spark.catalog.uncacheTable(name)
            finally:
                spark.catalog.dropTempView(name)


def run_stages_spark(
    spark: SparkSession, inputs: Mapping[str, str | os.PathLike[str]]
) -> tuple[DataFrame, DataFrame]:
    """Run every rule stage on ``spark``; return the (``pr``, ``pmc``) DataFrames.

    ``inputs`` maps ``p_households``, ``p_members`` and ``p_params`` to Parquet files (or
    directories) with the schemas of ``schema.py``. Each stage becomes a temp view on ``spark``;
    stages read more than once are cached and computed here, so an error in a stage (or in an
    uncached stage it reads) names its rule file. ``release(spark)`` frees them.
    """
    from pyspark import StorageLevel

    missing = [n for n in INPUTS if n not in inputs]
    if missing:
        raise ValueError(f"缺少输入 {missing} / missing inputs {missing}")
    release(spark)
    for name in INPUTS:
        spark.read.parquet(str(inputs[name])).createOrReplaceTempView(name)
    stages = load_stages()
    cached, computes = _plan(stages)
    for stage in stages:
        try:
            sql = stage.spark_sql()
        except Exception as exc:
            raise _stage_error(stage, _TRANSPILE, exc) from exc
        try:
            df = spark.sql(sql)  # parsed and analysed here: unknown columns, types, functions
        except Exception as exc:
            raise _stage_error(stage, _RUN, exc) from exc
        if stage.name in cached:
            try:
                df = df.persist(StorageLevel.MEMORY_AND_DISK)  # optimised here
                df.count()  # computed now (every column), so a run-time error names its stage
            except Exception as exc:
                df.unpersist()
                raise _run_error(spark, computes[stage.name], exc) from exc
        df.createOrReplaceTempView(stage.name)
    return spark.table(OUTPUT_HOUSEHOLDS), spark.table(OUTPUT_MEMBERS)


# ------------------------------------------------------------------------------- the sweep


def result_types(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """DuckDB's types of the result columns (``write_results``) for the inputs on ``con``: the
    stages run over empty tables of the inputs' types on a scratch connection. Spark's results
    come back cast to them (Spark's ``DIV`` gives BIGINT where DuckDB's ``//`` keeps INTEGER,
    for example; ``household_id`` is whatever the inputs made it)."""
    scratch = duckdb.connect(config={"autoinstall_known_extensions": False, "threads": 1})
    try:
        for name in INPUTS:
            scratch.register(name, _arrow(con.sql(f"SELECT * FROM {name} LIMIT 0")))
        define_stages(scratch)
        out: dict[str, dict[str, str]] = {}
        for key, rel, cols in (
            ("households", OUTPUT_HOUSEHOLDS, RESULT_HOUSEHOLD_COLUMNS),
            ("members", OUTPUT_MEMBERS, RESULT_MEMBER_COLUMNS),
        ):
            described = scratch.execute(f"DESCRIBE SELECT {', '.join(cols)} FROM {rel}").fetchall()
            out[key] = {row[0]: row[1] for row in described}
        return out
    finally:
        scratch.close()


def _arrow(rel: duckdb.DuckDBPyRelation) -> Any:
    return rel.to_arrow_table() if hasattr(rel, "to_arrow_table") else rel.arrow()


def _copy_back(
    con: duckdb.DuckDBPyConnection, part_dir: Path, types: dict[str, str], target: Path
) -> None:
    """Spark's part files -> one Parquet file as ``write_results`` writes it (DuckDB streams and
    sorts out of core, so memory stays bounded)."""
    files = sorted(str(p) for p in part_dir.glob("*.parquet"))
    cols = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in types.items())
    if files:
        listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        source = f"read_parquet([{listed}])"
    else:  # no rows: Spark may write no part file
        source = "(SELECT " + ", ".join(f"NULL AS {c}" for c in types) + " WHERE FALSE)"
    tmp = target.with_suffix(".parquet.tmp")
    con.execute(
        f"COPY (SELECT {cols} FROM {source} ORDER BY ALL) TO '{tmp}' "
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    tmp.replace(target)


def sweep_spark(
    con: duckdb.DuckDBPyConnection,
    *,
    tree: ParameterTree,
    as_of: dt.date,
    out_dir: Path,
    progress: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """The sweep on Spark: with ``p_households`` and ``p_members`` on ``con``, add ``p_params``,
    run the stages on Spark, write ``households.parquet`` and ``members.parquet`` under
    ``out_dir`` as ``sweep.write_results`` does; return ``sweep_duckdb``'s summary (engine
    ``spark``; ``seconds_inputs`` is starting Spark, on first use, and exporting the inputs).
    The inputs and Spark's output go through a temporary directory."""
    t0 = time.perf_counter()
    spark = _sql_conf(spark_session().newSession())  # own temp views: sweeps side by side
    counties = [r[0] for r in con.sql("SELECT DISTINCT county_code FROM p_households").fetchall()]
    con.register("_p_params", params_table(tree, as_of, counties))
    con.execute("CREATE OR REPLACE TEMP TABLE p_params AS SELECT * FROM _p_params")
    con.unregister("_p_params")
    types = result_types(con)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"households": out_dir / "households.parquet", "members": out_dir / "members.parquet"}
    with tempfile.TemporaryDirectory(prefix="doudi-spark-") as tmp:
        work = Path(tmp)
        if progress:
            progress("exporting inputs")
        inputs: dict[str, str] = {}
        for name in INPUTS:
            inputs[name] = str(work / f"{name}.parquet")
            con.execute(f"COPY {name} TO '{inputs[name]}' (FORMAT parquet)")
        t1 = time.perf_counter()
        if progress:
            progress("running rules on Spark")
        try:
            pr, pmc = run_stages_spark(spark, inputs)
            _, computes = _plan(load_stages())
            for df, rel, cols in (
                (pr, OUTPUT_HOUSEHOLDS, RESULT_HOUSEHOLD_COLUMNS),
                (pmc, OUTPUT_MEMBERS, RESULT_MEMBER_COLUMNS),
            ):
                try:
                    df.select(*cols).write.mode("overwrite").parquet(str(work / rel))
                except Exception as exc:
                    raise _run_error(spark, computes[rel], exc) from exc
        finally:
            release(spark)
        if progress:
            progress("writing results")
        _copy_back(con, work / OUTPUT_HOUSEHOLDS, types["households"], paths["households"])
        _copy_back(con, work / OUTPUT_MEMBERS, types["members"], paths["members"])
    t2 = time.perf_counter()
    summary = summarise(con, str(paths["households"]), str(paths["members"]))
    summary.update(
        {
            "as_of": as_of.isoformat(),
            "engine": "spark",
            "policy_version": tree.version(as_of),
            "seconds": round(t2 - t0, 2),
            "seconds_inputs": round(t1 - t0, 2),
            "seconds_rules": round(t2 - t1, 2),
        }
    )
    return summary
