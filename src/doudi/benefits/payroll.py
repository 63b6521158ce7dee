"""Working out a county's payment roll for a month, and checking one (reads only).

``roll_lines`` gives the lines a roll should hold; ``services.payroll_build`` stores them.
``reconcile`` recomputes, from the benefits' decisions as they were known when the roll was built,
what the roll must total, and lists every benefit whose lines differ.

What a roll for county C and month M holds:

- one line per benefit in force in M with an amount of at least one yuan after rounding: kind
  ``start`` in its first month, ``gradual_exit`` in its exit months, ``normal`` otherwise;
- a ``stop`` line (amount 0) for each benefit whose last paid month was M-1, or that was stopped
  retroactively and is being recovered on this roll, so the roll lists who left it;
- ``adjustment`` lines: for every earlier month m of C with an approved roll, what the benefit is
  entitled to for m now minus everything already paid for m (the month's line and earlier
  adjustments). Positive = 补发 (arrears: a start or an increase decided late), negative = 追回
  (recovery: a death or a stop known late). Months before C's first approved roll are not
  revisited (they were paid outside doudi).

Payee: the benefit's person; for a household benefit the household's head (户主), or when the
head is no longer present, the eldest present member.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from doudi.benefits.models import Benefit, BenefitChange, Item, PaymentRoll, PaymentRollLine
from doudi.benefits.months import add_months, month_label, months_between
from doudi.benefits.schedule import ChangeRec, Entitlement, entitlement, whole_yuan

Kind = PaymentRollLine.Kind
ITEM_ORDER = {code: i for i, code in enumerate(Item.values)}
KIND_ORDER = {Kind.START: 0, Kind.NORMAL: 0, Kind.GRADUAL_EXIT: 0, Kind.STOP: 1, Kind.ADJUSTMENT: 2}
CHUNK = 900  # ids per IN (...) list: under SQLite's historical 999-parameter limit


def _chunks(ids: Iterable[int], size: int = CHUNK) -> Iterator[list[int]]:
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


@dataclass
class CountyMonth:
    """What a roll of ``county`` for ``month`` is computed from."""

    county: str
    month: dt.date
    approved_months: list[dt.date]
    paid: dict[tuple[int, dt.date], Decimal]
    benefits: dict[int, dict[str, object]]
    entitlements: dict[int, Entitlement]


def county_month(
    county: str,
    month: dt.date,
    *,
    known_at: dt.datetime | None = None,
    include: set[int] | None = None,
) -> CountyMonth:
    """The county's benefits that can matter for ``month`` with their entitlements (decisions
    recorded up to ``known_at``), the months with an approved roll before ``month``, and what those
    rolls paid per benefit and month. ``include``: benefits to keep whatever their end (those on
    the roll being checked)."""
    approved = sorted(
        PaymentRoll.objects.filter(
            county_id=county, status=PaymentRoll.Status.APPROVED, month__lt=month
        ).values_list("month", flat=True)
    )
    paid: dict[tuple[int, dt.date], Decimal] = defaultdict(Decimal)
    if approved:
        rows = (
            PaymentRollLine.objects.filter(
                roll__county_id=county,
                roll__status=PaymentRoll.Status.APPROVED,
                roll__month__lt=month,
            )
            .values_list("benefit_id", "for_month", "amount")
            .iterator(chunk_size=20_000)
        )
        for bid, m, amount in rows:
            paid[(bid, m)] += amount
    earliest = approved[0] if approved else add_months(month, -1)
    paid_ids = {bid for bid, _ in paid} | (include or set())
    benefits: dict[int, dict[str, object]] = {}
    for b in Benefit.objects.filter(county_id=county, start_month__lte=month).values(
        "id",
        "household_id",
        "person_id",
        "item",
        "end_month",
        "case_ref",
        "household__region_id",
        "household__number",
    ):
        end = b["end_month"]
        if end is None or end >= earliest or b["id"] in paid_ids:
            benefits[b["id"]] = b
    changes: dict[int, list[ChangeRec]] = defaultdict(list)
    qs = BenefitChange.objects.filter(
        benefit__county_id=county, benefit__start_month__lte=month
    ).order_by("id")
    if known_at is not None:
        qs = qs.filter(at__lte=known_at)
    for c in qs.values_list(
        "id", "benefit_id", "kind", "from_month", "new_amount", "end_month", "reason"
    ).iterator(chunk_size=20_000):
        if c[1] in benefits:
            changes[c[1]].append(ChangeRec(c[0], c[2], c[3], c[4], c[5], c[6]))
    ents = {bid: entitlement(changes.get(bid, [])) for bid in benefits}
    return CountyMonth(county, month, approved, dict(paid), benefits, ents)


@dataclass
class LineDraft:
    benefit_id: int
    household_id: int
    region: str
    household_number: str
    item: str
    kind: str
    for_month: dt.date
    amount: Decimal
    decided_amount: Decimal | None
    note: str
    person_id: int | None
    payee_id: int | None = None
    payee_name: str = ""
    payee_id_masked: str = ""
    payee_id_enc: str = ""


def _draft(
    b: dict[str, object],
    kind: str,
    for_month: dt.date,
    amount: Decimal,
    decided: Decimal | None,
    note: str,
) -> LineDraft:
    return LineDraft(
        benefit_id=b["id"],  # type: ignore[arg-type]
        household_id=b["household_id"],  # type: ignore[arg-type]
        region=b["household__region_id"],  # type: ignore[arg-type]
        household_number=b["household__number"],  # type: ignore[arg-type]
        item=b["item"],  # type: ignore[arg-type]
        kind=kind,
        for_month=for_month,
        amount=amount,
        decided_amount=decided,
        note=note[:200],
        person_id=b["person_id"],  # type: ignore[arg-type]
    )


def _yuan(d: Decimal) -> str:
    return f"¥{d:,.2f}"


def expected_adjustments(state: CountyMonth, bid: int) -> dict[dt.date, Decimal]:
    """Entitled minus paid, per earlier approved month, where they differ."""
    ent = state.entitlements[bid]
    out = {}
    for m in state.approved_months:
        due = ent.paid_for(m)
        got = state.paid.get((bid, m), Decimal(0))
        if due != got:
            out[m] = due - got
    return out


def roll_lines(county: str, month: dt.date) -> list[LineDraft]:
    """The lines of the roll of ``county`` for ``month`` from the benefits as they stand now,
    in roll order (village, household, item), with payees resolved."""
    state = county_month(county, month)
    prev = add_months(month, -1)
    drafts: list[LineDraft] = []
    for bid, b in state.benefits.items():
        ent = state.entitlements[bid]
        decided = ent.amount_for(month)
        if decided is not None and whole_yuan(decided) != 0:
            if month == ent.start:
                kind = Kind.START
                note = "新增，本月起发放"
                if ent.end == month:
                    note = "一次性发放" if b["item"] == Item.TEMPORARY else "新增，仅发放本月"
            elif ent.in_exit(month):
                kind = Kind.GRADUAL_EXIT
                assert ent.exit_from is not None and ent.end is not None
                k = months_between(ent.exit_from, month) + 1
                n = months_between(ent.exit_from, ent.end) + 1
                note = f"渐退第{k}/{n}个月"
                before = ent.amount_for(add_months(ent.exit_from, -1))
                if before is not None and before != decided:
                    note += f"（原{_yuan(before)}）"
                if month == ent.end:
                    note += "，末次发放"
            else:
                kind = Kind.NORMAL
                note = "末次发放" if month == ent.end and ent.ended_by == "stop" else ""
            drafts.append(_draft(b, kind, month, whole_yuan(decided), decided, note))
        adjustments = expected_adjustments(state, bid)
        recovering = any(v < 0 for v in adjustments.values())
        if (
            ent.end is not None
            and ent.start is not None
            and ent.end < month
            and ent.ended_by
            and (ent.end == prev or recovering)
            and (ent.paid_for(ent.end) > 0 or recovering)
        ):
            stop_from = add_months(ent.end, 1)
            if ent.ended_by == "gradual_exit":
                note = f"渐退期满，自{month_label(stop_from)}起停发"
            else:
                note = f"自{month_label(stop_from)}起停发"
                if ent.end_reason:
                    note += f"：{ent.end_reason}"
            drafts.append(_draft(b, Kind.STOP, month, Decimal(0), None, note))
        for m, diff in adjustments.items():
            if diff > 0:
                note = f"补发{month_label(m)}"
            else:
                note = f"追回{month_label(m)}多发"
            drafts.append(_draft(b, Kind.ADJUSTMENT, m, diff, None, note))
    _resolve_payees(drafts)
    drafts.sort(
        key=lambda d: (
            d.region,
            d.household_number,
            ITEM_ORDER.get(d.item, 99),
            d.payee_name,
            d.benefit_id,
            KIND_ORDER[d.kind],
            d.for_month,
        )
    )
    return drafts


def _resolve_payees(drafts: list[LineDraft]) -> None:
    from doudi.registry.models import Membership, Person

    households = {d.household_id for d in drafts if d.person_id is None}
    chosen: dict[int, int] = {}
    for ids in _chunks(sorted(households)):
        members = Membership.objects.filter(
            household_id__in=ids, end_date__isnull=True
        ).values_list(
            "household_id", "person_id", "relation", "person__status", "person__birth_date"
        )
        by_household: dict[int, list[tuple[int, str, str, dt.date]]] = defaultdict(list)
        for hid, pid, rel, status, birth in members:
            by_household[hid].append((pid, rel, status, birth))
        for hid, rows in by_household.items():
            heads = [r for r in rows if r[1] == "head"]
            present = sorted((r for r in rows if r[2] == "present"), key=lambda r: r[3])
            if heads and heads[0][2] == "present":
                chosen[hid] = heads[0][0]
            elif present:
                chosen[hid] = present[0][0]
            elif heads:
                chosen[hid] = heads[0][0]
    payee_ids = {d.person_id or chosen.get(d.household_id) for d in drafts} - {None}
    people: dict[int, tuple[str, str, str, str, str]] = {}
    for ids in _chunks(sorted(payee_ids)):  # type: ignore[arg-type]
        for pid, name, prefix, last4, enc, status in Person.objects.filter(pk__in=ids).values_list(
            "id", "name", "id_prefix", "id_last4", "id_enc", "status"
        ):
            people[pid] = (name, f"{prefix}********{last4}", enc, status, "")
    for d in drafts:
        pid = d.person_id or chosen.get(d.household_id)
        if pid is None or pid not in people:
            d.note = (d.note + "；" if d.note else "") + "无收款人，请核实"
            continue
        name, masked, enc, status, _ = people[pid]
        d.payee_id, d.payee_name, d.payee_id_masked, d.payee_id_enc = pid, name, masked, enc
        if status != "present" and d.amount > 0:
            d.note = (d.note + "；" if d.note else "") + "收款人状态异常，请核实"


# ------------------------------------------------------------------ reconciliation


@dataclass
class Discrepancy:
    benefit_id: int
    household_number: str
    item: str
    for_month: dt.date
    kind: str  # "in_force" | "adjustment"
    expected: Decimal
    on_roll: Decimal

    @property
    def difference(self) -> Decimal:
        return self.on_roll - self.expected


@dataclass
class Reconciliation:
    """Does the roll's total equal the benefits' amounts in force that month plus adjustments?"""

    roll_total: Decimal
    lines_total: Decimal
    expected_in_force: Decimal
    expected_adjustments: Decimal
    decided_total: Decimal
    benefits_in_force: int
    discrepancies: list[Discrepancy] = field(default_factory=list)
    changed_since_build: int = 0

    @property
    def expected_total(self) -> Decimal:
        return self.expected_in_force + self.expected_adjustments

    @property
    def rounding_difference(self) -> Decimal:
        return self.expected_in_force - self.decided_total

    @property
    def ok(self) -> bool:
        return not self.discrepancies and self.roll_total == self.lines_total == self.expected_total


def reconcile(roll: PaymentRoll) -> Reconciliation:
    """Recompute what ``roll`` must pay from the decisions recorded up to its build time and the
    earlier approved rolls, and compare with its lines, benefit by benefit and month by month."""
    on_roll = set(roll.lines.values_list("benefit_id", flat=True))
    state = county_month(roll.county_id, roll.month, known_at=roll.built_at, include=on_roll)
    expected: dict[tuple[int, dt.date, str], Decimal] = {}
    decided_total = Decimal("0.00")
    in_force = 0
    for bid in state.benefits:
        ent = state.entitlements[bid]
        decided = ent.amount_for(roll.month)
        if decided is not None and whole_yuan(decided) != 0:
            in_force += 1
            decided_total += decided
            expected[(bid, roll.month, "in_force")] = whole_yuan(decided)
        for m, diff in expected_adjustments(state, bid).items():
            expected[(bid, m, "adjustment")] = diff
    actual: dict[tuple[int, dt.date, str], Decimal] = defaultdict(Decimal)
    lines_total = Decimal(0)
    for bid, m, kind, amount in roll.lines.values_list("benefit_id", "for_month", "kind", "amount"):
        lines_total += amount
        if kind == Kind.STOP and amount == 0:
            continue
        actual[(bid, m, "adjustment" if kind == Kind.ADJUSTMENT else "in_force")] += amount
    labels = {b["id"]: (b["household__number"], b["item"]) for b in state.benefits.values()}
    missing = {k[0] for k in actual} - set(labels)
    if missing:
        for b in Benefit.objects.filter(pk__in=missing).values("id", "household__number", "item"):
            labels[b["id"]] = (b["household__number"], b["item"])
    problems = []
    for key in sorted(set(expected) | set(actual), key=lambda k: (k[0], k[1], k[2])):
        e, a = expected.get(key, Decimal(0)), actual.get(key, Decimal(0))
        if e != a:
            number, item = labels.get(key[0], ("", ""))
            problems.append(Discrepancy(key[0], number, item, key[1], key[2], e, a))
    changed = (
        BenefitChange.objects.filter(
            benefit__county_id=roll.county_id, at__gt=roll.built_at, from_month__lte=roll.month
        )
        .values("benefit_id")
        .distinct()
        .count()
    )
    return Reconciliation(
        roll_total=roll.total,
        lines_total=lines_total,
        expected_in_force=sum((v for k, v in expected.items() if k[2] == "in_force"), Decimal(0)),
        expected_adjustments=sum(
            (v for k, v in expected.items() if k[2] == "adjustment"), Decimal(0)
        ),
        decided_total=decided_total,
        benefits_in_force=in_force,
        discrepancies=problems,
        changed_since_build=changed,
    )
