"""Resident ID numbers (居民身份证号码) per GB 11643-1999.

18 characters: a 6-digit address code, an 8-digit birth date, a 3-digit sequence (the 17th digit is
odd for men, even for women) and a check character computed with ISO 7064 MOD 11-2.

Department data carries lowercase x, full-width digits, spaces, old 15-digit numbers and wrong check
characters (DOMAIN.md §11). We normalise what is certain and reject the rest with one reason.

Normalisation (``normalize_raw``), certain changes only:

- every whitespace character (``str.isspace``: ASCII blanks, tabs, line breaks, U+00A0, U+3000
  full-width space, …) and the invisible U+200B/U+200C/U+200D/U+2060/U+FEFF are removed;
- full-width digits ０-９ become 0-9; ``x``, ``Ｘ`` and ``ｘ`` become ``X``.

Nothing else is changed: other letters, other scripts' digits and punctuation stay, and make the
number invalid.

Checks, in this order; the first that fails is the ``error``:

1. ``"length"``: 15 or 18 characters after normalisation.
2. ``"characters"``: 18 characters are 17 ASCII digits and a digit or ``X``; 15 characters are all
   digits. A valid-looking 15-digit number (GB 11643-1989) is converted to 18 characters by
   inserting "19" before the two-digit year and computing the check character (warning
   ``"converted_from_15"``): 370602800101001 → 370602198001010012.
3. ``"birth_date"``: characters 7-14 are a real calendar date (YYYYMMDD), not before 1880-01-01 and
   not after ``today``.
4. ``"province"``: the first two digits are a GB/T 2260 province-level code (``PROVINCE_CODES``).
5. ``"checksum"``: the 18th character is the ISO 7064 MOD 11-2 check character of the first 17
   (GB 11643-1999 §7.2). A converted 15-digit number always passes.

Address code: a valid number whose first six digits are not a current county-level code
(``doudi.core.regions_cn``) stays valid. If the code is an abolished one we list, the warning is
``"historical_region"`` and ``region_name`` is its old name marked "（已撤销）"; otherwise the
warning is ``"unknown_region"`` and ``region_name`` is None (the province can still be read from
the first two digits with ``regions_cn.province_name``). ``region_name`` is the full name, e.g.
"山东省烟台市芝罘区".

An invalid number carries only ``input``, ``valid=False`` and ``error``: every derived field is
None and ``warnings`` is empty, whatever check failed.

Two implementations give the same answers on every input (tested with hypothesis):
``validate`` for one number in plain Python, ``validate_many`` for millions with numpy.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import numpy as np

from doudi.core import regions_cn

#: ISO 7064 MOD 11-2 weights of the first 17 digits (GB 11643-1999 §7.2).
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: check character for S = Σ aᵢwᵢ mod 11, indexed by S.
CHECK_CHARS = "10X98765432"

_WEIGHTS_NP = np.array(WEIGHTS, dtype=np.int64)
_WEIGHTS_U16 = _WEIGHTS_NP.astype(np.uint16)
_CHECK_NP = np.frombuffer(CHECK_CHARS.encode("ascii"), dtype="S1")

#: GB/T 2260 province-level codes: the only valid first two digits.
PROVINCE_CODES: frozenset[str] = frozenset(
    [f"{c}" for c in range(11, 16)]
    + [f"{c}" for c in range(21, 24)]
    + [f"{c}" for c in range(31, 38)]
    + [f"{c}" for c in range(41, 47)]
    + [f"{c}" for c in range(50, 55)]
    + [f"{c}" for c in range(61, 66)]
    + ["71", "81", "82"]
)
#: earliest birth date accepted.
MIN_BIRTH_DATE = date(1880, 1, 1)

#: error codes, in the order the checks run.
ERROR_CODES = ("length", "characters", "birth_date", "province", "checksum")
#: warning codes, in the order they appear in ``IdResult.warnings``.
WARNING_CODES = ("converted_from_15", "historical_region", "unknown_region")

ErrorCode = Literal["length", "characters", "birth_date", "province", "checksum"]
Sex = Literal["M", "F"]

_DIGITS = frozenset("0123456789")
_INVISIBLE = (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)
# all str.isspace() characters lie below U+3001 (a test checks the whole range)
_REMOVED_CPS: tuple[int, ...] = tuple(c for c in range(0x3001) if chr(c).isspace()) + _INVISIBLE
_TRANSLATION: dict[int, int | None] = {c: None for c in _REMOVED_CPS}
_TRANSLATION.update({0xFF10 + i: 0x30 + i for i in range(10)})
_TRANSLATION.update({ord("x"): ord("X"), 0xFF38: ord("X"), 0xFF58: ord("X")})


def check_char(first17: str) -> str:
    """Check character of the 17 leading digits of an 18-character number."""
    s = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[s % 11]


def check_chars_vec(digits: np.ndarray) -> np.ndarray:
    """Check characters for many numbers at once.

    ``digits`` is an integer array of shape (n, 17) holding the leading digits; the result is a
    ``S1`` array of n check characters (b"0".."9" or b"X").
    """
    s = (digits.astype(np.int64) @ _WEIGHTS_NP) % 11
    return _CHECK_NP[s]


def normalize_raw(raw: str) -> str:
    """Remove whitespace and invisible characters, make full-width digits ASCII, x → X.

    See the module docstring for the exact list; nothing else is changed.
    """
    return raw.translate(_TRANSLATION)


# --------------------------------------------------------------------------------------------
# one number
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdResult:
    """The outcome of validating one ID number. See the module docstring for the rules."""

    input: str
    valid: bool
    #: the 18-character number (15-digit numbers converted), or None when invalid
    normalized: str | None = None
    birth_date: date | None = None
    #: "M" if the 17th digit is odd, "F" if even; None when invalid
    sex: Sex | None = None
    #: the first six digits (the address code); None when invalid
    region_code: str | None = None
    #: full name such as "山东省烟台市芝罘区"; None when invalid or the code is unknown
    region_name: str | None = None
    error: ErrorCode | None = None
    warnings: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        """The JSON contract, keys in this order: input, valid, normalized, birth_date
        (YYYY-MM-DD), sex, region_code, region_name, error, warnings (a list)."""
        return {
            "input": self.input,
            "valid": self.valid,
            "normalized": self.normalized,
            "birth_date": self.birth_date.isoformat() if self.birth_date is not None else None,
            "sex": self.sex,
            "region_code": self.region_code,
            "region_name": self.region_name,
            "error": self.error,
            "warnings": list(self.warnings),
        }


def _today(today: date | None) -> date:
    if today is None:
        return date.today()
    if isinstance(today, datetime):
        return today.date()
    return today


def _birth_date(yyyymmdd: str, today: date) -> date | None:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None
    if born < MIN_BIRTH_DATE or born > today:
        return None
    return born


def validate(raw: str, *, today: date | None = None) -> IdResult:
    """Validate one ID number (GB 11643-1999; 15-digit GB 11643-1989 numbers are converted).

    ``today`` (default: ``date.today()``) is the latest birth date accepted. The checks, their
    order and the meaning of each field are in the module docstring.
    """
    if not isinstance(raw, str):
        raise TypeError(f"ID number must be a str, not {type(raw).__name__}")
    today = _today(today)
    s = normalize_raw(raw)
    if len(s) == 15:
        if not all(c in _DIGITS for c in s):
            return IdResult(input=raw, valid=False, error="characters")
        body = s[:6] + "19" + s[6:]
        number = body + check_char(body)
        converted = True
    elif len(s) == 18:
        if not (all(c in _DIGITS for c in s[:17]) and (s[17] in _DIGITS or s[17] == "X")):
            return IdResult(input=raw, valid=False, error="characters")
        number = s
        converted = False
    else:
        return IdResult(input=raw, valid=False, error="length")
    born = _birth_date(number[6:14], today)
    if born is None:
        return IdResult(input=raw, valid=False, error="birth_date")
    if number[:2] not in PROVINCE_CODES:
        return IdResult(input=raw, valid=False, error="province")
    if check_char(number[:17]) != number[17]:
        return IdResult(input=raw, valid=False, error="checksum")

    warnings = ["converted_from_15"] if converted else []
    code = number[:6]
    region_name = regions_cn.region_display_name(code)
    if not regions_cn.is_known_county(code):
        known_hist = regions_cn.historical_county(code) is not None
        warnings.append("historical_region" if known_hist else "unknown_region")
    return IdResult(
        input=raw,
        valid=True,
        normalized=number,
        birth_date=born,
        sex="M" if int(number[16]) % 2 == 1 else "F",
        region_code=code,
        region_name=region_name,
        error=None,
        warnings=tuple(warnings),
    )


def mask(number: str) -> str:
    """Mask an ID number for display and logs: "370602********0012".

    The number is normalised first (``normalize_raw``). With 15 or more characters the first six
    and the last four stay and every other character becomes "*"; a shorter string (never a whole
    number) becomes all asterisks, so at most the address code and the last four are ever shown.
    """
    s = normalize_raw(number)
    n = len(s)
    if n < 15:
        return "*" * n
    return s[:6] + "*" * (n - 10) + s[-4:]


# --------------------------------------------------------------------------------------------
# many numbers
# --------------------------------------------------------------------------------------------

#: character classes used by the vectorised path: 0-9 digit value, 10 = X, 11 = anything else
_CLS_X = 10
_CLS_OTHER = 11
_CLS_REMOVED = 255
#: class of each check value S (CHECK_CHARS as classes)
_CHECK_CLS = np.array([_CLS_X if c == "X" else int(c) for c in CHECK_CHARS], dtype=np.uint8)
#: class → code point of the normalised character ("0".."9", "X"; others unused)
_CLS_TO_CP = np.zeros(256, dtype=np.uint32)
_CLS_TO_CP[:10] = np.arange(0x30, 0x3A)
_CLS_TO_CP[_CLS_X] = ord("X")
_PLACE6 = np.array([100000, 10000, 1000, 100, 10, 1], dtype=np.int64)
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_PROVINCE_OK = np.zeros(100, dtype=bool)
_PROVINCE_OK[[int(c) for c in PROVINCE_CODES]] = True
_EPOCH_1880 = np.datetime64(MIN_BIRTH_DATE.isoformat(), "D").astype(np.int64)


@functools.cache
def _class_table(size: int) -> np.ndarray:
    """Lookup table code point → character class, for code points below ``size``."""
    table = np.full(size, _CLS_OTHER, dtype=np.uint8)
    for cp, to in _TRANSLATION.items():
        if cp < size:
            table[cp] = _CLS_REMOVED if to is None else _CLS_OTHER
    for i in range(10):
        table[0x30 + i] = i
        if 0xFF10 + i < size:
            table[0xFF10 + i] = i
    for cp in (ord("X"), ord("x"), 0xFF38, 0xFF58):
        if cp < size:
            table[cp] = _CLS_X
    table.flags.writeable = False
    return table


@dataclass(frozen=True, slots=True)
class IdBatch:
    """Results of ``validate_many``: one array per field, all of the same length, as attributes
    or dict-style (``batch["valid"]``).

    For an invalid row ``normalized``, ``sex``, ``region_code`` are "" and ``birth_date`` is NaT
    (the scalar result has None there); for a valid row ``error`` is "". The warnings are the three
    boolean arrays; ``warnings(i)`` gives the scalar tuple. ``result(i)`` rebuilds exactly what
    ``validate(inputs[i])`` returns.
    """

    #: the inputs as an object array of str (a missing value became "")
    inputs: np.ndarray
    valid: np.ndarray  # bool
    normalized: np.ndarray  # <U18
    birth_date: np.ndarray  # datetime64[D]
    sex: np.ndarray  # <U1: "M", "F" or ""
    region_code: np.ndarray  # <U6
    error: np.ndarray  # <U10: an ERROR_CODES entry or ""
    converted_from_15: np.ndarray  # bool
    historical_region: np.ndarray  # bool
    unknown_region: np.ndarray  # bool

    def __len__(self) -> int:
        return int(self.valid.shape[0])

    def warnings(self, i: int) -> tuple[str, ...]:
        """The warning codes of row ``i``, as ``IdResult.warnings`` has them."""
        flags = (self.converted_from_15[i], self.historical_region[i], self.unknown_region[i])
        return tuple(code for code, on in zip(WARNING_CODES, flags, strict=True) if on)

    def region_names(self) -> np.ndarray:
        """Object array of ``region_name`` per row (None when invalid or unknown).

        Looks each distinct code up once, so it is cheap for millions of rows.
        """
        out = np.full(len(self), None, dtype=object)
        mask_ = self.valid & ~self.unknown_region
        if mask_.any():
            codes, inverse = np.unique(self.region_code[mask_], return_inverse=True)
            names = np.array([regions_cn.region_display_name(str(c)) for c in codes], dtype=object)
            out[mask_] = names[inverse]
        return out

    def result(self, i: int) -> IdResult:
        """Row ``i`` as an ``IdResult``, equal to what ``validate`` gives for the same input."""
        raw = str(self.inputs[i])
        if not self.valid[i]:
            return IdResult(input=raw, valid=False, error=str(self.error[i]))  # type: ignore[arg-type]
        code = str(self.region_code[i])
        return IdResult(
            input=raw,
            valid=True,
            normalized=str(self.normalized[i]),
            birth_date=self.birth_date[i].item(),
            sex=str(self.sex[i]),  # type: ignore[arg-type]
            region_code=code,
            region_name=None if self.unknown_region[i] else regions_cn.region_display_name(code),
            error=None,
            warnings=self.warnings(i),
        )

    def __getitem__(self, name: str) -> np.ndarray:
        """Dict-style access to one array, e.g. ``batch["valid"]``."""
        if name not in self.__dataclass_fields__:
            raise KeyError(name)
        return getattr(self, name)

    def as_dict(self) -> dict[str, np.ndarray]:
        """The arrays by field name."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _as_str_list(values: Any) -> list[str]:
    """Inputs as a list of str; None (or a pyarrow null) becomes ""."""
    if hasattr(values, "to_pylist") and hasattr(values, "null_count"):  # pyarrow (Chunked)Array
        values = values.to_pylist()
    elif isinstance(values, np.ndarray):
        values = values.tolist()
    elif not isinstance(values, list):
        values = list(values)
    if None in values:
        values = ["" if v is None else v for v in values]
    return values


