"""The rule catalog: SQL stages declared in ``rules/NN_<name>.sql``, validated at load time.

Each file is one stage: a header of ``-- key: value`` lines (``stage``, ``title``, ``reads``,
``reference``), a plain-language comment saying what the rule means, and one SELECT written in
DuckDB's dialect. Stages run in file order, each becoming a view named after ``stage`` that later
stages read. The input relations are ``p_members``, ``p_households`` and ``p_params``
(``schema.py``); the outputs are ``pmc`` (members) and ``pr`` (households).

The same text runs on DuckDB as written and on Spark after ``sqlglot`` transpiles it, so one
definition serves the counter, the night sweep and a province. Nothing else may run SQL against
the rule inputs; rules are never typed into a form.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

RULE_DIR = Path(__file__).resolve().parent / "rules"
INPUTS = ("p_members", "p_households", "p_params")
OUTPUT_MEMBERS = "pmc"
OUTPUT_HOUSEHOLDS = "pr"
_HEADER = re.compile(r"^--\s*(stage|title|reads|reference):\s*(.+?)\s*$")


class RuleError(ValueError):
    pass


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    reads: tuple[str, ...]
    reference: str
    description: str
    sql: str
    path: Path

    def spark_sql(self) -> str:
        return transpile_spark(self.sql)


def transpile_spark(sql: str) -> str:
    return sqlglot.transpile(sql, read="duckdb", write="spark")[0]


def _parse(path: Path) -> Stage:
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    description: list[str] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        m = _HEADER.match(line)
        if m:
            header[m.group(1)] = m.group(2)
        else:
            description.append(line.lstrip("-").strip())
    for key in ("stage", "title", "reads", "reference"):
        if key not in header:
            raise RuleError(f"规则文件 {path.name} 缺少 {key} / rule file lacks '-- {key}:'")
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise RuleError(f"规则文件 {path.name} 的 SQL 无法解析 / cannot parse: {exc}") from None
    if not isinstance(tree, exp.Select | exp.Union):
        raise RuleError(f"规则文件 {path.name} 必须是一条 SELECT / must be one SELECT")
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    used = {t.name for t in tree.find_all(exp.Table)} - ctes
    reads = tuple(r.strip() for r in header["reads"].split(","))
    if used - set(reads):
        raise RuleError(
            f"规则文件 {path.name} 读取了未声明的关系 {sorted(used - set(reads))} / "
            "reads undeclared relations"
        )
    return Stage(
        name=header["stage"],
        title=header["title"],
        reads=reads,
        reference=header["reference"],
        description=" ".join(d for d in description if d),
        sql=text,
        path=path,
    )


@functools.cache
def load_stages() -> tuple[Stage, ...]:
    stages = [_parse(p) for p in sorted(RULE_DIR.glob("*.sql"))]
    known = set(INPUTS)
    for s in stages:
        missing = set(s.reads) - known
        if missing:
            raise RuleError(
                f"规则 {s.name} 读取的 {sorted(missing)} 尚未定义 / reads {sorted(missing)} "
                "before they are defined"
            )
        if s.name in known:
            raise RuleError(f"规则名 {s.name} 重复 / duplicate stage name")
        known.add(s.name)
    names = {s.name for s in stages}
    for out in (OUTPUT_MEMBERS, OUTPUT_HOUSEHOLDS):
        if out not in names:
            raise RuleError(f"缺少输出规则 {out} / the rule set lacks the output stage {out}")
    return tuple(stages)
