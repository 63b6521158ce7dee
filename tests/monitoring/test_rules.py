"""Each warning rule on small pools built from department rows: rows that should and should not
trigger it on both sides of every threshold, the edges of the run's window (after ``since``, up to
the as-of date, the last 12 months), dated and county-specific parameters, and the rule's
suppression window (``suppress_days`` and ``worsen`` from its header).

Every test registers one household per case, feeds the rows through the real ingest and runs the
monitor once over all of them (a full run: events dated after SINCE up to AS_OF); it then
compares the set of cases that got an alert with the expected set. The suppression part closes
some of the alerts as if raised ``suppress_days - 1`` days (within the window) or
``suppress_days`` days (just outside it) before the as-of date, adds worse facts for some
(``worsen`` times the last magnitude, and just below it), and runs again over the same window;
``disaster_low_income`` (30 days) is checked in real time instead. The last test checks the
incremental window (rows already checked, late rows, events dated after the last as-of date).
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from tests.conftest import make_id
from tests.monitoring.conftest import id_of

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 3, 2)
SINCE = dt.date(2026, 2, 1)
DAY = dt.date(2026, 2, 20)  # a day inside the window
AFTER = AS_OF + dt.timedelta(days=1)  # the day after the as-of date
YEAR_AGO = dt.date(2025, 3, 2)  # events must be dated after this
ROLL = dt.date(2026, 3, 1)  # the month's civil-affairs rolls

QY = "370611001001"  # 福山区清洋街道清洋社区 (urban)
QY_RURAL = "370611001201"  # 福山区清洋街道王家庄村 (rural)
FX = "370611002001"  # 福山区福新街道福新社区 (urban)
ZF = "370602001001"  # 芝罘区向阳街道向阳社区 (urban, another county)

NAMES = "王芳 李娜 张伟 刘洋 陈静 杨磊 赵敏 黄勇 周杰 吴霞 徐明 孙丽 马超 朱红 胡军 郭倩".split()


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# ------------------------------------------------------------------ households and rows


@pytest.fixture
def home(register):
    """``home(("head", "19800101"), ("spouse", "19820202"), village=QY)``: register a household
    (default: one adult head); ``household.people`` lists its persons in that order."""
    from doudi.registry.selectors import household_members

    seq = itertools.count(1)

    def _home(*members: tuple[str, str], village: str = QY):
        members = members or (("head", "19800101"),)
        rows = []
        for relation, birth in members:
            n = next(seq)
            rows.append((make_id(village[:6], birth, n), NAMES[n % len(NAMES)], relation))
        household = register(village, rows)
        household.people = [m.person for m in household_members(household=household)]
        return household

    return _home


def row(person, **fields: object) -> dict[str, object]:
    """A department row about ``person`` (dates and decimals are written as text)."""
    return {"id_number": id_of(person), "name": person.name, **fields}


def dead(person, on: dt.date = dt.date(2025, 12, 1)) -> None:
    """Record the person's death in the registry (status 死亡)."""
    from doudi.registry.services import person_record_death

    person_record_death(actor=None, person=person, date=on)


def dibao_roll(*households, status: str = "在保", single: tuple = (), roll: dt.date = ROLL):
    """The month's 低保 roll lines of every member of the households; a person in ``single`` is
    on it alone, as 单人保 (the rest of that household is not on the roll)."""
    rows = []
    for h in households:
        head = h.people[0]
        alone = [p for p in h.people if p in single]
        for p in alone or h.people:
            rows.append(
                row(
                    p,
                    head_id_number=id_of(head),
                    relation="本人" if p is head else "家庭成员",
                    region_code=h.region_id,
                    area_type="城市" if h.residence_type == "urban" else "农村",
                    household_size=len(alone or h.people),
                    monthly_amount="500",
                    start_date="2024-01-01",
                    roll_date=roll,
                    status=status,
                    single_person="是" if p in single else "否",
                )
            )
    return rows


def tekun_roll(*persons, roll: dt.date = ROLL):
    return [
        row(
            p,
            region_code=p.residence_region_id,
            area_type="城市",
            support_mode="分散供养",
            care_level="全自理",
            basic_amount="1402",
            care_amount="0",
            start_date="2023-05-01",
            roll_date=roll,
            status="在保",
        )
        for p in persons
    ]


def relapse(household, risk: str = "风险未消除"):
    """防止返贫 watch-list rows for every member of the household."""
    return [
        row(
            p,
            region_code=household.region_id,
            watch_type="边缘易致贫户",
            identified_date="2025-06-01",
            risk_status=risk,
        )
        for p in household.people
    ]


def watched(feed, *households) -> None:
    """Put the households in the low-income monitoring range (m_watch) through the 防止返贫
    watch list (the risk rules for medical costs and disability only watch that range)."""
    feed("relapse_watch", [r for h in households for r in relapse(h)])


def declare(household, *monthly: str, on: dt.date = dt.date(2025, 6, 1)) -> None:
    """Declared monthly incomes of the members, in order (for the policy sweep)."""
    from doudi.policy.services import income_declare

    for person, amount in zip(household.people, monthly, strict=True):
        income_declare(
            actor=None, person_id=person.pk, monthly_income=Decimal(amount), declared_on=on
        )


def sweep(on: dt.date = ROLL):
    from doudi.policy.services import sweep_run

    return sweep_run(actor=None, as_of=on)


def set_param(users, name: str, value: object, *, scope: str = "city", on: dt.date) -> None:
    """A dated parameter value, proposed by the analyst and approved by the admin."""
    from doudi.policy.services import parameter_change_decide, parameter_change_propose

    change = parameter_change_propose(
        actor=users["analyst"],
        name=name,
        scope=scope,
        effective_from=on,
        value=str(value),
        reference="测试：区县或日期特定的取值",
    )
    parameter_change_decide(actor=users["admin"], change=change, approve=True)


# ------------------------------------------------------------------ alerts


def alerted(code: str, cases: dict) -> set[str]:
    """The cases whose household has an alert of the rule."""
    from doudi.monitoring.models import Alert

    ids = set(Alert.objects.filter(rule=code).values_list("household_id", flat=True))
    return {name for name, h in cases.items() if h.pk in ids}


def alert_of(code: str, household):
    from doudi.monitoring.models import Alert

    return Alert.objects.get(rule=code, household=household)


def rule_header(code: str):
    from doudi.monitoring import selectors

    return selectors.rule_get(code)


def close_as_raised(code: str, *, within=(), outside=()) -> None:
    """Close the households' alerts of the rule, as if raised ``suppress_days - 1`` days
    (``within``) or ``suppress_days`` days (``outside``) before AS_OF."""
    from doudi.monitoring.models import Alert

    days = rule_header(code).suppress_days
    for households, back in ((within, days - 1), (outside, days)):
        for h in households:
            n = Alert.objects.filter(rule=code, household=h).update(
                status=Alert.Status.CLOSED,
                outcome=Alert.Outcome.NO_ACTION,
                closed_on=AS_OF,
                raised_on=AS_OF - dt.timedelta(days=back),
            )
            assert n == 1, (code, h.pk)


def check_second_run(run, code: str, *, new=(), suppressed=()) -> None:
    """After the suppression run: a second alert for ``new``, still one for ``suppressed``."""
    from doudi.monitoring.models import Alert

    counts = run.summary["rules"][code]
    assert counts["new"] == len(new), counts
    assert counts["suppress"] == len(suppressed), counts
    for h in new:
        latest = Alert.objects.filter(rule=code, household=h).order_by("-id")
        assert latest.count() == 2, h.pk
        assert latest[0].status == Alert.Status.RAISED and latest[0].raised_on == AS_OF
    for h in suppressed:
        assert Alert.objects.filter(rule=code, household=h).count() == 1, h.pk


# ------------------------------------------------------------------ inpatient_cost


def stay(person, discharged: dt.date, self_paid: str, *, days: int = 5) -> dict[str, object]:
    return row(
        person,
        admission_date=discharged - dt.timedelta(days=days),
        discharge_date=discharged,
        total_cost=str(Decimal(self_paid) * 3),
        fund_paid=str(Decimal(self_paid) * 2),
        self_paid=self_paid,
        institution="烟台毓璜顶医院",
    )


