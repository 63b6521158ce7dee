"""Pinyin of personal names, for search and matching.

General-purpose pinyin gets some surnames wrong: as surnames 曾 单 解 仇 区 朴 查 乐 read zeng shan xie
qiu ou piao zha yue (DOMAIN.md §12). The first character of a name is read with these surname
readings; the rest with pypinyin's ordinary readings.
"""

from __future__ import annotations

from functools import lru_cache

from pypinyin import Style, lazy_pinyin

SURNAME_READINGS: dict[str, str] = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "朴": "piao",
    "查": "zha",
    "乐": "yue",
    "覃": "qin",
    "尉迟": "yu chi",
    "万俟": "mo qi",
    "长孙": "zhang sun",
    "令狐": "ling hu",
    "澹台": "tan tai",
    "盖": "ge",
    "缪": "miao",
    "翟": "zhai",
    "種": "chong",
    "秘": "bi",
    "繁": "po",
    "员": "yun",
    "冼": "xian",
    "洗": "xian",
    "尉": "yu",
    "宓": "mi",
}


def _clean(name: str) -> str:
    return "".join(name.split()).replace("·", "").replace("•", "")


@lru_cache(maxsize=65536)
def name_syllables(name: str) -> tuple[str, ...]:
    """Toneless lowercase syllables of a personal name, surname first."""
    name = _clean(name)
    if not name:
        return ()
    for length in (2, 1):
        surname = name[:length]
        if len(name) > length and surname in SURNAME_READINGS:
            head = SURNAME_READINGS[surname].split()
            rest = lazy_pinyin(name[length:], style=Style.NORMAL, errors="ignore")
            return tuple(head + [s.lower() for s in rest])
    return tuple(s.lower() for s in lazy_pinyin(name, style=Style.NORMAL, errors="ignore"))


def name_pinyin(name: str) -> str:
    """``"曾小明"`` → ``"zeng xiao ming"``."""
    return " ".join(name_syllables(name))


def name_initials(name: str) -> str:
    """``"曾小明"`` → ``"zxm"``."""
    return "".join(s[0] for s in name_syllables(name) if s)
