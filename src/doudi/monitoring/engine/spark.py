"""Running the warning rules on Apache Spark (PySpark, local mode): the province-sized run.

The rules are the same files DuckDB runs (``monitoring/rules/*.sql``), transpiled by ``sqlglot``
from DuckDB's dialect to Spark's; nothing about a rule is written twice. The session is the policy
engine's (``doudi.policy.engine.spark.spark_session``: ANSI mode, UTC, quiet), in a session of its
own (``newSession``) so that its temp views never meet a sweep's.

:func:`run_rules_spark` takes a DuckDB connection on which ``run.prepare`` has put the framework
tables (beside the pool's views), and:

1. transpiles every rule (:func:`spark_sql`), before any data moves, so that a rule Spark cannot
   run fails first and by name;
2. exports each table the rules read, once, as Parquet into a temporary directory — only the
   columns some rule uses, types kept (DATE, DECIMAL(p,s), BIGINT) — and registers it on Spark as
   a temp view of the same name;
3. runs each rule on Spark into a Parquet directory (so its seconds and errors are its own);
4. reads the hits back through DuckDB, each column cast to the type it has in DuckDB's ``m_hits``,
   and returns them as one Arrow table (columns ``rule`` + ``catalog.OUTPUT_COLUMNS``, rules in the
   order given), with seconds and evidence rows per rule — what ``run.run_rules`` gives, for
   ``run.load_hits``.

Where DuckDB and Spark differ on the same SQL text, :func:`spark_sql` rewrites the tree so that
Spark computes what DuckDB does:

- ``/`` is floating-point division on DuckDB for every numeric type (``DECIMAL / BIGINT`` is a
  DOUBLE), while Spark divides decimals as decimals (rounded to a scale of its choosing): both
  operands are cast to DOUBLE.
- ``CAST(<double> AS DECIMAL(p, s))`` rounds ``x * 10^s`` (computed in double) half away from zero
  on DuckDB, while Spark rounds the shortest decimal text of ``x`` half up: 26000.024999999998 (a
  household's 156000.15 yuan over six members) is 26000.03 on DuckDB and 26000.02 on Spark. The
  cast becomes ``CAST(CAST(round(x * 10^s, 0) AS DECIMAL(p, 0)) * 10^-s AS DECIMAL(p, s))``
  (Spark's ``round`` of a double is exact half away from zero), which also fails where DuckDB
  fails (more than ``p`` digits).
- ``CAST(<double> AS BIGINT)`` (any integer type) rounds half to even on DuckDB and
  ``CAST(<decimal> AS BIGINT)`` half away from zero; Spark truncates both: ``bround(x, 0)`` and
  ``round(x, 0)`` go in first.
- ``DECIMAL`` without precision is DECIMAL(18, 3) on DuckDB and DECIMAL(10, 0) on Spark: written
  out as (18, 3).

Which casts read a double or a decimal is found by ``sqlglot``'s type annotation over the tables'
DuckDB types (the query is qualified first: every column with its table; that also gives the
columns to export). A cast to DECIMAL or to an integer of an operand whose type cannot be
determined is refused: cast it to a definite type first.

Everything else the rules use means the same on both, as transpiled: ``x - INTERVAL 183 DAY``
(a TIMESTAMP on DuckDB, a DATE on Spark: the same comparisons with dates), ``year()``,
``substr``, ``length``, ``row_number()`` windows, correlated ``[NOT] EXISTS``, ``NOT IN
(subquery)`` (NULL-aware on both), ``UNION`` / ``UNION ALL``, CASE, COALESCE, three-valued logic;
integer overflow and ``CAST('x' AS INTEGER)`` are errors on both (ANSI mode). Differences left,
which no rule meets: division by zero (infinity or NaN on DuckDB, an error on Spark; the rules
divide by counts of at least one and by constants) and text such as ``'2.5'`` cast to an integer
(3 on DuckDB, an error on Spark). After each rule Spark's result types are checked against
DuckDB's (same kind: integer, decimal of the same scale, floating point, text, date, ...), so a
construct that silently changes meaning fails instead, naming the rule.

PySpark is the optional extra ``spark``: this module imports without it; ``available()`` says
whether it is there, and running raises ``SparkUnavailable`` (Chinese / English) without it. No
Django here.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from doudi.monitoring.engine.catalog import OUTPUT_COLUMNS, Rule
from doudi.policy.engine.spark import (
    SparkRuleError,
    SparkUnavailable,
    _message,
    _sql_conf,
    available,
    spark_session,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = [
    "HITS_COLUMNS",
    "SparkRuleError",
    "SparkUnavailable",
    "available",
    "run_rules_spark",
    "spark_sql",
]

HITS_COLUMNS = ("rule", *OUTPUT_COLUMNS)
#: DuckDB's DECIMAL without (precision, scale)
DUCKDB_DEFAULT_DECIMAL = (18, 3)

Schema = Mapping[str, Mapping[str, str]]


# --------------------------------------------------------------------------- transpiling


def _transpile_error(rule: Rule, exc: BaseException) -> SparkRuleError:
    return SparkRuleError(
        f"预警规则 {rule.code}（{rule.name}）无法转换为 Spark SQL / warning rule {rule.code} "
        f"({rule.code}.sql) failed to transpile to Spark SQL: {_message(exc)}"
    )


def _run_error(rule: Rule, exc: BaseException) -> SparkRuleError:
    return SparkRuleError(
        f"预警规则 {rule.code}（{rule.name}）在 Spark 上运行失败 / warning rule {rule.code} "
        f"({rule.code}.sql) failed to run on Spark: {_message(exc)}"
    )


def _is_decimal(dt: exp.DataType) -> bool:
    return dt.this in (exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL)


def _precision_scale(dt: exp.DataType) -> tuple[int, int]:
    params = [int(p.this.name) for p in dt.expressions if isinstance(p.this, exp.Literal)]
    if not params:
        return DUCKDB_DEFAULT_DECIMAL
    return params[0], params[1] if len(params) > 1 else 0


def _decimal_type(precision: int, scale: int) -> exp.DataType:
    return exp.DataType.build(f"DECIMAL({precision}, {scale})")


def _float_division(tree: exp.Expression) -> None:
    """DuckDB's ``/`` is floating-point division for every numeric type: say so to Spark."""
    for div in list(tree.find_all(exp.Div)):
        operands = [div.args["this"], div.args["expression"]]
        if any(isinstance(o, exp.Interval) for o in operands):  # INTERVAL / n: an interval
            continue
        for arg, operand in zip(("this", "expression"), operands, strict=True):
            if not (isinstance(operand, exp.Cast) and operand.to.is_type("double")):
                # the operand itself moves (no copy): a Div inside it is still in the tree
                div.set(arg, exp.cast(operand, exp.DataType.Type.DOUBLE, copy=False))


