"""Printable A4 documents with an embedded Chinese font (ADR 0004).

Verification reports, approval forms, refusal letters and public-notice lists are printed, signed
and stamped. ``render_document`` lays a document out from a few kinds of block and returns the
PDF as bytes::

    pdf = render_document(
        title="最低生活保障家庭经济状况核对报告",
        subtitle="福山区民政局 · 2025年3月2日",
        blocks=[
            Heading("一、申请人"),
            KeyValues([("姓名", "张三"), ("身份证号", "370602********0012")]),
            Table(columns=["项目", "金额"], rows=[["存款", "¥1,069.00"]], align=["L", "R"]),
        ],
        signature_lines=["核对人", "审核人"],
    )

The fonts are Noto Sans SC (headings, 黑体 style) and Noto Serif SC (body, 宋体 style), shipped
by the ``pylopdf-fonts-zh-cn`` wheel (SIL OFL 1.1), so a machine with only Python and pip prints
Chinese: no system fonts, no browser, no cairo/pango. fpdf2 embeds a subset of each font that holds
only the glyphs used (a CFF ``/FontFile3`` stream, tens of kB per document), so the PDF prints the
same everywhere and its text can be searched and copied.

Chinese line breaking is done here, not by fpdf2: a line may break between any two Chinese
characters but not inside a run of Latin letters or digits (an ID number, an amount), closing
punctuation (，。、） …) never starts a line and opening punctuation (（《“ …) never ends one
(the common 避头尾 rules), and full lines of a paragraph are justified by letter spacing
(两端对齐). Tables are drawn here too, from those wrapped lines: a row stays on one page unless it
is taller than a page, and the header row is repeated on every page.

Characters the font does not have (emoji, CJK Extension B and later, private-use characters) are
printed as "□" and logged; control and zero-width format characters are dropped. Rendering never
fails because of the text.

Speed: parsing the two 8-12 MB fonts takes about 0.2 s each, so each is parsed once per process
and copied into every document (``_font_for``); what remains per document is the layout and
fontTools subsetting the glyphs used, about 0.5 s for a three-page notice list.
"""

from __future__ import annotations

import copy
import functools
import logging
import re
import threading
import unicodedata
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pylopdf_fonts_zh_cn
from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos
from fpdf.fonts import SubsetMap, TTFFont

__all__ = [
    "Block",
    "Heading",
    "KeyValues",
    "Paragraph",
    "Spacer",
    "Table",
    "render_document",
]

logger = logging.getLogger(__name__)
# fontTools logs every subset at INFO with the full glyph list: keep that out of doudi's log
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

# --- the blocks a document is made of -------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    """A section heading (四号黑体), kept on the same page as the line that follows it."""

    text: str


@dataclass(frozen=True)
class Paragraph:
    """Body text (小四宋体), justified; ``indent`` starts it with two ideographic spaces
    (首行缩进两字, as in letters). Newlines in ``text`` start new lines."""

    text: str
    indent: bool = False


@dataclass(frozen=True)
class KeyValues:
    """Label/value pairs in a two-column ruled table (姓名 | 张三), labels shaded."""

    rows: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Table:
    """A ruled table. Long cells wrap; a row is never split across pages and the header row is
    repeated at the top of every page. ``col_widths`` are relative (``[1, 3]`` = a quarter and
    three quarters of the text width); ``align`` is one of "L", "C", "R" per column."""

    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    col_widths: Sequence[float] | None = None
    align: Sequence[str] | None = None


@dataclass(frozen=True)
class Spacer:
    """Vertical space, in millimetres."""

    mm: float


Block = Heading | Paragraph | KeyValues | Table | Spacer

# --- page and type -------------------------------------------------------------------------

MARGIN_MM = 20.0
SANS = "doudi-sans"  # Noto Sans SC: title, headings, labels, table headers, footer
SERIF = "doudi-serif"  # Noto Serif SC: body text and table cells
_FONT_FILES: dict[str, Path] = {
    SANS: Path(pylopdf_fonts_zh_cn.sans_path()),
    SERIF: Path(pylopdf_fonts_zh_cn.serif_path()),
}
# Chinese type sizes in points: 小二 18, 四号 14, 小四 12, 五号 10.5, 小五 9
TITLE_PT = 18.0
SUBTITLE_PT = 12.0
HEADING_PT = 14.0
BODY_PT = 12.0
TABLE_PT = 10.5
FOOTER_PT = 9.0
LINE_SPACING = 1.5  # body line height / font size
TABLE_LINE_SPACING = 1.35
CELL_PAD_MM = (1.2, 1.5)  # vertical, horizontal padding inside table cells
HEADER_FILL = (232, 232, 232)
LABEL_FILL = (244, 244, 244)
GREY = (90, 90, 90)
PT_TO_MM = 25.4 / 72
REPLACEMENT = "\u25a1"  # □, the customary mark for a character that cannot be printed

