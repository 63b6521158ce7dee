"""Reading department files into a table of text columns, whatever the format.

Departments send CSV in UTF-8, UTF-8 with BOM, GBK or GB18030; .xlsx and .xls as exported by Excel
and WPS (a title row or merged title cells above the header, blank rows, a trailing 合计 row,
numbers stored as text or as numbers, dates as text or as Excel dates); and JSON lines. Every
reader returns the same thing: a :class:`RawRead` whose table has one string column per declared
field (found by its Chinese header) plus ``_line``, the line (CSV, JSON lines) or row (Excel) of
the source file each row came from, so that every fact stays traceable to where it came from.

Encodings are detected, not asked: a UTF-8 BOM means UTF-8; otherwise the bytes are tried as strict
UTF-8 and, failing that, decoded as GB18030 (a superset of GBK and GB2312). DuckDB cannot decode
GBK (CONVENTIONS.md), so GBK text is decoded here and handed on as UTF-8.

A file that cannot be read at all (not a spreadsheet, undecodable, no header row with the declared
columns) raises :class:`UnreadableFile` with a Chinese and an English message, before anything is
written anywhere.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from doudi.datapool.catalog import normalize_header

#: a row whose first non-empty cell starts with one of these is a summary row, not data
TOTAL_MARKERS = ("合计", "总计", "小计", "累计", "total")
#: schema metadata of a table whose cells are already ``pc.utf8_trim_whitespace``d (CSV)
TRIMMED_KEY = b"doudi.trimmed"
#: how many leading rows may hold titles, notes or blank lines above the header
HEADER_SEARCH_ROWS = 30
EXCEL_EPOCH = dt.date(1899, 12, 30)


class UnreadableFile(Exception):
    """The file as a whole cannot be read; nothing has been changed."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


@dataclass
class RawRead:
    table: pa.Table  # string columns named by field name, plus "_line" (int64)
    format: str  # csv | xlsx | xls | jsonl
    encoding: str  # utf-8 | utf-8-sig | gb18030 | binary
    header_line: int
    skipped: dict[str, int] = field(default_factory=dict)  # blank, total
    extra_headers: list[str] = field(default_factory=list)


def detect_format(path: Path, head: bytes) -> str:
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "xls"
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return "jsonl"
    if suffix in {".xlsx", ".xlsm", ".xls"}:
        raise UnreadableFile(
            f"文件扩展名是 {suffix}，但内容不是 Excel 文件，请重新导出后上传",
            f"the file says {suffix} but is not an Excel workbook",
        )
    return "csv"


def _is_utf8(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (the same verdict as a strict ``decode``), checked by Arrow
    without building a str."""
    offsets = np.array([0, len(data)], dtype=np.int64)
    array = pa.Array.from_buffers(
        pa.large_binary(), 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    try:
        array.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


_NOT_BLANK = re.compile(rb"[^ \t\n\r\x0b\x0c]")


def _blank(data: bytes) -> bool:
    """``not data.strip()``, without copying ``data``."""
    return _NOT_BLANK.search(data) is None


def decode(data: bytes) -> tuple[str, str]:
    """Text of a CSV file and the encoding found."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise UnreadableFile(
                "文件以 UTF-8 标记开头，但内容不是有效的 UTF-8（可能被截断或混入了其他编码），"
                "请重新导出后上传",
                "the file starts with a UTF-8 byte order mark but is not valid UTF-8",
            ) from exc
    try:
        return data.decode("utf-8", errors="strict"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030", errors="strict"), "gb18030"
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            "无法识别文件编码（不是 UTF-8，也不是 GBK/GB18030），请另存为 UTF-8 或 GBK 编码的 CSV",
            "cannot decode the file as UTF-8 or GBK/GB18030",
        ) from exc


def _match_header(
    cells: Sequence[object], header_map: Mapping[str, str]
) -> tuple[dict[int, str], list[str]]:
    """Column index → field name for the cells of one row, and the unmatched non-empty headers."""
    found: dict[int, str] = {}
    extra: list[str] = []
    for i, cell in enumerate(cells):
        text = normalize_header(str(cell)) if cell is not None else ""
        if not text:
            continue
        name = header_map.get(text)
        if name is not None and name not in found.values():
            found[i] = name
        else:
            extra.append(text)
    return found, extra