def _explicit_decimals(tree: exp.Expression) -> None:
    for dt in tree.find_all(exp.DataType):
        if _is_decimal(dt) and not dt.expressions:
            precision, scale = DUCKDB_DEFAULT_DECIMAL
            dt.replace(_decimal_type(precision, scale))


def _duckdb_decimal_cast(cast: exp.Cast) -> exp.Expression:
    """``CAST(<double> AS DECIMAL(p, s))`` as DuckDB computes it, in Spark SQL (the operand
    moves into the new expression, not copied)."""
    precision, scale = _precision_scale(cast.to)
    operand = exp.cast(cast.this, exp.DataType.Type.DOUBLE, copy=False)
    ten = exp.cast(exp.Literal.number(10**scale), exp.DataType.Type.DOUBLE, copy=False)
    rounded = exp.Round(
        this=exp.Paren(this=exp.Mul(this=operand, expression=ten)),
        decimals=exp.Literal.number(0),
    )
    whole: exp.Expression = exp.Cast(this=rounded, to=_decimal_type(precision, 0))
    if scale:
        unit = exp.Literal.number("0." + "0" * (scale - 1) + "1")
        whole = exp.Mul(this=whole, expression=unit)
    kind = exp.TryCast if isinstance(cast, exp.TryCast) else exp.Cast
    return kind(this=whole, to=_decimal_type(precision, scale))


