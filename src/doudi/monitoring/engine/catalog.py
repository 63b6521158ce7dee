"""The catalog of warning rules: one SQL file a rule under ``monitoring/rules``, with a header.

Header lines (``-- key: value``) before the first SQL line::

    -- code: inpatient_cost                 the file's name without .sql
    -- name: 住院自付费用高或反复住院          Chinese name
    -- kind: risk | reverse                  risk = a household may need help;
                                             reverse = a benefit may need to change or stop
    -- severity: red | orange | yellow
    -- route: town | county | city           whose queue the alert lands in
    -- deadline_days: 5                      handling deadline in working days from raising
    -- suppress_days: 90                     not raised again for the same household within this
                                             many days of the last alert unless the facts worsen
    -- worsen: 1.5                           facts "worsen" when the magnitude reaches this
                                             multiple of the last alert's (default 1: any increase)
    -- reads: medical_inpatient, ...         pool interfaces and framework tables it reads
    -- history: medical_inpatient            interfaces whose earlier rows it reads when they
                                             have new ones (a 12-month sum around a new stay)
    -- context: social_insurance_contribution   interfaces it reads for the households other
                                             interfaces' new rows touched, new rows or not
                                             ("was the deceased an earner")
    -- params: monitor.inpatient.self_paid_12m, ...   dated parameters it uses
    -- reference: 政策依据
    -- summary: 近12个月住院{count}次，个人自付{amount}元   what the alert says ({count},
                                             {amount}, {magnitude} from the hit)
    -- description: plain-language meaning (may continue on the following "-- " lines)

The SQL is one SELECT returning one row per piece of evidence with exactly these columns::

    household_id BIGINT, person_id BIGINT, event_date DATE, magnitude DOUBLE,
    count_n BIGINT, amount DECIMAL(14,2), ev_interface VARCHAR, ev_key VARCHAR,
    ev_file VARCHAR, ev_line BIGINT

It may read the pool's current views (``<interface>``), ``registry_persons``,
``registry_households`` and the framework's tables: ``m_window`` (one row: ``as_of``,
``since_date``, ``year_ago``, ``quarter_ago``, ``last_ingest``, ``as_of_ymd``, ``since_ymd``), ``m_params`` (one row a county: the parameters
in force), ``m_recipients`` (who receives what now), ``m_entitled`` (the latest sweep) and
``m_watch`` (the households under low-income monitoring: recipients, the low-income rolls, the
防止返贫 watch list, and households the latest sweep classified into a category or found with a
per-capita income not above ``monitor.watch.income_multiplier`` times the 低保 standard).
In a scoped incremental run (only the households touched by new rows are read, see
``datapool.selectors.pool_connection``) an interface a rule reads without declaring it under
``history`` or ``context`` holds only its new rows: declare both honestly, or the night's run
misses what a full run finds (the tests compare the two).
The catalog validates every file when it loads: header keys and values, the output columns
(by parsing the SQL with sqlglot), and that every table it reads is an interface of the data
pool's catalog or a framework table. Rules never run SQL typed into a form.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

RULE_DIR = Path(__file__).resolve().parent.parent / "rules"

KINDS = ("risk", "reverse")
SEVERITIES = ("red", "orange", "yellow")
ROUTES = ("town", "county", "city")
OUTPUT_COLUMNS = (
    "household_id",
    "person_id",
    "event_date",
    "magnitude",
    "count_n",
    "amount",
    "ev_interface",
    "ev_key",
    "ev_file",
    "ev_line",
)
FRAMEWORK_TABLES = frozenset(
    {
        "m_window",
        "m_params",
        "m_recipients",
        "m_entitled",
        "m_watch",
        "registry_persons",
        "registry_households",
    }
)
SEVERITY_RANK = {"yellow": 1, "orange": 2, "red": 3}


class RuleError(ValueError):
    """A rule file that does not validate (Chinese / English message naming the file)."""


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    kind: str
    severity: str
    route: str
    deadline_days: int
    suppress_days: int
    worsen: float
    reads: tuple[str, ...]
    params: tuple[str, ...]
    reference: str
    summary: str
    description: str
    sql: str
    history: tuple[str, ...] = ()
    context: tuple[str, ...] = ()

    def interfaces(self) -> tuple[str, ...]:
        return tuple(r for r in self.reads if r not in FRAMEWORK_TABLES)

    def format_summary(self, *, count: int | None, amount: object, magnitude: float | None) -> str:
        def fmt(v: object) -> str:
            if v is None:
                return "—"
            if isinstance(v, float) and v.is_integer():
                return f"{int(v):,}"
            return f"{v:,}" if isinstance(v, int | float) else str(v)

        return (
            self.summary.replace("{count}", fmt(count))
            .replace("{amount}", fmt(amount))
            .replace("{magnitude}", fmt(magnitude))
        )


def scoped_history(rules: Sequence[Rule], new: Iterable[str]) -> frozenset[str]:
    """The interfaces a scoped run must read with their history (for the touched households):
    every rule's ``context``, and its ``history`` interfaces that have new rows (``new``).
    Every other interface is read as its new rows only."""
    fresh = set(new)
    out: set[str] = set()
    for rule in rules:
        out.update(rule.context)
        out.update(i for i in rule.history if i in fresh)
    return frozenset(out)


_HEADER = re.compile(r"^--\s*([a-z_]+):\s*(.*)$")
_REQUIRED = ("code", "name", "kind", "severity", "route", "deadline_days", "suppress_days")


def _fail(path: Path, zh: str, en: str) -> RuleError:
    return RuleError(f"预警规则 {path.name}：{zh} / warning rule {path.name}: {en}")


def parse_rule(path: Path, *, interfaces: frozenset[str] | None = None) -> Rule:
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    body: list[str] = []
    last = None
    in_header = True
    for line in text.splitlines():
        if in_header and line.startswith("--"):
            m = _HEADER.match(line)
            if m:
                last = m.group(1)
                header[last] = m.group(2).strip()
            elif last == "description":
                header[last] += line[2:].rstrip()
            continue
        in_header = False
        body.append(line)
    sql = "\n".join(body).strip().rstrip(";")
    for key in _REQUIRED:
        if not header.get(key):
            raise _fail(path, f"缺少 {key}", f"missing {key}")
    if header["code"] != path.stem:
        raise _fail(path, "code 应与文件名相同", "code must match the file name")
    if header["kind"] not in KINDS:
        raise _fail(path, f"kind 应为 {KINDS}", f"kind must be one of {KINDS}")
    if header["severity"] not in SEVERITIES:
        raise _fail(path, f"severity 应为 {SEVERITIES}", f"severity must be one of {SEVERITIES}")
    if header["route"] not in ROUTES:
        raise _fail(path, f"route 应为 {ROUTES}", f"route must be one of {ROUTES}")
    try:
        deadline = int(header["deadline_days"])
        suppress = int(header["suppress_days"])
        worsen = float(header.get("worsen") or 1)
    except ValueError:
        raise _fail(
            path, "期限、抑制天数应为整数", "deadline/suppress days must be integers"
        ) from None
    if deadline < 1 or suppress < 0 or worsen < 1:
        raise _fail(path, "期限≥1，抑制天数≥0，worsen≥1", "deadline>=1, suppress>=0, worsen>=1")
    reads = tuple(x.strip() for x in header.get("reads", "").split(",") if x.strip())
    params = tuple(x.strip() for x in header.get("params", "").split(",") if x.strip())
    history = tuple(x.strip() for x in header.get("history", "").split(",") if x.strip())
    context = tuple(x.strip() for x in header.get("context", "").split(",") if x.strip())
    stray = sorted((set(history) | set(context)) - (set(reads) - FRAMEWORK_TABLES))
    if stray:
        raise _fail(
            path,
            f"history/context 应为它读取的接口：{stray}",
            f"history/context must name interfaces it reads: {stray}",
        )
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise _fail(path, f"SQL 无法解析：{exc}", f"SQL does not parse: {exc}") from None
    if not isinstance(tree, exp.Query):
        raise _fail(path, "必须是一个 SELECT 查询", "must be one SELECT query")
    names = tuple(tree.named_selects)
    if names != OUTPUT_COLUMNS:
        raise _fail(
            path,
            f"输出列应为 {', '.join(OUTPUT_COLUMNS)}，实际为 {', '.join(names)}",
            "output columns differ from the contract",
        )
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    tables = {t.name for t in tree.find_all(exp.Table)} - ctes
    known = FRAMEWORK_TABLES | (interfaces if interfaces is not None else frozenset(tables))
    unknown = sorted(tables - known)
    if unknown:
        raise _fail(path, f"读取了未知的表 {unknown}", f"reads unknown tables {unknown}")
    undeclared = sorted(tables - set(reads))
    if undeclared:
        raise _fail(path, f"reads 未声明 {undeclared}", f"reads does not declare {undeclared}")
    return Rule(
        code=header["code"],
        name=header["name"],
        kind=header["kind"],
        severity=header["severity"],
        route=header["route"],
        deadline_days=deadline,
        suppress_days=suppress,
        worsen=worsen,
        reads=reads,
        params=params,
        history=history,
        context=context,
        reference=header.get("reference", ""),
        summary=header.get("summary", header["name"]),
        description=header.get("description", ""),
        sql=sql,
    )


@functools.cache
def load_rules(
    directory: str | None = None, interfaces: frozenset[str] | None = None
) -> tuple[Rule, ...]:
    """Every rule file, validated, in code order."""
    root = Path(directory) if directory else RULE_DIR
    rules = tuple(parse_rule(p, interfaces=interfaces) for p in sorted(root.glob("*.sql")))
    codes = [r.code for r in rules]
    if len(set(codes)) != len(codes):
        raise RuleError("预警规则代码重复 / duplicate rule codes")
    return rules