# 避头尾: characters that must not start a line, and characters that must not end one
_NO_LINE_START = frozenset("，。、；：？！）」』》〉】〕｝’”…—～·%‰,.;:?!)]}>")
_NO_LINE_END = frozenset("（「『《〈【〔｛‘“([{<¥￥$")
# a run of Latin letters, digits and ASCII punctuation is never broken (unless wider than a line)
_TOKEN = re.compile(r"[!-~\u00a1-\u024f]+| +|.", re.DOTALL)
_EPSILON_MM = 0.05


# --- fonts, parsed once per process ---------------------------------------------------------

_font_lock = threading.Lock()
# fpdf2 embeds only the CFF table of these fonts; these tables would be subsetted for nothing
_UNUSED_TABLES = ("BASE", "DSIG", "VORG", "vhea", "vmtx", "GDEF", "GPOS", "GSUB")


@functools.cache
def _prototype(family: str) -> TTFFont:
    """The font parsed by fpdf2 (cmap, widths, metrics): the slow part of ``add_font``."""
    scratch = FPDF()
    scratch.add_font(family, fname=str(_FONT_FILES[family]))
    font = scratch.fonts[family]
    assert isinstance(font, TTFFont)
    for subtable in font.ttfont["cmap"].tables:
        subtable.ensureDecompiled()  # decompiled once here, copied into each document
    return font


def _font_for(pdf: FPDF, family: str) -> None:
    """Add ``family`` to ``pdf`` as a copy of the parsed prototype.

    fpdf2 parses the whole font in ``add_font`` and then subsets that same object in place when
    the PDF is written, so a parsed font cannot be shared between documents. The copy shares the
    read-only tables (cmap, glyph ids, metrics) and gets its own fontTools object (opened lazily,
    so only the tables subsetting needs are read) and its own glyph subset. This relies on
    fpdf2's ``TTFFont`` attributes, hence the pin to fpdf2 2.8.x; if they ever change, the
    plain ``add_font`` below keeps documents correct, only slower.
    """
    try:
        with _font_lock:
            proto = _prototype(family)
        font = copy.copy(proto)
        font.i = len(pdf.fonts) + 1
        font.fontkey = family
        # recalcBBoxes=False: the subset keeps the full font's bounding box, which saves drawing
        # every glyph again at save time (the PDF's /FontBBox comes from the same head table)
        font.ttfont = ttLib.TTFont(
            str(_FONT_FILES[family]), recalcTimestamp=False, recalcBBoxes=False, lazy=True
        )
        for tag in _UNUSED_TABLES:  # vertical metrics etc.: not embedded, not worth subsetting
            if tag in font.ttfont:
                del font.ttfont[tag]
        # cmap and hmtx (30,000 entries each) are decompiled once: the subsetter replaces their
        # dicts rather than changing them, so a shallow copy per document is enough
        cmap = copy.copy(proto.ttfont["cmap"])
        cmap.tables = [copy.copy(subtable) for subtable in cmap.tables]
        font.ttfont["cmap"] = cmap
        font.ttfont["hmtx"] = copy.copy(proto.ttfont["hmtx"])
        font._hbfont = None
        font.biggest_size_pt = 0
        font.missing_glyphs = []
        font.cw = copy.copy(proto.cw)  # a defaultdict: reads of unknown keys write to it
        font.subset = SubsetMap(font)
    except Exception:  # pragma: no cover - only if fpdf2's internals change
        logger.warning("PDF: cannot reuse the parsed font %s; parsing it again", family)
        pdf.add_font(family, fname=str(_FONT_FILES[family]))
        return
    pdf.fonts[family] = font
    if font.is_cff and font.is_cid_keyed:
        pdf._set_min_pdf_version("1.6")


@functools.cache
def _printable_codepoints() -> frozenset[int]:
    """Code points that both fonts can print."""
    with _font_lock:
        sans, serif = _prototype(SANS), _prototype(SERIF)
    return frozenset(sans.cmap) & frozenset(serif.cmap)


