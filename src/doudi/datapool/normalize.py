"""Vectorised validation and normalisation of department rows against an interface declaration.

Input: the text columns from :mod:`doudi.datapool.readers`. Output: typed columns (date32,
decimal128(18,2) yuan, int64, canonical enum codes, normalised ID numbers) and, per row, the first
problem found (a Chinese reason naming the column and the value) or null. Everything is done on
whole columns with Arrow compute and numpy; no Python loop per row.

Dates accepted: 2024-01-05, 2024-1-5, 2024/1/5, 2024.1.5, 2024年1月5日, 20240105, an Excel serial
number (45296), and any of these followed by a time. Amounts: "1,234.50", "¥1234.5", "1234.5元",
numbers stored as text; rounded half-up to the fen. ID numbers: normalised per GB 11643-1999
(15→18 digits, full-width, lowercase x, spaces) by :func:`doudi.core.idcard.validate_many`.
"""

from __future__ import annotations

import datetime as dt
import weakref
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from doudi.core import idcard
from doudi.datapool.catalog import Field, Interface
from doudi.datapool.readers import TRIMMED_KEY

EXCEL_EPOCH = np.datetime64("1899-12-30", "D")
MIN_DATE = np.datetime64("1880-01-01", "D")
MAX_DATE = np.datetime64("2100-12-31", "D")
DECIMAL = pa.decimal128(18, 2)

_ID_REASONS = {
    "length": "位数不对",
    "characters": "含非法字符",
    "birth_date": "出生日期无效",
    "province": "省级代码无效",
    "checksum": "校验位不正确",
}
_BOOL = {
    "是": True,
    "否": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
    "true": True,
    "false": False,
    "有": True,
    "无": False,
}


#: Arrow type of each field type's column
_TYPES = {
    "string": pa.string(),
    "date": pa.date32(),
    "decimal": DECIMAL,
    "integer": pa.int64(),
    "enum": pa.string(),
    "boolean": pa.bool_(),
    "region_code": pa.string(),
}


@dataclass
class Normalized:
    table: pa.Table  # typed columns by field name + id columns + "_line"
    reason: pa.Array  # string, null when the row is fine
    id_valid: pa.Array | None  # bool per row, for interfaces about persons


#: arrays that are their own ``_trim`` (made by it, or read from a reader that trimmed them the
#: same way), by id; an entry disappears with its array
_TRIMMED: weakref.WeakValueDictionary[int, pa.Array] = weakref.WeakValueDictionary()


def _trim(arr: pa.Array) -> pa.Array:
    if _TRIMMED.get(id(arr)) is arr:
        return arr
    out = pc.utf8_trim_whitespace(pc.fill_null(arr, ""))
    _TRIMMED[id(out)] = out
    return out


def _empty(arr: pa.Array) -> pa.Array:
    if isinstance(arr, pa.Array) and arr.type == pa.string() and not arr.null_count:
        offsets, _ = idcard.string_buffers(arr)
        return pa.array(offsets[1:] == offsets[:-1])
    return pc.equal(pc.utf8_length(arr), 0)


def _reason(bad: pa.Array, field: Field, what: str, values: pa.Array) -> pa.Array | None:
    if not pc.any(bad).as_py():
        return None
    text = pc.binary_join_element_wise(
        pa.scalar(f"{field.header}："), pa.scalar(what + "（"), values, pa.scalar("）"), ""
    )
    return pc.if_else(bad, text, pa.scalar(None, pa.string()))


def _empty_strings(n: int) -> pa.Array:
    """n empty strings."""
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(np.zeros(n + 1, np.int32)), pa.py_buffer(b"")]
    )


def _null_if_empty(value: pa.Array, empty: pa.Array | None = None) -> pa.Array:
    """``value`` with its empty strings made null."""
    if empty is None:
        empty = _empty(value)
    if not pc.any(empty).as_py():
        return value
    return pc.if_else(empty, pa.scalar(None, pa.string()), value)