_FLOATS = (exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT)
_WHOLE = (
    exp.DataType.Type.TINYINT,
    exp.DataType.Type.SMALLINT,
    exp.DataType.Type.INT,
    exp.DataType.Type.BIGINT,
)


def _numeric_casts(tree: exp.Expression) -> None:
    """Casts to DECIMAL and to integers, rounding as DuckDB rounds. ``tree`` is type-annotated;
    every decision is made before anything changes, and operands move rather than copy, so casts
    inside casts are rewritten too."""
    todo: list[tuple[exp.Cast, str]] = []
    for cast in tree.find_all(exp.Cast):
        to_decimal = _is_decimal(cast.to)
        if not (to_decimal or cast.to.this in _WHOLE) or isinstance(cast.this, exp.Null):
            continue
        source = cast.this.type
        if source is None or source.this in (exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL):
            raise ValueError(
                f"无法确定 {cast.this.sql('duckdb')} 的类型，请先显式转换 / cannot tell the type "
                f"of {cast.this.sql('duckdb')} in a cast to {cast.to.sql('duckdb')}: cast it to "
                "a definite type (DOUBLE, DECIMAL, BIGINT, VARCHAR) first"
            )
        if source.this in _FLOATS:
            todo.append((cast, "decimal" if to_decimal else "half_even"))
        elif not to_decimal and _is_decimal(source):
            todo.append((cast, "half_away"))
    for cast, how in todo:
        if how == "decimal":  # DuckDB: x * 10^s in DOUBLE, rounded half away from zero
            cast.replace(_duckdb_decimal_cast(cast))
        elif how == "half_even":  # DOUBLE to integer: DuckDB rounds half to even, Spark truncates
            cast.set("this", exp.func("BROUND", cast.this, exp.Literal.number(0)))
        else:  # DECIMAL to integer: DuckDB rounds half away from zero, Spark truncates
            cast.set("this", exp.Round(this=cast.this, decimals=exp.Literal.number(0)))


def _source_table(scope: Scope, table: str) -> exp.Table | None:
    s: Scope | None = scope
    while s is not None:
        if table in s.sources:
            source = s.sources[table]
            return source if isinstance(source, exp.Table) else None
        s = s.parent
    return None


def _columns_read(tree: exp.Expression) -> dict[str, set[str]]:
    """For each table (not CTE) the qualified ``tree`` reads, the columns it uses."""
    out: dict[str, set[str]] = {}
    for scope in traverse_scope(tree):
        for source in scope.sources.values():
            if isinstance(source, exp.Table):
                out.setdefault(source.name, set())
        for column in scope.columns:
            table = _source_table(scope, column.table)
            if table is not None:
                out.setdefault(table.name, set()).add(column.name)
    return out


def spark_sql(rule: Rule, schema: Schema) -> tuple[str, dict[str, set[str]]]:
    """The rule's SELECT in Spark's dialect, meaning what it means on DuckDB, and the columns it
    reads of each table. ``schema``: table -> column -> DuckDB type, for every table the rule
    reads. Raises (sqlglot's errors, ValueError) when it cannot be transpiled."""
    tree = sqlglot.parse_one(rule.sql, read="duckdb")
    _explicit_decimals(tree)
    _float_division(tree)
    tables = {k: dict(v) for k, v in schema.items()}
    tree = qualify(tree, schema=tables, dialect="duckdb")
    tree = annotate_types(tree, schema=tables, dialect="duckdb")
    columns = _columns_read(tree)
    _numeric_casts(tree)
    return tree.sql(dialect="spark"), columns


# ------------------------------------------------------------------------------- types


def _describe(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in con.execute(f"DESCRIBE {sql}").fetchall()]


def _hits_sql(rules: Sequence[Rule]) -> str:
    """The union ``run.run_rules`` builds as ``m_hits``, over the rules' queries (to describe)."""
    cols = ", ".join(OUTPUT_COLUMNS)
    return " UNION ALL ".join(
        f"SELECT '{r.code}' AS rule, {cols} FROM (\n{r.sql}\n) AS _h" for r in rules
    )