def test_inpatient_cost(home, feed, monitor, users):
    """For a household in the low-income monitoring range: self-paid total over 20,000 (not at
    it) or 3 admissions (not 2) in the 12 months up to the as-of date; a county's own threshold;
    suppressed for 90 days unless the total reaches 1.5×."""
    # 芝罘区 has its own threshold from January 2026; a city value from after AS_OF is not used
    set_param(users, "monitor.inpatient.self_paid_12m", 10000, scope="370602", on=d("2026-01-01"))
    set_param(users, "monitor.inpatient.admissions_12m", 2, on=d("2026-04-01"))
    c = {k: home() for k in [
        "at_limit", "over_limit", "summed_over", "two_stays", "three_stays",
        "third_on_year_ago", "third_after_year_ago", "discharged_after_as_of",
        "discharged_on_since", "dead", "15000_fushan",
    ]}  # fmt: skip
    c["15000_zhifu"] = home(village=ZF)
    seeds = {k: home() for k in ["same", "worse", "slightly_worse", "outside"]}
    watched(feed, *c.values(), *seeds.values())
    # outside the range: not on any roll or list, and the sweep found an income above both
    # monitor.watch.income_multiplier (1) times the 低保 standard and the 低保边缘 line (1.5 times:
    # a near-dibao household is in the range by its category)
    c["not_watched"] = home()
    c["income_at_range"] = home()
    c["income_above_range"] = home()
    declare(c["income_at_range"], "1069.00")
    declare(c["income_above_range"], "1604.00")
    sweep()
    p = {k: h.people[0] for k, h in {**c, **seeds}.items()}
    dead(p["dead"])
    stays = [
        stay(p["at_limit"], DAY, "20000.00"),
        stay(p["over_limit"], DAY, "20000.01"),
        stay(p["summed_over"], d("2025-10-01"), "12000"),
        stay(p["summed_over"], DAY, "8000.01"),
        stay(p["two_stays"], d("2025-12-01"), "100"),
        stay(p["two_stays"], DAY, "100"),
        *[stay(p["three_stays"], x, "100") for x in (d("2025-06-01"), d("2025-12-01"), DAY)],
        *[stay(p["third_on_year_ago"], x, "100") for x in (YEAR_AGO, d("2025-12-01"), DAY)],
        *[
            stay(p["third_after_year_ago"], x, "100")
            for x in (YEAR_AGO + dt.timedelta(days=1), d("2025-12-01"), DAY)
        ],
        stay(p["discharged_after_as_of"], AFTER, "30000"),
        stay(p["discharged_on_since"], SINCE, "30000"),
        stay(p["dead"], DAY, "30000"),
        stay(p["15000_fushan"], DAY, "15000"),
        stay(p["15000_zhifu"], DAY, "15000"),
        *[
            stay(p[k], DAY, "20000.01")
            for k in [*seeds, "not_watched", "income_at_range", "income_above_range"]
        ],
    ]
    feed("medical_inpatient", stays)
    run = monitor(AS_OF, since=SINCE)

    assert alerted("inpatient_cost", c) == {
        "over_limit", "summed_over", "three_stays", "third_after_year_ago", "15000_zhifu",
        "income_at_range",
    }  # fmt: skip
    a = alert_of("inpatient_cost", c["over_limit"])
    assert (a.severity, a.kind, a.person_id) == ("orange", "risk", p["over_limit"].pk)
    assert a.summary == "近12个月住院1次，个人自付累计¥20000.01"
    assert a.evidence[0]["interface"] == "medical_inpatient"
    assert a.evidence[0]["line"] == 2
    summed = alert_of("inpatient_cost", c["summed_over"])
    assert (summed.count_n, summed.amount, summed.evidence_n) == (2, Decimal("20000.01"), 2)
    assert alert_of("inpatient_cost", c["three_stays"]).count_n == 3
    assert run.summary["rules"]["inpatient_cost"]["new"] == 6 + len(seeds)

    # suppression: 90 days; a total of at least 1.5 times the last alert's breaks through
    assert (rule_header("inpatient_cost").suppress_days, rule_header("inpatient_cost").worsen) == (
        90,
        1.5,
    )
    close_as_raised(
        "inpatient_cost",
        within=[seeds["same"], seeds["worse"], seeds["slightly_worse"]],
        outside=[seeds["outside"]],
    )
    feed(
        "medical_inpatient",
        [
            stay(p["worse"], AS_OF, "10000.01"),  # 30,000.02 >= 1.5 x 20,000.01
            stay(p["slightly_worse"], AS_OF, "9999.99"),  # 30,000.00 < 1.5 x 20,000.01
        ],
    )
    run2 = monitor(AS_OF, since=SINCE)
    check_second_run(
        run2,
        "inpatient_cost",
        new=[seeds["worse"], seeds["outside"]],
        suppressed=[seeds["same"], seeds["slightly_worse"]],
    )


# ------------------------------------------------------------------ chronic_disease


def certification(person, on: dt.date, *, status: str = "有效", disease: str = "糖尿病"):
    return row(person, disease_name=disease, certified_date=on, status=status)


def serious(person, on: dt.date, number: str):
    return row(
        person,
        settlement_number=number,
        settlement_date=on,
        total_cost="90000",
        serious_paid="30000",
    )


def test_chronic_disease(home, feed, monitor):
    """For a household in the monitoring range: a valid chronic-disease certification in the
    window, or a first serious-disease settlement (none in the 365 days before it); suppressed for
    180 days unless more are added."""
    c = {k: home() for k in [
        "certified", "certification_ended", "certified_on_since", "certified_after_as_of",
        "dead", "serious_first", "serious_365_days_after_last", "serious_366_days_after_last",
    ]}  # fmt: skip
    seeds = {k: home() for k in ["same", "worse", "outside"]}
    watched(feed, *c.values(), *seeds.values())
    c["not_watched"] = home()
    p = {k: h.people[0] for k, h in {**c, **seeds}.items()}
    dead(p["dead"])
    feed(
        "chronic_disease_certification",
        [
            certification(p["certified"], DAY),
            certification(p["certification_ended"], DAY, status="终止"),
            certification(p["certified_on_since"], SINCE),
            certification(p["certified_after_as_of"], AFTER),
            certification(p["dead"], DAY),
            certification(p["not_watched"], DAY),
            *[certification(p[k], DAY) for k in seeds],
        ],
    )
    feed(
        "serious_disease",
        [
            serious(p["serious_first"], DAY, "S1"),
            serious(p["serious_365_days_after_last"], DAY - dt.timedelta(days=365), "S2"),
            serious(p["serious_365_days_after_last"], DAY, "S3"),
            serious(p["serious_366_days_after_last"], DAY - dt.timedelta(days=366), "S4"),
            serious(p["serious_366_days_after_last"], DAY, "S5"),
        ],
    )
    monitor(AS_OF, since=SINCE)

    assert alerted("chronic_disease", c) == {
        "certified", "serious_first", "serious_366_days_after_last",
    }  # fmt: skip
    a = alert_of("chronic_disease", c["certified"])
    assert (a.severity, a.person_id, a.count_n) == ("yellow", p["certified"].pk, 1)
    assert a.summary == "新认定慢特病或大病保险结算1项"
    assert a.evidence[0]["interface"] == "chronic_disease_certification"
    assert alert_of("chronic_disease", c["serious_first"]).evidence[0]["interface"] == (
        "serious_disease"
    )

    # suppression: 180 days; any further certification (worsen 1) breaks through
    header = rule_header("chronic_disease")
    assert (header.suppress_days, header.worsen) == (180, 1.0)
    close_as_raised(
        "chronic_disease", within=[seeds["same"], seeds["worse"]], outside=[seeds["outside"]]
    )
    feed(
        "chronic_disease_certification",
        [certification(p["worse"], DAY + dt.timedelta(days=3), disease="高血压")],
    )
    run = monitor(AS_OF, since=SINCE)
    check_second_run(
        run, "chronic_disease", new=[seeds["worse"], seeds["outside"]], suppressed=[seeds["same"]]
    )
    assert alert_of_latest("chronic_disease", seeds["worse"]).count_n == 2


def alert_of_latest(code: str, household):
    from doudi.monitoring.models import Alert

    return Alert.objects.filter(rule=code, household=household).order_by("-id").first()


# ------------------------------------------------------------------ new_disability


def certificate(person, on: dt.date, grade: str = "一级", category: str = "肢体", status="有效"):
    return row(
        person,
        category=category,
        grade=grade,
        issue_date=on,
        certificate_number=f"3706{person.pk:06d}{on:%m%d}",
        status=status,
    )