def _reason_constant(
    n: int, field: Field, what: str, bad: pa.Array | None = None
) -> pa.Array | None:
    """The reason "<header>：<what>（）" where ``bad`` (everywhere when None), else null."""
    text = pa.scalar(f"{field.header}：{what}（）")
    if bad is None:
        return pa.array(np.full(n, text.as_py(), dtype=object), pa.string()) if n else None
    if not pc.any(bad).as_py():
        return None
    return pc.if_else(bad, text, pa.scalar(None, pa.string()))


def parse_dates(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(date32 array, ok mask) for date strings in the accepted formats; empty → null, ok.

    Fast path: a column entirely in ISO form (2024-01-05) is read on its bytes with numpy (else
    by Arrow's strptime); only the rows it cannot read go through the general parser."""
    trimmed = _trim(text)
    fast = _iso_dates(trimmed)
    if fast is not None:
        iso = fast
    else:
        iso = _strptime_iso(trimmed)
    pending = pc.and_(pc.is_null(iso), pc.invert(_empty(trimmed)))
    if not pc.any(pending).as_py():
        return iso, pa.array(np.ones(len(trimmed), bool))
    if pc.sum(pending).as_py() == len(trimmed):
        return _parse_dates_general(trimmed)
    rest_idx = pc.indices_nonzero(pending)
    rest_values, rest_ok = _parse_dates_general(pc.take(trimmed, rest_idx))
    values = iso.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    mask = np.asarray(pc.is_null(iso), dtype=bool).copy()
    ok = np.ones(len(trimmed), bool)
    idx = rest_idx.to_numpy()
    values[idx] = rest_values.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    mask[idx] = np.asarray(pc.is_null(rest_values), dtype=bool)
    ok[idx] = np.asarray(rest_ok, dtype=bool)
    return pa.array(values, pa.date32(), mask=mask), pa.array(ok)


def _strptime_iso(trimmed: pa.Array) -> pa.Array:
    """The dates of the values in ISO form (2024-01-05) that are real dates in range, else null."""
    stamp = pc.strptime(trimmed, format="%Y-%m-%d", unit="s", error_is_null=True)
    iso = pc.cast(stamp, pa.date32())
    # Arrow rolls 2023-02-29 over to 2023-03-01: keep only dates that print back the same
    parsed = pc.and_(pc.is_valid(stamp), pc.equal(pc.utf8_length(trimmed), 10))
    day_text = pc.if_else(parsed, pc.utf8_slice_codeunits(trimmed, 8, 10), "0")
    same = pc.and_(parsed, pc.equal(pc.cast(day_text, pa.int64()), pc.day(stamp)))
    in_range = pc.and_(
        pc.and_(
            pc.greater_equal(iso, pa.scalar(dt.date(1880, 1, 1))),
            pc.less_equal(iso, pa.scalar(dt.date(2100, 12, 31))),
        ),
        same,
    )
    return pc.if_else(in_range, iso, pa.scalar(None, pa.date32()))


#: 1880-01-01 and 2100-12-31 in days since 1970-01-01
_MIN_DAYS = int(MIN_DATE.astype(np.int64))
_MAX_DAYS = int(MAX_DATE.astype(np.int64))
_ISO_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9]


def _iso_dates(trimmed: pa.Array) -> pa.Array | None:
    """What :func:`_strptime_iso` gives, computed on the bytes, when every value is empty or of
    the form dddd-dd-dd; None otherwise."""
    if trimmed.type != pa.string() or trimmed.null_count:
        return None
    n = len(trimmed)
    offsets, data = idcard.string_buffers(trimmed)
    lengths = np.diff(offsets)
    rows = np.flatnonzero(lengths == 10)
    if rows.size + int((lengths == 0).sum()) != n:
        return None
    chars = idcard.fixed_width_matrix(offsets, data, rows, 10)
    digits = chars[:, _ISO_DIGITS] - np.uint8(0x30)
    if rows.size and not (
        (digits.max(axis=1) <= 9).all() & (chars[:, 4] == 0x2D).all() & (chars[:, 7] == 0x2D).all()
    ):
        return None
    d = digits.astype(np.int32)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 4] * 10 + d[:, 5]
    day = d[:, 6] * 10 + d[:, 7]
    month_ok = (month >= 1) & (month <= 12)
    ym = year * 12 + np.where(month_ok, month - 1, 0)
    days = idcard.MONTH_START[ym] + (day - 1)
    ok = month_ok & (day >= 1) & (day <= idcard.MONTH_DAYS[ym])
    ok &= (days >= _MIN_DAYS) & (days <= _MAX_DAYS)
    values = np.zeros(n, dtype=np.int32)
    valid = np.zeros(n, dtype=bool)
    values[rows] = np.where(ok, days, 0)
    valid[rows] = ok
    return pa.Array.from_buffers(
        pa.date32(),
        n,
        [
            None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little")),
            pa.py_buffer(values),
        ],
        null_count=int(n - valid.sum()),
    )


