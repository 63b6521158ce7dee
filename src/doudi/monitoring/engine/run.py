"""Running the warning rules on DuckDB, and deciding what becomes an alert.

The steps, each usable on its own (the night sweep, the incremental run, the rule-tuning preview
and the Spark engine share them):

1. :func:`prepare` puts the framework tables on a connection that already has the pool's views
   (``datapool.selectors.pool_connection``): ``m_window``, ``m_params``, ``m_recipients`` (from
   the civil-affairs rolls in the pool plus doudi's own active benefits) and ``m_entitled``
   (the latest city-wide classification).
2. :func:`run_rules` runs each rule's SELECT and returns its evidence rows (the "hits").
3. :func:`decide` groups the hits into one candidate alert per rule and household and compares
   each with that household's previous alerts of the rule: ``update`` when one is still open,
   ``suppress`` when the last one was raised within the rule's suppression window and the facts
   have not worsened (the magnitude has not reached ``worsen`` times the last one), else ``new``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from doudi.datapool.store import pin_registry
from doudi.monitoring.engine.catalog import OUTPUT_COLUMNS, Rule
from doudi.policy.engine.parameters import ParameterTree
from doudi.policy.engine.schema import stored

#: parameter name -> (column in m_params, how it is stored: fen / int)
PARAM_COLUMNS: dict[str, tuple[str, str]] = {
    "monitor.inpatient.self_paid_12m": ("inpatient_self_paid_fen", "fen"),
    "monitor.inpatient.admissions_12m": ("inpatient_admissions", "int"),
    "monitor.elderly.alone_age": ("alone_age", "int"),
    "monitor.weather.min_level": ("weather_min_level", "int"),
    "monitor.disability.severe_grade": ("disability_severe_grade", "int"),
    "monitor.disability.mental_grade": ("disability_mental_grade", "int"),
    "monitor.vehicle.min_value": ("vehicle_min_value_fen", "fen"),
    "assets.financial_months": ("fin_months", "int"),
    "dibao.standard.urban": ("dibao_urban_fen", "fen"),
    "dibao.standard.rural": ("dibao_rural_fen", "fen"),
    "monitor.watch.income_multiplier": ("watch_multiplier_bp", "bp"),
}

RECIPIENTS_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("household_id", pa.int64()),
        ("item", pa.string()),
        ("monthly_amount", pa.decimal128(14, 2)),
        ("source", pa.string()),
    ]
)
ENTITLED_SCHEMA = pa.schema(
    [
        ("household_id", pa.int64()),
        ("dibao", pa.bool_()),
        ("near_dibao", pa.bool_()),
        ("rigid_expense", pa.bool_()),
        ("has_tekun", pa.bool_()),
        ("per_capita_fen", pa.int64()),
        ("monthly_benefit_yuan", pa.decimal128(14, 2)),
        ("as_of", pa.date32()),
        ("file", pa.string()),
    ]
)
PRIOR_SCHEMA = pa.schema(
    [
        ("rule", pa.string()),
        ("household_id", pa.int64()),
        ("alert_id", pa.int64()),
        ("is_open", pa.bool_()),
        ("raised_on", pa.date32()),
        ("magnitude", pa.float64()),
    ]
)
#: the civil-affairs rolls ``m_recipients`` is built from
ROLL_INTERFACES = ("dibao_roll", "tekun_roll", "low_income_roll", "relapse_watch")
#: how many evidence rows an alert keeps (the newest first); the count of all is kept too
EVIDENCE_LIMIT = 20


@dataclass(frozen=True)
class Window:
    """What a run looks at: events dated after ``since`` up to ``as_of``, and rows ingested
    after ``last_ingest`` (late data about older events) up to ``as_of``."""

    as_of: dt.date
    since: dt.date
    last_ingest: int
    #: an incremental run may read only the households touched by rows ingested after
    #: ``last_ingest``: true when everything ingested up to it arrived by ``since`` (so no older
    #: row can hold an event dated after ``since``)
    scoped: bool = False

    def table(self) -> pa.Table:
        def ymd(d: dt.date) -> int:
            return d.year * 10000 + d.month * 100 + d.day

        try:
            year_ago = self.as_of.replace(year=self.as_of.year - 1)
        except ValueError:  # 29 February
            year_ago = self.as_of - dt.timedelta(days=365)
        return pa.table(
            {
                "as_of": pa.array([self.as_of], pa.date32()),
                "since_date": pa.array([self.since], pa.date32()),
                "year_ago": pa.array([year_ago], pa.date32()),
                "quarter_ago": pa.array([self.as_of - dt.timedelta(days=92)], pa.date32()),
                "last_ingest": pa.array([self.last_ingest], pa.int64()),
                "as_of_ymd": pa.array([ymd(self.as_of)], pa.int32()),
                "since_ymd": pa.array([ymd(self.since)], pa.int32()),
            }
        )


def params_table(tree: ParameterTree, as_of: dt.date, counties: Iterable[str]) -> pa.Table:
    """One row a county: the values in force on ``as_of`` (NULL where none is: the rules that
    need it then raise nothing, they never guess)."""
    cols: dict[str, list[Any]] = {"county_code": []}
    for col, _ in PARAM_COLUMNS.values():
        cols[col] = []
    for county in sorted(set(counties)):
        cols["county_code"].append(county)
        for name, (col, how) in PARAM_COLUMNS.items():
            cols[col].append(stored(tree.value(name, as_of, county), how))
    schema = pa.schema(
        [("county_code", pa.string())] + [(c, pa.int64()) for c, _ in PARAM_COLUMNS.values()]
    )
    return pa.table(cols, schema=schema)


#: the latest roll of each kind up to the as-of date, read from ``<roll>_all``: ``roll_date``
#: is part of the rolls' record key, so every version of a record has the same one and the dates
#: are those of the current rows, without ranking versions or linking persons to find them
LATEST_ROLLS = """
SELECT (SELECT max(roll_date) FROM dibao_roll_all, m_window w WHERE roll_date <= w.as_of),
       (SELECT max(roll_date) FROM tekun_roll_all, m_window w WHERE roll_date <= w.as_of),
       (SELECT max(roll_date) FROM low_income_roll_all, m_window w WHERE roll_date <= w.as_of)