def find_header(
    rows: Iterable[Sequence[object]],
    header_map: Mapping[str, str],
    required: Iterable[str],
) -> tuple[int, dict[int, str], list[str]]:
    """Index of the header row among the first rows, its column mapping and extra headers."""
    required = set(required)
    best: tuple[int, dict[int, str], list[str]] | None = None
    for index, cells in enumerate(rows):
        if index >= HEADER_SEARCH_ROWS:
            break
        found, extra = _match_header(cells, header_map)
        if required <= set(found.values()):
            return index, found, extra
        if found and (best is None or len(found) > len(best[1])):
            best = (index, found, extra)
    missing = sorted(required - set(best[1].values())) if best else sorted(required)
    display: dict[str, str] = {}
    for header, name in header_map.items():
        display.setdefault(name, header)
    wanted = [display.get(name, name) for name in missing]
    raise UnreadableFile(
        "找不到表头行：前30行中没有包含全部必填列的行（缺少："
        + "、".join(wanted)
        + "）。请检查是否选错了接口，或表头文字是否与接口目录一致",
        "no header row with all required columns in the first 30 rows (missing: "
        + ", ".join(wanted)
        + ")",
    )


def _is_total(values: Sequence[str]) -> bool:
    for v in values:
        v = v.strip()
        if v:
            return v.replace(" ", "").lower().startswith(TOTAL_MARKERS)
    return False


