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
