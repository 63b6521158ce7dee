"""``doudi assess``, ``doudi sweep`` and ``doudi simulate``.

``assess`` follows the contract in the policy README: a JSON document in (a file or ``-`` for
stdin), ``{"results": [...]}`` out, exit 0. Any invalid input (bad JSON, a missing field, an
unknown parameter) prints one message in Chinese and English naming the household and field on
stderr, exits 2 and prints nothing on stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from doudi.config import bootstrap


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: 参数错误 / bad arguments: {message}", file=sys.stderr)
        raise SystemExit(2)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"日期应为 YYYY-MM-DD：{text} / a date must be YYYY-MM-DD"
        ) from None


def _tree(sets: dict[str, str]):  # type: ignore[no-untyped-def]
    """The parameters in force (files + approved changes when a database is set up)."""
    from doudi.policy.engine.parameters import load_tree

    try:
        bootstrap.setup()
        from doudi.policy.selectors import parameter_tree_or_files

        tree = parameter_tree_or_files()
    except Exception:  # noqa: BLE001 - no usable database: the files alone are the policy
        tree = load_tree()
    return tree.with_overrides(sets) if sets else tree


def assess_main(argv: Sequence[str]) -> int:
    parser = _Parser(
        prog="doudi assess",
        description="按政策认定家庭类别、层级与待遇 / classify households described in JSON",
    )
    parser.add_argument("--as-of", type=_date, default=None, help="认定基准日 YYYY-MM-DD")
    parser.add_argument(
        "--set", action="append", default=[], metavar="PARAM=VALUE", help="临时调整参数"
    )
    parser.add_argument("--no-explain", action="store_true", help="不输出逐条判定依据")
    parser.add_argument("file", help="JSON 文件，或 - 表示标准输入")
    args = parser.parse_args(list(argv))
    from doudi.policy.engine.assess import assess_json
    from doudi.policy.engine.parameters import ParameterError, parse_set
    from doudi.policy.engine.schema import InputError

    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"无法读取输入 {args.file}：{exc} / cannot read the input", file=sys.stderr)
        return 2
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        print(
            f"输入不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}） / "
            f"the input is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            file=sys.stderr,
        )
        return 2
    try:
        sets = parse_set(args.set)
        tree = _tree({})
        result = assess_json(
            doc,
            as_of=args.as_of or dt.date.today(),
            tree=tree,
            sets=sets,
            explain=not args.no_explain,
        )
    except (InputError, ParameterError) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    return 0


def sweep_main(argv: Sequence[str]) -> int:
    parser = _Parser(
        prog="doudi sweep",
        description="按数据池对全市家庭进行分层分类认定 / classify every household from the pool",
    )
    parser.add_argument("--as-of", type=_date, default=None)
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    args = parser.parse_args(list(argv))
    bootstrap.setup()
    if not bootstrap.require_ready():
        return 1
    from doudi.policy.services import sweep_run

    try:
        run = sweep_run(actor=None, as_of=args.as_of or dt.date.today(), engine=args.engine)
    except Exception as exc:  # noqa: BLE001 - reported, recorded on the run
        print(f"认定运行失败：{exc} / the sweep failed: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"run": run.pk, **run.summary}, ensure_ascii=False))
    return 0


def simulate_main(argv: Sequence[str]) -> int:
    parser = _Parser(
        prog="doudi simulate",
        description="政策调整模拟：与现行政策比较 / what-if against the current policy",
    )
    parser.add_argument("--as-of", type=_date, default=None)
    parser.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE")
    parser.add_argument("--xlsx", type=Path, default=None, help="同时导出工作簿")
    args = parser.parse_args(list(argv))
    bootstrap.setup()
    if not bootstrap.require_ready():
        return 1
    from doudi.policy.engine.parameters import ParameterError, parse_set
    from doudi.policy.whatif import simulate, workbook

    try:
        sets = parse_set(args.set)
        if not sets:
            raise ParameterError("请至少用 --set 调整一个参数 / give at least one --set")
        result: dict[str, Any] = simulate(as_of=args.as_of or dt.date.today(), sets=sets)
    except ParameterError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.xlsx:
        args.xlsx.write_bytes(workbook(result))
    print(json.dumps(result, ensure_ascii=False))
    return 0
