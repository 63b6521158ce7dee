"""Printable PDFs with an embedded Chinese font (core/pdf.py, ADR 0004)."""

from __future__ import annotations

import io
import logging
import re
import threading
import time

import fpdf
import pytest
from pypdf import PdfReader

from doudi.core import pdf as docpdf
from doudi.core.pdf import Heading, KeyValues, Paragraph, Spacer, Table, render_document

NOTICE_COLUMNS = ["序号", "姓名", "身份证号", "家庭住址", "月保障金"]


def notice_rows(n: int) -> list[list[str]]:
    return [
        [
            f"{i:03d}",
            f"王{'一二三四五'[i % 5]}",
            f"370602********{i:04d}",
            "福山区清洋街道清洋村" + ("第三村民小组东大街十八号院内西侧平房" if i % 3 == 0 else ""),
            f"¥{900 + i:,.2f}",
        ]
        for i in range(1, n + 1)
    ]


def pages_text(data: bytes) -> list[str]:
    """Each page's text with whitespace and NULs removed. fpdf2 gives these CID fonts an
    embedded code-to-CID CMap; pypdf reads the 2-byte codes through it but also emits a NUL and
    spaces between the characters (poppler's pdftotext gives the text exactly)."""
    reader = PdfReader(io.BytesIO(data))
    return [
        "".join((page.extract_text() or "").replace("\x00", "").split()) for page in reader.pages
    ]


def text_in_bottom_margin(data: bytes, footer: str = "") -> list[str]:
    """Text drawn in the 20 mm bottom margin other than the footer and the page numbers."""
    limit_pt = 20 / 25.4 * 72
    found: list[str] = []

    def visit(text, cm, tm, font_dict, font_size):
        text = "".join(text.replace("\x00", "").split())
        if text and tm[5] < limit_pt and not re.fullmatch(r"第\d+页/共\d+页", text):
            if not (footer and text in footer):
                found.append(text)

    for page in PdfReader(io.BytesIO(data)).pages:
        page.extract_text(visitor_text=visit)
    return found


def embedded_fonts(data: bytes) -> dict[str, int]:
    """Base font name -> size of its embedded font program, for every font on every page."""
    reader = PdfReader(io.BytesIO(data))
    found: dict[str, int] = {}
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            desc_font = (
                font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            )
            descriptor = desc_font["/FontDescriptor"].get_object()
            programs = [k for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in descriptor]
            assert programs, f"{font['/BaseFont']} is not embedded"
            found[str(font["/BaseFont"])] = len(descriptor[programs[0]].get_object().get_data())
    return found


@pytest.fixture(scope="module")
def report() -> bytes:
    return render_document(
        title="最低生活保障家庭经济状况核对报告",
        subtitle="福山区民政局 · 2025年3月2日",
        blocks=[
            Heading("一、申请人基本情况"),
            KeyValues([("姓名", "张三"), ("身份证号", "370602********0012")]),
            Heading("二、核对结论"),
            Paragraph(
                "经核对，申请人家庭人均月收入为 ¥512.30 元，低于本市城乡低保标准 ¥1,069.00 元，"
                "核对结论为：符合条件。Income checked against the 2025 standard.",
                indent=True,
            ),
            Spacer(5),
            Table(columns=["项目", "金额"], rows=[["存款", "¥3,200.00"]], align=["L", "R"]),
        ],
        footer="本报告仅用于社会救助审核",
        signature_lines=["核对人", "审核人"],
    )


def test_output_is_a_pdf_with_both_fonts_embedded_as_subsets(report):
    assert report.startswith(b"%PDF-")
    assert report.rstrip().endswith(b"%%EOF")
    assert b"/FontFile3" in report or b"/FontFile2" in report
    fonts = embedded_fonts(report)
    assert {name.split("+", 1)[1] for name in fonts} == {"NotoSansSC", "NotoSerifSC"}
    # the whole fonts are 8 and 11 MB: only the glyphs used are embedded
    assert all(size < 200_000 for size in fonts.values()), fonts
    assert len(report) < 300_000


def test_chinese_and_ascii_text_is_extractable(report):
    (text,) = pages_text(report)
    for expected in [
        "最低生活保障家庭经济状况核对报告",
        "福山区民政局·2025年3月2日",
        "一、申请人基本情况",
        "370602********0012",
        "申请人家庭人均月收入为¥512.30元",
        "Incomecheckedagainstthe2025standard.",
        "¥3,200.00",
        "本报告仅用于社会救助审核",
        "第1页/共1页",
    ]:
        assert expected in text


def test_signature_area_only_when_asked(report):
    (text,) = pages_text(report)
    assert re.search("核对人：日期：审核人：日期：（盖章）", text)
    plain = render_document(title="通知", subtitle=None, blocks=[Paragraph("正文")])
    (plain_text,) = pages_text(plain)
    assert "核对人" not in plain_text and "盖章" not in plain_text