def _cell_text(value: object) -> str:
    """Text of a spreadsheet cell: integers without '.0', dates as ISO, Excel serials kept numeric."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value).strip()


def _table_from_rows(
    rows: list[list[str]], lines: list[int], columns: Mapping[int, str]
) -> pa.Table:
    arrays = {
        name: pa.array([r[i] if i < len(r) else "" for r in rows], pa.string())
        for i, name in columns.items()
    }
    arrays["_line"] = pa.array(lines, pa.int64())
    return pa.table(arrays)


def _rows_to_read(
    all_rows: list[list[object]],
    first_line: int,
    header_map: Mapping[str, str],
    required: Iterable[str],
    fmt: str,
    encoding: str,
) -> RawRead:
    index, columns, extra = find_header(all_rows, header_map, required)
    data, lines = [], []
    blank = total = 0
    for offset, cells in enumerate(all_rows[index + 1 :], start=index + 1):
        texts = [_cell_text(c) for c in cells]
        if not any(t for t in texts):
            blank += 1
            continue
        if _is_total(texts):
            total += 1
            continue
        data.append(texts)
        lines.append(first_line + offset)
    table = _table_from_rows(data, lines, columns)
    return RawRead(
        table, fmt, encoding, first_line + index, {"blank": blank, "total": total}, extra
    )


def read_excel(
    path: Path, fmt: str, header_map: Mapping[str, str], required: Iterable[str]
) -> RawRead:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        sheet = book.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
        first_line = (sheet.start[0] if sheet.start else 0) + 1
    except (CalamineError, ValueError, OSError) as exc:
        raise UnreadableFile(
            f"无法打开 Excel 文件（{type(exc).__name__}），文件可能已损坏或受密码保护",
            f"cannot open the workbook: {exc}",
        ) from exc
    return _rows_to_read([list(r) for r in rows], first_line, header_map, required, fmt, "binary")


def read_jsonl(data: bytes, header_map: Mapping[str, str], required: Iterable[str]) -> RawRead:
    text, encoding = decode(data)
    rows: list[list[str]] = []
    lines: list[int] = []
    blank = 0
    keys: dict[str, str] = {}
    field_names = set(header_map.values())
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            blank += 1
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            obj = None
        if not isinstance(obj, dict):
            # an unparseable line is still a row: it goes to quarantine with its line number
            rows.append(["\x00bad-json"])
            lines.append(number)
            continue
        for k in obj:
            if k not in keys:
                keys[k] = header_map.get(normalize_header(str(k))) or (
                    k if k in field_names else ""
                )
        rows.append(obj)  # type: ignore[arg-type]
        lines.append(number)
    names = {v for v in keys.values() if v}
    missing = set(required) - names
    if rows and missing:
        raise UnreadableFile(
            "JSON 行缺少必填字段：" + "、".join(sorted(missing)),
            "JSON lines lack required fields: " + ", ".join(sorted(missing)),
        )
    by_field: dict[str, list[str]] = {}
    for key, name in keys.items():
        if name:
            by_field.setdefault(name, []).append(key)
    arrays = {}
    bad = [isinstance(r, list) for r in rows]

    def value(row: object, candidates: list[str]) -> str:
        if isinstance(row, list):
            return ""
        for key in candidates:
            if key in row:  # type: ignore[operator]
                return _cell_text(row[key])  # type: ignore[index]
        return ""

    for name, candidates in by_field.items():
        arrays[name] = pa.array([value(r, candidates) for r in rows], pa.string())
    arrays["_line"] = pa.array(lines, pa.int64())
    arrays["_bad_json"] = pa.array(bad, pa.bool_())
    extra = [k for k, v in keys.items() if not v]
    return RawRead(pa.table(arrays), "jsonl", encoding, 0, {"blank": blank, "total": 0}, extra)


#: bytes per block of Arrow's CSV reader: blocks of a few MB stay in the CPU's cache (16 MB
#: blocks parsed a 167 MB file in 0.50 s on one thread, 1-4 MB blocks in 0.38 s)
CSV_BLOCK_SIZE = 1 << 22


def read_csv_text(
    text: str | None,
    encoding: str,
    header_map: Mapping[str, str],
    required: Iterable[str],
    raw: bytes | None = None,
) -> RawRead:
    """CSV: the header is found with the csv module on the first lines; the body is parsed by
    Arrow's multi-threaded reader, with line numbers recovered from the newline positions.

    ``raw``: the text as UTF-8 bytes, when the file is UTF-8; ``text`` may then be None (only the
    first lines are decoded, unless the slow path needs the whole text)."""
    if text is None:
        if raw is None:
            raise TypeError("read_csv_text needs the text or its UTF-8 bytes")
        end = 0
        for _ in range(HEADER_SEARCH_ROWS + 1):
            nxt = raw.find(b"\n", end)
            if nxt < 0:
                end = len(raw)
                break
            end = nxt + 1
        head = raw[:end].decode("utf-8", errors="strict")
    else:
        head = text
    head_lines = head.split("\n", HEADER_SEARCH_ROWS + 1)[: HEADER_SEARCH_ROWS + 1]
    head_rows = list(csv.reader(head_lines[:HEADER_SEARCH_ROWS]))
    index, columns, extra = find_header(head_rows, header_map, required)
    # position just after the header line
    if raw is not None:  # UTF-8: cut the bytes directly, no re-encoding
        pos = 0
        for _ in range(index + 1):
            nxt = raw.find(b"\n", pos)
            pos = len(raw) if nxt < 0 else nxt + 1
        body = raw[pos:]
    else:
        pos = 0
        for _ in range(index + 1):
            nxt = text.find("\n", pos)
            pos = len(text) if nxt < 0 else nxt + 1
        body = text[pos:].encode("utf-8")
    if _blank(body):
        empty = {name: pa.array([], pa.string()) for name in columns.values()}
        empty["_line"] = pa.array([], pa.int64())
        return RawRead(pa.table(empty), "csv", encoding, index + 1, {"blank": 0, "total": 0}, extra)
    ncols = max(columns) + 1
    width = max(ncols, len(head_rows[index]))
    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(column_names=names, block_size=CSV_BLOCK_SIZE),
            parse_options=pacsv.ParseOptions(newlines_in_values=False, invalid_row_handler=None),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                include_columns=[f"c{i}" for i in columns],
                check_utf8=False,  # valid UTF-8 already: checked, or encoded here
            ),
        )
        lines = _physical_lines(body, index + 2, table.num_rows)
        if len(lines) != table.num_rows:
            raise ValueError("line count mismatch")
    except (pa.ArrowInvalid, ValueError):
        if text is None:
            text = raw.decode("utf-8", errors="strict")  # type: ignore[union-attr]
        return _read_csv_slow(text, encoding, index, columns, extra)
    table = table.rename_columns([columns[int(n[1:])] for n in table.column_names])
    table = table.append_column("_line", pa.array(lines, pa.int64()))
    return _drop_blank_and_total(table, list(columns.values()), "csv", encoding, index + 1, extra)


def _physical_lines(body: bytes, first_line: int, rows: int | None = None) -> np.ndarray:
    """Line numbers of the non-empty lines of ``body`` (which starts at ``first_line``).

    ``rows``: the number of rows Arrow read from ``body``. Without a carriage return Arrow reads
    one row per non-empty line; when that is one per line, no line is empty."""
    if rows is not None and b"\r" not in body:
        count = body.count(b"\n") + (1 if body and not body.endswith(b"\n") else 0)
        if count == rows:
            return np.arange(first_line, first_line + rows, dtype=np.int64)
    buf = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    if len(buf) and buf[-1] != 10:
        ends = np.append(ends, len(buf))
    starts = np.concatenate(([0], ends[:-1] + 1)) if len(ends) else np.array([], dtype=np.int64)
    lengths = ends - starts
    # a line holding only "\r" is empty too
    cr_only = (lengths == 1) & (buf[np.minimum(starts, len(buf) - 1)] == 13)
    nonempty = (lengths > 0) & ~cr_only
    return np.flatnonzero(nonempty).astype(np.int64) + first_line


def _read_csv_slow(
    text: str, encoding: str, index: int, columns: Mapping[int, str], extra: list[str]
) -> RawRead:
    """Exact but slower path for files with line breaks inside quoted values or ragged rows."""
    reader = csv.reader(io.StringIO(text))
    rows: list[list[object]] = []
    lines: list[int] = []
    for row in reader:
        rows.append(list(row))
        lines.append(reader.line_num)
    data, out_lines = [], []
    blank = total = 0
    start_lines = [1] + [n + 1 for n in lines[:-1]]
    for row, line in zip(rows[index + 1 :], start_lines[index + 1 :], strict=True):
        texts = [str(c).strip() for c in row]
        if not any(texts):
            blank += 1
            continue
        if _is_total(texts):
            total += 1
            continue
        data.append(texts)
        out_lines.append(line)
    table = _table_from_rows(data, out_lines, columns)
    return RawRead(table, "csv", encoding, index + 1, {"blank": blank, "total": total}, extra)


#: the markers of a summary row that :func:`_drop_blank_and_total` looks for
_TOTAL_CELL_MARKERS = ("合计", "总计", "小计", "累计")
#: the UTF-8 bytes of their first characters
_MARKER_HEADS = sorted({m[0].encode("utf-8") for m in _TOTAL_CELL_MARKERS})


def _chunks(column: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return column.chunks if isinstance(column, pa.ChunkedArray) else [column]


def _nonempty(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Per cell, whether it is not empty (the cells are strings, never null)."""
    import pyarrow.compute as pc

    from doudi.core.idcard import string_buffers

    parts = []
    for chunk in _chunks(column):
        if chunk.null_count or chunk.type != pa.string():
            return pc.greater(pc.utf8_length(column), 0)
        offsets, _ = string_buffers(chunk)
        parts.append(pa.array(np.diff(offsets) > 0))
    return pa.chunked_array(parts, pa.bool_())


