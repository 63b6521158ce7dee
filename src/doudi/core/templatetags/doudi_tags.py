"""Template filters for Chinese display formats (UI.md): money, history details."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

_LABELS = {
    "source": _("来源"),
    "relation": _("关系"),
    "from": _("原"),
    "to": _("新"),
    "note": _("说明"),
    "new_household": _("新家庭"),
    "from_household": _("原家庭"),
    "persons": _("人数"),
    "new_person": _("新登记"),
}
_VALUES = {
    "synth": _("合成数据"),
    "manual": _("人工登记"),
    "head": _("户主"),
    "spouse": _("配偶"),
    "child": _("子女"),
    "parent": _("父母"),
    "grandchild": _("孙子女"),
    "grandparent": _("祖父母"),
    "sibling": _("兄弟姐妹"),
    "other": _("其他"),
    "present": _("在册"),
    "dead": _("死亡"),
    "missing": _("宣告失踪"),
    "prison": _("服刑"),
    "drug_rehab": _("强制隔离戒毒"),
    "clergy_apart": _("宗教教职人员（分居）"),
    "moved_out": _("迁出本市"),
}


@register.filter
def event_details(details: dict[str, Any] | None) -> str:
    """``{"from": "present", "to": "dead"}`` → ``原：在册；新：死亡``."""
    if not details:
        return ""
    parts = []
    for key, value in details.items():
        if value in ("", None, False):
            continue
        if key == "persons" and isinstance(value, list):
            value = len(value)
        shown = _("是") if value is True else _VALUES.get(str(value), str(value))
        parts.append(f"{_LABELS.get(key, key)}：{shown}")
    return "；".join(parts)


@register.filter
def yuan(value: Decimal | int | float | None) -> str:
    """``1069`` → ``¥1,069.00``."""
    if value is None or value == "":
        return ""
    return f"¥{Decimal(value):,.2f}"


@register.filter
def get_item(mapping: Any, key: str) -> Any:
    """``{{ dict|get_item:key }}``; objects with a ``name`` attribute show their name."""
    try:
        value = mapping[key]
    except (KeyError, TypeError, IndexError):
        return ""
    return getattr(value, "name", value)


@register.filter
def split_csv(value: str | None) -> list[str]:
    """ "dibao,near_dibao" -> ["dibao", "near_dibao"] (empty items dropped)."""
    return [v for v in (value or "").split(",") if v]


@register.filter
def num(value: Any) -> str:
    """Numbers with thousands separators (``1638`` → ``1,638``, ``250.5`` → ``250.50``);
    booleans as 是/否; None as —; anything else unchanged."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        d = Decimal(str(value))
        return f"{d:,.0f}" if d == d.to_integral_value() else f"{d:,.2f}"
    return str(value)


_VALUE_LABELS = {
    "per_capita_income": "月人均收入",
    "household_income": "家庭月收入",
    "members_counted": "计入人数",
    "excluded_income": "不计入的收入",
    "standard": "标准",
    "financial": "金融资产",
    "limit": "上限",
    "months_of_standard": "标准月数",
    "vehicles": "机动车",
    "dwellings": "住房",
    "max": "上限",
    "business_registered": "登记经营主体",
    "multiplier": "倍数",
    "threshold": "边缘标准",
    "annual_per_capita_income": "年人均收入",
    "ceiling": "上限",
    "rigid_expenses_12m": "近12个月刚性支出",
    "medical": "医疗",
    "education": "教育",
    "rehabilitation": "康复",
    "annual_income": "家庭年收入",
    "share": "比例",
    "listed": "在名单",
    "residence": "城乡",
    "sudden_hardship_date": "突发困难日期",
    "window_months": "认定期（月）",
    "current_monthly": "现发放金额",
    "months_left": "剩余月数",
    "exit_months": "渐退期（月）",
    "age": "年龄",
    "elderly_age": "老年年龄",
    "minor_age": "未成年年龄",
    "disability_category": "残疾类别",
    "disability_grade": "残疾等级",
    "own_income": "本人月收入",
    "basic_pension_not_counted": "不计入的基础养老金",
    "able_in_household": "户内有能力义务人",
    "able_listed": "户外有能力义务人",
    "parents_able": "有能力的父母",
    "care_level": "护理等级",
    "self_care_failed": "不能自理项数",
    "parents_listed": "父母人数",
    "dead": "死亡",
    "parents_unable": "无法履行抚养的父母",
    "disabled": "残疾",
    "seriously_ill": "重病",
    "monthly": "月金额",
}


@register.filter
def value_label(key: str) -> str:
    """The Chinese label of a criterion's value key (the key itself if unknown)."""
    return _(_VALUE_LABELS[key]) if key in _VALUE_LABELS else key