def _rows(start: np.ndarray, width: int) -> np.ndarray:
    return start[:, None] + np.arange(width, dtype=np.int64)


def _validate_chunk(
    strs: list[str], today_days: int, out: dict[str, np.ndarray], *, warnings: bool = True
) -> None:
    """Validate ``strs`` into ``out``, a dict of output array slices pre-filled for "invalid";
    ``warnings=False`` leaves the region warnings unset (no look-up of the address code)."""
    n = len(strs)
    lengths = np.fromiter(map(len, strs), dtype=np.int64, count=n)
    joined = "".join(strs)
    if joined.isascii():
        # fast path: one byte per character
        cls = _class_table(0x80)[np.frombuffer(joined.encode("ascii"), dtype=np.uint8)]
    else:
        cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        if cps.size != int(lengths.sum()):  # pragma: no cover - defensive
            raise AssertionError("code point count mismatch")
        cls = _class_table(0x110000)[cps]
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])

    keep = cls != _CLS_REMOVED
    if keep.all():
        kept, new_len, new_start = cls, lengths, starts
    else:
        csum = np.zeros(cls.size + 1, dtype=np.int64)
        np.cumsum(keep, out=csum[1:])
        new_len = csum[starts + lengths] - csum[starts]
        kept = cls[keep]
        new_start = np.zeros(n, dtype=np.int64)
        np.cumsum(new_len[:-1], out=new_start[1:])

    error = out["error"]
    error[:] = "length"
    valid = out["valid"]
    converted = out["converted_from_15"]

    # 18 characters
    r18 = np.flatnonzero(new_len == 18)
    d18 = kept[_rows(new_start[r18], 18)] if r18.size else np.zeros((0, 18), np.uint8)
    ok18 = (d18[:, :17] <= 9).all(axis=1) & (d18[:, 17] <= _CLS_X)
    # 15 characters: all digits, then converted to 18
    r15 = np.flatnonzero(new_len == 15)
    d15 = kept[_rows(new_start[r15], 15)] if r15.size else np.zeros((0, 15), np.uint8)
    ok15 = (d15 <= 9).all(axis=1)
    error[r18[~ok18]] = "characters"
    error[r15[~ok15]] = "characters"

    c15 = d15[ok15]
    conv = np.empty((c15.shape[0], 18), dtype=np.uint8)
    conv[:, :6] = c15[:, :6]
    conv[:, 6] = 1
    conv[:, 7] = 9
    conv[:, 8:17] = c15[:, 6:]
    conv[:, 17] = _CHECK_CLS[(conv[:, :17].astype(np.int64) @ _WEIGHTS_NP) % 11]

    rows = np.concatenate([r18[ok18], r15[ok15]])
    d = np.concatenate([d18[ok18], conv]).astype(np.int64)
    converted[r15[ok15]] = True

    code, days = _check_classes(d, today_days)
    err = _ERROR_TEXT[code]
    error[rows] = err
    good = code == 0
    vrows = rows[good]
    dv = d[good]
    valid[vrows] = True
    error[vrows] = ""
    converted &= valid

    cp = np.ascontiguousarray(_CLS_TO_CP[dv])
    out["normalized"][vrows] = cp.view("<U18").ravel()
    out["region_code"][vrows] = np.ascontiguousarray(cp[:, :6]).view("<U6").ravel()
    out["sex"][vrows] = np.where(dv[:, 16] % 2 == 1, "M", "F")
    out["birth_date"][vrows] = days[good].astype("datetime64[D]")
    if warnings:
        status = _region_status()[dv[:, :6].astype(np.int64) @ _PLACE6]
        out["historical_region"][vrows] = status == _REGION_HISTORICAL
        out["unknown_region"][vrows] = status == _REGION_UNKNOWN


