"""The assistance items (救助事项) as data: one TOML file per item under ``cases/items/``.

Django-free, so the same definitions serve the window, the demo and any other tool. The files are
read once and validated at load time (:func:`load_items`); a file that breaks a rule stops the
load with a message naming the file and the field, in Chinese and English.

An item declares:

- ``code``, ``name``, ``short``, ``order`` (menu order), ``level`` (``household`` or ``person``:
  a person-level item names the member it is for), ``category`` (the policy category the
  verification is read for, or ""), ``benefit`` (the benefits item code it starts or changes, or
  ""), ``outcome`` (what an approval does: ``start`` a monthly benefit, pay ``once``, ``adjust``
  an existing one, ``review`` it, ``stop`` it, or ``refer`` to another department),
  ``paid`` (false for recognitions that carry no amount), ``decider`` (``county`` or ``town``: who may decide), ``committee_above`` (an amount above which
  a town decision must go to 一事一议 instead; 0 = never), ``legal_basis`` (the texts);
- ``[total]``: the working days from acceptance to decision (``limit``, ``extended``), with its
  source;
- ``[notice]``: ``skip_for_minors`` (no public notice when the person is under 18);
- ``[refusal_letter]``: working days to send a refusal in writing;
- ``[[documents]]``: ``code``, ``name``, ``required``, ``deferrable`` (may be missing at
  acceptance, 容缺), ``due`` (working days to supply it then), ``when`` ("" always, ``agent``
  only when an agent applies);
- ``[[steps]]``: the steps in order, from ``STEP_CODES``, each with ``limit`` and ``unit``
  (``working`` days, or ``calendar`` days for the public notice).

Every limit carries ``source`` (the text it comes from) and ``assumed`` (true when no official
text was found: then ``note`` must say what was assumed and why). The pages show both.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ITEMS_DIR = Path(__file__).resolve().parent / "items"

#: the steps a workflow may have, in the only order they may appear
STEP_CODES = (
    "advance_payment",  # 先行救助: pay first, complete the papers after
    "verification",  # 信息核对 (the policy engine's household verification + classification)
    "investigation",  # 入户调查 (at least two staff)
    "first_review",  # 初审 (the town's opinion)
    "notice",  # 公示 (calendar days)
    "decision",  # 审核确认 by the authorised level
    "referral",  # 转介 to another department
)
STEP_LABELS = {
    "advance_payment": "先行救助",
    "verification": "信息核对",
    "investigation": "入户调查",
    "first_review": "初审",
    "notice": "公示",
    "decision": "审核确认",
    "referral": "转介",
}
LEVELS = ("household", "person")
OUTCOMES = ("start", "once", "adjust", "review", "stop", "refer")
DECIDERS = ("county", "town")
BENEFIT_CODES = (
    "dibao",
    "tekun",
    "single_person_dibao",
    "near_dibao",
    "rigid_expense",
    "temporary",
)
UNITS = ("working", "calendar")
DOCUMENT_WHEN = ("", "agent")


class ItemError(ValueError):
    """An item file that breaks a rule; the message names the file and the field."""


@dataclass(frozen=True)
class Limit:
    """A time limit with its source. ``unit`` is ``working`` or ``calendar`` days."""

    days: int
    unit: str
    source: str
    assumed: bool
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.days}个{'工作日' if self.unit == 'working' else '自然日'}"


@dataclass(frozen=True)
class Step:
    code: str
    limit: Limit

    @property
    def label(self) -> str:
        return STEP_LABELS[self.code]


@dataclass(frozen=True)
class DocumentSpec:
    code: str
    name: str
    required: bool
    deferrable: bool
    due: Limit | None
    when: str = ""


@dataclass(frozen=True)
class Item:
    code: str
    name: str
    short: str
    order: int
    level: str
    category: str
    benefit: str
    outcome: str
    paid: bool
    decider: str
    committee_above: int
    legal_basis: tuple[str, ...]
    total: Limit
    extended_days: int
    skip_notice_for_minors: bool
    refusal_letter: Limit | None
    documents: tuple[DocumentSpec, ...]
    steps: tuple[Step, ...]
    notes: str = ""

    @property
    def step_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.steps)

    def step(self, code: str) -> Step | None:
        return next((s for s in self.steps if s.code == code), None)

    def next_step(self, code: str) -> str | None:
        """The step after ``code`` in this item's list (None after the last)."""
        codes = self.step_codes
        i = codes.index(code)
        return codes[i + 1] if i + 1 < len(codes) else None

    @property
    def assumed_limits(self) -> list[str]:
        """Labels of the limits that are assumptions (for a badge on the pages)."""
        out = [s.label for s in self.steps if s.limit.assumed]
        if self.total.assumed:
            out.append("办结时限")
        if self.refusal_letter and self.refusal_letter.assumed:
            out.append("不予批准告知")
        return out

    def documents_for(self, *, agent: bool) -> tuple[DocumentSpec, ...]:
        return tuple(d for d in self.documents if d.when == "" or (d.when == "agent" and agent))


