"""``validate_arrow`` gives exactly the answers of ``validate``, on Arrow arrays."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.core.idcard import validate, validate_arrow

TODAY = date(2024, 6, 30)


def check17(first17: str) -> str:
    s = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    value = (12 - s % 11) % 11
    return "X" if value == 10 else str(value)


def assert_matches(values: list[str | None], arr: pa.Array, today: date = TODAY) -> None:
    out = validate_arrow(arr, today=today)
    for i, raw in enumerate(values):
        r = validate("" if raw is None else raw, today=today)
        assert bool(out.valid[i]) is r.valid, raw
        assert out.normalized[i].as_py() == r.normalized, raw
        assert out.birth_date[i].as_py() == r.birth_date, raw
        assert out.sex[i].as_py() == r.sex, raw
        assert out.region_code[i].as_py() == r.region_code, raw
        assert out.error[i].as_py() == r.error, raw


GOOD = "11010519491231002" + check17("11010519491231002")
CASES = [
    GOOD,
    GOOD.lower(),
    "37060219800101001" + check17("37060219800101001"),
    "37060219800101001" + "0",  # wrong check character, most likely
    "370602800101001",  # 15 digits
    " " + GOOD + "\u3000",
    "３７０６０２" + GOOD[6:],
    GOOD[:17] + "x",
    GOOD[:17] + "Y",
    "99" + GOOD[2:],  # no such province
    GOOD[:6] + "20240701" + GOOD[14:],  # born after today
    GOOD[:6] + "18791231" + GOOD[14:],
    GOOD[:6] + "20230229" + GOOD[14:],
    GOOD[:6] + "20000229" + GOOD[14:],
    GOOD[:6] + "19001301" + GOOD[14:],
    GOOD[:6] + "19000100" + GOOD[14:],
    "",
    "abc",
    "1" * 17 + "é",
    "a" * 18,
    "\u200b" + GOOD,
]


def test_known_cases() -> None:
    assert_matches(CASES, pa.array(CASES))


def test_nulls_slices_and_chunks() -> None:
    values: list[str | None] = [None, *CASES, None]
    arr = pa.array(["pad", *values])[1:]
    assert_matches(values, arr)
    chunked = pa.chunked_array([pa.array(values[:5]), pa.array(values[5:])])
    assert_matches(values, chunked)


def test_all_plain_and_empty() -> None:
    plain = [GOOD, GOOD.lower(), "37060219800101001" + check17("37060219800101001")] * 5
    assert_matches(plain, pa.array(plain))
    assert len(validate_arrow(pa.array([], pa.string())).normalized) == 0


digit = st.sampled_from("0123456789")
near_valid = st.builds(
    lambda a, b, last: a + b + last,
    st.sampled_from(["110105", "370602", "990000", "820000"]),
    st.text(digit, min_size=11, max_size=11),
    st.sampled_from(list("0123456789Xx")),
)
anything = st.text(st.sampled_from(list("0123456789Xx ５\u3000\u200ba")), max_size=20)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(near_valid, anything, st.none()), max_size=40))
def test_same_as_validate(values: list[str | None]) -> None:
    assert_matches(values, pa.array(values, pa.string()))
