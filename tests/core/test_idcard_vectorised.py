"""``validate_many`` gives exactly the answers of ``validate``, for every input."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.core import idcard, regions_cn
from doudi.core.idcard import IdBatch, validate, validate_many

TODAY = date(2024, 6, 30)
WHITESPACE = [" ", "\t", "\u3000", "\u00a0", "\n", "\u2003", "\ufeff", "\u200b"]


def check17(first17: str) -> str:
    s = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    value = (12 - s % 11) % 11
    return "X" if value == 10 else str(value)


def assert_row_matches(batch: IdBatch, i: int, raw: str, today: date) -> None:
    """Every field of row ``i`` against the scalar result, array by array."""
    r = validate(raw, today=today)
    assert batch.result(i) == r
    assert bool(batch.valid[i]) is r.valid
    assert (batch.normalized[i] or None) == r.normalized
    born = batch.birth_date[i]
    assert (None if np.isnat(born) else born.item()) == r.birth_date
    assert (batch.sex[i] or None) == r.sex
    assert (batch.region_code[i] or None) == r.region_code
    assert (batch.error[i] or None) == r.error
    assert batch.warnings(i) == r.warnings
    assert bool(batch.converted_from_15[i]) == ("converted_from_15" in r.warnings)
    assert bool(batch.unknown_region[i]) == ("unknown_region" in r.warnings)
    assert bool(batch.historical_region[i]) == ("historical_region" in r.warnings)


def assert_batch_matches(values: list[str], today: date = TODAY, **kwargs: int) -> IdBatch:
    batch = validate_many(values, today=today, **kwargs)
    assert len(batch) == len(values)
    for i, raw in enumerate(values):
        assert_row_matches(batch, i, raw, today)
    names = batch.region_names()
    assert names.tolist() == [validate(v, today=today).region_name for v in values]
    return batch


# -- strategies ---------------------------------------------------------------------------------

KNOWN_CODES = sorted(regions_cn.county_names())
SPECIAL_CODES = [
    "370634",
    "370684",
    "370699",
    "370600",
    "110199",
    "441900",
    "810000",
    "710000",
    "990602",
    "000000",
    "160101",
    "830000",
]
codes = st.one_of(
    st.sampled_from(KNOWN_CODES),
    st.sampled_from(SPECIAL_CODES),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
)
special_dates = st.sampled_from(
    [
        "19810229",
        "20000229",
        "19000229",
        "19960229",
        "18791231",
        "18800101",
        "20240630",
        "20240701",
        "19801301",
        "19800001",
        "19800100",
        "19800132",
        "19800431",
        "00000101",
        "99991231",
        "20991231",
    ]
)
dates = st.one_of(
    st.dates(min_value=date(1870, 1, 1), max_value=date(2030, 12, 31)).map(
        lambda d: d.strftime("%Y%m%d")
    ),
    special_dates,
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)


@st.composite
def near_valid(draw: st.DrawFn) -> str:
    """Numbers close to valid ones, then dirtied the way department data is."""
    code = draw(codes)
    ymd = draw(dates)
    seq = draw(st.integers(0, 999).map("{:03d}".format))
    kind = draw(st.sampled_from(["valid", "valid", "wrong_check", "fifteen", "x_check"]))
    first17 = code + ymd + seq
    if kind == "fifteen":
        number = code + ymd[2:] + seq
    elif kind == "x_check":
        # move the sequence until the check character is X (always reachable within 11 tries)
        for k in range(1000):
            first17 = code + ymd + f"{(int(seq) + k) % 1000:03d}"
            if check17(first17) == "X":
                break
        number = first17 + check17(first17)
    elif kind == "wrong_check":
        right = check17(first17)
        number = first17 + draw(st.sampled_from([c for c in "0123456789X" if c != right]))
    else:
        number = first17 + check17(first17)
    chars = list(number)
    if draw(st.booleans()):  # full-width some characters
        flags = draw(st.lists(st.booleans(), min_size=len(chars), max_size=len(chars)))
        chars = [
            chr(ord(c) + 0xFEE0) if f and (c.isdigit() or c == "X") else c
            for c, f in zip(chars, flags, strict=True)
        ]
    if draw(st.booleans()):  # lowercase x
        chars = [c.replace("X", "x").replace("Ｘ", "ｘ") for c in chars]
    if draw(st.booleans()):  # spaces anywhere
        for _ in range(draw(st.integers(1, 4))):
            pos = draw(st.integers(0, len(chars)))
            chars.insert(pos, draw(st.sampled_from(WHITESPACE)))
    if draw(st.integers(0, 9)) == 0:  # one character replaced, inserted or deleted
        pos = draw(st.integers(0, len(chars) - 1))
        op = draw(st.sampled_from(["replace", "insert", "delete"]))
        ch = draw(st.sampled_from(list("0123456789XxaA-٣０Ｘ")))
        if op == "replace":
            chars[pos] = ch
        elif op == "insert":
            chars.insert(pos, ch)
        else:
            del chars[pos]
    return "".join(chars)


relevant_text = st.text(
    alphabet=st.sampled_from(list("0123456789Xx ０１２９Ｘｘ\u3000\t\ufeff٣aZ-")),
    min_size=0,
    max_size=22,
)
any_input = st.one_of(near_valid(), st.text(max_size=30), relevant_text)


# -- the equivalence property -------------------------------------------------------------------


@settings(
    max_examples=400, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(values=st.lists(any_input, max_size=25), chunk_size=st.sampled_from([1, 2, 3, 7, 1 << 17]))
def test_vectorised_equals_scalar(values: list[str], chunk_size: int) -> None:
    assert_batch_matches(values, chunk_size=chunk_size)


@settings(max_examples=300, database=None, deadline=None)
@given(
    value=near_valid(),
    today=st.dates(min_value=date(1870, 1, 1), max_value=date(2100, 12, 31)),
)
def test_vectorised_equals_scalar_any_today(value: str, today: date) -> None:
    assert_batch_matches([value], today=today)


@settings(max_examples=200, database=None, deadline=None)
@given(value=st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_vectorised_equals_scalar_any_unicode(value: str) -> None:
    assert_batch_matches([value, "370602198001010012", value])


def test_near_valid_strategy_reaches_every_outcome() -> None:
    """The strategy must exercise each error and warning, or the property above proves little."""
    seen: set[str] = set()

    @settings(max_examples=1500, database=None, deadline=None)
    @given(near_valid())
    def collect(raw: str) -> None:
        r = validate(raw, today=TODAY)
        seen.add(r.error or "valid")
        seen.update(r.warnings)

    collect()
    expected = {"valid", *idcard.ERROR_CODES, *idcard.WARNING_CODES}
    assert expected <= seen


# -- examples -----------------------------------------------------------------------------------


MIXED = [
    "370602198001010012",
    "370602800101001",
    "11010519491231002x",
    "３７０６０２１９８００１０１００１２",
    " 370602 19800101 0012 ",
    "370602198001010013",
    "370602198102290012",
    "990602198001010012",
    "370634198001010015",
    "",
    "abc",
    "37060280010100X",
]


def test_mixed_batch_arrays() -> None:
    batch = assert_batch_matches(MIXED)
    assert batch.valid.dtype == bool
    assert batch.birth_date.dtype == np.dtype("datetime64[D]")
    assert batch.valid.tolist() == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
    ]
    assert batch.error.tolist()[5:] == [
        "checksum",
        "birth_date",
        "province",
        "checksum",
        "length",
        "length",
        "characters",
    ]
    assert batch.normalized[1] == "370602198001010012"
    assert batch.normalized[2] == "11010519491231002X"
    assert batch.normalized[5] == ""
    assert np.isnat(batch.birth_date[5])
    assert batch.birth_date[0] == np.datetime64("1980-01-01")
    assert batch.sex.tolist()[:3] == ["M", "M", "F"]
    assert batch.converted_from_15.tolist()[:3] == [False, True, False]
    assert set(batch.as_dict()) >= {"valid", "normalized", "birth_date", "sex", "region_code"}
    assert batch["valid"] is batch.valid
    assert batch["error"] is batch.error
    with pytest.raises(KeyError):
        batch["no_such_field"]


def test_historical_and_unknown_flags() -> None:
    changdao = "370634198001010" + "01"
    changdao += check17(changdao)
    unknown = "370699198001010" + "01"
    unknown += check17(unknown)
    batch = assert_batch_matches([changdao, unknown, "370602198001010012"])
    assert batch.historical_region.tolist() == [True, False, False]
    assert batch.unknown_region.tolist() == [False, True, False]
    assert batch.region_names().tolist() == [
        "山东省烟台市长岛县（已撤销）",
        None,
        "山东省烟台市芝罘区",
    ]


def test_empty_input() -> None:
    batch = validate_many([], today=TODAY)
    assert len(batch) == 0
    assert batch.error.shape == (0,)
    assert batch.region_names().shape == (0,)


def test_numpy_and_generator_input() -> None:
    arr = np.array(MIXED)
    assert arr.dtype.kind == "U"
    a = validate_many(arr, today=TODAY)
    b = validate_many((v for v in MIXED), today=TODAY)
    c = validate_many(np.array(MIXED, dtype=object), today=TODAY)
    for other in (b, c):
        assert other.valid.tolist() == a.valid.tolist()
        assert other.normalized.tolist() == a.normalized.tolist()
    assert a.valid.sum() == 5


def test_pyarrow_input_with_nulls() -> None:
    pa = pytest.importorskip("pyarrow")
    batch = validate_many(pa.array(["370602198001010012", None, "370602800101001"]), today=TODAY)
    assert batch.valid.tolist() == [True, False, True]
    assert batch.error.tolist() == ["", "length", ""]
    chunked = pa.chunked_array([["370602198001010012"], [None, "x"]])
    assert validate_many(chunked, today=TODAY).error.tolist() == ["", "length", "length"]


def test_none_counts_as_empty() -> None:
    batch = validate_many(["370602198001010012", None], today=TODAY)
    assert batch.result(1) == validate("", today=TODAY)


def test_bad_chunk_size() -> None:
    with pytest.raises(ValueError):
        validate_many(["1"], chunk_size=0)


def test_non_str_is_rejected() -> None:
    with pytest.raises(TypeError):
        validate_many(["370602198001010012", 370602198001010012])  # type: ignore[list-item]


def test_today_default_agrees_with_scalar() -> None:
    today = date.today()
    number = "370602" + today.strftime("%Y%m%d") + "001"
    number += check17(number)
    assert validate_many([number]).valid.tolist() == [validate(number).valid] == [True]


def test_check_chars_vec_matches_scalar() -> None:
    rng = np.random.default_rng(7)
    digits = rng.integers(0, 10, size=(5000, 17))
    vec = idcard.check_chars_vec(digits)
    assert vec.dtype == np.dtype("S1")
    expected = [check17("".join(map(str, row))) for row in digits.tolist()]
    assert [c.decode() for c in vec.tolist()] == expected


def _million_numbers(n: int) -> list[str]:
    rng = np.random.default_rng(1)
    region = rng.choice(regions_cn.known_county_codes(), n).astype("U6")
    lo, hi = np.datetime64("1930-01-01").astype(int), np.datetime64("2023-12-31").astype(int)
    ymd = np.char.replace(
        np.datetime_as_string(rng.integers(lo, hi, n).astype("datetime64[D]")).astype("U10"),
        "-",
        "",
    )
    seq = np.char.zfill(rng.integers(0, 1000, n).astype("U3"), 3)
    first17 = np.char.add(np.char.add(region, ymd), seq)
    digits = np.frombuffer(first17.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17) - 48
    numbers = np.char.add(first17, idcard.check_chars_vec(digits).astype("U1")).tolist()
    for i in range(0, n, 50):  # 2% dirty: spaces and lowercase
        numbers[i] = " " + numbers[i].lower()
    return numbers


@pytest.mark.slow
def test_one_million_numbers_in_well_under_five_seconds() -> None:
    numbers = _million_numbers(1_000_000)
    validate_many(numbers[:1000], today=TODAY)  # load the region tables
    start = time.perf_counter()
    batch = validate_many(numbers, today=TODAY)
    elapsed = time.perf_counter() - start
    assert batch.valid.all()
    assert elapsed < 5.0, f"validate_many took {elapsed:.2f} s for 1,000,000 numbers"
    for i in range(0, 1_000_000, 99_991):  # spot-check against the scalar path
        assert batch.result(i) == validate(numbers[i], today=TODAY)