def test_new_disability(home, feed, monitor, users):
    """For a household in the monitoring range: a valid certificate of grade 1-2, or
    mental/intellectual 1-3, issued in the window; a county's own grade; suppressed 365 days
    unless the grade gets more severe."""
    set_param(users, "monitor.disability.severe_grade", 3, scope="370602", on=d("2026-01-01"))
    c = {k: home() for k in [
        "physical_3", "physical_2", "mental_3", "intellectual_3", "mental_4", "visual_1",
        "cancelled_1", "dead_1", "issued_after_as_of", "issued_on_since",
    ]}  # fmt: skip
    c["zhifu_physical_3"] = home(village=ZF)
    c["zhifu_physical_4"] = home(village=ZF)
    seeds = {k: home() for k in ["same", "regraded_same", "worse", "outside"]}
    watched(feed, *c.values(), *seeds.values())
    c["not_watched_1"] = home()
    p = {k: h.people[0] for k, h in {**c, **seeds}.items()}
    dead(p["dead_1"])
    feed(
        "disability_certificate",
        [
            certificate(p["physical_3"], DAY, "三级"),
            certificate(p["physical_2"], DAY, "二级"),
            certificate(p["mental_3"], DAY, "三级", "精神"),
            certificate(p["intellectual_3"], DAY, "三级", "智力"),
            certificate(p["mental_4"], DAY, "四级", "精神"),
            certificate(p["visual_1"], DAY, "一级", "视力"),
            certificate(p["cancelled_1"], DAY, status="注销"),
            certificate(p["dead_1"], DAY),
            certificate(p["not_watched_1"], DAY),
            certificate(p["issued_after_as_of"], AFTER),
            certificate(p["issued_on_since"], SINCE),
            certificate(p["zhifu_physical_3"], DAY, "三级"),
            certificate(p["zhifu_physical_4"], DAY, "四级"),
            *[certificate(p[k], DAY, "二级") for k in seeds],
        ],
    )
    monitor(AS_OF, since=SINCE)

    assert alerted("new_disability", c) == {
        "physical_2", "mental_3", "intellectual_3", "visual_1", "zhifu_physical_3",
    }  # fmt: skip
    a = alert_of("new_disability", c["physical_2"])
    assert (a.severity, a.person_id, a.magnitude) == ("orange", p["physical_2"].pk, 3.0)
    assert a.summary == "新办残疾人证（1张）"
    assert a.evidence[0]["interface"] == "disability_certificate"

    # suppression: 365 days; a more severe grade (magnitude 5 - grade) breaks through
    header = rule_header("new_disability")
    assert (header.suppress_days, header.worsen) == (365, 1.0)
    close_as_raised(
        "new_disability",
        within=[seeds["same"], seeds["regraded_same"], seeds["worse"]],
        outside=[seeds["outside"]],
    )
    later = DAY + dt.timedelta(days=5)
    feed(
        "disability_certificate",
        [certificate(p["regraded_same"], later, "二级"), certificate(p["worse"], later, "一级")],
    )
    run = monitor(AS_OF, since=SINCE)
    check_second_run(
        run,
        "new_disability",
        new=[seeds["worse"], seeds["outside"]],
        suppressed=[seeds["same"], seeds["regraded_same"]],
    )


# ------------------------------------------------------------------ unemployed_only_earner


def unemployment(person, on: dt.date, status: str = "有效"):
    return row(person, registration_date=on, reason="劳动合同期满", status=status)


def employment(person, start: dt.date, end: dt.date | None = None):
    r = row(person, employer="烟台某机械有限公司", employment_date=start)
    if end is not None:
        r["contract_end"] = end
    return r


COUPLE = (("head", "19800101"), ("spouse", "19820202"))


def contribution(person, month: dt.date, *, kind: str = "企业职工基本养老保险", status="已到账"):
    """A month's social-insurance contribution (``month``: the 费款所属期 as a date)."""
    return row(
        person,
        insurance_type=kind,
        contribution_month=month,
        employer="烟台某机械有限公司",
        contribution_base="4500",
        personal_amount="360",
        status=status,
    )


QUARTER_AGO = AS_OF - dt.timedelta(days=92)  # the start (excluded) of "the last 3 months"


def test_unemployed_only_earner(home, feed, monitor):
    """An active unemployment registration in the window when no other living member still
    works on the as-of date (no job registration valid then, no employee-pension contribution
    paid in the last 3 months); suppressed 180 days (the magnitude never grows)."""
    c = {k: home() for k in [
        "alone", "registration_cancelled", "registered_on_since", "registered_after_as_of",
    ]}  # fmt: skip
    c.update({k: home(*COUPLE) for k in [
        "spouse_employed", "spouse_contract_ended", "spouse_contract_ends_on_as_of",
        "spouse_hired_after_as_of", "spouse_employed_but_dead", "spouse_jobless",
        "unemployed_person_dead", "spouse_pension_paid_after_quarter_ago",
        "spouse_pension_paid_on_quarter_ago", "spouse_pension_unpaid",
        "spouse_resident_pension_only",
    ]})  # fmt: skip
    seeds = {k: home() for k in ["same", "outside"]}
    head = {k: h.people[0] for k, h in {**c, **seeds}.items()}
    spouse = {k: h.people[1] for k, h in c.items() if len(h.people) > 1}
    dead(spouse["spouse_employed_but_dead"])
    dead(head["unemployed_person_dead"])
    start = d("2020-05-01")
    feed(
        "employment_registration",
        [
            employment(spouse["spouse_employed"], start),
            employment(spouse["spouse_contract_ended"], start, AS_OF - dt.timedelta(days=1)),
            employment(spouse["spouse_contract_ends_on_as_of"], start, AS_OF),
            employment(spouse["spouse_hired_after_as_of"], AFTER),
            employment(spouse["spouse_employed_but_dead"], start),
            employment(spouse["unemployed_person_dead"], d("2025-01-01"), d("2025-12-31")),
        ],
    )
    feed(
        "social_insurance_contribution",
        [
            contribution(
                spouse["spouse_pension_paid_after_quarter_ago"],
                QUARTER_AGO + dt.timedelta(days=1),
            ),
            contribution(spouse["spouse_pension_paid_on_quarter_ago"], QUARTER_AGO),
            contribution(spouse["spouse_pension_unpaid"], d("2026-02-01"), status="欠缴"),
            contribution(
                spouse["spouse_resident_pension_only"], d("2026-02-01"), kind="城乡居民基本养老保险"
            ),
        ],
    )
    special = ("registration_cancelled", "registered_on_since", "registered_after_as_of")
    feed(
        "unemployment_registration",
        [
            unemployment(head["registration_cancelled"], DAY, status="注销"),
            unemployment(head["registered_on_since"], SINCE),
            unemployment(head["registered_after_as_of"], AFTER),
            *[unemployment(head[k], DAY) for k in head if k not in special],
        ],
    )
    monitor(AS_OF, since=SINCE)

    assert alerted("unemployed_only_earner", c) == {
        "alone", "spouse_contract_ended", "spouse_hired_after_as_of",
        "spouse_employed_but_dead", "spouse_jobless", "spouse_pension_paid_on_quarter_ago",
        "spouse_pension_unpaid", "spouse_resident_pension_only",
    }  # fmt: skip
    a = alert_of("unemployed_only_earner", c["spouse_jobless"])
    assert (a.severity, a.person_id) == ("orange", head["spouse_jobless"].pk)
    assert a.summary == "家庭唯一就业成员办理失业登记"
    assert a.evidence[0]["interface"] == "unemployment_registration"

    # suppression: 180 days; the magnitude is always 1, so a second registration stays suppressed
    header = rule_header("unemployed_only_earner")
    assert (header.suppress_days, header.worsen) == (180, 1.0)
    close_as_raised("unemployed_only_earner", within=[seeds["same"]], outside=[seeds["outside"]])
    feed("unemployment_registration", [unemployment(head["same"], DAY + dt.timedelta(days=4))])
    run = monitor(AS_OF, since=SINCE)
    check_second_run(
        run, "unemployed_only_earner", new=[seeds["outside"]], suppressed=[seeds["same"]]
    )


# ------------------------------------------------------------------ earner_death


def death(person, on: dt.date, *, hukou_cancelled: dt.date | None = None):
    """A 公安 death registration; ``hukou_cancelled`` is its 户口注销日期 (the date the household
    registration was cancelled because of the death: filled in on most records)."""
    r = row(person, death_date=on, registration_authority="烟台市公安局福山分局清洋派出所")
    if hukou_cancelled is not None:
        r["cancellation_date"] = hukou_cancelled
    return r


