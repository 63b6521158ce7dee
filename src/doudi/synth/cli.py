"""``doudi generate``: write a synthetic city as Parquet files and print its stats as JSON.

    doudi generate --persons 50000 --seed 1 --out var/city [--as-of 2026-01-01]
                   [--no-feeds] [--feed-months 12] [--feed-days 7]

By default the department feeds of every data-pool interface are written too, into ``DIR/feeds``
(``doudi.synth.feeds.generate_feeds``); the printed JSON then has a "feeds" object with their stats.

Errors in the arguments or the output folder are reported in Chinese and English on stderr with a
non-zero exit code (2 for bad arguments, 1 when generation or writing fails), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

MIN_PERSONS = 100
#: beyond this one machine of the project's size (24 GiB) runs out of memory (~0.37 GiB per
#: million persons at peak)
MAX_PERSONS = 30_000_000


class UsageError(Exception):
    """A bad argument; the message is bilingual."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"参数错误 / invalid arguments: {message}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="doudi generate",
        description="生成合成城市 (Parquet) / generate a synthetic city as Parquet files",
    )
    p.add_argument(
        "--persons",
        type=str,
        default="50000",
        help=f"人数 / number of persons ({MIN_PERSONS}–{MAX_PERSONS:,}; default 50000)",
    )
    p.add_argument("--seed", type=str, default="1", help="随机种子 / random seed (≥ 0; default 1)")
    p.add_argument("--out", required=True, help="输出目录 / output folder (created if missing)")
    p.add_argument(
        "--as-of",
        default="2026-01-01",
        help="基准日期 / reference date for ages, YYYY-MM-DD (default 2026-01-01)",
    )
    p.add_argument(
        "--no-feeds",
        action="store_true",
        help="不生成部门数据文件 / do not write the department feeds (DIR/feeds)",
    )
    p.add_argument(
        "--feed-months",
        default="12",
        help="部门数据历史月数 / months of monthly feed files before the daily files (0–120; default 12)",
    )
    p.add_argument(
        "--feed-days",
        default="7",
        help="每日增量文件天数 / days of daily delta files before --as-of (0–366; default 7)",
    )
    return p


def _int(text: str, what_zh: str, what_en: str) -> int:
    try:
        return int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise UsageError(f"{what_zh}必须是整数 / {what_en} must be an integer: {text!r}") from None


@dataclass(frozen=True)
class Options:
    persons: int
    seed: int
    out: Path
    as_of: date
    feeds: bool = True
    feed_months: int = 12
    feed_days: int = 7


def _parse(argv: Sequence[str]) -> Options:
    ns = _parser().parse_args(list(argv))
    persons = _int(ns.persons, "人数", "--persons")
    if not MIN_PERSONS <= persons <= MAX_PERSONS:
        raise UsageError(
            f"人数须在 {MIN_PERSONS} 到 {MAX_PERSONS:,} 之间 / --persons must be between "
            f"{MIN_PERSONS} and {MAX_PERSONS:,}: {persons}"
        )
    seed = _int(ns.seed, "随机种子", "--seed")
    if seed < 0:
        raise UsageError(f"随机种子不能为负 / --seed must not be negative: {seed}")
    try:
        as_of = date.fromisoformat(ns.as_of)
    except ValueError:
        raise UsageError(
            f"日期格式应为 YYYY-MM-DD / --as-of must be a date YYYY-MM-DD: {ns.as_of!r}"
        ) from None
    if not date(2000, 1, 1) <= as_of <= date(2100, 12, 31):
        raise UsageError(
            f"基准日期须在 2000-01-01 到 2100-12-31 之间 / --as-of must be between 2000-01-01 "
            f"and 2100-12-31: {as_of}"
        )
    months = _int(ns.feed_months, "历史月数", "--feed-months")
    days = _int(ns.feed_days, "每日文件天数", "--feed-days")
    if not 0 <= months <= 120:
        raise UsageError(
            f"历史月数须在 0 到 120 之间 / --feed-months must be between 0 and 120: {months}"
        )
    if not 0 <= days <= 366:
        raise UsageError(
            f"每日文件天数须在 0 到 366 之间 / --feed-days must be between 0 and 366: {days}"
        )
    if months + days == 0 and not ns.no_feeds:
        raise UsageError(
            "--feed-months 与 --feed-days 不能同时为 0（不要部门数据请用 --no-feeds） / "
            "--feed-months and --feed-days cannot both be 0 (use --no-feeds)"
        )
    return Options(
        persons, seed, _check_out_dir(Path(ns.out)), as_of, not ns.no_feeds, months, days
    )


def _check_out_dir(out: Path) -> Path:
    """Create the folder if needed and prove it is writable, or raise a bilingual UsageError."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"输出路径不是目录 / --out is not a folder: {out}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".doudi-write-test-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UsageError(
            f"输出目录无法写入 / cannot write to the output folder {out}: {exc.strerror or exc}"
        ) from None
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in argv):
        _parser().print_help()
        return 0
    try:
        opts = _parse(argv)
    except UsageError as exc:
        print(f"doudi generate: {exc}", file=sys.stderr)
        print("用法 / usage: doudi generate --persons N --seed S --out DIR", file=sys.stderr)
        return 2

    from doudi.synth.generator import generate

    out = opts.out
    try:
        stats = generate(persons=opts.persons, seed=opts.seed, out_dir=out, as_of=opts.as_of)
        if opts.feeds:
            from doudi.synth.feeds import generate_feeds

            feeds = generate_feeds(
                city_dir=out,
                out_dir=out / "feeds",
                seed=opts.seed,
                as_of=opts.as_of,
                months=opts.feed_months,
                daily_days=opts.feed_days,
            )
            stats["feeds"] = {k: v for k, v in feeds.items() if k != "seconds_per_interface"}
    except MemoryError:
        print(
            "doudi generate: 内存不足，请减少人数 / out of memory: use fewer --persons",
            file=sys.stderr,
        )
        return 1
    except OSError as exc:
        print(
            f"doudi generate: 写入失败 / writing failed: {exc.strerror or exc} "
            f"({exc.filename or out})",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("doudi generate: 已中断 / interrupted", file=sys.stderr)
        return 130
    print(json.dumps(stats, ensure_ascii=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