# --- text ----------------------------------------------------------------------------------


def _clean(text: object, missing: set[str], *, keep_newlines: bool = True) -> str:
    """Text the fonts can print: NFC-composed, tabs as spaces, control and zero-width format
    characters dropped, characters without a glyph replaced by □ (and noted in ``missing``)."""
    s = unicodedata.normalize("NFC", str(text)).replace("\r\n", "\n").replace("\r", "\n")
    s = s.replace("\t", "  ")
    printable = _printable_codepoints()
    out: list[str] = []
    for ch in s:
        if ch == "\n":
            out.append("\n" if keep_newlines else " ")
        elif unicodedata.category(ch) in ("Cc", "Cf") or 0xFE00 <= ord(ch) <= 0xFE0F:
            continue  # controls, zero-width joiners and spaces, variation selectors
        elif ord(ch) in printable:
            out.append(ch)
        else:
            missing.add(ch)
            if out and out[-1] == REPLACEMENT and unicodedata.category(ch) == "Sk":
                continue  # an emoji skin-tone modifier: one □ for the whole emoji
            out.append(REPLACEMENT)
    return "".join(out)


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """Break ``text`` (already cleaned) into lines no wider than ``width`` mm in the current
    font: between any two Chinese characters, at spaces, never inside a Latin/digit run that
    fits on a line, following the 避头尾 rules."""
    lines: list[str] = []
    for hard_line in text.split("\n"):
        lines.extend(_wrap_line(pdf, hard_line, width))
    return lines


def _wrap_line(pdf: FPDF, text: str, width: float) -> list[str]:
    width -= _EPSILON_MM
    tokens = deque(_TOKEN.findall(text))
    lines: list[str] = []
    cur: list[str] = []
    cur_w = 0.0

    def flush() -> None:
        lines.append("".join(cur).rstrip(" "))

    while tokens:
        tok = tokens.popleft()
        w = pdf.get_string_width(tok)
        if tok.startswith(" "):
            if not cur and lines:
                continue  # no spaces at the start of a wrapped line
            if cur_w + w > width:
                flush()
                cur, cur_w = [], 0.0
                continue
        elif cur_w + w > width:
            if w > width and len(tok) > 1:
                tokens.extendleft(reversed(tok))  # a run wider than the line: break anywhere
                continue
            words = sum(not t.startswith(" ") for t in cur)
            if len(tok) == 1 and tok in _NO_LINE_START and words == 1:
                cur.append(tok)  # one long word fills the line: let the mark hang after it
                cur_w += w
                continue
            carry: list[str] = []
            if tok[0] in _NO_LINE_START:
                # take the previous character (and any closing marks before it) down with it
                while sum(not t.startswith(" ") for t in cur) > 1:
                    while cur[-1].startswith(" "):
                        cur.pop()
                    carry.insert(0, cur.pop())
                    if carry[0][0] not in _NO_LINE_START:
                        break
            while len(cur) > 1 and cur[-1][-1] in _NO_LINE_END:
                carry.insert(0, cur.pop())
            if cur:
                flush()
            cur = carry
            cur_w = sum(pdf.get_string_width(t) for t in cur)
        cur.append(tok)
        cur_w += w
    if cur or not lines:
        flush()
    return lines


# --- the document --------------------------------------------------------------------------


