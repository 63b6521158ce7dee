"""Demo seeding for the one-window cases: a year of realistic history so the queues, the notice
list, reviews and the cycle-time dashboard mean something.

About 700 cases of all items across the city's towns, accepted on working days over the last
year: some with a document missing at acceptance and supplied or waived later (容缺), some help
to apply by village workers (帮办代办), some online; each step takes a number of working days
drawn around its limit (about one in eight overruns it), so some decided cases exceeded their
limit and some open cases are overdue now; about a quarter of decisions refuse, a few refusals
are appealed, large 临时救助 amounts and one 低保 case go to a committee (一事一议).

Consistency with the benefits app: the history is written directly (``bulk_create``, one audit
row for the import), not through the services, and it writes **no benefits** — the benefits demo
already holds the year's payments from the legacy rolls. Approved 低保 and 特困 cases are drawn
from the benefits that started in the last year (decided the month before the first payment,
``benefit_ref`` pointing at that benefit); refusals from households without one; 低保 reviews from
households in payment and ending in "continue"; exit cases end in "not stopped" or are still open.
Recognitions (低保边缘, 刚性支出), 临时救助 and referrals have no benefit behind them in the demo.

Idempotent: a second run finds the import's audit row and does nothing. Fast: a few seconds for
the 50,000-person demo city (no verification runs; the snapshot says it came from the demo).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from doudi.cases.catalog import Item, load_items
from doudi.core import workdays

SEED = 20261
MARK_EVENT = "cases.demo_seed"
#: how many cases of each item the demo year holds (for a 50,000-person city)
PLAN = {
    "dibao": 120,
    "tekun": 40,
    "near_dibao": 50,
    "rigid_expense": 30,
    "temporary_emergency": 55,
    "temporary_expense": 60,
    "single_person_dibao": 15,
    "tekun_care_change": 20,
    "dibao_review": 150,
    "benefit_exit": 30,
    "medical_referral": 60,
    "education_referral": 40,
}
APPROVE_RATE = {
    "dibao": 0.72,
    "tekun": 0.8,
    "near_dibao": 0.7,
    "rigid_expense": 0.6,
    "temporary_emergency": 0.95,
    "temporary_expense": 0.75,
    "single_person_dibao": 0.7,
    "tekun_care_change": 0.9,
    "dibao_review": 1.0,
    "benefit_exit": 0.0,
}
STAFF = ["刘晓燕", "孙海涛", "王丽", "张建军", "李娜", "陈刚", "赵春梅", "周敏", "吴磊", "郑红"]
CADRES = ["村委会 王书记", "社区 李主任", "网格员 张敏", "网格员 孙伟", "村委会 刘会计"]
REFUSALS = {
    "dibao": ["家庭月人均收入高于低保标准", "家庭成员名下有机动车一辆", "存款超过规定的财产限额"],
    "tekun": ["有具备赡养能力的子女", "本人有稳定的养老金收入，高于低保标准"],
    "near_dibao": ["家庭月人均收入高于低保边缘标准"],
    "rigid_expense": ["近12个月刚性支出未超过家庭收入的60%"],
    "temporary_expense": ["医疗费用已由医保和大病保险报销大部分，自付部分未超过家庭承受能力"],
    "temporary_emergency": ["经核实不属于急难情形"],
    "single_person_dibao": ["残疾等级不符合单人保条件"],
    "tekun_care_change": ["评估结果与原护理等级一致"],
    "benefit_exit": ["经入户核实，家庭收入未超过低保标准，继续享受"],
}
WAIVE_REASONS = [
    "经入户核实情况属实，无法开具证明",
    "申请人长期无业，无收入证明可开具",
    "外地单位不予出具，已电话核实",
]


def _working_day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    for _ in range(20):
        d = start + dt.timedelta(days=rng.randrange(max(1, (end - start).days)))
        if workdays.is_working_day(d):
            return d
    return start


def _duration(rng: random.Random, limit: int) -> int:
    """Working days a step took: mostly within its limit, about one in eight over it."""
    if rng.random() < 0.12:
        return limit + rng.randint(1, max(2, limit // 2))
    return rng.randint(max(1, limit // 4), limit)


def seed(*, today: dt.date, progress: Callable[[str], None] = print) -> dict[str, Any]:
    from django.db import transaction

    from doudi.core.audit import audit_record
    from doudi.core.models import AuditEvent

    if AuditEvent.objects.filter(event=MARK_EVENT).exists():
        return {"skipped": True}
    t0 = time.perf_counter()
    progress("一年的一门受理办件 / a year of one-window cases")
    with transaction.atomic():
        out = _History(today=today).build()
        audit_record(
            actor=None,
            event=MARK_EVENT,
            subject_type="demo",
            subject_label="一门受理演示历史",
            new=out,
        )
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


class _History:
    def __init__(self, *, today: dt.date) -> None:
        from doudi.core.models import User

        self.today = today
        self.start = today - dt.timedelta(days=365)
        self.rng = random.Random(SEED)
        self.items = load_items()
        self.users = {u.username: u for u in User.objects.filter(is_active=True)}
        self.admin = (
            next((u for u in self.users.values() if u.role == "city_admin"), None)
            or User.objects.filter(role="city_admin").first()
        )
        self.counts: dict[str, int] = defaultdict(int)

    # ---------------------------------------------------------------- who did it

    def _clerk(self, region: str) -> Any:
        for u in self.users.values():
            if u.role == "town_clerk" and u.region_id and region.startswith(u.region_id):
                return u
        return self.admin

    def _county(self, region: str) -> Any:
        for u in self.users.values():
            if u.role == "county_approver" and u.region_id and region.startswith(u.region_id):
                return u
        return self.admin

    def _village(self, region: str) -> Any:
        for u in self.users.values():
            if u.role == "village_worker" and u.region_id == region:
                return u
        return None

    # ---------------------------------------------------------------- subjects

    def _subjects(self) -> dict[str, list[tuple[int, int | None, Any]]]:
        """(household id, person id, linked benefit) per item, drawn from the registry and the
        benefits in payment."""
        from doudi.benefits.selectors import benefit_list
        from doudi.cases.models import Application
        from doudi.registry.models import Household, Membership

        rng = self.rng
        taken = set(Application.objects.values_list("household_id", flat=True))
        households = [
            h
            for h in Household.objects.filter(status="active").values_list("id", flat=True)
            if h not in taken
        ]
        rng.shuffle(households)
        members: dict[int, list[Any]] = defaultdict(list)
        sample = households[:6000]
        for m in Membership.objects.filter(
            household_id__in=sample, end_date__isnull=True, person__status="present"
        ).select_related("person"):
            members[m.household_id].append(m.person)
        paying: dict[str, list[Any]] = defaultdict(list)
        if self.admin is not None:
            for b in benefit_list(user=self.admin).filter(end_month__isnull=True):
                paying[b.item].append(b)
        paying_households = {b.household_id for bs in paying.values() for b in bs}
        free = [h for h in sample if h not in paying_households and members.get(h)]
        out: dict[str, list[tuple[int, int | None, Any]]] = defaultdict(list)
        first_month = self.start.replace(day=1)

        def age(p: Any, on: dt.date) -> int:
            return on.year - p.birth_date.year

        used: set[tuple[int, str]] = set()

        def take(code: str, hid: int, pid: int | None, benefit: Any = None) -> None:
            if (hid, code) in used:
                return
            used.add((hid, code))
            out[code].append((hid, pid, benefit))

        # the plan is for a 50,000-person city (about 20,000 households): scale it
        scale = max(0.05, min(2.0, Household.objects.filter(status="active").count() / 20_000))
        for code, planned in PLAN.items():
            n = max(2, round(planned * scale))
            item = self.items[code]
            approve = APPROVE_RATE.get(code, 1.0)
            want = n
            if code in ("dibao", "tekun", "single_person_dibao"):
                new = [b for b in paying.get(code, []) if b.start_month > first_month]
                rng.shuffle(new)
                for b in new[: int(n * approve)]:
                    take(code, b.household_id, b.person_id, b)
                approved = len(out[code])
                # refusals and cases in progress in proportion to the approvals
                want = max(2, round(approved * (1 - approve) / approve) + round(n * 0.1))
            if code in ("dibao_review", "benefit_exit"):
                current = list(paying.get("dibao", []))
                rng.shuffle(current)
                for b in current[:n]:
                    take(code, b.household_id, None, b)
                continue
            if code == "tekun_care_change":
                current = list(paying.get("tekun", []))
                rng.shuffle(current)
                for b in current[:n]:
                    take(code, b.household_id, b.person_id, b)
                continue
            for hid in free:
                if want <= 0:
                    break
                people = members[hid]
                pid = None
                if item.level == "person":
                    if code == "tekun":
                        cands = [p for p in people if age(p, self.today) >= 60]
                    elif code == "single_person_dibao":
                        cands = [
                            p for p in people if p.disability_grade and p.disability_grade <= 2
                        ]
                    elif code == "education_referral":
                        cands = [p for p in people if 6 <= age(p, self.today) <= 22]
                    else:
                        cands = people
                    if not cands:
                        continue
                    pid = rng.choice(cands).pk
                if rng.random() < 0.08:  # a household rarely asks for the same item twice
                    continue
                take(code, hid, pid)
                want -= 1
            rng.shuffle(free)
        return out

    # ---------------------------------------------------------------- one case

    def build(self) -> dict[str, Any]:
        from doudi.cases.models import (
            Appeal,
            Application,
            Case,
            CaseEvent,
            CaseStep,
            CommitteeDecision,
            Document,
            Investigation,
        )
        from doudi.registry.models import Household

        rng = self.rng
        subjects = self._subjects()
        regions = dict(
            Household.objects.filter(
                pk__in={h for rows in subjects.values() for h, _p, _b in rows}
            ).values_list("id", "region_id")
        )
        plans = []
        for code, rows in subjects.items():
            for hid, pid, benefit in rows:
                plans.append((code, hid, pid, benefit))
        rng.shuffle(plans)
        # a few applications carry two items (one application, many items)
        pairs = {
            "dibao": "medical_referral",
            "temporary_expense": "medical_referral",
            "tekun": "medical_referral",
        }

        apps: list[Application] = []
        cases: list[tuple[Case, list[dict[str, Any]], dict[str, Any]]] = []
        docs: list[tuple[int, Document]] = []
        for code, hid, pid, benefit in plans:
            region = regions[hid]
            item = self.items[code]
            opened = self._opened(item, benefit)
            if opened is None:
                continue
            app = self._application(hid, region, opened, code)
            apps.append(app)
            codes = [code]
            if code in pairs and rng.random() < 0.15 and pid is None:
                codes.append(pairs[code])
            first_meta: dict[str, Any] | None = None
            for c in codes:
                sim = self._simulate(self.items[c], opened, region, benefit if c == code else None)
                case = Case(
                    item=c,
                    person_id=pid if self.items[c].level == "person" else None,
                    **sim["fields"],
                )
                cases.append((case, sim["steps"], {"app": len(apps) - 1, **sim}))
                first_meta = first_meta or cases[-1][2]
            assert first_meta is not None
            for d in self._documents(codes, opened, first_meta):
                docs.append((len(apps) - 1, d))

        Application.objects.bulk_create(apps, batch_size=500)
        for case, _steps, meta in cases:
            case.application = apps[meta["app"]]
        Case.objects.bulk_create([c for c, _s, _m in cases], batch_size=500)
        for i, d in docs:
            d.application = apps[i]
        Document.objects.bulk_create([d for _i, d in docs], batch_size=500)
        steps, events, investigations, committees, appeals = [], [], [], [], []
        for case, step_rows, meta in cases:
            for s in step_rows:
                steps.append(CaseStep(case=case, **s))
            for e in meta["events"]:
                events.append(CaseEvent(case=case, **e))
            for inv in meta["investigations"]:
                investigations.append(Investigation(case=case, **inv))
            if meta.get("committee"):
                committees.append(CommitteeDecision(case=case, **meta["committee"]))
            if meta.get("appeal"):
                appeals.append(Appeal(case=case, **meta["appeal"]))
        CaseStep.objects.bulk_create(steps, batch_size=1000)
        CaseEvent.objects.bulk_create(events, batch_size=1000)
        Investigation.objects.bulk_create(investigations, batch_size=500)
        CommitteeDecision.objects.bulk_create(committees)
        Appeal.objects.bulk_create(appeals)
        by_state: dict[str, int] = defaultdict(int)
        for case, _s, _m in cases:
            by_state[case.state] += 1
        return {
            "applications": len(apps),
            "cases": len(cases),
            "by_state": dict(sorted(by_state.items())),
            "help_to_apply": sum(1 for a in apps if a.origin == "help_to_apply"),
            "documents_missing_at_acceptance": self.counts["missing"],
            "waived": self.counts["waived"],
            "committee": len(committees),
            "appeals": len(appeals),
        }

    def _opened(self, item: Item, benefit: Any) -> dt.date | None:
        """When the application was accepted: for a case behind a benefit, far enough before the
        month before its first payment for a typical cycle; otherwise any working day of the year."""
        rng = self.rng
        if benefit is not None and item.code in ("dibao", "tekun", "single_person_dibao"):
            decided = benefit.start_month - dt.timedelta(days=rng.randint(3, 20))
            cycle = rng.randint(int(item.total.days * 0.5), item.total.days + 3)
            d = decided
            n = 0
            while n < cycle:
                d -= dt.timedelta(days=1)
                n += workdays.is_working_day(d)
            return d if d >= self.start else None
        if item.code in ("dibao", "tekun", "single_person_dibao") and rng.random() < 0.5:
            # in progress: accepted in the last two months
            return _working_day(rng, self.today - dt.timedelta(days=60), self.today)
        return _working_day(rng, self.start, self.today - dt.timedelta(days=1))

    def _application(self, hid: int, region: str, opened: dt.date, code: str) -> Any:
        from doudi.cases.models import Application

        rng = self.rng
        r = rng.random()
        origin, kind, agent, relation, helper = "window", "self", "", "", None
        if code in ("dibao_review",):
            origin, kind, agent, relation = "review", "agent", "工作人员", "定期复核，工作人员发起"
        elif code == "benefit_exit":
            origin, kind, agent, relation = (
                "window",
                "agent",
                "工作人员",
                "依据核对结果，工作人员发起",
            )
        elif r < 0.16:
            origin, kind = "help_to_apply", "agent"
            helper = self._village(region)
            agent = helper.full_name if helper else rng.choice(CADRES)
            relation = "村（社区）帮办代办"
        elif r < 0.22:
            origin = "online"
        elif r < 0.32:
            kind, agent, relation = (
                "agent",
                rng.choice(["王芳", "李军", "张丽"]),
                rng.choice(["女儿", "儿子", "侄子"]),
            )
        accepted_by = self._clerk(region)
        return Application(
            household_id=hid,
            region_id=region,
            town_code=region[:9],
            county_code=region[:6],
            origin=origin,
            applicant_kind=kind,
            agent_name=agent,
            agent_relation=relation,
            helper=helper,
            accepted_on=opened,
            accepted_by=accepted_by,
            note="",
        )

    def _documents(self, codes: list[str], opened: dt.date, meta: dict[str, Any]) -> list[Any]:
        """Documents: all received, or one deferrable document missing at acceptance and
        supplied or waived before the decision (still missing while the case is open)."""
        from doudi.cases.models import Document
        from doudi.cases.services import _document_specs

        rng = self.rng
        agent = False
        specs = _document_specs([self.items[c] for c in codes], agent=agent)
        deferrable = [c for c, (_n, req, due, _i) in specs.items() if req and due is not None]
        missing = rng.choice(deferrable) if deferrable and rng.random() < 0.35 else None
        decided = meta.get("decided_on")
        out = []
        for code, (name, required, due, for_items) in specs.items():
            if not required:
                continue
            d = Document(
                code=code,
                name=name,
                items=for_items,
                required=True,
                status="received",
                received_on=opened,
            )
            if code == missing and due is not None:
                self.counts["missing"] += 1
                when = workdays.add_working_days(opened, due.days)
                d.due_on, d.due_estimated = when.date, when.estimated
                end = decided or self.today
                if decided is None and rng.random() < 0.5:
                    d.status, d.received_on = "missing", None
                elif rng.random() < 0.7:
                    d.received_on = min(end, when.date - dt.timedelta(days=rng.randint(0, 5)))
                    d.received_on = max(d.received_on, opened)
                else:
                    self.counts["waived"] += 1
                    d.status, d.received_on = "waived", None
                    d.waived_on = max(opened, end - dt.timedelta(days=rng.randint(0, 3)))
                    d.waived_by = meta["county_user"]
                    d.waive_reason = rng.choice(WAIVE_REASONS)
            out.append(d)
        return out

    def _simulate(self, item: Item, opened: dt.date, region: str, benefit: Any) -> dict[str, Any]:
        """Walk the item's steps from ``opened``; stop at the step reached by today."""
        rng = self.rng
        clerk, county = self._clerk(region), self._county(region)
        events: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        investigations: list[dict[str, Any]] = []
        fields: dict[str, Any] = {"opened_on": opened}
        total = workdays.add_working_days(opened, item.total.days)
        fields["due_on"], fields["due_estimated"] = total.date, total.estimated
        events.append(
            {
                "on": opened,
                "actor": clerk,
                "event": "accept",
                "to_state": item.step_codes[0],
                "note": "演示历史",
            }
        )
        t = opened
        state = None
        notice_until = None
        forced_decision = None
        if (
            benefit is not None
            and benefit.start_month is not None
            and item.code in ("dibao", "tekun", "single_person_dibao")
        ):
            forced_decision = benefit.start_month - dt.timedelta(days=1)
            while not workdays.is_working_day(forced_decision):
                forced_decision -= dt.timedelta(days=1)
        for spec in item.steps:
            limit = spec.limit
            if spec.code == "notice":
                start = t
                notice_from, notice_until = (
                    t + dt.timedelta(days=1),
                    t + dt.timedelta(days=limit.days),
                )
                fields["notice_from"], fields["notice_until"] = notice_from, notice_until
                due = workdays.Deadline(notice_until + dt.timedelta(days=1), False)
                end = notice_until + dt.timedelta(days=rng.choice([1, 1, 2, 3, 4]))
            elif spec.code == "decision" and notice_until is not None:
                start = t
                due = workdays.add_working_days(notice_until, limit.days)
                end = workdays.add_working_days(notice_until, _duration(rng, limit.days)).date
            else:
                start = t
                due = (
                    workdays.add_working_days(start, limit.days)
                    if limit.unit == "working"
                    else workdays.Deadline(start + dt.timedelta(days=limit.days), False)
                )
                end = workdays.add_working_days(start, _duration(rng, limit.days)).date
            if forced_decision is not None and spec.code != "notice":
                # a case behind a benefit was decided the month before its first payment
                end = max(
                    start, forced_decision if spec.code == "decision" else min(end, forced_decision)
                )
            row = {
                "step": spec.code,
                "started_on": start,
                "due_on": due.date,
                "due_estimated": due.estimated,
                "limit_days": limit.days,
                "limit_unit": limit.unit,
            }
            if end >= self.today and forced_decision is None:
                state = spec.code
                steps.append(row)
                fields["step_due_on"], fields["step_due_estimated"] = due.date, due.estimated
                if due.date < self.today - dt.timedelta(days=10) and rng.random() < 0.5:
                    fields["escalated_on"] = due.date + dt.timedelta(days=1)
                    events.append(
                        {
                            "on": due.date + dt.timedelta(days=1),
                            "actor": None,
                            "event": "escalate",
                            "note": "逾期上报区县",
                        }
                    )
                break
            row["completed_on"] = end
            row["completed_by"] = county if spec.code == "decision" else clerk
            steps.append(row)
            nxt = item.next_step(spec.code)
            if spec.code == "investigation":
                investigations.append(
                    {
                        "visited_on": end,
                        "staff": rng.sample(STAFF, 2),
                        "findings": "入户查看居住、收入和家庭成员情况，与申报基本一致。",
                        "neighbours": "邻居反映家庭生活困难属实。" if rng.random() < 0.6 else "",
                        "self_care_failed": rng.randint(0, 6) if item.category == "tekun" else None,
                        "recorded_by": clerk,
                    }
                )
            if spec.code == "verification":
                fields["snapshot"] = {
                    "source": "demo",
                    "as_of": end.isoformat(),
                    "eligible": "yes",
                    "categories": [],
                    "policy_version": "演示数据",
                }
            if spec.code == "advance_payment":
                fields["advance_amount"] = Decimal(rng.choice([500, 800, 1000, 1500, 2000]))
                fields["advance_paid_on"] = end
            if spec.code == "first_review":
                fields["recommend"] = True
                fields["review_opinion"] = "经核对和入户调查，符合条件，建议批准。"
            events.append(
                {
                    "on": end,
                    "actor": county if spec.code == "decision" else clerk,
                    "event": {
                        "verification": "verify",
                        "advance_payment": "pay_advance",
                        "investigation": "investigate",
                        "first_review": "first_review",
                        "notice": "close_notice",
                        "decision": "decide",
                        "referral": "refer",
                    }[spec.code],
                    "from_state": spec.code,
                    "to_state": nxt or "",
                    "note": "演示历史",
                }
            )
            t = end
        meta: dict[str, Any] = {
            "steps": steps,
            "events": events,
            "investigations": investigations,
            "county_user": county,
        }
        if state is not None:
            fields["state"] = state
            meta["fields"] = fields
            return meta
        decided = t
        self._decide(item, fields, meta, decided, county, benefit)
        span = workdays.working_days_between(opened, decided)
        fields["cycle_days"], fields["cycle_estimated"] = span.days, span.estimated
        fields["decided_on"] = decided
        fields["decided_by"] = county if item.decider == "county" else clerk
        meta["decided_on"] = decided
        meta["fields"] = fields
        # the last event names the outcome
        events[-1]["to_state"] = fields["state"]
        return meta

    def _decide(
        self,
        item: Item,
        fields: dict[str, Any],
        meta: dict[str, Any],
        on: dt.date,
        county: Any,
        benefit: Any,
    ) -> None:
        rng = self.rng
        nxt_month = dt.date(on.year + (on.month == 12), on.month % 12 + 1, 1)
        if item.outcome == "refer":
            fields["state"] = "referred"
            fields["referral_department"] = (
                "医疗保障局" if item.code == "medical_referral" else "教育局学生资助中心"
            )
            fields["referral_outcome"] = rng.choice(
                ["已纳入医疗救助，按比例报销", "已办理助学金", ""]
            )
            return
        approve = (
            benefit is not None
            if item.code in ("dibao", "tekun", "single_person_dibao")
            else rng.random() < APPROVE_RATE.get(item.code, 0.8)
        )
        fields["approved"] = approve
        if not approve:
            fields["state"] = "refused"
            fields["action"] = "refuse"
            fields["reasons"] = rng.choice(REFUSALS.get(item.code, ["不符合条件"]))
            if item.refusal_letter:
                letter = workdays.add_working_days(on, item.refusal_letter.days)
                fields["letter_due"], fields["letter_due_estimated"] = letter.date, letter.estimated
            if rng.random() < 0.12:
                received = on + dt.timedelta(days=rng.randint(5, 40))
                if received < self.today:
                    resolved = received + dt.timedelta(days=rng.randint(20, 55))
                    done = resolved < self.today and rng.random() < 0.7
                    meta["appeal"] = {
                        "kind": rng.choice(["reconsideration", "complaint"]),
                        "received_on": received,
                        "due_on": received + dt.timedelta(days=60),
                        "appellant": "申请人",
                        "grounds": "认为家庭实际困难，核对结果未反映医疗支出",
                        "status": rng.choice(["upheld", "upheld", "overturned"])
                        if done
                        else "open",
                        "resolved_on": resolved if done else None,
                        "resolution": "经复核，维持原决定" if done else "",
                        "recorded_by": county,
                    }
            return
        fields["state"] = "approved"
        fields["start_month"] = nxt_month
        if item.outcome == "start":
            fields["action"] = "start"
            if benefit is not None:
                fields["monthly_amount"] = benefit.monthly_amount
                if benefit.pk is not None:
                    fields["benefit_ref"] = f"benefit:{benefit.pk}"
                    fields["start_month"] = benefit.start_month
            elif item.paid:
                fields["monthly_amount"] = Decimal(rng.randint(300, 1600))
            if item.code in ("dibao", "single_person_dibao"):
                fields["review_months"] = rng.choice([6, 12, 12])
        elif item.outcome == "once":
            fields["action"] = "once"
            amount = Decimal(rng.choice([500, 800, 1000, 1500, 2000, 3000, 4000, 5000]))
            fields["monthly_amount"] = amount
            if amount + (fields.get("advance_amount") or 0) > item.committee_above:
                members = rng.sample(STAFF, 5)
                meta["committee"] = {
                    "referred_on": on - dt.timedelta(days=3),
                    "referred_by": county,
                    "referral_reason": "救助金额超过乡镇审批额度",
                    "met_on": on,
                    "members": members,
                    "votes_for": 4,
                    "votes_against": 0,
                    "votes_abstain": 1,
                    "minutes": f"集体研究，同意一次性救助{amount:,.0f}元。",
                    "approve": True,
                    "recorded_by": county,
                }
                meta["events"].insert(
                    -1,
                    {
                        "on": on - dt.timedelta(days=3),
                        "actor": county,
                        "event": "to_committee",
                        "from_state": "decision",
                        "to_state": "committee",
                        "note": "救助金额超过乡镇审批额度",
                    },
                )
                meta["events"][-1]["event"] = "committee_decide"
        elif item.outcome == "review":
            fields["action"] = "continue"
            fields["review_months"] = rng.choice([6, 12, 12])
            if benefit is not None:
                fields["benefit_ref"] = f"benefit:{benefit.pk}"
        elif item.outcome == "adjust":
            fields["action"] = "adjust"
            fields["care_level"] = rng.choice(["partial", "full"])
            if benefit is not None:
                fields["benefit_ref"] = f"benefit:{benefit.pk}"
                fields["monthly_amount"] = benefit.monthly_amount
        else:  # stop: the demo writes no benefit changes, so exits are not approved
            fields["state"] = "refused"
            fields["approved"] = False
            fields["action"] = "refuse"
            fields["reasons"] = REFUSALS["benefit_exit"][0]