def test_earner_death(home, feed, monitor):
    """A death registered in the window of a person who had a job registration valid on the day
    of death, or an employee-pension contribution paid in the half year before it, whose
    household still has a living member; suppressed 365 days."""
    c = {k: home(*COUPLE) for k in [
        "earner_dies", "earner_dies_hukou_cancelled", "contract_ends_on_death_day",
        "contract_ended_day_before_death", "pension_182_days_before", "pension_183_days_before",
        "pension_unpaid", "resident_pension_only", "no_job", "hired_after_death",
        "other_member_dead", "died_after_as_of", "died_on_since",
    ]}  # fmt: skip
    c["lived_alone"] = home()
    seeds = {k: home(*COUPLE) for k in ["same", "outside"]}
    head = {k: h.people[0] for k, h in {**c, **seeds}.items()}
    dead(c["other_member_dead"].people[1])
    start = d("2015-03-01")
    jobs = {
        "contract_ends_on_death_day": employment(head["contract_ends_on_death_day"], start, DAY),
        "contract_ended_day_before_death": employment(
            head["contract_ended_day_before_death"], start, DAY - dt.timedelta(days=1)
        ),
        "hired_after_death": employment(head["hired_after_death"], DAY + dt.timedelta(days=1)),
    }
    no_job = {
        "no_job", "pension_182_days_before", "pension_183_days_before", "pension_unpaid",
        "resident_pension_only",
    }  # fmt: skip
    jobs.update({k: employment(head[k], start) for k in head if k not in no_job | set(jobs)})
    feed("employment_registration", list(jobs.values()))
    feed(
        "social_insurance_contribution",
        [
            contribution(head["pension_182_days_before"], DAY - dt.timedelta(days=182)),
            contribution(head["pension_183_days_before"], DAY - dt.timedelta(days=183)),
            contribution(head["pension_unpaid"], d("2026-01-01"), status="欠缴"),
            contribution(
                head["resident_pension_only"], d("2026-01-01"), kind="城乡居民基本养老保险"
            ),
        ],
    )
    special = ("earner_dies_hukou_cancelled", "died_after_as_of", "died_on_since")
    feed(
        "death_registration",
        [
            death(head["earner_dies_hukou_cancelled"], DAY, hukou_cancelled=AS_OF),
            death(head["died_after_as_of"], AFTER),
            death(head["died_on_since"], SINCE),
            *[death(head[k], DAY) for k in head if k not in special],
        ],
    )
    monitor(AS_OF, since=SINCE)

    assert alerted("earner_death", c) == {
        "earner_dies", "earner_dies_hukou_cancelled", "contract_ends_on_death_day",
        "pension_182_days_before",
    }  # fmt: skip
    a = alert_of("earner_death", c["earner_dies"])
    assert (a.severity, a.person_id) == ("orange", head["earner_dies"].pk)
    assert a.summary == "家庭中有收入的成员死亡"
    assert a.evidence[0]["interface"] == "death_registration"

    header = rule_header("earner_death")
    assert (header.suppress_days, header.worsen) == (365, 1.0)
    close_as_raised("earner_death", within=[seeds["same"]], outside=[seeds["outside"]])
    run = monitor(AS_OF, since=SINCE)
    check_second_run(run, "earner_death", new=[seeds["outside"]], suppressed=[seeds["same"]])


# ------------------------------------------------------------------ child_guardian_loss


def prisoner(person, admitted: dt.date, *, status: str = "在押", released: dt.date | None = None):
    r = row(person, prison="山东省烟台监狱", admission_date=admitted, status=status)
    if released is not None:
        r["release_date"] = released
    return r


FAMILY = (("head", "19850101"), ("spouse", "19870101"), ("child", "20150601"))
SINGLE_PARENT = (("head", "19850101"), ("child", "20150601"))


def test_child_guardian_loss(home, feed, monitor):
    """A parent (head or spouse) newly dead, imprisoned or severely disabled while the other is
    absent, dead, in prison or severely disabled: an alert on the minor child; suppressed 365
    days."""
    c = {k: home(*FAMILY) for k in [
        "other_parent_able", "other_parent_in_prison", "other_parent_released",
        "other_parent_mental_3", "other_parent_physical_3", "other_parent_dead_in_registry",
    ]}  # fmt: skip
    c.update({k: home(*SINGLE_PARENT) for k in [
        "single_parent_dies", "single_parent_dies_hukou_cancelled", "single_parent_grade_2",
        "single_parent_grade_3", "parent_dies_after_as_of", "parent_dies_on_since",
    ]})  # fmt: skip
    c["child_turns_18_on_as_of"] = home(("head", "19700101"), ("child", "20080302"))
    c["child_turns_18_after_as_of"] = home(("head", "19700101"), ("child", "20080303"))
    seeds = {k: home(*SINGLE_PARENT) for k in ["same", "outside"]}
    head = {k: h.people[0] for k, h in {**c, **seeds}.items()}
    spouse = {k: h.people[1] for k, h in c.items() if len(h.people) == 3}
    dead(spouse["other_parent_dead_in_registry"])
    feed(
        "prisoner",
        [
            prisoner(spouse["other_parent_in_prison"], d("2025-06-01")),
            prisoner(
                spouse["other_parent_released"], d("2025-06-01"), status="刑满释放",
                released=d("2026-01-10"),
            ),
            prisoner(head["other_parent_mental_3"], DAY),
            prisoner(head["other_parent_physical_3"], DAY),
        ],
    )  # fmt: skip
    feed(
        "disability_certificate",
        [
            certificate(spouse["other_parent_mental_3"], d("2020-05-01"), "三级", "精神"),
            certificate(spouse["other_parent_physical_3"], d("2020-05-01"), "三级"),
            certificate(head["single_parent_grade_2"], DAY, "二级"),
            certificate(head["single_parent_grade_3"], DAY, "三级"),
        ],
    )
    deaths = [
        death(head["single_parent_dies_hukou_cancelled"], DAY, hukou_cancelled=AS_OF),
        death(head["parent_dies_after_as_of"], AFTER),
        death(head["parent_dies_on_since"], SINCE),
    ]
    deaths += [
        death(head[k], DAY)
        for k in [
            "other_parent_able", "other_parent_in_prison", "other_parent_released",
            "other_parent_dead_in_registry", "single_parent_dies", "child_turns_18_on_as_of",
            "child_turns_18_after_as_of", *seeds,
        ]
    ]  # fmt: skip
    feed("death_registration", deaths)
    monitor(AS_OF, since=SINCE)

    assert alerted("child_guardian_loss", c) == {
        "other_parent_in_prison", "other_parent_mental_3", "other_parent_dead_in_registry",
        "single_parent_dies", "single_parent_dies_hukou_cancelled", "single_parent_grade_2",
        "child_turns_18_after_as_of",
    }  # fmt: skip
    a = alert_of("child_guardian_loss", c["single_parent_dies"])
    assert (a.severity, a.person_id) == ("red", c["single_parent_dies"].people[1].pk)
    assert a.summary == "未成年子女的监护人死亡、服刑或重度残疾，家中已无其他有能力的监护人"
    assert a.evidence[0]["interface"] == "death_registration"
    assert (
        alert_of("child_guardian_loss", c["other_parent_mental_3"]).evidence[0]["interface"]
        == "prisoner"
    )
    assert (
        alert_of("child_guardian_loss", c["single_parent_grade_2"]).evidence[0]["interface"]
        == "disability_certificate"
    )

    header = rule_header("child_guardian_loss")
    assert (header.suppress_days, header.worsen) == (365, 1.0)
    close_as_raised("child_guardian_loss", within=[seeds["same"]], outside=[seeds["outside"]])
    run = monitor(AS_OF, since=SINCE)
    check_second_run(run, "child_guardian_loss", new=[seeds["outside"]], suppressed=[seeds["same"]])


# ------------------------------------------------------------------ elderly_alone


