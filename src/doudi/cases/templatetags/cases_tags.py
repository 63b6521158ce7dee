"""Template filters for the cases pages: item names, Chinese letter dates."""

from __future__ import annotations

import datetime as dt

from django import template

from doudi.cases.catalog import STEP_LABELS, load_items

register = template.Library()


@register.filter
def item_short(code: str) -> str:
    """``dibao`` → ``低保``."""
    item = load_items().get(code)
    return item.short if item else code


@register.filter
def item_name(code: str) -> str:
    item = load_items().get(code)
    return item.name if item else code


@register.filter
def step_label(code: str) -> str:
    return STEP_LABELS.get(code, code)


@register.filter
def cn_date(value: dt.date | None) -> str:
    """``2026-03-02`` → ``2026年3月2日`` (letters and notices)."""
    if not value:
        return ""
    return f"{value.year}年{value.month}月{value.day}日"


EVENT_LABELS = {
    "accept": "受理",
    "verify": "信息核对",
    "pay_advance": "先行救助",
    "investigate": "入户调查",
    "first_review": "初审",
    "close_notice": "公示结束",
    "decide": "审核确认",
    "to_committee": "提交一事一议",
    "committee_decide": "一事一议决定",
    "refer": "转介",
    "referral_outcome": "转介结果",
    "withdraw": "撤回",
    "extend": "延期",
    "escalate": "逾期上报",
    "document_supply": "补交材料",
    "document_waive": "材料免交",
    "document_remind": "提醒补交",
    "appeal_record": "复议申诉",
    "appeal_resolve": "复议申诉办结",
}


@register.filter
def event_label(code: str) -> str:
    return EVENT_LABELS.get(code, code)


@register.filter
def state_label(code: str) -> str:
    from doudi.cases.models import State

    try:
        return str(State(code).label)
    except ValueError:
        return code