def _may_start_with_marker(column: pa.Array | pa.ChunkedArray) -> bool:
    """False when no cell starts with the first character of a summary marker."""
    from doudi.core.idcard import string_buffers

    for chunk in _chunks(column):
        if chunk.type != pa.string():
            return True
        offsets, data = string_buffers(chunk)
        head = offsets[:-1][np.diff(offsets) >= 6]
        if not head.size:
            continue
        # the first three bytes of each cell as one number, compared with the markers' heads
        code = (
            (data[head].astype(np.int32) << 16)
            | (data[head + 1].astype(np.int32) << 8)
            | data[head + 2].astype(np.int32)
        )
        if np.isin(code, _MARKER_CODES).any():
            return True
    return False


_MARKER_CODES = np.array([int.from_bytes(m, "big") for m in _MARKER_HEADS], dtype=np.int32)


#: lead bytes of every character Arrow's utf8_trim_whitespace removes: ASCII control characters
#: and space, and the lead bytes of U+0085, U+00A0, U+1680, U+180E, U+2000-U+205F, U+3000 and
#: (for safety) U+FEFF. A test checks every code point.
_TRIM_LEADS = np.zeros(256, dtype=bool)
_TRIM_LEADS[:0x21] = True
_TRIM_LEADS[[0x7F, 0xC2, 0xE1, 0xE2, 0xE3, 0xEF]] = True


