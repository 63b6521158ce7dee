"""``doudi idcard``: validate resident ID numbers, print one JSON object per line.

Numbers come from the command line or, when none are given, from standard input, one per line.
Blank lines on standard input (empty or only whitespace) are skipped: they are the gaps of a pasted
list, not numbers, and printing an error for each would hide the real ones. A blank argument given
on the command line is an input and is reported (error "length").

Each output line is ``json.dumps(IdResult.as_json(), ensure_ascii=False)``: the keys input, valid,
normalized, birth_date, sex, region_code, region_name, error, warnings, in that order. The exit
status is 0 even when numbers are invalid; 2 for a usage error. Standard input is read in chunks
through the vectorised ``validate_many``, so a million lines take seconds.
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from json.encoder import encode_basestring
from typing import TextIO

from doudi.core import idcard

#: stdin lines handed to ``validate_many`` at a time
CHUNK_LINES = 65536

_DESCRIPTION = """\
校验居民身份证号码（GB 11643-1999），每个号码输出一行 JSON。
不给号码时从标准输入逐行读取（跳过空行）。全角数字、小写 x、空格会被规范化；
15 位旧号码会升位为 18 位。即使有无效号码，退出码也为 0。

Validate resident ID numbers (GB 11643-1999) and print one JSON object per line.
With no NUMBER, read standard input, one number per line (blank lines are skipped).
Full-width digits, lowercase x and spaces are normalised; 15-digit numbers are converted
to 18 digits. The exit status is 0 even when some numbers are invalid.
"""

_EPILOG = """\
输出字段 / output fields: input, valid, normalized, birth_date, sex, region_code, region_name,
error (length | characters | birth_date | province | checksum), warnings
(converted_from_15 | historical_region | unknown_region).

示例 / examples:
  doudi idcard 370602198001010012 370602800101001
  doudi idcard < numbers.txt > results.jsonl
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="doudi idcard",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "numbers",
        nargs="*",
        metavar="NUMBER",
        help="身份证号码；省略时读标准输入 / ID numbers; read stdin when omitted",
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="把这一天当作今天（出生日期不得晚于它）/ treat this date as today (default: today)",
    )
    return parser


def _json_str(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def batch_lines(batch: idcard.IdBatch) -> list[str]:
    """The JSON lines of a batch; each equals ``json.dumps(batch.result(i).as_json(),
    ensure_ascii=False)`` but is built without making an ``IdResult`` per row."""
    names = [_json_str(n) for n in batch.region_names().tolist()]
    inputs = map(encode_basestring, batch.inputs.tolist())
    warnings = [
        json.dumps(list(itertools.chain.from_iterable(subset)))
        for subset in itertools.product(*([(), (code,)] for code in idcard.WARNING_CODES))
    ]
    # warnings index: bit 2 converted_from_15, bit 1 historical_region, bit 0 unknown_region
    # (itertools.product enumerates the subsets in this binary order)
    w_index = (
        batch.converted_from_15.astype(int) * 4
        + batch.historical_region.astype(int) * 2
        + batch.unknown_region.astype(int)
    ).tolist()
    births = batch.birth_date.astype(str).tolist()
    lines = []
    for inp, valid, norm, birth, sex, code, name, err, wi in zip(
        inputs,
        batch.valid.tolist(),
        batch.normalized.tolist(),
        births,
        batch.sex.tolist(),
        batch.region_code.tolist(),
        names,
        batch.error.tolist(),
        w_index,
        strict=True,
    ):
        if valid:
            lines.append(
                f'{{"input": {inp}, "valid": true, "normalized": "{norm}", '
                f'"birth_date": "{birth}", "sex": "{sex}", "region_code": "{code}", '
                f'"region_name": {name}, "error": null, "warnings": {warnings[wi]}}}'
            )
        else:
            lines.append(
                f'{{"input": {inp}, "valid": false, "normalized": null, "birth_date": null, '
                f'"sex": null, "region_code": null, "region_name": null, "error": "{err}", '
                f'"warnings": []}}'
            )
    return lines


def _stdin_lines(stream: TextIO) -> Iterator[str]:
    """Lines of ``stream`` without their line ending, blank lines skipped.

    When the stream has a byte buffer (a real stdin), it is decoded as UTF-8 with an optional BOM,
    undecodable bytes becoming U+FFFD (so such a line is reported invalid rather than stopping the
    run).
    """
    buffer = getattr(stream, "buffer", None)
    if buffer is not None:
        text: TextIO = io.TextIOWrapper(buffer, encoding="utf-8-sig", errors="replace")
    else:
        text = stream
    try:
        for line in text:
            line = line.rstrip("\r\n")
            if line.strip():
                yield line
    finally:
        if text is not stream:
            text.detach()  # type: ignore[attr-defined]  # leave the real stdin open


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(lines)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def main(argv: Sequence[str]) -> int:
    """Run ``doudi idcard``; ``argv`` excludes the program and subcommand names."""
    parser = _parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # --help, or a usage error
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    out = sys.stdout
    if args.numbers:
        for number in args.numbers:
            result = idcard.validate(number, today=args.today)
            out.write(json.dumps(result.as_json(), ensure_ascii=False) + "\n")
        return 0
    if sys.stdin.isatty():
        print(
            "从标准输入读取号码，每行一个，Ctrl-D 结束 / "
            "reading numbers from stdin, one per line, Ctrl-D to end",
            file=sys.stderr,
        )
    for chunk in _chunks(_stdin_lines(sys.stdin), CHUNK_LINES):
        batch = idcard.validate_many(chunk, today=args.today)
        out.write("\n".join(batch_lines(batch)) + "\n")
    out.flush()
    return 0
