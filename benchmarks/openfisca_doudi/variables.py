"""The inputs and formulas: doudi's rule stages (``engine/rules/NN_*.sql``) as OpenFisca variables.

Every variable is defined for a day, the as-of date (``period.start``), whose parameters apply.
Money is integer fen in 64 bits (``Fen``: OpenFisca's ``int`` is 32-bit and its ``float`` 32-bit,
neither exact for a household's financial assets in fen); the parameters are yuan in the YAML
and become fen in the formulas. A value that may be unknown comes with a ``*_known`` boolean;
yes / no / unknown outcomes are ``tristate`` integers (0 no, 1 unknown, 2 yes). Each block names
the SQL stage it follows.
"""

from __future__ import annotations

import numpy as np
from openfisca_core.indexed_enums import Enum
from openfisca_core.parameters import ParameterNodeAtInstant
from openfisca_core.periods import DateUnit
from openfisca_core.variables import Variable

from openfisca_doudi.entities import Household, Person
from openfisca_doudi.tristate import NO, UNKNOWN, YES, coalesce, compare, t_and, t_not, t_or

DAY = DateUnit.DAY


class Fen(Variable):
    """An integer amount in fen, stored in 64 bits (subclasses declare value_type = int)."""

    def __init__(self, baseline_variable=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(baseline_variable)
        self.dtype = np.int64


class Status(Enum):
    present = "在家 / present"
    prison = "服刑 / in prison"
    drug_rehab = "强制隔离戒毒 / compulsory drug rehabilitation"
    missing = "失踪 / missing"
    clergy_apart = "宗教教职人员另住 / clergy living apart"
    dead = "死亡 / dead"
    unknown = "未知 / unknown"


class DisabilityCategory(Enum):
    none = "无 / none"
    visual = "视力 / visual"
    hearing = "听力 / hearing"
    speech = "言语 / speech"
    physical = "肢体 / physical"
    intellectual = "智力 / intellectual"
    mental = "精神 / mental"
    multiple = "多重 / multiple"


class CareLevel(Enum):
    none = "无 / none"
    self = "全自理 / self-care"
    partial = "半护理 / partial care"
    full = "全护理 / full care"


NOT_COUNTED = (Status.prison, Status.drug_rehab, Status.missing, Status.clergy_apart, Status.dead)


# ----------------------------------------------------------------------------- parameters


def fen(value: object) -> np.ndarray:
    return np.round(np.asarray(value, dtype=np.float64) * 100).astype(np.int64)


def bp(value: object) -> np.ndarray:
    return np.round(np.asarray(value, dtype=np.float64) * 10000).astype(np.int64)


def by_county(node: object, county: np.ndarray) -> np.ndarray:
    """A parameter's value for each county: the ``city`` child, or the ``county_XXXXXX`` one."""
    if not isinstance(node, ParameterNodeAtInstant):
        return np.full(len(county), float(node))  # type: ignore[arg-type]
    out = np.full(len(county), float(node.city))
    for key in node:
        if key.startswith("county_"):
            out[county == int(key[len("county_") :])] = float(node[key])
    return out


def ymd(period) -> int:  # type: ignore[no-untyped-def]
    d = period.start
    return d.year * 10000 + d.month * 100 + d.day


def months(ymd_values: np.ndarray) -> np.ndarray:
    return (ymd_values // 10000) * 12 + (ymd_values // 100) % 100


# ----------------------------------------------------------------------------- inputs: persons


def _input(name: str, entity, value_type, label: str, base=Variable):  # type: ignore[no-untyped-def]
    attrs = {
        "value_type": value_type,
        "entity": entity,
        "definition_period": DAY,
        "label": label,
    }
    return type(name, (base,), attrs)


def _enum_input(name: str, entity, enum, default, label: str):  # type: ignore[no-untyped-def]
    attrs = {
        "value_type": Enum,
        "possible_values": enum,
        "default_value": default,
        "entity": entity,
        "definition_period": DAY,
        "label": label,
    }
    return type(name, (Variable,), attrs)


INCOME_TYPES = (
    "wage",
    "business",
    "property",
    "transfer",
    "pension",
    "basic_pension",
    "support",
    "declared",
)

PERSON_INPUTS = [
    _input("birth_ymd", Person, int, "出生日期 YYYYMMDD"),
    _input("birth_known", Person, bool, "出生日期已知"),
    _enum_input("status", Person, Status, Status.present, "状态 / status"),
    _enum_input("dis_cat", Person, DisabilityCategory, DisabilityCategory.none, "残疾类别"),
    _input("dis_grade", Person, int, "残疾等级 (0 = 无)"),
    _input("self_care_failed", Person, int, "不能自理的日常活动项数"),
    _input("self_care_failed_known", Person, bool, "自理情况已知"),
    _input("seriously_ill", Person, bool, "重病"),
    _input("income_known", Person, bool, "收入已申报或已查得（且除基础养老金外各项已知）"),
    _input("basic_pension_known", Person, bool, "城乡居民基础养老金已知"),
    *[_input(f"inc_{t}", Person, int, f"月收入（分）：{t}", base=Fen) for t in INCOME_TYPES],
    _input("parents_n", Person, int, "列明的父母人数"),
    _input("parents_n_known", Person, bool, "父母已列明"),
    _input("parents_incapable_n", Person, int, "无抚养能力的父母人数"),
    _input("parents_incapable_known", Person, bool, "无抚养能力的父母人数已知"),
    _input("obligors_n_known", Person, bool, "户外赡养/抚养/扶养义务人已列明"),
    _input("obligors_able_n", Person, int, "户外有履行能力的义务人数（未列明为0）"),
]

HOUSEHOLD_INPUTS = [
    _input("county_code", Household, int, "区县代码"),
    _input("urban", Household, bool, "城市户（否则农村）"),
    _input("fin_fen", Household, int, "金融资产（分）", base=Fen),
    _input("fin_known", Household, bool, "金融资产已知"),
    _input("vehicles", Household, int, "非豁免机动车数"),
    _input("vehicles_known", Household, bool, "机动车已知"),
    _input("dwellings", Household, int, "住房套数"),
    _input("dwellings_known", Household, bool, "住房已知"),
    _input("business", Household, bool, "有登记经营主体"),
    _input("business_known", Household, bool, "经营主体已知"),
    *[
        v
        for k in ("medical", "education", "rehab")
        for v in (
            _input(f"rigid_{k}_fen", Household, int, f"近12个月刚性支出（分）：{k}", base=Fen),
            _input(f"rigid_{k}_known", Household, bool, f"刚性支出已知：{k}"),
        )
    ],
    _input("relapse_listed", Household, int, "防止返贫监测名单（三值）"),
    _input("sudden_ymd", Household, int, "突发困难日期 YYYYMMDD"),
    _input("sudden_known", Household, bool, "有突发困难日期"),
    _input("receiving_dibao_fen", Household, int, "在保月低保金（分）", base=Fen),
    _input("receiving_known", Household, bool, "在保"),
    _input("exit_start_ymd", Household, int, "渐退开始日期 YYYYMMDD"),
    _input("exit_start_known", Household, bool, "渐退开始日期已知"),
]


# ----------------------------------------------------------------------------- pm: member facts


class age(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "周岁（按基准日）"

    def formula(person, period, parameters):
        return (ymd(period) - person("birth_ymd", period)) // 10000


class counted(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "计入共同生活家庭成员（三值）"

    def formula(person, period, parameters):
        status = person("status", period)
        out = np.full(person.count, YES, dtype=np.int32)
        for s in NOT_COUNTED:
            out[status == s] = NO
        out[status == Status.unknown] = UNKNOWN
        return out


class severe(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "重度残疾（一、二级，或精神/智力三级）"

    def formula(person, period, parameters):
        grade = person("dis_grade", period)
        cat = person("dis_cat", period)
        mental = (cat == DisabilityCategory.mental) | (cat == DisabilityCategory.intellectual)
        return (grade == 1) | (grade == 2) | (mental & (grade == 3))


class labour_disability(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "因残疾无劳动能力"

    def formula(person, period, parameters):
        grade = person("dis_grade", period)
        cat = person("dis_cat", period)
        known = grade > 0
        mental = (cat == DisabilityCategory.mental) | (cat == DisabilityCategory.intellectual)
        return known & (
            (mental & (grade <= 3))
            | ((cat == DisabilityCategory.physical) & (grade <= 2))
            | ((cat == DisabilityCategory.visual) & (grade == 1))
        )


class income_tekun_fen(Fen):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "特困认定计入的本人月收入（不含基础养老金）"

    def formula(person, period, parameters):
        return sum(person(f"inc_{t}", period) for t in INCOME_TYPES if t != "basic_pension").astype(
            np.int64
        )


class income_fen(Fen):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "低保认定计入的本人月收入"

    def formula(person, period, parameters):
        return person("income_tekun_fen", period) + person("inc_basic_pension", period)


class income_fen_known(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "本人收入已知"

    def formula(person, period, parameters):
        return person("income_known", period) & person("basic_pension_known", period)


# ----------------------------------------------------------------------------- ph: households


class dibao_std(Fen):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "适用的低保标准（分/人·月）"

    def formula(household, period, parameters):
        p = parameters(period).dibao.standard
        county = household("county_code", period)
        return fen(
            np.where(
                household("urban", period), by_county(p.urban, county), by_county(p.rural, county)
            )
        )


class tekun_std(Fen):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "适用的特困基本生活标准（分/人·月）"

    def formula(household, period, parameters):
        p = parameters(period).tekun.standard
        county = household("county_code", period)
        return fen(
            np.where(
                household("urban", period), by_county(p.urban, county), by_county(p.rural, county)
            )
        )


class n_counted(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "计入的家庭成员人数"

    def formula(household, period, parameters):
        return household.sum(household.members("counted", period) == YES)


class a_fin(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "人均金融资产不超过上限（三值）"

    def formula(household, period, parameters):
        months_ = by_county(
            parameters(period).assets.financial_months, household("county_code", period)
        )
        limit = (
            months_.astype(np.int64)
            * household("dibao_std", period)
            * household("n_counted", period).astype(np.int64)
        )
        return compare(household("fin_fen", period) <= limit, household("fin_known", period))


class a_vehicles(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "无非豁免机动车（三值）"

    def formula(household, period, parameters):
        limit = by_county(parameters(period).assets.max_vehicles, household("county_code", period))
        return compare(household("vehicles", period) <= limit, household("vehicles_known", period))


class a_dwellings(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "住房不超过上限（三值）"

    def formula(household, period, parameters):
        limit = by_county(parameters(period).assets.max_dwellings, household("county_code", period))
        return compare(
            household("dwellings", period) <= limit, household("dwellings_known", period)
        )


class a_business(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "无登记经营主体（三值）"

    def formula(household, period, parameters):
        return compare(~household("business", period), household("business_known", period))


class assets_ok(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "财产符合规定（三值）"

    def formula(household, period, parameters):
        return t_and(
            household("a_fin", period),
            household("a_vehicles", period),
            household("a_dwellings", period),
            household("a_business", period),
        )


# ----------------------------------------------------------------------------- pob: obligors


class able_obligor(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "有履行能力（计入、在家、18至69岁、非重度残疾）"

    def formula(person, period, parameters):
        age_ = person("age", period)
        return (
            (person("counted", period) == YES)
            & (person("status", period) == Status.present)
            & person("birth_known", period)
            & (age_ >= 18)
            & (age_ < 70)
            & ~person("severe", period)
        )


class inhouse_able_n(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "同户有履行能力的法定义务人数"

    def formula(person, period, parameters):
        able = person("able_obligor", period)
        # person.household projects the household's sums back onto its members
        head = person.household.sum(able, role=Household.HEAD)
        spouse = person.household.sum(able, role=Household.SPOUSE)
        child = person.household.sum(able, role=Household.CHILD)
        is_head, is_spouse = person.has_role(Household.HEAD), person.has_role(Household.SPOUSE)
        return np.select(
            [
                is_head | is_spouse,
                person.has_role(Household.CHILD),
                person.has_role(Household.PARENT),
                person.has_role(Household.GRANDCHILD),
            ],
            [head + spouse + child - able, head + spouse, head, child],
            0,
        )


# ----------------------------------------------------------------------------- pt / ptr: 特困


class t_no_labour(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "无劳动能力（三值）"

    def formula(person, period, parameters):
        p = parameters(period).tekun
        county = person.household("county_code", period)
        age_, known = person("age", period), person("birth_known", period)
        return t_or(
            compare(age_ >= by_county(p.elderly_age, county), known),
            compare(age_ < by_county(p.minor_age, county), known),
            compare(person("labour_disability", period)),
        )


class t_no_livelihood(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "无生活来源（三值）"

    def formula(person, period, parameters):
        below = compare(
            person("income_tekun_fen", period) < person.household("dibao_std", period),
            person("income_known", period),
        )
        return t_and(below, person.household("assets_ok", period))


class t_no_obligor(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "无有履行能力的法定义务人（三值）"

    def formula(person, period, parameters):
        child_like = person("parents_n_known", period) & (
            person.has_role(Household.CHILD) | person.has_role(Household.GRANDCHILD)
        )
        parents_able = person("parents_n", period) - person("parents_incapable_n", period)
        n = np.where(child_like, parents_able, person("inhouse_able_n", period))
        n_known = np.where(child_like, person("parents_incapable_known", period), True)
        n = n + person("obligors_able_n", period)
        has = n_known & (n > 0)
        known_none = person("obligors_n_known", period) | child_like
        return np.where(has, NO, np.where(known_none, YES, UNKNOWN)).astype(np.int32)


class tekun(Variable):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "特困人员（三值）"

    def formula(person, period, parameters):
        return t_and(
            person("counted", period),
            person("t_no_labour", period),
            person("t_no_livelihood", period),
            person("t_no_obligor", period),
        )


class care_level(Variable):
    value_type = Enum
    possible_values = CareLevel
    default_value = CareLevel.none
    entity = Person
    definition_period = DAY
    label = "护理等级（特困人员）"

    def formula(person, period, parameters):
        failed = person("self_care_failed", period)
        ok = (person("tekun", period) == YES) & person("self_care_failed_known", period)
        return np.select(
            [ok & (failed >= 4), ok & (failed >= 1), ok],
            [CareLevel.full, CareLevel.partial, CareLevel.self],
            CareLevel.none,
        )


# ----------------------------------------------------------------------------- phc: household


class in_dibao_count(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "计入低保家庭人数（计入且非特困；特困未知者计入）"

    def formula(person, period, parameters):
        return (person("counted", period) == YES) & (person("tekun", period) != YES)


class n_dibao(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "计入低保的家庭成员人数"

    def formula(household, period, parameters):
        return household.sum(household.members("in_dibao_count", period))


class income_total_fen(Fen):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "家庭月收入（计入低保的成员）"

    def formula(household, period, parameters):
        dib = household.members("in_dibao_count", period)
        return household.sum(np.where(dib, household.members("income_fen", period), 0))


class income_total_known(Variable):
    value_type = bool
    entity = Household
    definition_period = DAY
    label = "家庭月收入已知"

    def formula(household, period, parameters):
        dib = household.members("in_dibao_count", period)
        unknown = dib & ~household.members("income_fen_known", period)
        return household.sum(unknown) == 0


class income_all_fen(Fen):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "全部计入成员的月收入"

    def formula(household, period, parameters):
        c = household.members("counted", period) == YES
        return household.sum(np.where(c, household.members("income_fen", period), 0))


class income_all_known(Variable):
    value_type = bool
    entity = Household
    definition_period = DAY
    label = "全部计入成员的月收入已知"

    def formula(household, period, parameters):
        c = household.members("counted", period) == YES
        return household.sum(c & ~household.members("income_fen_known", period)) == 0


class has_tekun(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "有特困成员（三值）"

    def formula(household, period, parameters):
        # Kleene OR over the members: the maximum
        return household.max(household.members("tekun", period))


class d_income(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "月人均收入低于低保标准（三值）"

    def formula(household, period, parameters):
        n = household("n_dibao", period).astype(np.int64)
        below = compare(
            household("income_total_fen", period) < household("dibao_std", period) * n,
            household("income_total_known", period),
        )
        return t_and(compare(n > 0), below)


class n_income(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "月人均收入低于低保标准的倍数（三值）"

    def formula(household, period, parameters):
        mult = bp(
            by_county(
                parameters(period).near_dibao.income_multiplier, household("county_code", period)
            )
        )
        n = household("n_dibao", period).astype(np.int64)
        return compare(
            household("income_total_fen", period) * 10000
            < mult * household("dibao_std", period) * n,
            household("income_total_known", period),
        )


class r_income(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "年人均收入低于上年度人均可支配收入（三值）"

    def formula(household, period, parameters):
        ceiling = fen(
            by_county(
                parameters(period).rigid_expense.income_ceiling_annual,
                household("county_code", period),
            )
        )
        n = household("n_dibao", period).astype(np.int64)
        below = compare(
            household("income_total_fen", period) * 12 < ceiling * n,
            household("income_total_known", period),
        )
        return t_and(compare(n > 0), below)


class r_share(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "刚性支出超过家庭年收入的比例（三值）"

    def formula(household, period, parameters):
        share = bp(
            by_county(
                parameters(period).rigid_expense.expense_share, household("county_code", period)
            )
        )
        kinds = ("medical", "education", "rehab")
        total = sum(household(f"rigid_{k}_fen", period) for k in kinds)
        known = np.logical_or.reduce([household(f"rigid_{k}_known", period) for k in kinds])
        over = compare(
            total * 10000 > share * household("income_total_fen", period) * 12,
            household("income_total_known", period),
        )
        return np.where(known, over, UNKNOWN).astype(np.int32)


class relapse_watch(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "防止返贫监测对象（三值；城市户不在名单）"

    def formula(household, period, parameters):
        listed = household("relapse_listed", period)
        return np.where(household("urban", period), np.where(listed == YES, YES, NO), listed)


class other_difficulty(Variable):
    value_type = bool
    entity = Household
    definition_period = DAY
    label = "近期遭遇突发困难"

    def formula(household, period, parameters):
        window = by_county(
            parameters(period).other_difficulty.window_months, household("county_code", period)
        )
        sudden = household("sudden_ymd", period)
        now = ymd(period)
        return (
            household("sudden_known", period)
            & (months(np.int64(now)) - months(sudden) < window)
            & (sudden <= now)
        )


class dibao(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "低保（三值）"

    def formula(household, period, parameters):
        return t_and(household("d_income", period), household("assets_ok", period))


class near_dibao(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "低保边缘家庭（三值）"

    def formula(household, period, parameters):
        return t_and(
            t_not(household("dibao", period)),
            t_not(household("has_tekun", period)),
            compare(household("n_dibao", period) > 0),
            household("n_income", period),
            household("assets_ok", period),
        )


class rigid_expense(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "刚性支出困难家庭（三值）"

    def formula(household, period, parameters):
        return t_and(
            t_not(household("dibao", period)),
            t_not(household("has_tekun", period)),
            t_not(household("near_dibao", period)),
            household("r_income", period),
            household("assets_ok", period),
            household("r_share", period),
        )


class gradual_exit(Variable):
    value_type = bool
    entity = Household
    definition_period = DAY
    label = "低保渐退"

    def formula(household, period, parameters):
        exit_months = by_county(
            parameters(period).dibao.gradual_exit_months, household("county_code", period)
        )
        elapsed = np.where(
            household("exit_start_known", period),
            months(np.int64(ymd(period))) - months(household("exit_start_ymd", period)),
            0,
        )
        return (
            household("receiving_known", period)
            & (household("dibao", period) == NO)
            & (household("assets_ok", period) == YES)
            & (household("d_income", period) == NO)
            & (elapsed < exit_months)
        )


# ----------------------------------------------------------------------------- pmc: amounts


class tekun_fen(Fen):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "特困人员基本生活标准加照料护理费（分/月）"

    def formula(person, period, parameters):
        p = parameters(period).tekun.care_fee
        county = person.household("county_code", period)
        level = person("care_level", period)
        fee = np.select(
            [level == CareLevel.full, level == CareLevel.partial, level == CareLevel.self],
            [
                fen(by_county(p.full, county)),
                fen(by_county(p.partial, county)),
                fen(by_county(p.self, county)),
            ],
            0,
        )
        return np.where(
            person("tekun", period) == YES, person.household("tekun_std", period) + fee, 0
        )


class single_dibao(Variable):
    value_type = bool
    entity = Person
    definition_period = DAY
    label = "单人保（低保边缘家庭中的重度残疾人）"

    def formula(person, period, parameters):
        return coalesce(
            t_and(
                compare(person("severe", period)),
                person("counted", period),
                person.household("near_dibao", period),
                t_not(person("tekun", period)),
            ),
            False,
        )


class single_dibao_fen(Fen):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "单人保金额（分/月）"

    def formula(person, period, parameters):
        std = person.household("dibao_std", period)
        income = person("income_fen", period)
        ok = person("single_dibao", period) & person("income_fen_known", period) & (income < std)
        return np.where(ok, std - income, 0)


class supplement_fen(Fen):
    value_type = int
    entity = Person
    definition_period = DAY
    label = "分类施保（分/月）"

    def formula(person, period, parameters):
        p = parameters(period).supplement
        county = person.household("county_code", period)
        age_, known = person("age", period), person("birth_known", period)
        total = (
            np.where(known & (age_ >= 60), fen(by_county(p.elderly, county)), 0)
            + np.where(person("severe", period), fen(by_county(p.severe_disability, county)), 0)
            + np.where(known & (age_ < 18), fen(by_county(p.child, county)), 0)
            + np.where(person("seriously_ill", period), fen(by_county(p.seriously_ill, county)), 0)
        )
        ok = (
            (person.household("dibao", period) == YES)
            & (person("counted", period) == YES)
            & (person("tekun", period) != YES)
        )
        return np.where(ok, total, 0)


# ----------------------------------------------------------------------------- pr: result


class per_capita_fen(Fen):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "月人均收入（分，四舍五入）"

    def formula(household, period, parameters):
        n = household("n_counted", period).astype(np.int64)
        return (2 * household("income_all_fen", period) + n) // np.maximum(2 * n, 1)


class per_capita_known(Variable):
    value_type = bool
    entity = Household
    definition_period = DAY
    label = "月人均收入已知"

    def formula(household, period, parameters):
        return household("income_all_known", period) & (household("n_counted", period) > 0)


class tier(Variable):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "救助层级（1 基本生活、2 专项、3 急难；0 无）"

    def formula(household, period, parameters):
        any_single = household.any(household.members("single_dibao", period))
        t1 = (
            (household("dibao", period) == YES)
            | (household("has_tekun", period) == YES)
            | any_single
        )
        t2 = (
            (household("near_dibao", period) == YES)
            | (household("rigid_expense", period) == YES)
            | (household("relapse_watch", period) == YES)
        )
        return np.select([t1, t2, household("other_difficulty", period)], [1, 2, 3], 0)


class monthly_benefit_yuan(Fen):
    value_type = int
    entity = Household
    definition_period = DAY
    label = "月救助金额（元，四舍五入）"

    def formula(household, period, parameters):
        n = household("n_dibao", period).astype(np.int64)
        gap = np.where(
            household("dibao", period) == YES,
            household("dibao_std", period) * n - household("income_total_fen", period),
            0,
        )
        exit_fen = np.where(
            household("gradual_exit", period), household("receiving_dibao_fen", period), 0
        )
        members = (
            household.sum(household.members("tekun_fen", period))
            + household.sum(household.members("single_dibao_fen", period))
            + household.sum(household.members("supplement_fen", period))
        ).astype(np.int64)
        return (gap + exit_fen + members + 50) // 100


ALL = [
    *PERSON_INPUTS,
    *HOUSEHOLD_INPUTS,
    age,
    counted,
    severe,
    labour_disability,
    income_tekun_fen,
    income_fen,
    income_fen_known,
    dibao_std,
    tekun_std,
    n_counted,
    a_fin,
    a_vehicles,
    a_dwellings,
    a_business,
    assets_ok,
    able_obligor,
    inhouse_able_n,
    t_no_labour,
    t_no_livelihood,
    t_no_obligor,
    tekun,
    care_level,
    in_dibao_count,
    n_dibao,
    income_total_fen,
    income_total_known,
    income_all_fen,
    income_all_known,
    has_tekun,
    d_income,
    n_income,
    r_income,
    r_share,
    relapse_watch,
    other_difficulty,
    dibao,
    near_dibao,
    rigid_expense,
    gradual_exit,
    tekun_fen,
    single_dibao,
    single_dibao_fen,
    supplement_fen,
    per_capita_fen,
    per_capita_known,
    tier,
    monthly_benefit_yuan,
]