# --------------------------------------------------------------------------- validation


def _fail(path: Path, field: str, zh: str, en: str) -> ItemError:
    return ItemError(f"{path.name}：{field} {zh} / {path.name}: {field} {en}")


def _text(path: Path, data: dict[str, Any], key: str, *, prefix: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, prefix + key, "缺失或为空", "is missing or empty")
    return value.strip()


def _int(path: Path, data: dict[str, Any], key: str, *, prefix: str = "", minimum: int = 1) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise _fail(
            path, prefix + key, f"应为不小于{minimum}的整数", f"must be an integer >= {minimum}"
        )
    return value


def _bool(path: Path, data: dict[str, Any], key: str, *, prefix: str = "", default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise _fail(path, prefix + key, "应为 true 或 false", "must be true or false")
    return value


def _limit(
    path: Path, data: dict[str, Any], *, prefix: str, key: str = "limit", unit: str = "working"
) -> Limit:
    days = _int(path, data, key, prefix=prefix)
    unit = data.get("unit", unit)
    if unit not in UNITS:
        raise _fail(path, prefix + "unit", f"应为 {UNITS} 之一", f"must be one of {UNITS}")
    source = _text(path, data, "source", prefix=prefix)
    assumed = _bool(path, data, "assumed", prefix=prefix, default=False)
    note = data.get("note", "")
    if not isinstance(note, str):
        raise _fail(path, prefix + "note", "应为文本", "must be text")
    if assumed and not note.strip():
        raise _fail(
            path,
            prefix + "note",
            "假定的时限须说明假定了什么、为什么",
            "an assumed limit needs a note saying what was assumed and why",
        )
    return Limit(days=days, unit=unit, source=source, assumed=assumed, note=note.strip())


def _check_order(path: Path, codes: list[str]) -> None:
    if not codes:
        raise _fail(path, "steps", "至少要有一个步骤", "needs at least one step")
    for c in codes:
        if c not in STEP_CODES:
            raise _fail(path, "steps", f"未知步骤 {c}", f"unknown step {c}")
    if len(set(codes)) != len(codes):
        raise _fail(path, "steps", "步骤重复", "a step appears twice")
    positions = [STEP_CODES.index(c) for c in codes]
    if positions != sorted(positions):
        raise _fail(
            path,
            "steps",
            f"步骤顺序应为 {' → '.join(STEP_CODES)} 的子序列",
            "steps must keep the canonical order",
        )
    if codes[-1] not in ("decision", "referral"):
        raise _fail(
            path, "steps", "最后一步应为 decision 或 referral", "must end in decision or referral"
        )
    if "decision" in codes and "referral" in codes:
        raise _fail(
            path,
            "steps",
            "decision 与 referral 不能同时出现",
            "decision and referral exclude each other",
        )
    if "notice" in codes and "first_review" not in codes:
        raise _fail(
            path,
            "steps",
            "公示前须有初审（公示的是初审意见）",
            "a notice needs a first review before it",
        )


def load_item(path: Path) -> Item:
    """Read and validate one item file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ItemError(f"{path.name}：不是有效的 TOML（{exc}）/ not valid TOML") from None
    code = _text(path, data, "code")
    if code != path.stem:
        raise _fail(path, "code", f"应与文件名一致（{path.stem}）", "must match the file name")
    level = data.get("level", "household")
    if level not in LEVELS:
        raise _fail(path, "level", f"应为 {LEVELS} 之一", f"must be one of {LEVELS}")
    outcome = data.get("outcome")
    if outcome not in OUTCOMES:
        raise _fail(path, "outcome", f"应为 {OUTCOMES} 之一", f"must be one of {OUTCOMES}")
    benefit = data.get("benefit", "")
    if benefit and benefit not in BENEFIT_CODES:
        raise _fail(path, "benefit", f"应为 {BENEFIT_CODES} 之一或空", "unknown benefit code")
    if outcome != "refer" and not benefit:
        raise _fail(path, "benefit", "除转介外须指明待遇项目", "needs a benefit unless it refers")
    decider = data.get("decider")
    if decider not in DECIDERS:
        raise _fail(path, "decider", f"应为 {DECIDERS} 之一", f"must be one of {DECIDERS}")
    committee_above = data.get("committee_above", 0)
    if not isinstance(committee_above, int) or committee_above < 0:
        raise _fail(path, "committee_above", "应为非负整数（元）", "must be a whole number >= 0")
    basis = data.get("legal_basis")
    if not isinstance(basis, list) or not basis or not all(isinstance(b, str) for b in basis):
        raise _fail(path, "legal_basis", "应为非空的文本列表", "must be a non-empty list of text")

    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list):
        raise _fail(path, "steps", "缺失", "is missing")
    codes = [s.get("code", "") if isinstance(s, dict) else "" for s in raw_steps]
    _check_order(path, codes)
    if outcome == "refer" and codes[-1] != "referral":
        raise _fail(path, "steps", "转介事项须以 referral 结束", "a referral item ends in referral")
    if outcome != "refer" and codes[-1] != "decision":
        raise _fail(path, "steps", "须以 decision 结束", "must end in decision")
    steps = []
    for i, s in enumerate(raw_steps):
        limit = _limit(path, s, prefix=f"steps[{i}].")
        if s["code"] == "notice" and limit.unit != "calendar":
            raise _fail(
                path, f"steps[{i}].unit", "公示期按自然日计算", "the notice runs in calendar days"
            )
        steps.append(Step(code=s["code"], limit=limit))

    total = data.get("total")
    if not isinstance(total, dict):
        raise _fail(path, "total", "缺失", "is missing")
    total_limit = _limit(path, total, prefix="total.")
    extended = _int(path, total, "extended", prefix="total.", minimum=total_limit.days)

    letter = None
    if "decision" in codes:
        raw = data.get("refusal_letter")
        if not isinstance(raw, dict):
            raise _fail(
                path, "refusal_letter", "有决定步骤的事项须规定", "is required with a decision"
            )
        letter = _limit(path, raw, prefix="refusal_letter.")

    notice = data.get("notice", {})
    if not isinstance(notice, dict):
        raise _fail(path, "notice", "应为表", "must be a table")
    skip_minors = _bool(path, notice, "skip_for_minors", prefix="notice.", default=False)

    docs = []
    seen: set[str] = set()
    for i, d in enumerate(data.get("documents", [])):
        prefix = f"documents[{i}]."
        dcode = _text(path, d, "code", prefix=prefix)
        if dcode in seen:
            raise _fail(path, prefix + "code", "重复", "appears twice")
        seen.add(dcode)
        required = _bool(path, d, "required", prefix=prefix, default=True)
        deferrable = _bool(path, d, "deferrable", prefix=prefix, default=False)
        when = d.get("when", "")
        if when not in DOCUMENT_WHEN:
            raise _fail(path, prefix + "when", f"应为 {DOCUMENT_WHEN} 之一", "unknown condition")
        due = None
        if deferrable:
            if not required:
                raise _fail(
                    path,
                    prefix + "deferrable",
                    "只有必交材料才需要容缺",
                    "only a required document can be deferred",
                )
            due = _limit(path, d, prefix=prefix, key="due")
        docs.append(
            DocumentSpec(
                code=dcode,
                name=_text(path, d, "name", prefix=prefix),
                required=required,
                deferrable=deferrable,
                due=due,
                when=when,
            )
        )
    if not any(d.required for d in docs) and outcome != "refer":
        raise _fail(
            path, "documents", "至少要有一项必交材料", "needs at least one required document"
        )

    return Item(
        code=code,
        name=_text(path, data, "name"),
        short=_text(path, data, "short"),
        order=_int(path, data, "order"),
        level=level,
        category=str(data.get("category", "")),
        benefit=benefit,
        outcome=outcome,
        paid=_bool(path, data, "paid", default=outcome in ("start", "once", "adjust", "review")),
        decider=decider,
        committee_above=committee_above,
        legal_basis=tuple(basis),
        total=total_limit,
        extended_days=extended,
        skip_notice_for_minors=skip_minors,
        refusal_letter=letter,
        documents=tuple(docs),
        steps=tuple(steps),
        notes=str(data.get("notes", "")).strip(),
    )


def load_items(directory: Path | None = None) -> dict[str, Item]:
    """Every item file of ``directory`` (default: the bundled items), validated, by ``order``."""
    if directory is None:
        return dict(_bundled())
    return _load(directory)


def _load(directory: Path) -> dict[str, Item]:
    items = [load_item(p) for p in sorted(directory.glob("*.toml"))]
    if not items:
        raise ItemError(f"{directory} 下没有事项文件 / no item files")
    orders = [i.order for i in items]
    if len(set(orders)) != len(orders):
        raise ItemError("事项的 order 重复 / two items share an order")
    return {i.code: i for i in sorted(items, key=lambda i: i.order)}


@functools.cache
def _bundled() -> tuple[tuple[str, Item], ...]:
    return tuple(_load(ITEMS_DIR).items())


def get_item(code: str) -> Item:
    """The bundled item ``code``; ``KeyError`` if there is none."""
    return dict(_bundled())[code]


def item_choices() -> list[tuple[str, str]]:
    return [(code, item.name) for code, item in _bundled()]