def test_elderly_alone(home, feed, monitor, users):
    """A person turning 80 after SINCE and up to the as-of date who is the household's only
    living member; a county's own age; suppressed for ten years."""
    set_param(users, "monitor.elderly.alone_age", 75, scope="370602", on=d("2026-01-01"))
    c = {
        "turns_80_on_as_of": home(("head", "19460302")),
        "turns_80_day_after_as_of": home(("head", "19460303")),
        "turns_80_on_since": home(("head", "19460201")),
        "turns_80_day_after_since": home(("head", "19460202")),
        "lives_with_spouse": home(("head", "19460220"), ("spouse", "19500505")),
        "widowed": home(("head", "19460220"), ("spouse", "19450505")),
        "dead": home(("head", "19460220")),
        "zhifu_turns_75": home(("head", "19510220"), village=ZF),
        "zhifu_turns_80": home(("head", "19460220"), village=ZF),
        "fushan_turns_75": home(("head", "19510220")),
    }
    seeds = {k: home(("head", "19460220")) for k in ["same", "outside"]}
    dead(c["widowed"].people[1])
    dead(c["dead"].people[0])
    monitor(AS_OF, since=SINCE)

    assert alerted("elderly_alone", c) == {
        "turns_80_on_as_of", "turns_80_day_after_since", "widowed", "zhifu_turns_75",
    }  # fmt: skip
    a = alert_of("elderly_alone", c["turns_80_on_as_of"])
    assert (a.severity, a.person_id) == ("yellow", c["turns_80_on_as_of"].people[0].pk)
    assert a.summary == "独居老人年满80周岁"
    assert a.event_first == AS_OF
    assert a.evidence[0]["interface"] == "registry_persons"
    assert alert_of("elderly_alone", c["zhifu_turns_75"]).summary == "独居老人年满75周岁"

    header = rule_header("elderly_alone")
    assert (header.suppress_days, header.worsen) == (3650, 1.0)
    close_as_raised("elderly_alone", within=[seeds["same"]], outside=[seeds["outside"]])
    run = monitor(AS_OF, since=SINCE)
    check_second_run(run, "elderly_alone", new=[seeds["outside"]], suppressed=[seeds["same"]])


# ------------------------------------------------------------------ disaster_low_income


def loss(household, on: dt.date, loss_type: str = "房屋倒塌", kind: str = "洪涝"):
    return row(
        household.people[0],
        region_code=household.region_id,
        disaster_type=kind,
        disaster_date=on,
        loss_type=loss_type,
        direct_loss="20000",
    )


def weather(region: str, level: str, on: dt.date, number: str):
    return {
        "warning_id": number,
        "region_code": region,
        "warning_type": "暴雨",
        "level": level,
        "issue_date": on,
    }


def low_income_roll(household, category: str = "低保边缘家庭"):
    head = household.people[0]
    return [
        row(
            p,
            head_id_number=id_of(head),
            region_code=household.region_id,
            category=category,
            identified_date="2025-06-01",
            roll_date=ROLL,
            status="有效",
        )
        for p in household.people
    ]


def test_disaster_low_income(home, feed, monitor, users):
    """A disaster loss reported by a household in the low-income range (低保, 特困, 边缘, 防返贫),
    or a red weather warning over its area; a county's own level (orange); suppressed 30 days
    unless the level rises (checked in real time, with runs 29 and 30 days after the first)."""
    set_param(users, "monitor.weather.min_level", 3, scope="370602", on=d("2026-01-01"))
    c = {k: home() for k in [
        "dibao_house_collapsed", "tekun_house_collapsed", "near_dibao_crops",
        "relapse_watch_damaged", "relapse_risk_eliminated", "not_low_income", "dibao_exited",
        "dibao_loss_on_since", "dibao_loss_after_as_of",
    ]}  # fmt: skip
    c["fuxin_dibao_red"] = home(village=FX)
    c["fuxin_not_low_income_red"] = home(village=FX)
    c["rural_dibao_orange"] = home(village=QY_RURAL)
    c["zhifu_dibao_orange"] = home(village=ZF)
    dibao_households = [
        c[k] for k in [
            "dibao_house_collapsed", "dibao_loss_on_since", "dibao_loss_after_as_of",
            "fuxin_dibao_red", "rural_dibao_orange", "zhifu_dibao_orange",
        ]
    ]  # fmt: skip
    feed("dibao_roll", dibao_roll(*dibao_households))
    feed("dibao_roll", dibao_roll(c["dibao_exited"], status="停保"))
    feed("tekun_roll", tekun_roll(c["tekun_house_collapsed"].people[0]))
    feed("low_income_roll", low_income_roll(c["near_dibao_crops"]))
    feed(
        "relapse_watch",
        relapse(c["relapse_watch_damaged"]) + relapse(c["relapse_risk_eliminated"], "风险已消除"),
    )
    feed(
        "disaster_loss",
        [
            loss(c["dibao_house_collapsed"], DAY),
            loss(c["tekun_house_collapsed"], DAY),
            loss(c["near_dibao_crops"], DAY, "农作物受灾"),
            loss(c["relapse_watch_damaged"], DAY, "房屋严重损坏"),
            loss(c["relapse_risk_eliminated"], DAY),
            loss(c["not_low_income"], DAY),
            loss(c["dibao_exited"], DAY),
            loss(c["dibao_loss_on_since"], SINCE),
            loss(c["dibao_loss_after_as_of"], AFTER),
        ],
    )
    feed(
        "weather_warning",
        [
            weather("370611002", "红色", DAY, "W1"),  # the whole 福新街道
            weather(QY_RURAL, "橙色", DAY, "W2"),  # below the city's minimum (red)
            weather(QY_RURAL, "红色", AFTER, "W3"),  # after the as-of date
            weather("370602", "橙色", DAY, "W4"),  # 芝罘区: orange is enough there
        ],
    )
    monitor(AS_OF, since=SINCE)

    assert alerted("disaster_low_income", c) == {
        "dibao_house_collapsed", "tekun_house_collapsed", "near_dibao_crops",
        "relapse_watch_damaged", "fuxin_dibao_red", "zhifu_dibao_orange",
    }  # fmt: skip
    a = alert_of("disaster_low_income", c["dibao_house_collapsed"])
    assert (a.severity, a.kind, a.magnitude) == ("orange", "risk", 5.0)
    assert a.summary == "低收入家庭受灾或所在区域发布极端天气预警（级别5）"
    assert a.evidence[0]["interface"] == "disaster_loss"
    assert alert_of("disaster_low_income", c["near_dibao_crops"]).magnitude == 3.0
    assert alert_of("disaster_low_income", c["relapse_watch_damaged"]).magnitude == 4.0
    w = alert_of("disaster_low_income", c["fuxin_dibao_red"])
    assert (w.magnitude, w.person_id, w.evidence[0]["interface"]) == (4.0, None, "weather_warning")
    assert alert_of("disaster_low_income", c["zhifu_dibao_orange"]).magnitude == 3.0

    # suppression in real time: 30 days, unless the level rises (worsen 1.01)
    header = rule_header("disaster_low_income")
    assert (header.suppress_days, header.worsen) == (30, 1.01)
    from doudi.monitoring.models import Alert

    same, worse = c["fuxin_dibao_red"], c["near_dibao_crops"]
    Alert.objects.filter(rule="disaster_low_income", household__in=[same, worse]).update(
        status="closed", outcome="no_action"
    )
    feed("disaster_loss", [loss(worse, AS_OF + dt.timedelta(days=3))])  # collapsed: level 5
    day29, day30 = AS_OF + dt.timedelta(days=29), AS_OF + dt.timedelta(days=30)
    run = monitor(day29, since=SINCE)
    assert run.summary["rules"]["disaster_low_income"]["suppress"] == 1
    assert alerted_on("disaster_low_income", same) == [AS_OF]
    assert alerted_on("disaster_low_income", worse) == [AS_OF, day29]
    # the events dated after the first as-of date are raised now that the as-of date reached them
    assert run.summary["rules"]["disaster_low_income"]["new"] == 3
    assert alerted_on("disaster_low_income", c["dibao_loss_after_as_of"]) == [day29]
    assert alerted_on("disaster_low_income", c["rural_dibao_orange"]) == [day29]
    run = monitor(day30, since=SINCE)
    assert run.summary["rules"]["disaster_low_income"]["suppress"] == 0
    assert run.summary["rules"]["disaster_low_income"]["new"] == 1
    assert alerted_on("disaster_low_income", same) == [AS_OF, day30]


def alerted_on(code: str, household) -> list[dt.date]:
    from doudi.monitoring.models import Alert

    return list(
        Alert.objects.filter(rule=code, household=household)
        .order_by("id")
        .values_list("raised_on", flat=True)
    )


# ------------------------------------------------------------------ entitlement_gap