"""


def recipients_sql(dibao: dt.date | None, tekun: dt.date | None, low: dt.date | None) -> str:
    """Who receives what (``m_recipients``): the latest rolls (their dates from
    :data:`LATEST_ROLLS`, written into the query as constants so that DuckDB filters each roll's
    rows on its date before ranking versions and linking persons: one month of rows instead of
    a year's), the relapse-watch list and doudi's own benefits."""

    def d(v: dt.date | None) -> str:
        return f"DATE '{v.isoformat()}'" if v is not None else "CAST(NULL AS DATE)"

    return f"""
SELECT x.person_id, p.household_id,
       CASE WHEN coalesce(x.single_person, FALSE) THEN 'single_person_dibao' ELSE 'dibao' END
           AS item,
       CAST(x.monthly_amount AS DECIMAL(14, 2)) AS monthly_amount, 'dibao_roll' AS source
FROM dibao_roll x
JOIN registry_persons p ON p.person_id = x.person_id
WHERE x.roll_date = {d(dibao)} AND x.status IN ('active', 'gradual_exit')
UNION ALL
SELECT x.person_id, p.household_id, 'tekun',
       CAST(coalesce(x.basic_amount, 0) + coalesce(x.care_amount, 0) AS DECIMAL(14, 2)),
       'tekun_roll'
FROM tekun_roll x
JOIN registry_persons p ON p.person_id = x.person_id
WHERE x.roll_date = {d(tekun)} AND x.status = 'active'
UNION ALL
SELECT x.person_id, p.household_id, x.category, CAST(0 AS DECIMAL(14, 2)), 'low_income_roll'
FROM low_income_roll x
JOIN registry_persons p ON p.person_id = x.person_id
WHERE x.roll_date = {d(low)} AND x.status = 'active'
UNION ALL
SELECT x.person_id, p.household_id, 'relapse_watch', CAST(0 AS DECIMAL(14, 2)), 'relapse_watch'
FROM relapse_watch x CROSS JOIN m_window w
JOIN registry_persons p ON p.person_id = x.person_id
WHERE x.risk_status = 'not_eliminated' AND x.identified_date <= w.as_of
UNION ALL
SELECT coalesce(b.person_id, p.person_id), b.household_id, b.item, b.monthly_amount, b.source
FROM m_benefits b
LEFT JOIN registry_persons p
       ON b.person_id IS NULL AND p.household_id = b.household_id AND p.status <> 'dead'
"""


WATCH = """
SELECT household_id FROM m_recipients WHERE household_id IS NOT NULL
UNION
SELECT e.household_id
FROM m_entitled e
JOIN registry_households h ON h.household_id = e.household_id
JOIN m_params mp ON mp.county_code = h.county_code
WHERE coalesce(e.dibao, FALSE) OR coalesce(e.near_dibao, FALSE)
   OR coalesce(e.rigid_expense, FALSE) OR coalesce(e.has_tekun, FALSE)
   OR e.per_capita_fen * 10000 <= mp.watch_multiplier_bp
      * (CASE WHEN h.residence_type = 'urban' THEN mp.dibao_urban_fen ELSE mp.dibao_rural_fen END)
"""


def prepare(
    con: duckdb.DuckDBPyConnection,
    *,
    window: Window,
    tree: ParameterTree,
    benefits: pa.Table | None = None,
    entitled: pa.Table | None = None,
) -> None:
    """Add the framework tables to ``con`` (which has the pool's views), with the registry
    export read into memory once if the connection has not already (``store.pin_registry``)."""
    pin_registry(con)
    con.register("_m_window", window.table())
    con.execute("CREATE OR REPLACE TEMP TABLE m_window AS SELECT * FROM _m_window")
    counties = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT county_code FROM registry_households WHERE county_code IS NOT NULL"
        ).fetchall()
    ]
    con.register("_m_params", params_table(tree, window.as_of, counties))
    con.execute("CREATE OR REPLACE TEMP TABLE m_params AS SELECT * FROM _m_params")
    con.register(
        "m_benefits", benefits if benefits is not None else RECIPIENTS_SCHEMA.empty_table()
    )
    dates = con.execute(LATEST_ROLLS).fetchall()[0]
    con.execute(f"CREATE OR REPLACE TEMP TABLE m_recipients AS {recipients_sql(*dates)}")
    con.register("_m_entitled", entitled if entitled is not None else ENTITLED_SCHEMA.empty_table())
    con.execute("CREATE OR REPLACE TEMP TABLE m_entitled AS SELECT * FROM _m_entitled")
    con.execute(f"CREATE OR REPLACE TEMP TABLE m_watch AS {WATCH}")


def run_rules(
    con: duckdb.DuckDBPyConnection,
    rules: Sequence[Rule],
    *,
    progress: Callable[[str], None] | None = None,
    share_all: bool = False,
) -> tuple[dict[str, float], dict[str, int]]:
    """Run each rule into ``hits_<code>`` and gather them in the table ``m_hits`` (the rule's
    code added as column ``rule``). Returns seconds and evidence rows per rule.
    ``share_all``: compute every interface the rules read once (a scoped run, see
    :func:`share_views`)."""
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}
    parts = []
    share_views(con, rules, every=share_all)
    for i, rule in enumerate(rules, 1):
        if progress:
            progress(f"规则 {i}/{len(rules)}：{rule.name} / rule {rule.code}")
        t0 = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TEMP TABLE hits_{rule.code} AS {rule.sql}")
        seconds[rule.code] = round(time.perf_counter() - t0, 3)
        rows[rule.code] = con.execute(f"SELECT count(*) FROM hits_{rule.code}").fetchall()[0][0]
        parts.append(
            f"SELECT '{rule.code}' AS rule, {', '.join(OUTPUT_COLUMNS)} FROM hits_{rule.code}"
        )
    union = " UNION ALL ".join(parts) if parts else _empty_hits_sql()
    con.execute(f"CREATE OR REPLACE TEMP TABLE m_hits AS {union}")
    return seconds, rows


#: an interface with more stored rows than this is not computed once for the run: its rules read
#: it through the view, where their constant filters (and, in a full run, filters on the record
#: key's dates) reach the Parquet scan. Measured on a 7M pool: materialising 12M contribution
#: rows cost more than both of its rules' own reads, in a full run and in a scoped one.
SHARE_MAX_ROWS = 3_000_000


def share_views(
    con: duckdb.DuckDBPyConnection, rules: Sequence[Rule], *, every: bool = False
) -> list[str]:
    """Compute once the current rows of each pool interface that two or more rules read (the
    view ranks record versions and links persons: at city scale that is most of a rule's
    cost), and point the view at the result for the rest of the run. Relations that are
    already tables are left alone, and so are the interfaces with more than
    ``SHARE_MAX_ROWS`` stored rows (``pool_rows``, from the pool's manifest). ``every``: each
    interface a rule reads, also when only one does (a scoped run: the scoped rows are few, but
    finding them scans the interface's whole history, and a rule may read a view more than
    once)."""
    uses: dict[str, int] = {}
    for rule in rules:
        for code in rule.interfaces():
            if not code.startswith("registry_"):
                uses[code] = uses.get(code, 0) + 1
    views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    has_sizes = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'pool_rows' AND temporary"
    ).fetchall()[0][0]
    sizes = dict(con.execute("SELECT * FROM pool_rows").fetchall()) if has_sizes else {}
    shared = [
        code
        for code in sorted(c for c, n in uses.items() if (every or n >= 2) and c in views)
        if sizes.get(code, 0) <= SHARE_MAX_ROWS
    ]
    for code in shared:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _shared_{code} AS SELECT * FROM {code}")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {code} AS SELECT * FROM _shared_{code}")
    return shared


def _empty_hits_sql() -> str:
    return (
        "SELECT CAST(NULL AS VARCHAR) AS rule, CAST(NULL AS BIGINT) AS household_id, "
        "CAST(NULL AS BIGINT) AS person_id, CAST(NULL AS DATE) AS event_date, "
        "CAST(NULL AS DOUBLE) AS magnitude, CAST(NULL AS BIGINT) AS count_n, "
        "CAST(NULL AS DECIMAL(14, 2)) AS amount, CAST(NULL AS VARCHAR) AS ev_interface, "
        "CAST(NULL AS VARCHAR) AS ev_key, CAST(NULL AS VARCHAR) AS ev_file, "
        "CAST(NULL AS BIGINT) AS ev_line WHERE FALSE"
    )


def load_hits(con: duckdb.DuckDBPyConnection, hits: pa.Table) -> None:
    """Put hits computed elsewhere (the Spark engine) on ``con`` as ``m_hits``."""
    con.register("_m_hits", hits)
    con.execute("CREATE OR REPLACE TEMP TABLE m_hits AS SELECT * FROM _m_hits")


def decide(
    con: duckdb.DuckDBPyConnection, rules: Sequence[Rule], *, prior: pa.Table | None = None
) -> pa.Table:
    """One row per (rule, household) hit: the candidate alert and its action.

    Columns: rule, household_id, person_ids (list), event_first, event_last, magnitude,
    count_n, amount, evidence (list of structs: interface, key, file, line, date; newest first,
    at most EVIDENCE_LIMIT), evidence_n, action (new / update / suppress), prior_alert_id."""
    meta = pa.table(
        {
            "rule": [r.code for r in rules],
            "suppress_days": pa.array([r.suppress_days for r in rules], pa.int32()),
            "worsen": pa.array([r.worsen for r in rules], pa.float64()),
        }
    )
    con.register("_m_rules", meta)
    con.register("_m_prior", prior if prior is not None else PRIOR_SCHEMA.empty_table())
    return con.sql(
        f"""
        WITH h AS (
            SELECT hh.*, coalesce(hh.event_date, w.as_of) AS ev_date
            FROM m_hits hh CROSS JOIN m_window w WHERE hh.household_id IS NOT NULL
        ),
        g AS (
            SELECT rule, household_id,
                   list_sort(list_distinct(list(person_id))) AS person_ids,
                   min(ev_date) AS event_first,
                   max(ev_date) AS event_last,
                   max(magnitude) AS magnitude,
                   max(count_n) AS count_n,
                   max(amount) AS amount,
                   list(struct_pack(interface := ev_interface, key := ev_key, file := ev_file,
                                    line := ev_line, date := ev_date)
                        ORDER BY ev_date DESC, ev_interface, ev_key)[1:{EVIDENCE_LIMIT}]
                       AS evidence,
                   count(*) AS evidence_n
            FROM h GROUP BY rule, household_id
        ),
        last_open AS (
            SELECT rule, household_id, max(alert_id) AS alert_id
            FROM _m_prior WHERE is_open GROUP BY rule, household_id
        ),
        last_any AS (
            SELECT rule, household_id, raised_on, magnitude
            FROM _m_prior
            QUALIFY row_number() OVER (PARTITION BY rule, household_id
                                       ORDER BY raised_on DESC, alert_id DESC) = 1
        )
        SELECT g.*,
               CASE
                   WHEN o.alert_id IS NOT NULL THEN 'update'
                   WHEN a.raised_on IS NOT NULL
                        AND a.raised_on > w.as_of - CAST(m.suppress_days AS INTEGER)
                        AND NOT (g.magnitude IS NOT NULL AND a.magnitude IS NOT NULL
                                 AND g.magnitude >= a.magnitude * m.worsen
                                 AND g.magnitude > a.magnitude)
                   THEN 'suppress'
                   ELSE 'new'
               END AS action,
               o.alert_id AS prior_alert_id
        FROM g
        JOIN _m_rules m ON m.rule = g.rule
        CROSS JOIN m_window w
        LEFT JOIN last_open o ON o.rule = g.rule AND o.household_id = g.household_id
        LEFT JOIN last_any a ON a.rule = g.rule AND a.household_id = g.household_id
        ORDER BY g.rule, g.household_id
        """
    ).to_arrow_table()