_EMPTY_TYPES = {
    "rule": "VARCHAR",
    "household_id": "BIGINT",
    "person_id": "BIGINT",
    "event_date": "DATE",
    "magnitude": "DOUBLE",
    "count_n": "BIGINT",
    "amount": "DECIMAL(14,2)",
    "ev_interface": "VARCHAR",
    "ev_key": "VARCHAR",
    "ev_file": "VARCHAR",
    "ev_line": "BIGINT",
}

_INTEGERS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "INT",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
    "BYTE",
    "SHORT",
    "LONG",
}


def _kind(type_name: str) -> str:
    """What a type means for equal values: integer, decimal:<scale>, float, string, ..."""
    t = type_name.strip().upper()
    m = re.fullmatch(r"(?:DECIMAL|NUMERIC)\s*\(\s*\d+\s*,\s*(\d+)\s*\)", t)
    if m:
        return f"decimal:{int(m.group(1))}"
    if t in ("DECIMAL", "NUMERIC"):
        return f"decimal:{DUCKDB_DEFAULT_DECIMAL[1]}"
    if t in _INTEGERS:
        return "integer"
    if t in ("FLOAT", "DOUBLE", "REAL"):
        return "float"
    if t in ("VARCHAR", "STRING", "TEXT") or t.startswith(("VARCHAR(", "CHAR")):
        return "string"
    if t in ('"NULL"', "NULL", "VOID"):
        return "null"
    if t.startswith("TIMESTAMP"):
        return "timestamp_tz" if "TIME ZONE" in t or t.endswith("_TZ") else "timestamp"
    return t.lower()


def _spark_type(duckdb_type: str) -> str:
    return exp.DataType.build(duckdb_type, dialect="duckdb").sql("spark")


def _check_types(
    rule: Rule, df: DataFrame, duck: Sequence[tuple[str, str]], hits: Mapping[str, str]
) -> DataFrame:
    """Spark's result columns against DuckDB's: the same names and kinds (NULL-typed columns,
    which Parquet cannot hold, become the type the column has in ``m_hits``)."""
    fields = df.schema.fields
    names = [f.name.lower() for f in fields]
    if names != [name.lower() for name, _ in duck]:
        raise SparkRuleError(
            f"预警规则 {rule.code} 在 Spark 上的输出列为 {names} / warning rule {rule.code} "
            f"returns columns {names} on Spark"
        )
    for field, (name, duck_type) in zip(fields, duck, strict=True):
        spark_kind = _kind(field.dataType.simpleString())
        if spark_kind == "null":
            df = df.withColumn(field.name, df[field.name].cast(_spark_type(hits[name])))
            continue
        duck_kind = _kind(duck_type)
        if duck_kind not in ("null", spark_kind):
            raise SparkRuleError(
                f"预警规则 {rule.code} 的列 {name} 在 DuckDB 上为 {duck_type}，在 Spark 上为 "
                f"{field.dataType.simpleString()}，结果会不同 / warning rule {rule.code}: column "
                f"{name} is {duck_type} on DuckDB but {field.dataType.simpleString()} on Spark"
            )
    return df


# --------------------------------------------------------------------------------- running


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _export(column: str, duckdb_type: str) -> str:
    """A column as it goes to Parquet: DuckDB writes 128-bit integers as DOUBLE, so those go as
    DECIMAL(38, 0) (exact); every other type keeps its Parquet logical type."""
    if duckdb_type.upper() in ("HUGEINT", "UHUGEINT"):
        return f"CAST({_quote(column)} AS DECIMAL(38, 0)) AS {_quote(column)}"
    return _quote(column)


