"""Demo seeding for benefits: the legacy civil-affairs rolls of the data pool become doudi's
benefits, then a year of monthly payment rolls per county is built and approved.

1. **Legacy import.** The pool's 低保 roll (``dibao_roll``, one line per member and month) and
   特困 roll (``tekun_roll``, one line per person and month) over the last twelve roll months are
   read with DuckDB, for the persons the registry knows. A 低保 benefit is the household's (its
   current registry household): the sum of its members' amounts; 单人保 lines become person
   benefits; a 特困 benefit is the person's basic living standard plus care fee. Each run of
   consecutive months becomes one benefit: ``start_month`` is the month after 救助开始日期 /
   认定日期 (payment from the next month, DOMAIN §6), a change of amount between two months is an
   adjustment, and a run that ends before the latest roll month is stopped after its last month.
   Lines in status 暂停 (suspended) are not paid; a household shown in 渐退 on the latest roll is
   put in a 渐退 of the policy's length counted from that month (**assumed**: the roll does not say
   when the exit began). ``case_ref`` is ``legacy:dibao_roll`` / ``legacy:tekun_roll``. Written
   with ``bulk_create`` and one audit row for the whole import.
2. **Deaths known late.** The registry's history records deaths the departments' rolls never
   heard of. For each recipient whose roll kept paying after their death, the benefit is stopped
   (特困, 单人保, a 低保 household with nobody left) or the household's 低保 is reduced by the
   member's amount, from the month after the death, through the real services. The demo assumes
   the death becomes known two months later (``DEATH_KNOWN_AFTER_MONTHS``), so the rolls already
   approved for those months are corrected on the next roll by negative adjustment lines (追回);
   deaths within the last two months are not yet known.
3. **Rolls.** For each of the twelve months before this one, every county's roll is built by the
   system and approved by the county's approver (the city administrator where a county has none);
   this month's rolls are built and left for approval.

Idempotent: a second run finds the legacy benefits and every county's roll of this month and does
nothing; an interrupted run resumes (deaths already applied are recognised by their source).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from doudi.benefits.months import add_months, month_of, month_range

#: how long after a death the demo city learns of it (assumed)
DEATH_KNOWN_AFTER_MONTHS = 2
LEGACY_DIBAO = "legacy:dibao_roll"
LEGACY_TEKUN = "legacy:tekun_roll"


def seed(*, today: dt.date, progress: Callable[[str], None] = print) -> dict[str, Any]:
    from django.db import transaction

    from doudi.benefits.models import Benefit, PaymentRoll
    from doudi.benefits.services import payroll_approve, payroll_build

    t0 = time.perf_counter()
    this_month = month_of(today)
    first = add_months(this_month, -12)
    out: dict[str, Any] = {}
    connection: list[Any] = []

    def pool():  # type: ignore[no-untyped-def]
        """One pool connection for the whole seed (building its views takes seconds)."""
        if not connection:
            from doudi.datapool.selectors import pool_connection
            from doudi.datapool.services import registry_refresh

            registry_refresh()
            connection.append(pool_connection())
        return connection[0]

    legacy = Benefit.objects.filter(case_ref__startswith="legacy:")
    if not legacy.exists():
        progress("由数据池低保、特困名册建立待遇 / benefits from the pool's rolls")
        out["import"] = import_legacy(pool(), first=first, last=add_months(this_month, -1))
    counties = sorted(set(Benefit.objects.values_list("county_id", flat=True)))
    done = set(PaymentRoll.objects.filter(month=this_month).values_list("county_id", flat=True))
    if not counties or set(counties) <= done:
        out.setdefault("skipped", True)
        return out
    deaths = late_deaths(first=first, this_month=this_month)
    shares = member_shares(pool(), [d[0] for d in deaths]) if deaths else {}
    out["late_deaths"] = len(deaths)
    approvers = _approvers(counties)
    built = approved = applied = 0
    for month in month_range(first, this_month):
        for person_id, death, known in deaths:
            if known == month or (month == first and known < first):
                applied += apply_death(
                    person_id=person_id, death_date=death, share=shares.get(person_id)
                )
        if month == this_month:
            progress(f"本月名册（待审核） / this month's rolls {month:%Y-%m}")
        else:
            progress(f"发放名册 / payment rolls {month:%Y-%m}")
        with transaction.atomic():  # one commit a month, not two per county
            for county in counties:
                roll = PaymentRoll.objects.filter(county_id=county, month=month).first()
                if roll is not None and roll.status == PaymentRoll.Status.APPROVED:
                    continue
                roll = payroll_build(actor=None, county=county, month=month)
                built += 1
                if month < this_month:
                    payroll_approve(actor=approvers.get(county), roll=roll)
                    approved += 1
    out.update(
        {
            "deaths_applied": applied,
            "rolls_built": built,
            "rolls_approved": approved,
            "benefits": Benefit.objects.count(),
            "seconds": round(time.perf_counter() - t0, 1),
        }
    )
    return out


def _approvers(counties: list[str]) -> dict[str, Any]:
    from doudi.core.models import Role, User

    admin = User.objects.filter(role=Role.CITY_ADMIN, is_active=True).order_by("id").first()
    out = {}
    for county in counties:
        user = (
            User.objects.filter(role=Role.COUNTY_APPROVER, region_id=county, is_active=True)
            .order_by("id")
            .first()
        )
        out[county] = user or admin
    return out


# ------------------------------------------------------------------ legacy rolls


def _series_rows(con, first: dt.date, last: dt.date) -> dict[str, list[tuple[Any, ...]]]:  # type: ignore[no-untyped-def]
    """(key, month, amount, start_date, exiting, household_id, county) per roll, by month."""
    window = f"roll_date >= DATE '{first.isoformat()}' AND roll_date < DATE '{add_months(last, 1).isoformat()}'"
    common = """
        JOIN registry_persons p ON p.person_id = r.person_id
        JOIN registry_households h ON h.household_id = p.household_id
    """
    dibao = con.execute(f"""
        SELECT p.household_id AS key, date_trunc('month', r.roll_date)::DATE AS m,
               sum(r.monthly_amount) AS amount, min(r.start_date) AS start_date,
               bool_or(r.status = 'gradual_exit') AS exiting, p.household_id, h.county_code
        FROM dibao_roll r {common}
        WHERE r.person_id IS NOT NULL AND {window}
          AND r.status IN ('active', 'gradual_exit') AND NOT coalesce(r.single_person, FALSE)
        GROUP BY ALL ORDER BY 1, 2
    """).fetchall()
    single = con.execute(f"""
        SELECT r.person_id AS key, date_trunc('month', r.roll_date)::DATE AS m,
               sum(r.monthly_amount) AS amount, min(r.start_date) AS start_date,
               bool_or(r.status = 'gradual_exit') AS exiting, p.household_id, h.county_code
        FROM dibao_roll r {common}
        WHERE r.person_id IS NOT NULL AND {window}
          AND r.status IN ('active', 'gradual_exit') AND coalesce(r.single_person, FALSE)
        GROUP BY ALL ORDER BY 1, 2
    """).fetchall()
    tekun = con.execute(f"""
        SELECT r.person_id AS key, date_trunc('month', r.roll_date)::DATE AS m,
               sum(r.basic_amount + r.care_amount) AS amount, min(r.start_date) AS start_date,
               FALSE AS exiting, p.household_id, h.county_code
        FROM tekun_roll r {common}
        WHERE r.person_id IS NOT NULL AND {window} AND r.status = 'active'
        GROUP BY ALL ORDER BY 1, 2
    """).fetchall()
    return {"dibao": dibao, "single_person_dibao": single, "tekun": tekun}


def import_legacy(con, *, first: dt.date, last: dt.date) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Benefits (with their history) from the pool's 低保 and 特困 rolls of ``first``..``last``
    (``con``: a pool connection, ``datapool.selectors.pool_connection()``)."""
    from django.db import transaction

    from doudi.benefits.models import Benefit, BenefitChange
    from doudi.benefits.services import gradual_exit_max_months
    from doudi.core.audit import audit_record

    latest = con.execute("SELECT max(roll_date) FROM dibao_roll").fetchone()[0]
    if latest is None:
        return {"benefits": 0, "note": "no dibao_roll in the pool"}
    last = min(last, month_of(latest))
    rows = _series_rows(con, first, last)
    exit_months = gradual_exit_max_months(from_month=last)
    plans: list[tuple[Benefit, list[BenefitChange]]] = []
    counts: dict[str, int] = defaultdict(int)
    for item, series in rows.items():
        ref = LEGACY_TEKUN if item == "tekun" else LEGACY_DIBAO
        by_key: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for r in series:
            by_key[r[0]].append(r)
        for key, months in by_key.items():
            for run in _runs(months):
                plan = _plan(item, key, run, ref=ref, last=last, exit_months=exit_months)
                plans.append(plan)
                counts[item] += 1
    with transaction.atomic():
        benefits = Benefit.objects.bulk_create([p[0] for p in plans], batch_size=2000)
        changes = []
        for b, (_, cs) in zip(benefits, plans, strict=True):
            for c in cs:
                c.benefit_id = b.pk
                changes.append(c)
        BenefitChange.objects.bulk_create(changes, batch_size=5000)
        audit_record(
            actor=None,
            event="benefit.import_legacy",
            subject_type="benefit",
            subject_label="数据池低保、特困名册",
            new={
                "benefits": len(benefits),
                "changes": len(changes),
                "by_item": dict(counts),
                "months": [first, last],
            },
        )
    return {"benefits": len(plans), "changes": len(changes), "by_item": dict(counts)}