def _needs_trim(chunk: pa.Array) -> bool:
    """False when no cell of a string array (without nulls) can start or end with white space:
    neither its first character nor its last has a lead byte in :data:`_TRIM_LEADS`."""
    from doudi.core.idcard import string_buffers

    offsets, data = string_buffers(chunk)
    lengths = np.diff(offsets)
    full = lengths > 0
    if not full.any():
        return False
    starts = offsets[:-1][full]
    ends = offsets[1:][full]
    if _TRIM_LEADS[data[starts]].any():
        return True
    # the last character's lead byte: step back over continuation bytes (10xxxxxx), at most 3
    last = ends - 1
    for _ in range(3):
        cont = (data[last] & 0xC0) == 0x80
        if not cont.any():
            break
        last = np.where(cont & (last > starts), last - 1, last)
    return bool(_TRIM_LEADS[data[last]].any())


def _trim(column: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """``utf8_trim_whitespace``, skipped for the chunks where no cell needs it."""
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        if column.null_count or column.type != pa.string():
            return pc.utf8_trim_whitespace(column)
        return pa.chunked_array(
            [pc.utf8_trim_whitespace(c) if _needs_trim(c) else c for c in column.chunks],
            column.type,
        )
    if column.null_count or column.type != pa.string() or _needs_trim(column):
        return pc.utf8_trim_whitespace(column)
    return column


def _drop_blank_and_total(
    table: pa.Table,
    fields: list[str],
    fmt: str,
    encoding: str,
    header_line: int,
    extra: list[str],
) -> RawRead:
    """Trim the cells; drop the blank rows and the summary rows."""
    import pyarrow.compute as pc

    stripped = {f: _trim(table[f]) for f in fields}
    # a summary row needs a cell that starts with a marker
    totals = any(_may_start_with_marker(stripped[f]) for f in fields)
    nonblank = None
    for f in fields:
        has = _nonempty(stripped[f])
        nonblank = has if nonblank is None else pc.or_(nonblank, has)
    if totals:
        first = None
        for f in fields:  # first non-empty cell of each row, in column order
            first = (
                stripped[f]
                if first is None
                else pc.if_else(pc.greater(pc.utf8_length(first), 0), first, stripped[f])
            )
        total = pc.or_(
            pc.or_(pc.starts_with(first, "合计"), pc.starts_with(first, "总计")),
            pc.or_(pc.starts_with(first, "小计"), pc.starts_with(first, "累计")),
        )
        keep = pc.and_(nonblank, pc.invert(total))
        n_total = int(pc.sum(pc.and_(nonblank, total)).as_py() or 0)
    else:
        keep = nonblank
        n_total = 0
    n_blank = int(pc.sum(pc.invert(nonblank)).as_py() or 0) if nonblank is not None else 0
    for f in fields:
        table = table.set_column(table.schema.get_field_index(f), f, stripped[f])
    if keep is not None and n_blank + n_total:  # else every row is kept
        table = table.filter(keep)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), TRIMMED_KEY: b"1"})
    return RawRead(table, fmt, encoding, header_line, {"blank": n_blank, "total": n_total}, extra)


def read_file(path: Path, header_map: Mapping[str, str], required: Iterable[str]) -> RawRead:
    """Read any supported file. ``header_map`` maps normalised headers to field names."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(
            f"无法读取文件：{exc.strerror}", f"cannot read the file: {exc}"
        ) from exc
    fmt = detect_format(path, data[:8])
    if _blank(data):
        if fmt == "jsonl":  # a day with nothing to report: zero rows, not an error
            empty = {name: pa.array([], pa.string()) for name in set(header_map.values())}
            empty["_line"] = pa.array([], pa.int64())
            return RawRead(pa.table(empty), "jsonl", "utf-8", 0, {"blank": 0, "total": 0})
        raise UnreadableFile("文件是空的", "the file is empty")
    if fmt in {"xlsx", "xls"}:
        return read_excel(path, fmt, header_map, required)
    if fmt == "jsonl":
        return read_jsonl(data, header_map, required)
    if b"\x00" in data[:4096]:
        raise UnreadableFile("文件不是文本格式的 CSV", "the file is not a text CSV")
    if data.startswith(b"\xef\xbb\xbf"):
        if _is_utf8(data[3:]):
            return read_csv_text(None, "utf-8-sig", header_map, required, raw=data[3:])
    elif _is_utf8(data):  # UTF-8: no need to decode more than the header lines
        return read_csv_text(None, "utf-8", header_map, required, raw=data)
    text, encoding = decode(data)
    if encoding.startswith("utf-8"):  # pragma: no cover - UTF-8 is handled above
        body = data[3:] if encoding == "utf-8-sig" else data
        return read_csv_text(text, encoding, header_map, required, raw=body)
    return read_csv_text(text, encoding, header_map, required)
