"""Every format quirk is tested with a real file written by the test."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import xlsxwriter

from doudi.datapool.readers import UnreadableFile, read_file

HEADERS = {
    "身份证号": "id_number",
    "公民身份号码": "id_number",
    "姓名": "name",
    "入院日期": "admission_date",
    "医疗总费用": "total_cost",
}
REQUIRED = ["id_number", "name", "admission_date"]
ROWS = [
    ("370602198001010012", "张三", "2024-01-05", "1234.5"),
    ("11010519491231002X", "李四", "2024/1/6", "88"),
]


def col(read, name):
    return read.table[name].to_pylist()


def write_csv(path, text, encoding):
    path.write_bytes(
        text.encode(encoding) if encoding != "utf-8-sig" else b"\xef\xbb\xbf" + text.encode("utf-8")
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_are_detected(tmp_path, encoding):
    text = "身份证号,姓名,入院日期,医疗总费用\n" + "\n".join(",".join(r) for r in ROWS) + "\n"
    path = tmp_path / "a.csv"
    write_csv(path, text, encoding)
    read = read_file(path, HEADERS, REQUIRED)
    assert read.encoding == {"gbk": "gb18030"}.get(encoding, encoding)
    assert col(read, "name") == ["张三", "李四"]
    assert col(read, "_line") == [2, 3]


def test_gb18030_only_character(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(
        "身份证号,姓名,入院日期\n370602198001010012,𠀾小明,2024-01-05\n".encode("gb18030")
    )
    assert col(read_file(path, HEADERS, REQUIRED), "name") == ["𠀾小明"]


def test_csv_title_rows_blank_lines_and_total_row_keep_line_numbers(tmp_path):
    text = (
        "2024年1月 住院结算明细\n制表单位：市医保局,,,\n\n"
        "身份证号,姓名,入院日期,医疗总费用\n"
        "370602198001010012,张三,2024-01-05,1234.5\n"
        "\n"
        ",,,\n"
        "11010519491231002X,李四,20240106,88\n"
        "合计,,,1322.5\n"
    )
    path = tmp_path / "a.csv"
    path.write_text(text, encoding="utf-8")
    read = read_file(path, HEADERS, REQUIRED)
    assert read.header_line == 4
    assert col(read, "_line") == [5, 8]
    assert read.skipped == {"blank": 1, "total": 1}  # the ",,," row; the empty line is not a row
    assert col(read, "admission_date") == ["2024-01-05", "20240106"]


def test_csv_with_newline_inside_quotes_uses_exact_path(tmp_path):
    text = '身份证号,姓名,入院日期,医疗总费用\n370602198001010012,"张\n三",2024-01-05,1\n11010519491231002X,李四,2024-01-06,2\n'
    path = tmp_path / "a.csv"
    path.write_text(text, encoding="utf-8")
    read = read_file(path, HEADERS, REQUIRED)
    assert col(read, "_line") == [2, 4]
    assert col(read, "name")[0] == "张\n三"


def test_csv_crlf(tmp_path):
    text = "身份证号,姓名,入院日期\r\n370602198001010012,张三,2024-01-05\r\n\r\n11010519491231002X,李四,2024-01-06\r\n"
    path = tmp_path / "a.csv"
    path.write_bytes(text.encode("utf-8"))
    read = read_file(path, HEADERS, REQUIRED)
    assert col(read, "_line") == [2, 4]
    assert col(read, "admission_date") == ["2024-01-05", "2024-01-06"]


def test_alias_header_and_extra_columns(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        "序号,公民身份号码,姓名,入院日期,备注\n1,370602198001010012,张三,2024-01-05,x\n",
        encoding="utf-8",
    )
    read = read_file(path, HEADERS, REQUIRED)
    assert col(read, "id_number") == ["370602198001010012"]
    assert set(read.extra_headers) == {"序号", "备注"}


def test_missing_required_header_is_unreadable(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("身份证号,姓名\n370602198001010012,张三\n", encoding="utf-8")
    with pytest.raises(UnreadableFile) as info:
        read_file(path, HEADERS, REQUIRED)
    assert "缺少：入院日期" in info.value.zh
    assert "admission_date" not in info.value.zh


@pytest.mark.parametrize("content", [b"", b"   \n", b"\xff\xfe\x00\x00garbage\x81\x30"])
def test_empty_or_undecodable(tmp_path, content):
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile):
        read_file(path, HEADERS, REQUIRED)


def test_bom_then_invalid_utf8_is_unreadable_not_a_crash(tmp_path):
    path = tmp_path / "a.csv"
    head = "身份证号,姓名,入院日期,出院日期,医疗总费用,统筹支付,个人自付,医疗机构\n".encode()
    path.write_bytes(b"\xef\xbb\xbf" + head + "370602198001010012,张三".encode("gbk") + b"\n")
    with pytest.raises(UnreadableFile) as info:
        read_file(path, HEADERS, REQUIRED)
    assert "UTF-8" in info.value.zh and "byte order mark" in info.value.en


def test_fake_xlsx_is_unreadable(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_text("not a workbook", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="不是 Excel"):
        read_file(path, HEADERS, REQUIRED)


def test_xlsx_title_merged_cells_numbers_dates_and_total(tmp_path):
    path = tmp_path / "a.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    sheet.merge_range(0, 0, 0, 3, "烟台市医疗保障局 住院结算明细")
    sheet.write_row(2, 0, ["身份证号", "姓名", "入院日期", "医疗总费用"])
    sheet.write_row(3, 0, ["370602198001010012", "张三", 45296, 1234.5])  # Excel serial date
    sheet.write_row(4, 0, ["11010519491231002x", "李四", "2024年1月6日", "1,234.50"])
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write(5, 0, "370602198001010012")
    sheet.write(5, 1, "王五")
    sheet.write_datetime(5, 2, dt.datetime(2024, 1, 7), date_fmt)
    sheet.write_number(5, 3, 20)
    sheet.write_row(7, 0, ["合计", "", "", 1274.5])
    book.close()
    read = read_file(path, HEADERS, REQUIRED)
    assert read.format == "xlsx"
    assert col(read, "_line") == [4, 5, 6]
    assert col(read, "admission_date") == ["45296", "2024年1月6日", "2024-01-07"]
    assert col(read, "total_cost") == ["1234.5", "1,234.50", "20"]
    assert read.skipped["total"] == 1 and read.skipped["blank"] == 1


def test_xls_written_by_libreoffice(tmp_path):
    import shutil
    import subprocess

    office = shutil.which("libreoffice") or shutil.which("soffice")
    if office is None:
        pytest.skip("LibreOffice not installed: cannot produce a real .xls here")
    src = tmp_path / "a.xlsx"
    book = xlsxwriter.Workbook(src)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["身份证号", "姓名", "入院日期"])
    sheet.write_row(1, 0, ["370602198001010012", "张三", "2024-01-05"])
    book.close()
    subprocess.run(
        [office, "--headless", "--convert-to", "xls", "--outdir", str(tmp_path), str(src)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    read = read_file(tmp_path / "a.xls", HEADERS, REQUIRED)
    assert read.format == "xls" and col(read, "name") == ["张三"]


def test_json_lines_with_chinese_or_field_keys_and_a_bad_line(tmp_path):
    path = tmp_path / "a.jsonl"
    lines = [
        json.dumps(
            {"身份证号": "370602198001010012", "姓名": "张三", "入院日期": "2024-01-05"},
            ensure_ascii=False,
        ),
        "",
        "{not json",
        json.dumps(
            {"身份证号": "11010519491231002X", "姓名": "李四", "入院日期": 20240106},
            ensure_ascii=False,
        ),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    read = read_file(path, HEADERS, REQUIRED)
    assert col(read, "_line") == [1, 3, 4]
    assert col(read, "_bad_json") == [False, True, False]
    assert col(read, "admission_date") == ["2024-01-05", "", "20240106"]


def test_committed_libreoffice_xls_fixture():
    from pathlib import Path

    path = Path(__file__).parent / "fixtures" / "libreoffice_export.xls"
    read = read_file(path, HEADERS, REQUIRED)
    assert read.format == "xls"
    assert col(read, "name") == ["张三", "李四"]
    assert col(read, "_line") == [4, 5]
    assert col(read, "admission_date") == ["45296", "2024/1/6"]
    assert col(read, "total_cost") == ["1234.5", "1,234.50"]
    assert read.skipped == {"blank": 1, "total": 1}