def age_applications(*, today: dt.date, opened: dict[int, dt.date]) -> int:
    """Give applications opened through the services during the demo build (the monitoring
    demo's applications from alerts, accepted "today") the history they would have had if
    accepted on ``opened[application_id]``: accepted on that day, each case walked through its
    item's steps as the history above does (decided, or still at the step reached by today),
    documents received. Returns the number of cases aged."""
    from types import SimpleNamespace

    from doudi.benefits import services as benefit_services
    from doudi.benefits.months import add_months, month_of
    from doudi.cases.models import (
        Appeal,
        Application,
        CaseEvent,
        CaseStep,
        CommitteeDecision,
        Document,
        Investigation,
    )

    history = _History(today=today)
    rng = random.Random(SEED + 1)
    n = 0
    for app in Application.objects.filter(pk__in=list(opened)).prefetch_related("cases"):
        day = opened[app.pk]
        Application.objects.filter(pk=app.pk).update(accepted_on=day)
        Document.objects.filter(application=app).exclude(status=Document.Status.RECEIVED).update(
            status=Document.Status.RECEIVED, received_on=day, due_on=None
        )
        for case in app.cases.all():
            # a monthly benefit found through an alert is approved about two times in three:
            # the stand-in carries the amount; the real benefit starts the month after the
            # simulated decision
            stand_in = None
            if case.item in ("dibao", "single_person_dibao", "tekun") and rng.random() < 0.65:
                amount = Decimal(rng.randint(300, 1100) if case.item != "tekun" else 1500)
                stand_in = SimpleNamespace(monthly_amount=amount, pk=None, start_month=None)
            sim = history._simulate(history.items[case.item], day, app.region_id, stand_in)
            fields = sim["fields"]
            if stand_in is not None and fields.get("state") == "approved":
                decided = fields["decided_on"]
                start = add_months(month_of(decided), 1)
                benefit = benefit_services.benefit_start(
                    actor=None,
                    household=app.household,
                    item=case.item,
                    person=case.person,
                    monthly_amount=stand_in.monthly_amount,
                    start_month=start,
                    case_ref=f"case:{case.pk}",
                    reason="主动发现，经申请审批",
                )
                fields["start_month"] = start
                fields["benefit_ref"] = f"benefit:{benefit.pk}"
            for key, value in fields.items():
                setattr(case, key, value)
            case.save()
            CaseStep.objects.filter(case=case).delete()
            CaseEvent.objects.filter(case=case).delete()
            Investigation.objects.filter(case=case).delete()
            CaseStep.objects.bulk_create([CaseStep(case=case, **s) for s in sim["steps"]])
            CaseEvent.objects.bulk_create([CaseEvent(case=case, **e) for e in sim["events"]])
            Investigation.objects.bulk_create(
                [Investigation(case=case, **i) for i in sim["investigations"]]
            )
            if sim.get("committee"):
                CommitteeDecision.objects.create(case=case, **sim["committee"])
            if sim.get("appeal"):
                Appeal.objects.create(case=case, **sim["appeal"])
            n += 1
    return n
