"""The rule SQL, compiled once into Python closures, for a few households at the window.

Why (ADR 0005): DuckDB plans every statement again (about 5 ms a stage for these wide rule
stages, 40-60 ms for the chain) even when prepared, and sqlglot's own Python executor takes
150 ms; the window needs one household in a few milliseconds. The rules stay the single
definition: this module compiles the *same* SQL text (parsed by sqlglot) into Python functions
with SQL semantics. It supports exactly the subset the rule files use and refuses anything
else at load time, so a rule cannot silently mean something different here; a property test
runs random households through this and DuckDB and requires identical results.

Semantics follow SQL (and DuckDB and Spark, which agree on them): NULL propagates through
arithmetic and comparisons; AND/OR/NOT use three-valued (Kleene) logic; CASE takes a branch only
when its condition is TRUE; aggregates skip NULLs, SUM of nothing is NULL, COUNT(*) counts rows;
``//`` and ``%`` on integers truncate toward zero.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import sqlglot
from sqlglot import exp

Row = dict[str, Any]
Scope = dict[str, Row]  # alias -> row
Fn = Callable[[Scope], Any]


class UnsupportedSQL(ValueError):
    pass


class _NullRow(dict):
    """The right side of a LEFT JOIN without a match: every column is NULL."""

    def __missing__(self, key: str) -> None:
        return None


def _int_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _int_mod(a: int, b: int) -> int:
    return a - b * _int_div(a, b)


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    exp.Add: operator.add,
    exp.Sub: operator.sub,
    exp.Mul: operator.mul,
    exp.IntDiv: _int_div,
    exp.Mod: _int_mod,
    exp.EQ: operator.eq,
    exp.NEQ: operator.ne,
    exp.LT: operator.lt,
    exp.LTE: operator.le,
    exp.GT: operator.gt,
    exp.GTE: operator.ge,
}
_AGGS = (exp.Sum, exp.Count, exp.Min, exp.Max)


class _Compiler:
    def __init__(self, stage: str) -> None:
        self.stage = stage

    def fail(self, node: exp.Expression) -> UnsupportedSQL:
        return UnsupportedSQL(
            f"规则 {self.stage} 使用了窗口引擎不支持的SQL：{node.sql()[:80]} / "
            f"unsupported in the in-process engine: {type(node).__name__}"
        )

    # ------------------------------------------------------------------ expressions

    def expr(self, node: exp.Expression, aggs: dict[int, int] | None = None) -> Fn:
        if aggs is not None and isinstance(node, _AGGS):
            slot = aggs[id(node)]
            return lambda s, slot=slot: s["__agg__"][slot]
        if isinstance(node, exp.Paren):
            return self.expr(node.this, aggs)
        if isinstance(node, exp.Column):
            table, name = node.table, node.name
            if table:
                return lambda s: s[table][name]

            def unqualified(s: Scope) -> Any:
                for alias, row in s.items():
                    if alias != "__agg__" and name in row:
                        return row[name]
                raise KeyError(name)

            return unqualified
        if isinstance(node, exp.Literal):
            if node.is_string:
                v: Any = node.this
            else:
                text = node.this
                v = int(text) if text.lstrip("-").isdigit() else float(text)
            return lambda s: v
        if isinstance(node, exp.Boolean):
            b = bool(node.this)
            return lambda s: b
        if isinstance(node, exp.Null):
            return lambda s: None
        if isinstance(node, exp.Neg):
            f = self.expr(node.this, aggs)
            return lambda s: None if (x := f(s)) is None else -x
        if type(node) in _BINARY:
            op = _BINARY[type(node)]
            lf, rf = self.expr(node.this, aggs), self.expr(node.expression, aggs)

            def binary(s: Scope) -> Any:
                a = lf(s)
                if a is None:
                    return None
                b = rf(s)
                return None if b is None else op(a, b)

            return binary
        if isinstance(node, exp.And):
            lf, rf = self.expr(node.this, aggs), self.expr(node.expression, aggs)

            def and_(s: Scope) -> Any:
                a = lf(s)
                if a is False:
                    return False
                b = rf(s)
                if b is False:
                    return False
                return None if a is None or b is None else True

            return and_
        if isinstance(node, exp.Or):
            lf, rf = self.expr(node.this, aggs), self.expr(node.expression, aggs)

            def or_(s: Scope) -> Any:
                a = lf(s)
                if a is True:
                    return True
                b = rf(s)
                if b is True:
                    return True
                return None if a is None or b is None else False

            return or_
        if isinstance(node, exp.Not):
            f = self.expr(node.this, aggs)
            return lambda s: None if (x := f(s)) is None else not x
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise self.fail(node)
            f = self.expr(node.this, aggs)
            return lambda s: f(s) is None
        if isinstance(node, exp.In):
            if node.args.get("query") or not node.expressions:
                raise self.fail(node)
            f = self.expr(node.this, aggs)
            items = []
            for e in node.expressions:
                if not isinstance(e, exp.Literal):
                    raise self.fail(node)
                items.append(self.expr(e)({}))
            values = frozenset(items)
            return lambda s: None if (x := f(s)) is None else x in values
        if isinstance(node, exp.Coalesce):
            fs = [self.expr(node.this, aggs)] + [self.expr(e, aggs) for e in node.expressions]

            def coalesce(s: Scope) -> Any:
                for f in fs:
                    v = f(s)
                    if v is not None:
                        return v
                return None

            return coalesce
        if isinstance(node, exp.Case):
            subject = self.expr(node.this, aggs) if node.this is not None else None
            branches = [
                (self.expr(i.this, aggs), self.expr(i.args["true"], aggs)) for i in node.args["ifs"]
            ]
            default = self.expr(node.args["default"], aggs) if node.args.get("default") else None

            def case(s: Scope) -> Any:
                if subject is not None:
                    x = subject(s)
                    for cond, val in branches:
                        c = cond(s)
                        if x is not None and c is not None and x == c:
                            return val(s)
                else:
                    for cond, val in branches:
                        if cond(s) is True:
                            return val(s)
                return default(s) if default is not None else None

            return case
        if isinstance(node, exp.Cast):
            f = self.expr(node.this, aggs)
            kind = node.to.this
            if kind in (exp.DataType.Type.BIGINT, exp.DataType.Type.INT):
                return lambda s: None if (x := f(s)) is None else int(x)
            raise self.fail(node)
        raise self.fail(node)

    # ------------------------------------------------------------------ relations

    def source(
        self, node: exp.Expression
    ) -> tuple[str, Callable[[dict[str, list[Row]]], list[Row]]]:
        if isinstance(node, exp.Table):
            name = node.name
            alias = node.alias_or_name
            return alias, lambda env: env[name]
        if isinstance(node, exp.Subquery):
            inner = self.select(node.this)
            return node.alias, inner
        raise self.fail(node)

    def _join_keys(self, on: exp.Expression, left: set[str], right: str):
        """Split ON into equality pairs (left fn, right fn) and a residual condition."""
        conds = list(on.flatten()) if isinstance(on, exp.And) else [on]
        pairs, rest = [], []
        for c in conds:
            c = c.unnest()
            if isinstance(c, exp.EQ):
                a, b = c.this, c.expression
                ta = {col.table for col in a.find_all(exp.Column)}
                tb = {col.table for col in b.find_all(exp.Column)}
                if ta and tb and ta <= left and tb == {right}:
                    pairs.append((self.expr(a), self.expr(b)))
                    continue
                if ta and tb and tb <= left and ta == {right}:
                    pairs.append((self.expr(b), self.expr(a)))
                    continue
            rest.append(self.expr(c))
        return pairs, rest

    def select(self, node: exp.Expression) -> Callable[[dict[str, list[Row]]], list[Row]]:
        if not isinstance(node, exp.Select):
            raise self.fail(node)
        ctes = []
        with_ = node.args.get("with_") or node.args.get("with")
        if with_ is not None:
            for cte in with_.expressions:
                ctes.append((cte.alias, self.select(cte.this)))
        from_ = node.args.get("from_") or node.args.get("from")
        if from_ is None:
            raise self.fail(node)
        first_alias, first_src = self.source(from_.this)
        joins = []
        aliases = {first_alias}
        for j in node.args.get("joins") or []:
            alias, src = self.source(j.this)
            side = (j.side or "").upper()
            if side not in ("", "LEFT") or (j.kind or "").upper() not in ("", "INNER", "OUTER"):
                raise self.fail(j)
            on = j.args.get("on")
            if on is None:
                raise self.fail(j)
            pairs, rest = self._join_keys(on, set(aliases), alias)
            joins.append((alias, src, side == "LEFT", pairs, rest))
            aliases.add(alias)
        where = self.expr(node.args["where"].this) if node.args.get("where") else None
        group = node.args.get("group")
        agg_nodes: list[exp.Expression] = []
        for e in node.expressions:
            for a in e.find_all(*_AGGS):
                agg_nodes.append(a)
        if group is None and agg_nodes:
            raise self.fail(node)
        aggs = {id(a): i for i, a in enumerate(agg_nodes)}
        agg_fns = []
        for a in agg_nodes:
            if isinstance(a, exp.Count) and isinstance(a.this, exp.Star):
                agg_fns.append(("count_star", None))
            elif isinstance(a, exp.Count):
                agg_fns.append(("count", self.expr(a.this)))
            else:
                agg_fns.append((type(a).__name__.lower(), self.expr(a.this)))
        group_fns = [self.expr(g) for g in group.expressions] if group is not None else None
        outputs: list[tuple[str, Any]] = []  # (name, fn) or ("*", alias)
        for e in node.expressions:
            if isinstance(e, exp.Star):
                outputs.append(("*", None))
            elif isinstance(e, exp.Column) and isinstance(e.this, exp.Star):
                outputs.append(("*", e.table))
            else:
                name = e.alias_or_name
                outputs.append((name, self.expr(e.unalias(), aggs if group is not None else None)))
        order = [first_alias] + [j[0] for j in joins]

        def run(env: dict[str, list[Row]]) -> list[Row]:
            if ctes:
                env = dict(env)
                for name, fn in ctes:
                    env[name] = fn(env)
            scopes: list[Scope] = [{first_alias: r} for r in first_src(env)]
            for alias, src, left, pairs, rest in joins:
                rows = src(env)
                index: dict[tuple, list[Row]] = {}
                if pairs:
                    for r in rows:
                        key = tuple(rf({alias: r}) for _, rf in pairs)
                        if None not in key:
                            index.setdefault(key, []).append(r)
                out: list[Scope] = []
                for s in scopes:
                    if pairs:
                        key = tuple(lf(s) for lf, _ in pairs)
                        cands = index.get(key, []) if None not in key else []
                    else:
                        cands = rows
                    matched = False
                    for r in cands:
                        s2 = {**s, alias: r}
                        if all(c(s2) is True for c in rest):
                            out.append(s2)
                            matched = True
                    if left and not matched:
                        null_row = _NullRow(dict.fromkeys(rows[0], None) if rows else {})
                        out.append({**s, alias: null_row})
                scopes = out
            if where is not None:
                scopes = [s for s in scopes if where(s) is True]
            if group_fns is not None:
                groups: dict[tuple, list[Scope]] = {}
                for s in scopes:
                    groups.setdefault(tuple(g(s) for g in group_fns), []).append(s)
                scopes = []
                for members in groups.values():
                    vals = []
                    for kind, fn in agg_fns:
                        if kind == "count_star":
                            vals.append(len(members))
                            continue
                        xs = [v for v in (fn(m) for m in members) if v is not None]
                        if kind == "count":
                            vals.append(len(xs))
                        elif not xs:
                            vals.append(None)
                        elif kind == "sum":
                            vals.append(sum(xs))
                        elif kind == "min":
                            vals.append(min(xs))
                        else:
                            vals.append(max(xs))
                    scopes.append({**members[0], "__agg__": vals})
            result = []
            for s in scopes:
                row: Row = {}
                for name, fn in outputs:
                    if name == "*":
                        for alias in [fn] if fn else order:
                            row.update(s[alias])
                    else:
                        row[name] = fn(s)
                result.append(row)
            return result

        return run


def compile_stage(name: str, sql: str) -> Callable[[dict[str, list[Row]]], list[Row]]:
    tree = sqlglot.parse_one(sql, read="duckdb")
    return _Compiler(name).select(tree)