class _Document(FPDF):
    """An A4 page with 20 mm margins and a footer: optional text, then 第 N 页 / 共 M 页."""

    def __init__(self, footer_text: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.footer_text = footer_text
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.set_auto_page_break(True, margin=MARGIN_MM)
        self.c_margin = 0  # widths below are exact; tables have their own padding
        _font_for(self, SANS)
        _font_for(self, SERIF)
        self.alias_nb_pages("{nb}")

    def footer(self) -> None:
        self.set_font(SANS, size=FOOTER_PT)
        self.set_text_color(*GREY)
        line_h = FOOTER_PT * PT_TO_MM * 1.3
        lines = _wrap(self, self.footer_text, self.epw) if self.footer_text else []
        lines = lines[:2]
        self.set_y(-MARGIN_MM + 3)
        for line in lines:
            self.cell(w=self.epw, h=line_h, text=line, align=Align.C)
            self.ln(line_h)
        self.cell(w=self.epw, h=line_h, text=f"第 {self.page_no()} 页 / 共 {{nb}} 页", align="C")
        self.set_text_color(0, 0, 0)


def render_document(
    *,
    title: str,
    subtitle: str | None,
    blocks: Sequence[Block],
    footer: str | None = None,
    signature_lines: Sequence[str] | None = None,
) -> bytes:
    """An A4 PDF: ``title`` centred, ``subtitle`` under it, the ``blocks`` in order, ``footer``
    and the page numbers at the bottom of every page, and when ``signature_lines`` is given
    (e.g. ``["核对人", "审核人"]``) a place to sign, date and stamp at the end.

    Raises ``ValueError`` only for a malformed table (a row or width list that does not match
    its columns), never because of the text.
    """
    missing: set[str] = set()

    def clean(text: object, *, keep_newlines: bool = True) -> str:
        return _clean(text, missing, keep_newlines=keep_newlines)

    pdf = _Document(clean(footer or "", keep_newlines=False))
    pdf.set_lang("zh-CN")
    pdf.set_title(clean(title, keep_newlines=False))
    pdf.set_creator("doudi")
    pdf.add_page()

    _title(pdf, clean(title), clean(subtitle) if subtitle else "")
    for block in blocks:
        if isinstance(block, Heading):
            _heading(pdf, clean(block.text))
        elif isinstance(block, Paragraph):
            _paragraph(pdf, clean(block.text), indent=block.indent)
        elif isinstance(block, KeyValues):
            _key_values(pdf, [(clean(k), clean(v)) for k, v in block.rows])
        elif isinstance(block, Table):
            _table(pdf, block, clean)
        elif isinstance(block, Spacer):
            pdf.ln(max(block.mm, 0.0))
        else:
            raise TypeError(f"not a block: {block!r}")
    if signature_lines:
        _signatures(pdf, [clean(s, keep_newlines=False) for s in signature_lines])

    if missing:
        logger.warning(  # code points only: the text may be a person's name
            "PDF: %d character(s) not in the font printed as %s: %s",
            len(missing),
            REPLACEMENT,
            " ".join(f"U+{ord(c):04X}" for c in sorted(missing)),
        )
    return bytes(pdf.output())


def _line_height(size_pt: float, spacing: float = LINE_SPACING) -> float:
    return size_pt * PT_TO_MM * spacing


def _title(pdf: FPDF, title: str, subtitle: str) -> None:
    pdf.set_font(SANS, size=TITLE_PT)
    for line in _wrap(pdf, title, pdf.epw):
        pdf.cell(w=pdf.epw, h=_line_height(TITLE_PT, 1.4), text=line, align="C")
        pdf.ln()
    if subtitle:
        pdf.set_font(SERIF, size=SUBTITLE_PT)
        pdf.set_text_color(*GREY)
        for line in _wrap(pdf, subtitle, pdf.epw):
            pdf.cell(w=pdf.epw, h=_line_height(SUBTITLE_PT, 1.4), text=line, align="C")
            pdf.ln()
        pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.4)
    pdf.line(pdf.l_margin, pdf.y, pdf.l_margin + pdf.epw, pdf.y)
    pdf.set_line_width(0.2)
    pdf.ln(5)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.set_font(SANS, size=HEADING_PT)
    lines = _wrap(pdf, text, pdf.epw)
    h = _line_height(HEADING_PT, 1.4)
    # keep the heading with at least two lines of what follows
    if pdf.y + 3 + h * len(lines) + 2 * _line_height(BODY_PT) > pdf.page_break_trigger:
        pdf.add_page()
    elif pdf.y > pdf.t_margin + 1:
        pdf.ln(3)
    for line in lines:
        pdf.cell(w=pdf.epw, h=h, text=line)
        pdf.ln()
    pdf.ln(1)