def test_entitlement_gap(home, feed, monitor):
    """The latest sweep (dated in the run's window) found a household entitled to 低保, or with a
    特困 member, that receives neither; 边缘 households are not raised; suppressed 365 days."""
    c = {k: home() for k in [
        "dibao_not_received", "dibao_received", "dibao_roll_exited", "near_dibao_only",
        "not_entitled", "no_income_data",
    ]}  # fmt: skip
    c["tekun_alone"] = home(("head", "19500101"))
    c["tekun_member_rest_not_on_dibao"] = home(("head", "19500101"), ("spouse", "19520101"))
    seeds = {k: home() for k in ["same", "outside"]}
    for k in ["dibao_not_received", "dibao_received", "dibao_roll_exited", *seeds]:
        declare({**c, **seeds}[k], "500")
    declare(c["near_dibao_only"], "1500")
    declare(c["not_entitled"], "9000")
    declare(c["tekun_alone"], "300")
    declare(c["tekun_member_rest_not_on_dibao"], "300", "200")
    feed("dibao_roll", dibao_roll(c["dibao_received"]))
    feed("dibao_roll", dibao_roll(c["dibao_roll_exited"], status="停保"))
    feed(
        "tekun_roll",
        tekun_roll(c["tekun_alone"].people[0], c["tekun_member_rest_not_on_dibao"].people[0]),
    )
    sweep_run = sweep(ROLL)
    # a window that starts on the sweep's date has no new classification to check
    run = monitor(AS_OF, since=ROLL)
    assert run.summary["rules"]["entitlement_gap"]["evidence_rows"] == 0
    monitor(AS_OF, since=SINCE)

    assert alerted("entitlement_gap", c) == {
        "dibao_not_received", "dibao_roll_exited", "tekun_member_rest_not_on_dibao",
    }  # fmt: skip
    a = alert_of("entitlement_gap", c["dibao_not_received"])
    assert (a.severity, a.kind, a.person_id) == ("yellow", "risk", None)
    assert (a.count_n, a.amount, a.event_first) == (1, Decimal("569.00"), ROLL)
    assert a.summary == "最近一次全市认定为1类救助对象，但未在保"
    assert a.evidence[0]["interface"] == "policy_sweep"
    assert a.evidence[0]["file"] == f"policy/sweeps/run-{sweep_run.pk}/households.parquet"

    header = rule_header("entitlement_gap")
    assert (header.suppress_days, header.worsen) == (365, 1.0)
    close_as_raised("entitlement_gap", within=[seeds["same"]], outside=[seeds["outside"]])
    run = monitor(AS_OF, since=SINCE)
    check_second_run(run, "entitlement_gap", new=[seeds["outside"]], suppressed=[seeds["same"]])


# ------------------------------------------------------------------ income_above_standard


def test_income_above_standard(home, feed, monitor, users):
    """A 低保 household whose per-capita income in the latest sweep is not below the standard of
    its county and area on the as-of date; suppressed 180 days unless the income rises."""
    set_param(users, "dibao.standard.urban", 1200, scope="370602", on=d("2026-01-01"))
    set_param(users, "dibao.standard.urban", 1100, on=d("2026-04-01"))  # not yet in force
    c = {k: home() for k in [
        "at_standard", "below_standard", "not_recipient", "tekun_recipient", "no_income_data",
        "fushan_1100",
    ]}  # fmt: skip
    c["couple_average_at_standard"] = home(*COUPLE)
    c["single_person_dibao"] = home(*COUPLE)
    c["rural_at_standard"] = home(village=QY_RURAL)
    c["rural_below_standard"] = home(village=QY_RURAL)
    c["zhifu_1100"] = home(village=ZF)
    seeds = {k: home() for k in ["same", "worse", "outside"]}
    incomes = {
        "at_standard": ["1069"],
        "below_standard": ["1068.99"],
        "not_recipient": ["9000"],
        "tekun_recipient": ["9000"],
        "fushan_1100": ["1100"],
        "couple_average_at_standard": ["2000", "138"],
        # 单人保: a severely disabled member of a 边缘 household (income above the standard by
        # definition) receives 低保 alone; the household is no 低保 household
        "single_person_dibao": ["3000", "0"],
        "rural_at_standard": ["872"],
        "rural_below_standard": ["871.99"],
        "zhifu_1100": ["1100"],
        **{k: ["1069"] for k in seeds},
    }
    cases = {**c, **seeds}
    for k, amounts in incomes.items():
        declare(cases[k], *amounts)
    couple = c["single_person_dibao"]
    on_roll = [h for k, h in cases.items() if k not in ("not_recipient", "tekun_recipient")]
    feed(
        "dibao_roll",
        dibao_roll(*[h for h in on_roll if h is not couple])
        + dibao_roll(couple, single=(couple.people[1],)),
    )
    feed("tekun_roll", tekun_roll(c["tekun_recipient"].people[0]))
    sweep(ROLL)
    monitor(AS_OF, since=SINCE)

    assert alerted("income_above_standard", c) == {
        "at_standard", "couple_average_at_standard", "rural_at_standard", "fushan_1100",
    }  # fmt: skip
    a = alert_of("income_above_standard", c["at_standard"])
    assert (a.severity, a.kind, a.amount) == ("yellow", "reverse", Decimal("1069.00"))
    assert a.summary == "在保低保家庭人均月收入¥1069.00，已不低于低保标准"
    assert a.evidence[0]["interface"] == "policy_sweep"

    # suppression: 180 days; any rise of the income (worsen 1) in a newer sweep breaks through
    header = rule_header("income_above_standard")
    assert (header.suppress_days, header.worsen) == (180, 1.0)
    close_as_raised(
        "income_above_standard", within=[seeds["same"], seeds["worse"]], outside=[seeds["outside"]]
    )
    declare(seeds["worse"], "1070", on=AS_OF)
    sweep(AS_OF)
    run = monitor(AS_OF, since=SINCE)
    check_second_run(
        run,
        "income_above_standard",
        new=[seeds["worse"], seeds["outside"]],
        suppressed=[seeds["same"]],
    )
    assert alert_of_latest("income_above_standard", seeds["worse"]).amount == Decimal("1070.00")


# ------------------------------------------------------------------ recipient_death


def death_certificate(person, on: dt.date):
    return row(
        person, certificate_number=f"D{person.pk:08d}", death_date=on, institution="烟台山医院"
    )


def cremation(person, on: dt.date):
    return row(
        person, death_date=on, cremation_date=on + dt.timedelta(days=3), funeral_home="烟台市殡仪馆"
    )


def test_recipient_death(home, feed, monitor):
    """A person on the 低保 or 特困 roll found dead by 公安, 卫健 or the crematorium in the window;
    one alert with every record; suppressed for ten years."""
    c = {k: home() for k in [
        "certificate", "registration_hukou_cancelled", "cremation_only", "three_sources",
        "tekun", "not_recipient", "roll_exited", "died_after_as_of", "died_on_since",
    ]}  # fmt: skip
    c["spouse_in_recipient_household"] = home(*COUPLE)
    seeds = {k: home() for k in ["same", "outside"]}
    on_roll = [h for k, h in {**c, **seeds}.items() if k not in ("tekun", "not_recipient")]
    feed("dibao_roll", dibao_roll(*[h for h in on_roll if h is not c["roll_exited"]]))
    feed("dibao_roll", dibao_roll(c["roll_exited"], status="停保"))
    feed("tekun_roll", tekun_roll(c["tekun"].people[0]))
    p = {k: h.people[0] for k, h in {**c, **seeds}.items()}
    p["spouse_in_recipient_household"] = c["spouse_in_recipient_household"].people[1]
    feed(
        "death_certificate",
        [
            death_certificate(p[k], DAY)
            for k in [
                "certificate", "three_sources", "tekun", "not_recipient", "roll_exited",
                "spouse_in_recipient_household", *seeds,
            ]
        ]
        + [death_certificate(p["died_after_as_of"], AFTER), death_certificate(p["died_on_since"], SINCE)],
    )  # fmt: skip
    feed(
        "death_registration",
        [
            death(
                p["registration_hukou_cancelled"], DAY, hukou_cancelled=DAY + dt.timedelta(days=4)
            ),
            death(p["three_sources"], DAY),
        ],
    )
    feed("cremation", [cremation(p["cremation_only"], DAY), cremation(p["three_sources"], DAY)])
    monitor(AS_OF, since=SINCE)

    assert alerted("recipient_death", c) == {
        "certificate", "registration_hukou_cancelled", "cremation_only", "three_sources",
        "tekun", "spouse_in_recipient_household",
    }  # fmt: skip
    a = alert_of("recipient_death", c["certificate"])
    assert (a.severity, a.kind, a.person_id) == ("red", "reverse", p["certificate"].pk)
    assert a.summary == "在保救助对象死亡（1条死亡信息）"
    assert a.evidence[0]["interface"] == "death_certificate"
    three = alert_of("recipient_death", c["three_sources"])
    assert (three.count_n, three.evidence_n) == (3, 3)
    assert {e["interface"] for e in three.evidence} == {
        "death_certificate", "death_registration", "cremation",
    }  # fmt: skip
    spouse = alert_of("recipient_death", c["spouse_in_recipient_household"])
    assert spouse.person_id == p["spouse_in_recipient_household"].pk

    header = rule_header("recipient_death")
    assert (header.suppress_days, header.worsen) == (3650, 1.0)
    close_as_raised("recipient_death", within=[seeds["same"]], outside=[seeds["outside"]])
    run = monitor(AS_OF, since=SINCE)
    check_second_run(run, "recipient_death", new=[seeds["outside"]], suppressed=[seeds["same"]])


