"""The English UI comes from the ``en`` catalog (msgids are the Simplified Chinese strings): the
language cookie switches it, Chinese stays the default, and the committed catalog is complete and
compiled (installations have no gettext tools, so ``django.mo`` must be in the repository)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest

import doudi

LC_MESSAGES = Path(doudi.__file__).resolve().parent / "locale" / "en" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%\([a-zA-Z_]\w*\)[sd]|%[sd]")

#: Strings every English user sees; each must translate to text without Chinese characters.
IMPORTANT = [
    "登录",
    "用户名",
    "密码",
    "退出",
    "工作台",
    "人员查询",
    "家庭登记",
    "审计日志",
    "用户与角色",
    "身份证号",
    "姓名",
    "户主",
    "与户主关系",
    "查看完整号码",
    "镇街",
    "村居",
    "镇街窗口受理员",
    "村居网格员",
    "兜底 · 社会救助平台",
    "用户名或密码不正确，请重新输入。",
    "数据池",
    "数据池接口目录",
    "上传数据",
    "待确认匹配",
    "数据返还",
]


# --- the catalog ---------------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    body = text.strip()
    assert body.startswith('"') and body.endswith('"'), body
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), body[1:-1])


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file as written by the gettext tools (entries separated by blank lines):
    ``{"msgctxt", "msgid", "msgid_plural", "msgstr": [..], "flags": set}``. Obsolete (``#~``)
    entries are skipped; the header (empty msgid) is included."""
    entries: list[dict] = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        entry: dict = {
            "msgctxt": None,
            "msgid": None,
            "msgid_plural": None,
            "msgstr": [],
            "flags": set(),
        }
        field: str | None = None
        for raw in block.splitlines():
            line = raw.strip()
            if line.startswith("#,"):
                entry["flags"] |= {f.strip() for f in line[2:].split(",") if f.strip()}
            elif not line or line.startswith("#"):
                continue
            elif line.startswith('"'):
                assert field is not None, f"stray string in {path}: {raw!r}"
                if field == "msgstr":
                    entry["msgstr"][-1] += _unquote(line)
                else:
                    entry[field] += _unquote(line)
            else:
                keyword, _, rest = line.partition(" ")
                if keyword in ("msgctxt", "msgid", "msgid_plural"):
                    entry[keyword], field = _unquote(rest), keyword
                elif keyword == "msgstr" or keyword.startswith("msgstr["):
                    entry["msgstr"].append(_unquote(rest))
                    field = "msgstr"
                else:
                    raise AssertionError(f"cannot parse {path}: {raw!r}")
        if entry["msgid"] is not None:
            entries.append(entry)
    return entries


def load_mo() -> gettext.GNUTranslations:
    with MO.open("rb") as fh:
        return gettext.GNUTranslations(fh)


def test_catalog_files_exist() -> None:
    assert PO.is_file(), "run makemessages -l en (see the header of django.po)"
    assert MO.is_file(), "run compilemessages: the .mo is needed at run time"


def test_po_is_fully_translated_and_not_fuzzy() -> None:
    entries = [e for e in parse_po(PO) if e["msgid"]]
    assert len(entries) > 100
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    untranslated = [e["msgid"] for e in entries if not all(s.strip() for s in e["msgstr"])]
    still_chinese = [e["msgid"] for e in entries if any(CJK.search(s) for s in e["msgstr"])]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"
    assert not untranslated, f"untranslated entries: {untranslated}"
    assert not still_chinese, f"msgstr still in Chinese: {still_chinese}"
    header = next(e for e in parse_po(PO) if not e["msgid"])
    assert "fuzzy" not in header["flags"]


def test_placeholders_are_kept() -> None:
    for e in parse_po(PO):
        if not e["msgid"]:
            continue
        wanted = sorted(PLACEHOLDER.findall(e["msgid"]))
        for s in e["msgstr"]:
            assert sorted(PLACEHOLDER.findall(s)) == wanted, (e["msgid"], s)


def test_mo_is_compiled_from_the_current_po() -> None:
    """Every .po entry is in the .mo with the same translation: catches a forgotten compile."""
    catalog = load_mo()
    stale = []
    for e in parse_po(PO):
        if not e["msgid"] or e["msgid_plural"]:
            continue
        if e["msgctxt"] is None:
            compiled = catalog.gettext(e["msgid"])
        else:
            compiled = catalog.pgettext(e["msgctxt"], e["msgid"])
        if compiled != e["msgstr"][0]:
            stale.append(e["msgid"])
    assert not stale, f"django.mo is out of date, run compilemessages; stale: {stale[:10]}"


@pytest.mark.parametrize("msgid", IMPORTANT)
def test_important_strings_translate_to_english(msgid: str) -> None:
    text = load_mo().gettext(msgid)
    assert text != msgid, f"{msgid!r} is not in django.mo"
    assert text.strip() and not CJK.search(text), (msgid, text)


# --- the running site ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_in_english_with_language_cookie(client) -> None:
    client.cookies["django_language"] = "en"
    response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Log in" in html
    assert "Username" in html and "Password" in html
    assert "登录" not in html


@pytest.mark.django_db
def test_login_page_in_chinese_by_default(client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-CN">' in html
    assert "登录" in html
    assert "Log in" not in html


@pytest.mark.django_db
def test_browser_accept_language_does_not_switch_to_english(client) -> None:
    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = response.content.decode()
    assert '<html lang="zh-CN">' in html and "登录" in html


@pytest.mark.django_db
def test_language_switcher_sets_the_cookie(client) -> None:
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    assert client.cookies["django_language"].value == "en"
    assert "Log in" in client.get("/login/").content.decode()