def _runs(months: list[tuple[Any, ...]]) -> list[list[tuple[Any, ...]]]:
    """Split a key's monthly rows into runs of consecutive months."""
    runs: list[list[tuple[Any, ...]]] = []
    for r in months:
        if runs and add_months(runs[-1][-1][1], 1) == r[1]:
            runs[-1].append(r)
        else:
            runs.append([r])
    return runs


def _plan(
    item: str, key: int, run: list[tuple[Any, ...]], *, ref: str, last: dt.date, exit_months: int
):  # type: ignore[no-untyped-def]
    from doudi.benefits.models import Benefit, BenefitChange

    K = BenefitChange.Kind
    first_month = run[0][1]
    start_month = add_months(month_of(run[0][3]), 1) if run[0][3] else first_month
    if start_month > first_month:
        start_month = first_month
    household_id, county = run[0][5], run[0][6]
    amount = Decimal(run[0][2]).quantize(Decimal("0.01"))
    changes = [
        BenefitChange(
            kind=K.START,
            from_month=start_month,
            new_amount=amount,
            reason="由原低保/特困名册导入" if item != "tekun" else "由原特困供养名册导入",
            source=ref,
        )
    ]
    for prev, cur in zip(run, run[1:], strict=False):
        new = Decimal(cur[2]).quantize(Decimal("0.01"))
        old = Decimal(prev[2]).quantize(Decimal("0.01"))
        if new != old:
            changes.append(
                BenefitChange(
                    kind=K.ADJUST,
                    from_month=cur[1],
                    old_amount=old,
                    new_amount=new,
                    reason="原名册金额变动",
                    source=ref,
                )
            )
            amount = new
    status, end, exit_from = Benefit.Status.ACTIVE, None, None
    run_last = run[-1][1]
    if run_last < last:
        status, end = Benefit.Status.STOPPED, run_last
        changes.append(
            BenefitChange(
                kind=K.STOP,
                from_month=add_months(run_last, 1),
                end_month=run_last,
                old_amount=amount,
                new_amount=Decimal("0.00"),
                reason="原名册停保",
                source=ref,
            )
        )
    elif run[-1][4]:  # shown in 渐退 on the latest roll
        status, exit_from = Benefit.Status.GRADUAL_EXIT, last
        end = add_months(last, exit_months - 1)
        changes.append(
            BenefitChange(
                kind=K.GRADUAL_EXIT,
                from_month=last,
                end_month=end,
                old_amount=amount,
                new_amount=amount,
                reason="原名册显示渐退（起始月份不详，按最新名册月份起算）",
                source=ref,
            )
        )
    benefit = Benefit(
        household_id=household_id,
        person_id=None if item == "dibao" else key,
        item=item,
        monthly_amount=amount,
        start_month=start_month,
        end_month=end,
        exit_from_month=exit_from,
        status=status,
        county_id=county,
        case_ref=ref,
    )
    return benefit, changes