#: per month of the years 0-9999 (index year * 12 + month - 1): days from 1970-01-01 to its first
#: day, and its number of days (proleptic Gregorian, as numpy's datetime64)
MONTH_START = (
    np.arange(np.datetime64("0000-01", "M"), np.datetime64("10000-01", "M"))
    .astype("datetime64[D]")
    .astype(np.int64)
)
MONTH_DAYS = np.diff(np.append(MONTH_START, np.datetime64("10000-01-01", "D").astype(np.int64)))


#: error text per code of ``_check_classes`` (0: valid)
_ERROR_TEXT = np.array(["", *ERROR_CODES], dtype="<U10")
_CODE_BIRTH_DATE = 1 + ERROR_CODES.index("birth_date")
_CODE_PROVINCE = 1 + ERROR_CODES.index("province")
_CODE_CHECKSUM = 1 + ERROR_CODES.index("checksum")


_PLACE4 = np.array([1000, 100, 10, 1], dtype=np.uint16)
_PLACE2 = np.array([10, 1], dtype=np.uint16)


def _weighted(d: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row sums of ``d`` (small non-negative integers) times ``weights``, as int32; the sums must
    stay below 65536."""
    return np.einsum("ij,j->i", d, weights, dtype=np.uint16, casting="unsafe").astype(np.int32)


def _check_classes(d: np.ndarray, today_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Checks 3-5 on an (m, 18) matrix of character classes (17 digits, then a digit or X).

    Returns, per row, the error code (0: valid, else 1 + the index in ``ERROR_CODES``; the first
    failing check wins) and the birth date in days since 1970-01-01 (meaningful when the date is
    valid)."""

    year = _weighted(d[:, 6:10], _PLACE4)
    month = _weighted(d[:, 10:12], _PLACE2)
    day = _weighted(d[:, 12:14], _PLACE2)
    month_ok = (month >= 1) & (month <= 12)
    ym = year * 12 + np.where(month_ok, month - 1, 0)
    days = MONTH_START[ym] + (day - 1)
    date_ok = month_ok & (day >= 1) & (day <= MONTH_DAYS[ym])
    date_ok &= (days >= _EPOCH_1880) & (days <= today_days)
    # province, checksum
    province_ok = _PROVINCE_OK[_weighted(d[:, :2], _PLACE2)]
    checksum_ok = d[:, 17] == _CHECK_CLS[_weighted(d[:, :17], _WEIGHTS_U16) % 11]

    code = np.zeros(d.shape[0], dtype=np.uint8)
    code[~checksum_ok] = _CODE_CHECKSUM
    code[~province_ok] = _CODE_PROVINCE
    code[~date_ok] = _CODE_BIRTH_DATE
    return code, days


_REGION_UNKNOWN, _REGION_KNOWN, _REGION_HISTORICAL = 0, 1, 2


@functools.cache
def _region_status() -> np.ndarray:
    """Status of every six-digit address code, indexed by its integer value (1 MB)."""
    status = np.full(1_000_000, _REGION_UNKNOWN, dtype=np.uint8)
    status[regions_cn.historical_county_codes()] = _REGION_HISTORICAL
    status[regions_cn.known_county_codes()] = _REGION_KNOWN
    status.flags.writeable = False
    return status


#: rows per internal chunk of ``validate_many`` (bounds the temporary memory)
DEFAULT_CHUNK_SIZE = 1 << 17


def validate_many(
    values: Iterable[str | None] | np.ndarray | Sequence[str | None] | Any,
    *,
    today: date | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> IdBatch:
    """Validate many ID numbers at once with numpy; the same rules and answers as ``validate``.

    ``values`` is any sequence or iterable of str, a numpy array of str, or a pyarrow
    (Chunked)Array of strings; a missing value (None, null) counts as "" (error "length").
    Every row is handled by array operations: the inputs are joined into one buffer of code points
    (one byte per character when the chunk is pure ASCII), normalised and checked in place. There
    is no Python-level work per row beyond taking each string's length.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    strs = _as_str_list(values)
    today_days = int(np.datetime64(_today(today).isoformat(), "D").astype(np.int64))
    n = len(strs)
    out = {
        "valid": np.zeros(n, dtype=bool),
        "normalized": np.full(n, "", dtype="<U18"),
        "birth_date": np.full(n, np.datetime64("NaT"), dtype="datetime64[D]"),
        "sex": np.full(n, "", dtype="<U1"),
        "region_code": np.full(n, "", dtype="<U6"),
        "error": np.full(n, "", dtype="<U10"),
        "converted_from_15": np.zeros(n, dtype=bool),
        "historical_region": np.zeros(n, dtype=bool),
        "unknown_region": np.zeros(n, dtype=bool),
    }
    for i in range(0, n, chunk_size):
        part = {k: v[i : i + chunk_size] for k, v in out.items()}
        _validate_chunk(strs[i : i + chunk_size], today_days, part)
    inputs = np.empty(n, dtype=object)
    inputs[:] = strs
    return IdBatch(inputs=inputs, **out)


# --------------------------------------------------------------------------------------------
# many numbers, Arrow in and out (the data pool)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArrowIds:
    """Results of ``validate_arrow``, as Arrow arrays: the ``validate`` fields that the data pool
    keeps, null where ``validate`` gives None (``error`` null for a valid number)."""

    valid: np.ndarray  # bool
    normalized: Any  # pa.StringArray
    error: Any  # pa.StringArray
    birth_date: Any  # pa.Date32Array
    sex: Any  # pa.StringArray
    region_code: Any  # pa.StringArray


def string_buffers(arr: Any) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of an Arrow string array without nulls: ``offsets`` has n + 1 entries
    (int64) indexing ``bytes`` (uint8); both are zero-copy views where possible."""
    import pyarrow as pa

    if arr.type == pa.large_string():
        dtype = np.int64
    elif arr.type == pa.string():
        dtype = np.int32
    else:
        raise TypeError(f"expected a string array, not {arr.type}")
    n = len(arr)
    _, obuf, dbuf = arr.buffers()
    offsets = np.frombuffer(obuf, dtype=dtype, count=arr.offset + n + 1)[arr.offset :]
    data = np.frombuffer(dbuf, dtype=np.uint8) if dbuf is not None else np.zeros(0, np.uint8)
    return offsets.astype(np.int64, copy=False), data


def fixed_width_matrix(
    offsets: np.ndarray, data: np.ndarray, rows: np.ndarray, width: int
) -> np.ndarray:
    """The bytes of the strings at ``rows`` (each exactly ``width`` bytes) as an (m, width) matrix;
    a zero-copy view when they are all the strings and lie back to back."""
    n = len(offsets) - 1
    start = int(offsets[0]) if n else 0
    if rows.size == n and n and int(offsets[-1]) - start == n * width:
        return data[start : start + n * width].reshape(n, width)
    return data[offsets[rows][:, None] + np.arange(width, dtype=np.int64)]


def arrow_fixed_width(matrix: np.ndarray, present: np.ndarray | None = None) -> Any:
    """A pa.StringArray whose row i is the ASCII bytes of ``matrix[i]`` (shape (n, width)), null
    where ``present`` is False."""
    import pyarrow as pa

    n, width = matrix.shape
    if present is None or present.all():
        data = np.ascontiguousarray(matrix)
        offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)[: n + 1]
        return pa.Array.from_buffers(
            pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=0
        )
    data = np.ascontiguousarray(matrix[present])
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(present * width, out=offsets[1:])
    bitmap = np.packbits(present, bitorder="little")
    return pa.Array.from_buffers(
        pa.string(),
        n,
        [pa.py_buffer(bitmap), pa.py_buffer(offsets), pa.py_buffer(data)],
        null_count=int(n - present.sum()),
    )


_ERROR_ARROW_VALUES = [None, *ERROR_CODES]


def validate_arrow(values: Any, *, today: date | None = None) -> ArrowIds:
    """``validate`` for every value of an Arrow string array (null counts as ""), as Arrow arrays.

    The usual case, 18 ASCII bytes of 17 digits and a digit, X or x (nothing to normalise but the
    case of x), is checked on the bytes of the Arrow buffer viewed as a matrix; every other value
    goes through ``validate_many``. Same answers as ``validate``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.type != pa.string():
        values = values.cast(pa.string())
    if values.null_count:
        values = pc.fill_null(values, "")
    today_days = int(np.datetime64(_today(today).isoformat(), "D").astype(np.int64))
    n = len(values)
    offsets, data = string_buffers(values)
    lengths = np.diff(offsets)
    rows18 = np.flatnonzero(lengths == 18)
    raw18 = fixed_width_matrix(offsets, data, rows18, 18)
    cls = raw18 - np.uint8(0x30)  # digits become 0-9, every other byte something above 9
    last = raw18[:, 17]
    is_x = (last == ord("X")) | (last == ord("x"))
    plain = (cls[:, :17].max(axis=1, initial=0) <= 9) & ((cls[:, 17] <= 9) | is_x)
    cls[is_x, 17] = _CLS_X
    if not plain.all():
        rows18, cls = rows18[plain], cls[plain]
    code_plain, days_plain = _check_classes(cls, today_days)
    if rows18.size == n:
        code, days, digits = code_plain, days_plain, cls
    else:
        code = np.ones(n, dtype=np.uint8)  # "length" until known better
        days = np.zeros(n, dtype=np.int64)
        digits = np.zeros((n, 18), dtype=np.uint8)  # classes of the normalised number
        code[rows18] = code_plain
        days[rows18] = days_plain
        digits[rows18] = cls  # everything else: the general path
        other = np.ones(n, dtype=bool)
        other[rows18] = False
        rest = np.flatnonzero(other)
        strs = values.take(pa.array(rest)).to_pylist()
        part = {
            "valid": np.zeros(rest.size, dtype=bool),
            "normalized": np.full(rest.size, "", dtype="<U18"),
            "birth_date": np.full(rest.size, np.datetime64("NaT"), dtype="datetime64[D]"),
            "sex": np.full(rest.size, "", dtype="<U1"),
            "region_code": np.full(rest.size, "", dtype="<U6"),
            "error": np.full(rest.size, "", dtype="<U10"),
            "converted_from_15": np.zeros(rest.size, dtype=bool),
            "historical_region": np.zeros(rest.size, dtype=bool),
            "unknown_region": np.zeros(rest.size, dtype=bool),
        }
        for i in range(0, rest.size, DEFAULT_CHUNK_SIZE):
            chunk = {k: v[i : i + DEFAULT_CHUNK_SIZE] for k, v in part.items()}
            _validate_chunk(strs[i : i + DEFAULT_CHUNK_SIZE], today_days, chunk, warnings=False)
        code_rest = np.zeros(rest.size, dtype=np.uint8)
        for i, text in enumerate(ERROR_CODES, start=1):
            code_rest[part["error"] == text] = i
        code[rest] = code_rest
        ok = part["valid"]
        good = rest[ok]
        days[good] = part["birth_date"][ok].astype(np.int64)
        norm = part["normalized"][ok].astype("S18")
        digits[good] = np.frombuffer(norm.tobytes(), dtype=np.uint8).reshape(-1, 18) - 0x30
        digits[good[norm.view(np.uint8).reshape(-1, 18)[:, 17] == ord("X")], 17] = _CLS_X
    valid = code == 0
    chars = digits + np.uint8(0x30)
    chars[digits[:, 17] == _CLS_X, 17] = ord("X")
    normalized = arrow_fixed_width(chars, valid)
    region = arrow_fixed_width(chars[:, :6], valid)
    sex = arrow_fixed_width(
        np.where(digits[:, 16] % 2 == 1, np.uint8(ord("M")), np.uint8(ord("F")))[:, None], valid
    )
    birth = pa.Array.from_buffers(
        pa.date32(),
        n,
        [
            None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little")),
            pa.py_buffer(np.where(valid, days, 0).astype(np.int32)),
        ],
        null_count=int(n - valid.sum()),
    )
    error = pa.array(_ERROR_ARROW_VALUES, pa.string()).take(pa.array(code))
    return ArrowIds(valid, normalized, error, birth, sex, region)
