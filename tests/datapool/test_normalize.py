from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import MappingProxyType

import pyarrow as pa
import pytest

from doudi.datapool.catalog import Field, Interface
from doudi.datapool.normalize import normalize, parse_dates, parse_decimals, parse_enum


def arr(values):
    return pa.array(values, pa.string())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-05", dt.date(2024, 1, 5)),
        ("2024-1-5", dt.date(2024, 1, 5)),
        ("2024/1/5", dt.date(2024, 1, 5)),
        ("2024.01.05", dt.date(2024, 1, 5)),
        ("2024年1月5日", dt.date(2024, 1, 5)),
        ("20240105", dt.date(2024, 1, 5)),
        ("45296", dt.date(2024, 1, 5)),
        ("45296.0", dt.date(2024, 1, 5)),
        ("2024-01-05 08:30:00", dt.date(2024, 1, 5)),
        ("2024-01-05T08:30", dt.date(2024, 1, 5)),
        ("2024-02-29", dt.date(2024, 2, 29)),
        (" 2024-01-05 ", dt.date(2024, 1, 5)),
    ],
)
def test_dates_accepted(text, expected):
    values, ok = parse_dates(arr([text]))
    assert values.to_pylist() == [expected] and ok.to_pylist() == [True]


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29",
        "2024-13-01",
        "2024-00-10",
        "20241301",
        "abc",
        "1700-01-01",
        "99999",
        "2024-01-32",
    ],
)
def test_dates_refused(text):
    values, ok = parse_dates(arr([text]))
    assert values.to_pylist() == [None] and ok.to_pylist() == [False]


def test_empty_date_is_null_but_ok():
    values, ok = parse_dates(arr(["", None]))
    assert values.to_pylist() == [None, None] and ok.to_pylist() == [True, True]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.5", Decimal("1234.50")),
        ("1,234.50", Decimal("1234.50")),
        ("¥1234.5", Decimal("1234.50")),
        ("1234.5元", Decimal("1234.50")),
        ("0.125", Decimal("0.13")),
        ("-3", Decimal("-3.00")),
        (" 88 ", Decimal("88.00")),
        ("￥ 2，000", Decimal("2000.00")),
    ],
)
def test_decimals(text, expected):
    values, ok = parse_decimals(arr([text]))
    assert values.to_pylist() == [expected] and ok.to_pylist() == [True]


@pytest.mark.parametrize("text", ["12a", "1.2.3", "壹佰", "--1"])
def test_decimals_refused(text):
    values, ok = parse_decimals(arr([text]))
    assert values.to_pylist() == [None] and ok.to_pylist() == [False]


GRADE = Field(
    name="grade",
    header="残疾等级",
    type="enum",
    values=MappingProxyType(
        {"1": ("一级", "1级", "壹级", "一级残疾"), "2": ("二级",), "3": ("三级",), "4": ("四级",)}
    ),
)


def test_enum_spellings():
    values, ok = parse_enum(arr(["一级", "1", " 1级 ", "壹级", "四级", "五级", ""]), GRADE)
    assert values.to_pylist() == ["1", "1", "1", "1", "4", None, None]
    assert ok.to_pylist() == [True, True, True, True, True, False, True]


INTERFACE = Interface(
    code="t",
    name="测试",
    department="health",
    description="",
    frequency="daily",
    uses=("warning",),
    key=("id_number", "day"),
    subject="person",
    fields=(
        Field("id_number", "身份证号", "id_number"),
        Field("name", "姓名", "string"),
        Field("day", "日期", "date"),
        Field("amount", "金额", "decimal", required=False),
        GRADE,
    ),
    period_field="day",
    person_field="id_number",
    name_field="name",
)


def test_row_reasons_and_id_normalisation():
    raw = pa.table(
        {
            "id_number": arr(
                [
                    "370602800101001",
                    "37060219800101001x",
                    "370602198001010013",
                    "",
                    "370602198001010012",
                ]
            ),
            "name": arr(["张 三", "李四", "王五", "", "赵六"]),
            "day": arr(["2024-01-05", "2024-13-01", "20240105", "2024-01-05", "2024-01-05"]),
            "amount": arr(["1", "2", "x", "", ""]),
            "grade": arr(["一级", "1", "1", "1", ""]),
            "_line": pa.array([2, 3, 4, 5, 6], pa.int64()),
        }
    )
    out = normalize(INTERFACE, raw, today=dt.date(2026, 1, 1))
    reasons = out.reason.to_pylist()
    assert reasons[0] is None
    assert reasons[1].startswith("日期：无法识别的日期（2024-13-01）")
    assert reasons[2].startswith("金额：不是有效金额（x）")  # the bad checksum is not a row error
    assert "无效且无姓名" in reasons[3] or "必填项为空" in reasons[3]
    assert reasons[4].startswith("残疾等级：必填项为空")
    ids = out.table["id_number"].to_pylist()
    assert ids[0] == "370602198001010012"  # 15 → 18
    assert ids[1] is None  # lowercase x accepted but checksum wrong → invalid, kept for linkage
    assert out.id_valid.to_pylist() == [True, False, False, False, True]
    assert out.table["name"].to_pylist()[0] == "张三"
    assert out.table["day"].to_pylist()[2] == dt.date(2024, 1, 5)


def test_enum_full_width_spelling():
    values, ok = parse_enum(arr(["１级", "一 级"]), GRADE)
    assert values.to_pylist() == ["1", "1"] and ok.to_pylist() == [True, True]
