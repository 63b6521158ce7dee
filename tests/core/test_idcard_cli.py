"""``doudi idcard``: one JSON object per line, from argv or stdin, exit 0."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.core import idcard, idcard_cli
from doudi.core.idcard_cli import main

KEYS = [
    "input",
    "valid",
    "normalized",
    "birth_date",
    "sex",
    "region_code",
    "region_name",
    "error",
    "warnings",
]
TODAY = "2024-06-30"


def expected_line(raw: str, today: date | None = None) -> str:
    return json.dumps(idcard.validate(raw, today=today).as_json(), ensure_ascii=False)


def output_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    out = capsys.readouterr().out
    assert out.endswith("\n") or out == ""
    return out.splitlines()


def test_argv_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["370602198001010012", "370602800101001", "370602198001010013"])
    assert rc == 0
    lines = output_lines(capsys)
    assert len(lines) == 3
    rows = [json.loads(line) for line in lines]
    assert all(list(r) == KEYS for r in rows)
    assert rows[0]["valid"] is True
    assert rows[0]["region_name"] == "山东省烟台市芝罘区"
    assert rows[1]["normalized"] == "370602198001010012"
    assert rows[1]["warnings"] == ["converted_from_15"]
    assert rows[2] == {
        "input": "370602198001010013",
        "valid": False,
        "normalized": None,
        "birth_date": None,
        "sex": None,
        "region_code": None,
        "region_name": None,
        "error": "checksum",
        "warnings": [],
    }


def test_output_is_not_ascii_escaped(capsys: pytest.CaptureFixture[str]) -> None:
    main(["３７０６０２１９８００１０１００１２"])
    line = output_lines(capsys)[0]
    assert "山东省烟台市芝罘区" in line
    assert "３７０６０２" in line
    assert "\\u" not in line


def test_exit_zero_when_all_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["abc", ""]) == 0
    rows = [json.loads(line) for line in output_lines(capsys)]
    assert [r["error"] for r in rows] == ["length", "length"]


def test_today_option(capsys: pytest.CaptureFixture[str]) -> None:
    number = "370602202407010011"
    number = number[:17] + idcard.check_char(number[:17])
    main(["--today", "2024-06-30", number])
    main(["--today", "2024-07-01", number])
    rows = [json.loads(line) for line in output_lines(capsys)]
    assert [r["error"] for r in rows] == ["birth_date", None]


def test_stdin_one_per_line_blank_lines_skipped(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = ["370602198001010012", "11010519491231002x", " 370602 800101 001 ", "bad"]
    text = (
        "\n\n" + inputs[0] + "\r\n" + inputs[1] + "\n   \n\u3000\n" + inputs[2] + "\n" + inputs[3]
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    assert main(["--today", TODAY]) == 0
    lines = output_lines(capsys)
    assert lines == [expected_line(raw, date(2024, 6, 30)) for raw in inputs]


def test_stdin_in_chunks(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = [f"3706021980010100{i % 10}{i % 7}" for i in range(20)] + ["370602800101001"]
    monkeypatch.setattr(idcard_cli, "CHUNK_LINES", 3)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(inputs) + "\n"))
    assert main(["--today", TODAY]) == 0
    assert output_lines(capsys) == [expected_line(raw, date(2024, 6, 30)) for raw in inputs]


def test_stdin_bytes_with_bom_and_bad_bytes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"\xef\xbb\xbf370602198001010012\n\xb9\xfe\n"  # BOM, then GBK bytes (not UTF-8)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="latin-1"))
    assert main([]) == 0
    rows = [json.loads(line) for line in output_lines(capsys)]
    assert rows[0]["input"] == "370602198001010012"
    assert rows[0]["valid"] is True
    assert rows[1]["input"] == "\ufffd\ufffd"
    assert rows[1]["error"] == "length"


def test_empty_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main([]) == 0
    assert capsys.readouterr().out == ""


def test_help_in_chinese_and_english(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "校验居民身份证号码" in out
    assert "Validate resident ID numbers" in out
    assert "blank lines are skipped" in out


def test_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-such-option"]) == 2
    assert main(["--today", "yesterday"]) == 2
    assert "usage" in capsys.readouterr().err


def test_through_the_doudi_dispatcher(capsys: pytest.CaptureFixture[str]) -> None:
    from doudi.config import cli

    assert cli.main(["idcard", "370602800101001"]) == 0
    assert json.loads(capsys.readouterr().out)["normalized"] == "370602198001010012"


@settings(max_examples=200, database=None, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.text(max_size=25),
            st.sampled_from(
                [
                    "370602198001010012",
                    "370602800101001",
                    "370634198001010015",
                    "37069919800101001X",
                    "11010519491231002x",
                    "３７０６０２８００１０１００１",
                ]
            ),
        ),
        max_size=10,
    )
)
def test_batch_lines_equal_json_dumps(values: list[str]) -> None:
    """The fast line builder writes exactly what json.dumps writes for the scalar result."""
    today = date(2024, 6, 30)
    lines = idcard_cli.batch_lines(idcard.validate_many(values, today=today))
    assert lines == [expected_line(v, today) for v in values]