#: a column with at most one distinct value per this many rows is parsed once per distinct value
DISTINCT_RATIO = 4


def _parse_dates_general(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Dates in any accepted form. A file's dates repeat (a payment day, a month's start): when
    they do, each distinct text is parsed once and the results are spread back to the rows."""
    original = _trim(text)
    n = len(original)
    if n >= 1024 and original.type == pa.string() and not original.null_count:
        encoded = pc.dictionary_encode(original)
        if len(encoded.dictionary) * DISTINCT_RATIO <= n:
            values, ok = _parse_date_texts(encoded.dictionary)
            return pc.take(values, encoded.indices), pc.take(ok, encoded.indices)
    return _parse_date_texts(original)


def _parse_date_texts(original: pa.Array) -> tuple[pa.Array, pa.Array]:
    serial = pc.match_substring_regex(original, r"^\d{1,5}(\.0+)?$")
    s = pc.replace_substring_regex(original, r"[年月/\.]", "-")
    s = pc.replace_substring(s, "日", "")
    s = pc.replace_substring_regex(s, r"[ T].*$", "")  # drop a time part
    ymd = pc.extract_regex(s, r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$")
    compact = pc.extract_regex(s, r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
    n = len(s)
    y = np.zeros(n, np.int64)
    m = np.zeros(n, np.int64)
    d = np.zeros(n, np.int64)
    got = np.zeros(n, bool)
    for parts in (ymd, compact):
        valid = np.asarray(parts.is_valid(), dtype=bool)
        if valid.any():
            for arr, key in ((y, "y"), (m, "m"), (d, "d")):
                col = pc.struct_field(parts, key).to_numpy(zero_copy_only=False)
                arr[valid] = col[valid].astype(np.int64)
            got |= valid
    ok_range = got & (m >= 1) & (m <= 12) & (d >= 1) & (d <= 31) & (y >= 1800)
    months = np.where(ok_range, (y - 1970) * 12 + (m - 1), 0).astype("datetime64[M]")
    days = months.astype("datetime64[D]") + np.where(ok_range, d - 1, 0)
    same_month = days.astype("datetime64[M]") == months
    ok_ymd = ok_range & same_month
    is_serial = np.asarray(serial.fill_null(False), dtype=bool) & ~got
    serial_n = np.zeros(n, np.int64)
    if is_serial.any():
        vals = pc.cast(pc.if_else(serial, original, "0"), pa.float64()).to_numpy(
            zero_copy_only=False
        )
        serial_n = vals.astype(np.int64)
    ok_serial = is_serial & (serial_n >= 1) & (serial_n <= 80000)
    result = np.where(ok_serial, EXCEL_EPOCH + serial_n, days)
    ok_value = (ok_ymd | ok_serial) & (result >= MIN_DATE) & (result <= MAX_DATE)
    empty = np.asarray(_empty(s), dtype=bool)
    out = pa.array(result.astype("datetime64[D]"), pa.date32(), mask=~ok_value)
    return out, pa.array(ok_value | empty)


def parse_decimals(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    trimmed = _trim(text)
    if not pc.any(_empty(trimmed)).as_py():
        try:  # fast path: plain numbers throughout
            values = pc.round(pc.cast(trimmed, pa.float64()), ndigits=2, round_mode="half_up")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        else:
            if pc.all(pc.less(pc.abs(values), 1e15)).as_py():
                return pc.cast(values, DECIMAL), pa.array(np.ones(len(trimmed), bool))
    s = pc.replace_substring_regex(trimmed, r"[,，¥￥元\s]", "")
    looks = pc.match_substring_regex(s, r"^[-+]?(\d+\.?\d*|\.\d+)$")
    safe = pc.if_else(looks, s, "0")
    values = pc.round(pc.cast(safe, pa.float64()), ndigits=2, round_mode="half_up")
    ok_range = pc.less(pc.abs(values), 1e15)
    ok = pc.and_(looks, ok_range)
    out = pc.if_else(ok, pc.cast(values, DECIMAL), pa.scalar(None, DECIMAL))
    return out, pc.or_(ok, _empty(s))


def parse_integers(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    s = pc.replace_substring_regex(_trim(text), r"[,，\s]", "")
    s = pc.replace_substring_regex(s, r"\.0+$", "")
    looks = pc.match_substring_regex(s, r"^[-+]?\d{1,17}$")
    out = pc.if_else(
        looks, pc.cast(pc.if_else(looks, s, "0"), pa.int64()), pa.scalar(None, pa.int64())
    )
    return out, pc.or_(looks, _empty(s))


def parse_enum(text: pa.Array, field: Field) -> tuple[pa.Array, pa.Array]:
    """Canonical codes for the declared spellings (full-width folded, spaces and case ignored, as
    :meth:`Field.canonical`); each distinct spelling is looked up once."""
    s = _trim(text)
    distinct = [v for v in pc.unique(s).to_pylist() if v]
    canon = [field.canonical(v) for v in distinct]
    known = [v for v, c in zip(distinct, canon, strict=True) if c is not None]
    idx = pc.index_in(s, value_set=pa.array(known, pa.string()))
    out = pc.take(pa.array([c for c in canon if c is not None], pa.string()), idx)
    return out, pc.or_(pc.is_valid(idx), _empty(s))


def parse_booleans(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    keys = list(_BOOL)
    s = pc.utf8_lower(_trim(text))
    idx = pc.index_in(s, value_set=pa.array(keys, pa.string()))
    out = pc.take(pa.array([_BOOL[k] for k in keys], pa.bool_()), idx)
    return out, pc.or_(pc.is_valid(idx), _empty(s))


def parse_region_codes(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    s = _trim(text)
    looks = pc.match_substring_regex(s, r"^(\d{6}|\d{9}|\d{12})$")
    return pc.if_else(looks, s, pa.scalar(None, pa.string())), pc.or_(looks, _empty(s))


def _names(text: pa.Array) -> pa.Array:
    text = pc.fill_null(text, "")
    if not pc.any(pc.match_substring_regex(text, _NAME_GAPS)).as_py():
        return text  # nothing to remove
    return pc.replace_substring_regex(text, _NAME_GAPS, "")


_NAME_GAPS = "[\\s\u3000·•]"


def normalize(interface: Interface, raw: pa.Table, *, today: dt.date | None = None) -> Normalized:
    """Typed, normalised columns and the first problem of each row."""
    n = raw.num_rows
    columns: dict[str, pa.Array] = {}
    reasons: list[pa.Array] = []
    id_valid = None
    if "_bad_json" in raw.column_names:
        bad = raw["_bad_json"].combine_chunks()
        reasons.append(pc.if_else(bad, "整行不是有效的 JSON 对象", pa.scalar(None, pa.string())))
    trimmed = (raw.schema.metadata or {}).get(TRIMMED_KEY) == b"1"
    for field in interface.fields:
        if field.name in raw.column_names:
            column = raw[field.name].combine_chunks()
            if trimmed and column.null_count == 0 and column.type == pa.string():
                _TRIMMED[id(column)] = column
            text = _trim(column)
            empty = _empty(text)
        elif field.type != "id_number":  # a column the file does not have: every value empty
            columns[field.name] = pa.nulls(n, _TYPES[field.type])
            if field.required:
                reasons.append(_reason_constant(n, field, "必填项为空"))
            continue
        else:
            text = _empty_strings(n)
            empty = pa.array(np.ones(n, bool))
        if field.type == "id_number":
            ids = idcard.validate_arrow(text, today=today)
            valid = pa.array(ids.valid)
            columns[field.name] = ids.normalized
            columns[f"{field.name}__raw"] = text
            columns[f"{field.name}__error"] = ids.error
            if field.name == interface.person_field:
                id_valid = valid
                # birth date, sex and area of the valid numbers, from the validator's arrays
                columns["__id_birth"] = ids.birth_date
                columns["__id_sex"] = ids.sex
                columns["__id_region"] = ids.region_code
            ok = None  # invalid IDs are kept: linkage handles them
        elif field.type == "date":
            columns[field.name], ok = parse_dates(text)
        elif field.type == "decimal":
            columns[field.name], ok = parse_decimals(text)
        elif field.type == "integer":
            columns[field.name], ok = parse_integers(text)
        elif field.type == "enum":
            columns[field.name], ok = parse_enum(text, field)
        elif field.type == "boolean":
            columns[field.name], ok = parse_booleans(text)
        elif field.type == "region_code":
            columns[field.name], ok = parse_region_codes(text)
        else:
            value = _names(text) if field.name == interface.name_field else text
            columns[field.name] = _null_if_empty(value, empty if value is text else None)
            ok = None
        kind = {
            "date": "无法识别的日期",
            "decimal": "不是有效金额",
            "integer": "不是整数",
            "enum": "不是允许的取值",
            "boolean": "应为 是/否",
            "region_code": "不是区划代码",
        }
        if field.type in kind and ok is not None:
            reasons.append(_reason(pc.invert(ok), field, kind[field.type], text))
        if field.required and field.type != "id_number":
            reasons.append(_reason_constant(n, field, "必填项为空", empty))
    if interface.person_field and interface.name_field:
        id_col = columns[interface.person_field]
        name_col = columns.get(interface.name_field)
        if name_col is not None:
            no_id = pc.is_null(id_col)
            no_name = pc.is_null(name_col)
            f = interface.field(interface.person_field)
            raw_text = columns[f"{interface.person_field}__raw"]
            neither = pc.and_(no_id, no_name)
            reasons.append(
                None
                if not pc.any(neither).as_py()
                else pc.if_else(
                    neither,
                    pc.binary_join_element_wise(
                        pa.scalar(f"{f.header}："),
                        pa.scalar("无效且无姓名，无法匹配人员（"),
                        raw_text,
                        pa.scalar("）"),
                        "",
                    ),
                    pa.scalar(None, pa.string()),
                )
            )
    reason = pa.nulls(n, pa.string())
    for r in reversed([r for r in reasons if r is not None]):  # first problem wins
        reason = r if reason.null_count == n else pc.if_else(pc.is_valid(r), r, reason)
    columns["_line"] = raw["_line"].combine_chunks()
    return Normalized(pa.table(columns), reason, id_valid)


def id_reason_text(code: str | None) -> str:
    return _ID_REASONS.get(code or "", "")