def run_rules_spark(
    con: duckdb.DuckDBPyConnection,
    rules: Sequence[Rule],
    *,
    progress: Callable[[str], None] | None = None,
) -> tuple[pa.Table, dict[str, float], dict[str, int]]:
    """Run ``rules`` on Spark over the tables on ``con`` (after ``run.prepare``).

    Returns the hits (what DuckDB's ``m_hits`` would hold: same columns, same Arrow types, rules in
    the order given), and seconds and evidence rows per rule. Raises ``SparkUnavailable`` without
    PySpark or Java, ``SparkRuleError`` (naming the rule) when a rule does not transpile or fails on
    Spark."""
    rules = tuple(rules)
    tables: list[str] = []
    for rule in rules:
        tables.extend(t for t in rule.reads if t not in tables)
    schema = {t: dict(_describe(con, f"SELECT * FROM {_quote(t)}")) for t in tables}
    queries: dict[str, str] = {}
    needed: dict[str, set[str]] = {t: set() for t in tables}
    duck_types: dict[str, list[tuple[str, str]]] = {}
    for rule in rules:
        try:
            queries[rule.code], columns = spark_sql(rule, {t: schema[t] for t in rule.reads})
        except Exception as exc:
            raise _transpile_error(rule, exc) from exc
        for table, cols in columns.items():
            needed.setdefault(table, set()).update(cols)
        duck_types[rule.code] = _describe(con, rule.sql)
    hit_types = dict(_describe(con, _hits_sql(rules))) if rules else dict(_EMPTY_TYPES)

    spark = _sql_conf(spark_session().newSession())  # own temp views
    seconds: dict[str, float] = {}
    parts: list[str] = []
    with tempfile.TemporaryDirectory(prefix="doudi-monitor-spark-") as tmp:
        work = Path(tmp)
        try:
            if progress:
                progress(f"导出 {len(tables)} 张表 / exporting {len(tables)} tables for Spark")
            for i, table in enumerate(tables):
                cols = [c for c in schema[table] if c in needed.get(table, ())]
                cols = cols or list(schema[table])[:1]  # read for its rows only
                path = work / "in" / f"{i:03d}.parquet"
                path.parent.mkdir(exist_ok=True)
                con.execute(
                    f"COPY (SELECT {', '.join(_export(c, schema[table][c]) for c in cols)} "
                    f"FROM {_quote(table)}) TO {_literal(str(path))} (FORMAT parquet)"
                )
                spark.read.parquet(str(path)).createOrReplaceTempView(table)
            for i, rule in enumerate(rules, 1):
                if progress:
                    progress(f"规则 {i}/{len(rules)}：{rule.name} / rule {rule.code} (Spark)")
                t0 = time.perf_counter()
                out = work / "out" / rule.code
                try:
                    df = spark.sql(queries[rule.code])  # analysed here
                except Exception as exc:
                    raise _run_error(rule, exc) from exc
                df = _check_types(rule, df, duck_types[rule.code], hit_types)
                try:
                    df.write.mode("overwrite").parquet(str(out))
                except Exception as exc:
                    raise _run_error(rule, exc) from exc
                seconds[rule.code] = round(time.perf_counter() - t0, 3)
                files = sorted(str(p) for p in out.glob("*.parquet"))
                if files:
                    cols = ", ".join(
                        f"CAST({_literal(rule.code) if c == 'rule' else _quote(c)} AS "
                        f"{hit_types[c]}) AS {c}"
                        for c in HITS_COLUMNS
                    )
                    listed = ", ".join(_literal(f) for f in files)
                    parts.append(f"SELECT {cols} FROM read_parquet([{listed}])")
            if parts:
                hits = con.sql(" UNION ALL ".join(parts)).to_arrow_table()
            else:
                empty = ", ".join(f"CAST(NULL AS {hit_types[c]}) AS {c}" for c in HITS_COLUMNS)
                hits = con.sql(f"SELECT {empty} WHERE FALSE").to_arrow_table()
        finally:
            for table in tables:
                spark.catalog.dropTempView(table)
    counts = hits.column("rule").value_counts().to_pylist() if hits.num_rows else []
    by_rule = {c["values"]: c["counts"] for c in counts}
    rows = {rule.code: int(by_rule.get(rule.code, 0)) for rule in rules}
    return hits, seconds, rows