# ------------------------------------------------------------------ asset_acquired


def vehicle(person, on: dt.date, value: str = "80000", *, disability: str = "否"):
    return row(
        person,
        plate_number=f"鲁F{person.pk:05d}",
        vehicle_type="小型普通客车",
        registration_date=on,
        vehicle_value=value,
        disability_vehicle=disability,
    )


def estate(person, on: dt.date, status: str = "现势"):
    return row(
        person,
        certificate_number=f"鲁（2026）烟台市不动产权第{person.pk:07d}号",
        location="烟台市福山区清洋街道某小区1号楼",
        floor_area="89.50",
        registration_date=on,
        status=status,
    )


def test_asset_acquired(home, feed, monitor, users):
    """A member of a 低保/特困 household registers a vehicle (not a disability vehicle, worth at
    least the county's minimum) or a current property in the window; suppressed 180 days unless
    more are registered."""
    set_param(users, "monitor.vehicle.min_value", 50000, scope="370602", on=d("2026-01-01"))
    c = {k: home() for k in [
        "car", "cheap_car", "disability_vehicle", "house", "house_cancelled", "car_and_house",
        "tekun_car", "not_recipient_car", "car_on_since", "car_after_as_of",
    ]}  # fmt: skip
    c["spouse_car"] = home(*COUPLE)
    c["zhifu_car_49999_99"] = home(village=ZF)
    c["zhifu_car_50000"] = home(village=ZF)
    seeds = {k: home() for k in ["same", "worse", "outside"]}
    cases = {**c, **seeds}
    feed(
        "dibao_roll",
        dibao_roll(*[h for k, h in cases.items() if k not in ("tekun_car", "not_recipient_car")]),
    )
    feed("tekun_roll", tekun_roll(c["tekun_car"].people[0]))
    p = {k: h.people[0] for k, h in cases.items()}
    feed(
        "vehicle_registration",
        [
            vehicle(p["car"], DAY),
            vehicle(p["cheap_car"], DAY, "1500"),
            vehicle(p["disability_vehicle"], DAY, "30000", disability="是"),
            vehicle(p["car_and_house"], DAY),
            vehicle(p["tekun_car"], DAY),
            vehicle(p["not_recipient_car"], DAY),
            vehicle(p["car_on_since"], SINCE),
            vehicle(p["car_after_as_of"], AFTER),
            vehicle(c["spouse_car"].people[1], DAY),
            vehicle(p["zhifu_car_49999_99"], DAY, "49999.99"),
            vehicle(p["zhifu_car_50000"], DAY, "50000"),
            *[vehicle(p[k], DAY) for k in seeds],
        ],
    )
    feed(
        "real_estate",
        [
            estate(p["house"], DAY),
            estate(p["house_cancelled"], DAY, "注销"),
            estate(p["car_and_house"], DAY + dt.timedelta(days=2)),
        ],
    )
    monitor(AS_OF, since=SINCE)

    assert alerted("asset_acquired", c) == {
        "car", "cheap_car", "house", "car_and_house", "tekun_car", "spouse_car", "zhifu_car_50000",
    }  # fmt: skip
    a = alert_of("asset_acquired", c["car"])
    assert (a.severity, a.kind, a.person_id) == ("orange", "reverse", p["car"].pk)
    assert (a.count_n, a.amount) == (1, Decimal("80000.00"))
    assert a.summary == "在保家庭成员新登记车辆或房产1项"
    assert a.evidence[0]["interface"] == "vehicle_registration"
    both = alert_of("asset_acquired", c["car_and_house"])
    assert (both.count_n, both.evidence_n, both.evidence[0]["interface"]) == (2, 2, "real_estate")

    # suppression: 180 days; one more vehicle or property (worsen 1.01) breaks through
    header = rule_header("asset_acquired")
    assert (header.suppress_days, header.worsen) == (180, 1.01)
    close_as_raised(
        "asset_acquired", within=[seeds["same"], seeds["worse"]], outside=[seeds["outside"]]
    )
    feed("real_estate", [estate(p["worse"], DAY + dt.timedelta(days=5))])
    run = monitor(AS_OF, since=SINCE)
    check_second_run(
        run, "asset_acquired", new=[seeds["worse"], seeds["outside"]], suppressed=[seeds["same"]]
    )


# ------------------------------------------------------------------ business_registered


def business(person, on: dt.date, status: str = "存续", n: int = 1):
    return row(
        person,
        credit_code=f"92370611MA{person.pk:06d}{n:02d}",
        entity_name="烟台市福山区某某小吃店",
        established_date=on,
        status=status,
        role="经营者",
    )


def test_business_registered(home, feed, monitor):
    """A member of a 低保/特困 household becomes operator, representative or investor of a
    business (still in existence) established in the window; suppressed 180 days unless more."""
    c = {k: home() for k in [
        "active", "cancelled", "revoked", "tekun_active", "not_recipient", "established_on_since",
        "established_after_as_of",
    ]}  # fmt: skip
    c["spouse_active"] = home(*COUPLE)
    seeds = {k: home() for k in ["same", "worse", "outside"]}
    cases = {**c, **seeds}
    feed(
        "dibao_roll",
        dibao_roll(*[h for k, h in cases.items() if k not in ("tekun_active", "not_recipient")]),
    )
    feed("tekun_roll", tekun_roll(c["tekun_active"].people[0]))
    p = {k: h.people[0] for k, h in cases.items()}
    feed(
        "business_registration",
        [
            business(p["cancelled"], DAY, "注销"),
            business(p["revoked"], DAY, "吊销"),
            business(p["established_on_since"], SINCE),
            business(p["established_after_as_of"], AFTER),
            business(c["spouse_active"].people[1], DAY),
            *[business(p[k], DAY) for k in ["active", "tekun_active", "not_recipient", *seeds]],
        ],
    )
    monitor(AS_OF, since=SINCE)

    assert alerted("business_registered", c) == {"active", "tekun_active", "spouse_active"}
    a = alert_of("business_registered", c["active"])
    assert (a.severity, a.kind, a.person_id, a.count_n) == ("orange", "reverse", p["active"].pk, 1)
    assert a.summary == "在保家庭成员新登记市场主体1户"
    assert a.evidence[0]["interface"] == "business_registration"

    header = rule_header("business_registered")
    assert (header.suppress_days, header.worsen) == (180, 1.01)
    close_as_raised(
        "business_registered", within=[seeds["same"], seeds["worse"]], outside=[seeds["outside"]]
    )
    feed("business_registration", [business(p["worse"], DAY + dt.timedelta(days=5), n=2)])
    run = monitor(AS_OF, since=SINCE)
    check_second_run(
        run,
        "business_registered",
        new=[seeds["worse"], seeds["outside"]],
        suppressed=[seeds["same"]],
    )


# ------------------------------------------------------------------ deposits_over_limit


def deposit(person, balance: str, on: dt.date = DAY, *, account: str = "1"):
    return row(
        person,
        institution="中国工商银行烟台福山支行",
        asset_type="活期存款",
        balance=balance,
        query_date=on,
        account_number=f"62220{person.pk:06d}{account}",
    )