def _paragraph(pdf: FPDF, text: str, *, indent: bool) -> None:
    pdf.set_font(SERIF, size=BODY_PT)
    if indent:
        text = "\n".join("\u3000\u3000" + part.lstrip(" \u3000") for part in text.split("\n"))
    h = _line_height(BODY_PT)
    size_mm = BODY_PT * PT_TO_MM
    for hard_line in text.split("\n"):
        lines = _wrap_line(pdf, hard_line, pdf.epw)
        for i, line in enumerate(lines):
            spacing = 0.0
            if i < len(lines) - 1 and len(line) > 1:  # justify all but the last line
                gap = (pdf.epw - pdf.get_string_width(line)) / (len(line) - 1)
                if 0 < gap <= size_mm * 0.3:
                    spacing = gap
            pdf.set_char_spacing(spacing * pdf.k)  # fpdf2 takes points here
            pdf.cell(w=pdf.epw, h=h, text=line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_char_spacing(0)
    pdf.ln(1.5)


def _key_values(pdf: FPDF, rows: Sequence[tuple[str, str]]) -> None:
    if rows:
        _ruled_table(pdf, None, [list(r) for r in rows], [1.0, 3.0], ["L", "L"], label_column=True)


def _table(pdf: FPDF, block: Table, clean: Callable[[object], str]) -> None:
    n = len(block.columns)
    if n == 0:
        return
    if block.col_widths is not None:
        widths = [float(w) for w in block.col_widths]
        if len(widths) != n or any(w <= 0 for w in widths):
            raise ValueError(
                f"Table: {len(widths)} positive col_widths given, one per column ({n})"
            )
    aligns = [a.upper()[:1] for a in block.align] if block.align else ["L"] * n
    if len(aligns) != n or any(a not in ("L", "C", "R") for a in aligns):
        raise ValueError(f"Table: align needs one of L, C, R for each of the {n} columns")
    for r, row in enumerate(block.rows):
        if len(row) != n:
            raise ValueError(f"Table: row {r + 1} has {len(row)} cells, the table {n} columns")
    header = [clean(c) for c in block.columns]
    rows = [[clean(value) for value in row] for row in block.rows]
    if block.col_widths is None:
        widths = _auto_widths(pdf, header, rows)
    _ruled_table(pdf, header, rows, widths, aligns)


def _auto_widths(pdf: FPDF, header: list[str], rows: list[list[str]]) -> list[float]:
    """Column widths from the content: each column gets the width of its longest line when
    everything fits; otherwise narrow columns (序号, 姓名, 金额) keep theirs and the wide ones
    share the rest in proportion to their length."""
    pad = 2 * CELL_PAD_MM[1] + 0.5
    natural = []
    for i, name in enumerate(header):
        pdf.set_font(SANS, size=TABLE_PT)
        width = max((pdf.get_string_width(line) for line in name.split("\n")), default=0.0)
        pdf.set_font(SERIF, size=TABLE_PT)
        for row in rows[:300]:
            for line in row[i].split("\n"):
                width = max(width, pdf.get_string_width(line))
        natural.append(max(width, pdf.get_string_width("中中")) + pad)
    if sum(natural) <= pdf.epw:
        return natural
    fixed: dict[int, float] = {}
    while True:
        free = [i for i in range(len(natural)) if i not in fixed]
        room = pdf.epw - sum(fixed.values())
        share = room / len(free)
        narrow = [i for i in free if natural[i] <= share]
        if not narrow or len(narrow) == len(free):
            break
        fixed.update((i, natural[i]) for i in narrow)
    rest = sum(natural[i] for i in free)
    return [fixed[i] if i in fixed else room * natural[i] / rest for i in range(len(natural))]


def _ruled_table(
    pdf: FPDF,
    header: list[str] | None,
    rows: list[list[str]],
    widths: list[float],
    aligns: list[str],
    *,
    label_column: bool = False,
) -> None:
    """Draw a ruled table whose cells are wrapped here (so Chinese breaks well). A row that
    fits on a page is never split; the header is drawn again at the top of each page; a row
    taller than a page fills the rest of the page and continues on the next.

    Drawn with ``cell`` and ``rect`` rather than fpdf2's ``table()``, which lays every cell out
    twice with its own line breaker: three times slower for a notice list, and it refuses a row
    taller than a page."""
    line_h = _line_height(TABLE_PT, TABLE_LINE_SPACING)
    pad_v, pad_h = CELL_PAD_MM
    col_w = [pdf.epw * w / sum(widths) for w in widths]
    n = len(col_w)

    def wrap_row(cells: list[str], fonts: list[str]) -> list[list[str]]:
        wrapped = []
        for i, text in enumerate(cells):
            pdf.set_font(fonts[i], size=TABLE_PT)
            wrapped.append(_wrap(pdf, text, col_w[i] - 2 * pad_h))
        return wrapped

    def height(cells: list[list[str]]) -> float:
        return max(1, *map(len, cells)) * line_h + 2 * pad_v

    body_fonts = [SANS if label_column and i == 0 else SERIF for i in range(n)]
    body_fills = [LABEL_FILL if label_column and i == 0 else None for i in range(n)]
    header_cells = wrap_row(header, [SANS] * n) if header else None

    def draw(cells: list[list[str]], fonts: list[str], fills: list, row_aligns: list[str]) -> None:
        h = height(cells)
        x, y = pdf.l_margin, pdf.y
        for i, lines in enumerate(cells):
            if fills[i]:
                pdf.set_fill_color(*fills[i])
            pdf.rect(x, y, col_w[i], h, style="DF" if fills[i] else "D")
            pdf.set_font(fonts[i], size=TABLE_PT)
            top = y + (h - len(lines) * line_h) / 2  # vertically centred
            for k, line in enumerate(lines):
                pdf.set_xy(x + pad_h, top + k * line_h)
                pdf.cell(w=col_w[i] - 2 * pad_h, h=line_h, text=line, align=row_aligns[i])
            x += col_w[i]
        pdf.set_xy(pdf.l_margin, y + h)

    def draw_header() -> None:
        if header_cells is not None:
            draw(header_cells, [SANS] * n, [HEADER_FILL] * n, ["C"] * n)

    header_h = height(header_cells) if header_cells is not None else 0.0
    page_room = pdf.page_break_trigger - pdf.t_margin - header_h
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.set_auto_page_break(False, margin=MARGIN_MM)  # page breaks are decided here, by row
    try:
        first = wrap_row(rows[0], body_fonts) if rows else [[] for _ in range(n)]
        if pdf.y + header_h + min(height(first), 3 * line_h) > pdf.page_break_trigger:
            pdf.add_page()
        draw_header()
        for r, cells in enumerate(rows):
            remaining = first if r == 0 else wrap_row(cells, body_fonts)
            while True:
                h = height(remaining)
                if pdf.y + h <= pdf.page_break_trigger:
                    draw(remaining, body_fonts, body_fills, aligns)
                    break
                fit = int((pdf.page_break_trigger - pdf.y - 2 * pad_v) // line_h)
                if h <= page_room or fit < 2:  # the row fits on a page of its own: move it
                    pdf.add_page()
                    draw_header()
                    continue
                draw([lines[:fit] for lines in remaining], body_fonts, body_fills, aligns)
                remaining = [lines[fit:] for lines in remaining]
                pdf.add_page()
                draw_header()
    finally:
        pdf.set_auto_page_break(True, margin=MARGIN_MM)
    pdf.ln(3)


def _signatures(pdf: FPDF, labels: Sequence[str]) -> None:
    """One line per signer — ``核对人：______  日期：______`` — and （盖章） after the last,
    with room for a 42 mm seal; the whole block stays on one page."""
    pdf.set_font(SERIF, size=BODY_PT)
    line_h = 12.0
    needed = 6 + line_h * len(labels) + 30
    if pdf.y + needed > pdf.page_break_trigger:
        pdf.add_page()
    pdf.ln(6)
    sign_w, date_w, gap = 50.0, 38.0, 8.0
    date_label, stamp = "日期：", "（盖章）"
    labels = [_fit(pdf, raw.rstrip("：: "), 40.0) + "：" for raw in labels]
    label_w = max(pdf.get_string_width(label) for label in labels)
    date_label_w = pdf.get_string_width(date_label)
    stamp_w = pdf.get_string_width(stamp)
    total = label_w + sign_w + gap + date_label_w + date_w + gap + stamp_w
    x = pdf.l_margin + max(pdf.epw - total, 0)  # right-aligned, as on Chinese forms
    pdf.set_line_width(0.2)
    for n, label in enumerate(labels):
        y = pdf.y
        base = y + line_h - 3
        pdf.set_xy(x, y)
        pdf.cell(w=label_w, h=line_h, text=label)
        pdf.line(pdf.x, base, pdf.x + sign_w, base)
        pdf.set_x(pdf.x + sign_w + gap)
        pdf.cell(w=date_label_w, h=line_h, text=date_label)
        pdf.line(pdf.x, base, pdf.x + date_w, base)
        if n == len(labels) - 1:
            pdf.set_x(pdf.x + date_w + gap)
            pdf.cell(w=stamp_w, h=line_h, text=stamp)
        pdf.set_xy(pdf.l_margin, y + line_h)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut to ``width`` mm in the current font, ending in … if it was cut."""
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"