# ------------------------------------------------------------------ deaths known late


def late_deaths(*, first: dt.date, this_month: dt.date) -> list[tuple[int, dt.date, dt.date]]:
    """(person, death date, month it becomes known) for recipients whose benefit was paid after
    their death, known by this month."""
    from django.db.models import Q

    from doudi.benefits.models import Benefit
    from doudi.benefits.payroll import _chunks
    from doudi.registry.models import Membership, Person

    covered: dict[int, dt.date | None] = {}
    for bid_person, end in Benefit.objects.filter(person__isnull=False).values_list(
        "person_id", "end_month"
    ):
        covered[bid_person] = end
    households = dict(Benefit.objects.filter(item="dibao").values_list("household_id", "end_month"))
    for ids in _chunks(sorted(households)):
        for pid, hid in Membership.objects.filter(
            household_id__in=ids, end_date__isnull=True
        ).values_list("person_id", "household_id"):
            covered.setdefault(pid, households[hid])
    out = []
    for ids in _chunks(sorted(covered)):
        for pid, death in Person.objects.filter(
            Q(pk__in=ids), status="dead", death_date__isnull=False
        ).values_list("id", "death_date"):
            end = covered[pid]
            stop_from = add_months(month_of(death), 1)
            if end is not None and end < stop_from:
                continue  # the roll had already stopped
            known = add_months(month_of(death), DEATH_KNOWN_AFTER_MONTHS)
            if known <= this_month:
                out.append((pid, death, known))
    return sorted(out, key=lambda t: (t[2], t[0]))