def test_deposits_over_limit(home, feed, monitor, users):
    """The latest balances of a 低保/特困 household's living members, per head, above 24 months of
    the 低保 standard (urban 1,069 -> 25,656; rural 872 -> 20,928), checked when a new query
    arrives; a county's own number of months; suppressed 180 days unless it reaches 1.5×."""
    set_param(users, "assets.financial_months", 36, scope="370602", on=d("2026-01-01"))
    c = {k: home() for k in [
        "at_limit", "one_yuan_over", "two_accounts_over", "later_query_lower",
        "later_query_after_as_of", "old_query_only", "not_recipient", "fushan_30000",
    ]}  # fmt: skip
    c.update({k: home(*COUPLE) for k in ["couple_at_limit", "couple_over", "couple_one_dead"]})
    c["rural_at_limit"] = home(village=QY_RURAL)
    c["rural_over"] = home(village=QY_RURAL)
    c["zhifu_30000"] = home(village=ZF)
    seeds = {k: home() for k in ["same", "worse", "slightly_worse", "outside"]}
    cases = {**c, **seeds}
    feed("dibao_roll", dibao_roll(*[h for k, h in cases.items() if k != "not_recipient"]))
    dead(c["couple_one_dead"].people[1])
    p = {k: h.people[0] for k, h in cases.items()}
    spouse = {k: h.people[1] for k, h in c.items() if len(h.people) == 2}
    feed(
        "bank_deposit",
        [
            deposit(p["at_limit"], "25656.00"),
            deposit(p["one_yuan_over"], "25657.00"),
            deposit(p["two_accounts_over"], "20000"),
            deposit(p["two_accounts_over"], "5657", account="2"),
            deposit(p["couple_at_limit"], "30000"),
            deposit(spouse["couple_at_limit"], "21312"),
            deposit(p["couple_over"], "30000"),
            deposit(spouse["couple_over"], "21314"),
            deposit(p["couple_one_dead"], "25657"),  # per living member: 25,657
            deposit(p["rural_at_limit"], "20928"),
            deposit(p["rural_over"], "20929"),
            deposit(p["later_query_lower"], "90000", d("2026-02-10")),
            deposit(p["later_query_lower"], "100", d("2026-02-25")),
            deposit(p["later_query_after_as_of"], "100"),
            deposit(p["later_query_after_as_of"], "90000", AFTER),
            deposit(p["old_query_only"], "90000", d("2026-01-15")),
            deposit(p["not_recipient"], "90000"),
            deposit(p["fushan_30000"], "30000"),
            deposit(p["zhifu_30000"], "30000"),
            *[deposit(p[k], "25657") for k in seeds],
        ],
    )
    monitor(AS_OF, since=SINCE)

    assert alerted("deposits_over_limit", c) == {
        "one_yuan_over", "two_accounts_over", "couple_over", "couple_one_dead", "rural_over",
        "fushan_30000",
    }  # fmt: skip
    a = alert_of("deposits_over_limit", c["one_yuan_over"])
    assert (a.severity, a.kind, a.amount) == ("orange", "reverse", Decimal("25657.00"))
    assert a.summary == "在保家庭人均金融资产¥25657.00，超过限额"
    assert a.evidence[0]["interface"] == "bank_deposit"
    assert alert_of("deposits_over_limit", c["couple_over"]).amount == Decimal("25657.00")

    # suppression: 180 days; per-head assets of 1.5 times the last alert's break through
    header = rule_header("deposits_over_limit")
    assert (header.suppress_days, header.worsen) == (180, 1.5)
    close_as_raised(
        "deposits_over_limit",
        within=[seeds["same"], seeds["worse"], seeds["slightly_worse"]],
        outside=[seeds["outside"]],
    )
    later = DAY + dt.timedelta(days=5)
    feed(
        "bank_deposit",
        [
            deposit(p["worse"], "38486", later),  # >= 1.5 x 25,657 = 38,485.5
            deposit(p["slightly_worse"], "38485", later),
        ],
    )
    run = monitor(AS_OF, since=SINCE)
    check_second_run(
        run,
        "deposits_over_limit",
        new=[seeds["worse"], seeds["outside"]],
        suppressed=[seeds["same"], seeds["slightly_worse"]],
    )


# ------------------------------------------------------------------ recipient_prison


def test_recipient_prison(home, feed, monitor):
    """A person on the 低保 or 特困 roll admitted to prison in the window and in custody on the
    as-of date; suppressed 365 days."""
    c = {k: home() for k in [
        "in_custody", "release_due_after_as_of", "released", "paroled", "tekun_in_custody",
        "not_recipient", "admitted_on_since", "admitted_after_as_of",
    ]}  # fmt: skip
    seeds = {k: home() for k in ["same", "outside"]}
    cases = {**c, **seeds}
    feed(
        "dibao_roll",
        dibao_roll(
            *[h for k, h in cases.items() if k not in ("tekun_in_custody", "not_recipient")]
        ),
    )
    feed("tekun_roll", tekun_roll(c["tekun_in_custody"].people[0]))
    p = {k: h.people[0] for k, h in cases.items()}
    feed(
        "prisoner",
        [
            prisoner(p["release_due_after_as_of"], DAY, released=AFTER),
            prisoner(p["released"], d("2026-02-05"), status="刑满释放", released=d("2026-02-28")),
            prisoner(p["paroled"], DAY, status="假释"),
            prisoner(p["admitted_on_since"], SINCE),
            prisoner(p["admitted_after_as_of"], AFTER),
            *[
                prisoner(p[k], DAY)
                for k in ["in_custody", "tekun_in_custody", "not_recipient", *seeds]
            ],
        ],
    )
    monitor(AS_OF, since=SINCE)

    assert alerted("recipient_prison", c) == {
        "in_custody", "release_due_after_as_of", "tekun_in_custody",
    }  # fmt: skip
    a = alert_of("recipient_prison", c["in_custody"])
    assert (a.severity, a.kind, a.person_id) == ("orange", "reverse", p["in_custody"].pk)
    assert a.summary == "在保救助对象入狱服刑"
    assert a.evidence[0]["interface"] == "prisoner"

    header = rule_header("recipient_prison")
    assert (header.suppress_days, header.worsen) == (365, 1.0)
    close_as_raised("recipient_prison", within=[seeds["same"]], outside=[seeds["outside"]])
    run = monitor(AS_OF, since=SINCE)
    check_second_run(run, "recipient_prison", new=[seeds["outside"]], suppressed=[seeds["same"]])


# ------------------------------------------------------------------ incremental runs


def test_incremental_run_checks_new_and_late_rows_only(home, feed, monitor):
    """A run without ``since`` continues from the last one: rows it already checked (dated up to
    its as-of date and ingested before it) are not checked again; rows ingested since, even when
    dated long before (late data), are; and so are events dated after its as-of date."""
    recipients = {k: home() for k in ["died_before", "cremated_late", "business_late", "jailed"]}
    patients = {k: home() for k in ["chronic_before", "stay_late"]}
    turns_80 = home(("head", "19460305"))  # 80 on 2026-03-05
    cases = {**recipients, **patients, "turns_80": turns_80}
    feed("dibao_roll", dibao_roll(*recipients.values()))
    watched(feed, *patients.values())
    r = {k: h.people[0] for k, h in cases.items()}
    feed("death_certificate", [death_certificate(r["died_before"], DAY)])
    feed("chronic_disease_certification", [certification(r["chronic_before"], DAY)])
    feed("medical_inpatient", [stay(r["stay_late"], d("2025-12-01"), "15000")])
    feed("prisoner", [prisoner(r["jailed"], d("2026-03-04"))])  # after the first as-of date
    first = monitor(AS_OF, since=SINCE)
    assert first.mode == "full"
    assert alerted("recipient_death", cases) == {"died_before"}
    assert alerted("chronic_disease", cases) == {"chronic_before"}
    assert not alerted("recipient_prison", cases) and not alerted("elderly_alone", cases)

    # late rows about events dated before SINCE, received after the first run
    feed("cremation", [cremation(r["cremated_late"], d("2026-01-10"))])
    feed("business_registration", [business(r["business_late"], d("2026-01-10"))])
    feed("medical_inpatient", [stay(r["stay_late"], d("2026-01-20"), "6000")])  # 21,000 a year
    second = monitor(AS_OF + dt.timedelta(days=7))
    assert second.mode == "incremental"
    rules = second.summary["rules"]
    assert rules["recipient_death"]["evidence_rows"] == 1  # the cremation, not the first death
    assert rules["chronic_disease"]["evidence_rows"] == 0
    assert alerted("recipient_death", cases) == {"died_before", "cremated_late"}
    assert alerted("business_registered", cases) == {"business_late"}
    assert alerted("inpatient_cost", cases) == {"stay_late"}
    assert alert_of("inpatient_cost", patients["stay_late"]).evidence_n == 2
    assert alerted("recipient_prison", cases) == {"jailed"}
    assert alerted("elderly_alone", cases) == {"turns_80"}
    assert rules["recipient_death"]["update"] == 0