def test_long_table_spans_pages_with_the_header_on_each(caplog):
    rows = notice_rows(90)
    data = render_document(
        title="最低生活保障对象公示名单",
        subtitle=None,
        blocks=[
            Table(columns=NOTICE_COLUMNS, rows=rows, col_widths=[0.7, 1, 2.2, 3.5, 1.4]),
        ],
    )
    texts = pages_text(data)
    assert len(texts) >= 3
    assert text_in_bottom_margin(data) == []  # rows stop at the margin; the next page goes on
    for number, text in enumerate(texts, start=1):
        assert text.count("序号姓名身份证号家庭住址月保障金") == 1, number
        assert f"第{number}页/共{len(texts)}页" in text
    everything = "".join(texts)
    for row in rows:  # every row printed exactly once, its long address wrapped within the cell
        assert everything.count(row[2]) == 1
    assert everything.count("第三村民小组东大街十八号院内西侧平房") == 30


def test_characters_missing_from_the_font_are_replaced_not_fatal(caplog):
    odd = "王𠮷 😀👍🏽 👨‍👩‍👧 \ue000 \ud800 a\u200bb\x07\tc"
    with caplog.at_level(logging.WARNING, logger="doudi.core.pdf"):
        data = render_document(
            title=f"测试{odd}",
            subtitle=odd,
            blocks=[
                Heading(odd),
                Paragraph(odd),
                KeyValues([(odd, odd)]),
                Table(columns=[odd], rows=[[odd]]),
            ],
            footer=odd,
            signature_lines=[odd],
        )
    (text,) = pages_text(data)
    assert "王□" in text  # 𠮷 (CJK Extension B) is not in Noto SC
    assert "ab" in text and "\u200b" not in text  # zero-width space and BEL dropped
    assert "\ufffd" not in text
    assert "U+20BB7" in caplog.text and "U+1F600" in caplog.text


def test_wrapping_keeps_numbers_whole_and_punctuation_off_line_starts():
    doc = docpdf._Document("")
    doc.set_font(docpdf.SERIF, size=12)
    text = ("申请人身份证号370602198001010012，" * 6 + "住址：福山区（清洋街道）。他说：“好。”") * 3
    for width in range(42, 121):  # mm; the ID number is 41 mm wide
        lines = docpdf._wrap(doc, text, width)
        assert "".join(lines) == text  # nothing lost, no spaces added
        for line in lines:
            # a closing mark may hang after a word that fills the whole line on its own
            body = line[:-1] if line[-1] in "，。" and len(line) == 19 else line
            assert doc.get_string_width(body) <= width, (width, line)
            assert line[0] not in "，。：）”", (width, line)
            assert line[-1] not in "（“", (width, line)
        assert all("370602198001010012" in line for line in lines if "3706" in line)


def test_a_row_taller_than_a_page_is_split_not_refused():
    long_text = "因家庭成员患重病致贫，" * 700
    data = render_document(
        title="审批表",
        subtitle=None,
        blocks=[
            Table(columns=["事由", "说明"], rows=[["困难情况", long_text]], col_widths=[1, 4]),
            KeyValues([("备注", long_text)]),
        ],
    )
    texts = pages_text(data)
    assert len(texts) >= 4
    assert text_in_bottom_margin(data) == []
    assert "".join(texts).count("贫") == 1400  # nothing lost where the rows were split


def test_malformed_tables_are_refused():
    with pytest.raises(ValueError, match="row 2"):
        render_document(
            title="x", subtitle=None, blocks=[Table(columns=["a", "b"], rows=[["1", "2"], ["3"]])]
        )
    with pytest.raises(ValueError, match="col_widths"):
        render_document(
            title="x",
            subtitle=None,
            blocks=[Table(columns=["a", "b"], rows=[], col_widths=[1])],
        )


def test_parsed_fonts_are_reused_and_rendering_is_fast(monkeypatch):
    blocks = [
        Heading("公示名单"),
        Table(columns=NOTICE_COLUMNS, rows=notice_rows(70)),
        Paragraph("公示期七天，如有异议请向福山区民政局反映。" * 5),
    ]
    render_document(title="公示", subtitle=None, blocks=blocks)  # parses the fonts if needed

    def no_parsing(*args, **kwargs):
        raise AssertionError("the font was parsed again")

    monkeypatch.setattr(fpdf.FPDF, "add_font", no_parsing)
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        data = render_document(title="公示", subtitle=None, blocks=blocks)
        timings.append(time.perf_counter() - start)
    assert len(pages_text(data)) == 3
    # 0.5-0.7 s on the 2-core machine; generous, since CI shares it with other work
    assert min(timings) < 3.0, timings


def test_documents_rendered_in_parallel_threads_are_each_complete():
    results: dict[int, bytes] = {}

    def work(n: int) -> None:
        results[n] = render_document(
            title=f"核对报告{n}", subtitle=None, blocks=[Paragraph(f"第{n}份：申请人李{n}")]
        )

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in range(4):
        (text,) = pages_text(results[n])
        assert f"核对报告{n}" in text and f"第{n}份：申请人李{n}" in text