def apply_death(*, person_id: int, death_date: dt.date, share: Decimal | None) -> int:
    """Stop the person's own benefits and stop or reduce (by ``share``, the member's amount on
    the 低保 roll) their household's 低保, from the month after the death; returns how many
    benefits changed."""
    from doudi.benefits import selectors, services
    from doudi.benefits.models import Benefit, BenefitChange
    from doudi.registry.models import Person

    source = f"registry:death:{person_id}"
    if BenefitChange.objects.filter(source=source).exists():
        return 0
    person = Person.objects.get(pk=person_id)
    stop_from = add_months(month_of(death_date), 1)
    reason = f"{person.name}于{death_date.isoformat()}死亡（迟报）"
    changed = 0
    for b in selectors.person_benefits(person_id=person_id, as_of=stop_from):
        if b.end_month is None or b.end_month >= stop_from:
            services.benefit_stop(
                actor=None, benefit=b, from_month=stop_from, reason=reason, source=source
            )
            changed += 1
    from doudi.registry.selectors import current_household

    membership = current_household(person=person)
    if membership is None:
        return changed
    for b in Benefit.objects.filter(
        household_id=membership.household_id, item="dibao", person__isnull=True
    ):
        if not b.in_force(stop_from):
            continue
        alive = (
            membership.household.memberships.filter(end_date__isnull=True)
            .exclude(person__status="dead")
            .exists()
        )
        current = selectors.amount_in_month(benefit_id=b.pk, month=stop_from) or Decimal(0)
        if not alive or share is None or current - share <= 0:
            services.benefit_stop(
                actor=None, benefit=b, from_month=stop_from, reason=reason, source=source
            )
        else:
            services.benefit_adjust(
                actor=None,
                benefit=b,
                monthly_amount=current - share,
                from_month=stop_from,
                reason=f"家庭成员{reason}，保障人数减少",
                source=source,
            )
        changed += 1
    return changed


def member_shares(con, person_ids: list[int]) -> dict[int, Decimal]:  # type: ignore[no-untyped-def]
    """Each person's own amount on their latest 低保 roll line (the pool)."""
    if not person_ids:
        return {}
    import pyarrow as pa

    con.register("_dead", pa.table({"person_id": pa.array(person_ids, pa.int64())}))
    rows = con.execute(
        "SELECT r.person_id, arg_max(r.monthly_amount, r.roll_date) FROM dibao_roll r "
        "SEMI JOIN _dead d ON d.person_id = r.person_id GROUP BY 1"
    ).fetchall()
    return {pid: Decimal(a).quantize(Decimal("0.01")) for pid, a in rows if a is not None}
