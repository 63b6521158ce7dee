"""The data-pool interface catalog: the project's declarations and the loader's rules.

Pure Python: no database. Bad declarations are written to ``tmp_path``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from doudi.datapool import catalog as catalog_module
from doudi.datapool.catalog import (
    DEFAULT_DIRECTORY,
    FIELD_TYPES,
    FREQUENCIES,
    SUBJECTS,
    USES,
    Catalog,
    CatalogError,
    Interface,
    UnknownInterface,
    load_catalog,
    normalize_header,
    normalize_value,
)


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_catalog()


# -- the project's catalog ----------------------------------------------------------------------


def test_size_matches_the_yantai_data_pool(cat):
    # "a town data pool fed by 17 departments through 44 interfaces" (DOMAIN.md §2)
    assert len(cat) >= 46
    assert len(list(cat)) == len(cat)
    assert len(cat.departments) >= 17
    used = {i.department for i in cat}
    assert len(used) >= 17
    assert used == set(cat.departments), "every department shares at least one interface"


REQUIRED_DEPARTMENTS = {
    "public_security": "市公安局",
    "human_resources": "市人力资源和社会保障局",
    "medical_insurance": "市医疗保障局",
    "health": "市卫生健康委员会",
    "disability_federation": "市残疾人联合会",
    "education": "市教育局",
    "natural_resources": "市自然资源和规划局",
    "housing": "市住房和城乡建设局",
    "market_regulation": "市市场监督管理局",
    "tax": "国家税务总局烟台市税务局",
    "provident_fund": "烟台市住房公积金管理中心",
    "financial": "金融机构（人民银行烟台市分行汇总）",
    "agriculture": "市农业农村局",
    "justice": "市司法局",
    "emergency": "市应急管理局",
    "meteorology": "市气象局",
    "veterans": "市退役军人事务局",
    "civil_affairs": "市民政局",
}


@pytest.mark.parametrize(("code", "name"), REQUIRED_DEPARTMENTS.items())
def test_required_departments(cat, code, name):
    dept = cat.department(code)
    assert dept.name == name
    assert dept.short


# department → interfaces the issue asks for (household registration changes, deaths, vehicles, …)
REQUIRED_COVERAGE = {
    "public_security": ["hukou_change", "death_registration", "vehicle_registration"],
    "human_resources": [
        "employment_registration",
        "unemployment_registration",
        "pension_payment",
        "social_insurance_contribution",
    ],
    "medical_insurance": [
        "medical_inpatient",
        "medical_outpatient",
        "chronic_disease_certification",
        "serious_disease",
    ],
    "health": ["birth_registration", "death_certificate"],
    "disability_federation": ["disability_certificate"],
    "education": ["school_enrollment", "student_aid"],
    "natural_resources": ["real_estate"],
    "housing": ["public_housing"],
    "market_regulation": ["business_registration"],
    "tax": ["tax_income"],
    "provident_fund": ["provident_fund"],
    "financial": ["bank_deposit", "securities", "commercial_insurance"],
    "agriculture": ["relapse_watch"],
    "justice": ["prisoner", "community_correction"],
    "emergency": ["disaster_loss"],
    "meteorology": ["weather_warning"],
    "veterans": ["veterans_benefit"],
    "civil_affairs": [
        "marriage_registration",
        "divorce_registration",
        "cremation",
        "dibao_roll",
        "tekun_roll",
        "temporary_assistance",
        "orphan_roll",
        "old_age_allowance",
        "disability_subsidy",
    ],
}


@pytest.mark.parametrize(("department", "codes"), REQUIRED_COVERAGE.items())
def test_required_interfaces_exist(cat, department, codes):
    for code in codes:
        assert code in cat
        assert cat.get(code).department == department
    assert {i.code for i in cat.by_department()[department]} >= set(codes)


MANDATED_HEADERS = {
    "medical_inpatient": (
        "医保住院结算",
        [
            "身份证号",
            "姓名",
            "入院日期",
            "出院日期",
            "医疗总费用",
            "统筹支付",
            "个人自付",
            "医疗机构",
        ],
    ),
    "death_registration": ("死亡登记", ["身份证号", "姓名", "死亡日期", "登记机关"]),
    "disability_certificate": (
        "残疾人证",
        ["身份证号", "姓名", "残疾类别", "残疾等级", "发证日期"],
    ),
    "unemployment_registration": ("失业登记", ["身份证号", "姓名", "登记日期", "失业原因"]),
    "vehicle_registration": (
        "机动车登记",
        ["身份证号", "姓名", "号牌号码", "车辆类型", "登记日期", "车辆价值"],
    ),
    "business_registration": (
        "市场主体登记",
        ["身份证号", "姓名", "统一社会信用代码", "主体名称", "成立日期", "状态"],
    ),
    "bank_deposit": ("金融资产", ["身份证号", "姓名", "机构名称", "资产类型", "余额", "查询日期"]),
}


@pytest.mark.parametrize(("code", "expected"), MANDATED_HEADERS.items())
def test_mandated_headers_in_order(cat, code, expected):
    name, headers = expected
    interface = cat.get(code)
    assert interface.name == name
    assert [f.header for f in interface.fields[: len(headers)]] == headers
    # the mandated columns are all required, so every department file must carry them
    assert list(interface.required_headers()[: len(headers)]) == headers


def test_medical_inpatient_declaration(cat):
    i = cat.get("medical_inpatient")
    assert i.department == "medical_insurance"
    assert i.key == ("id_number", "admission_date", "institution")
    assert i.period_field == "discharge_date"
    assert i.subject == "person"
    assert i.id_field is not None and i.id_field.name == "id_number"
    assert i.returned_to_towns == "住院"
    assert set(i.uses) == set(USES)
    for name in ("total_cost", "fund_paid", "self_paid"):
        assert i.field(name).type == "decimal"
    assert i.label == "医保·医保住院结算"
    assert dataclasses.replace(i, department_short="").label == "医保住院结算"


def test_interfaces_in_code_order(cat):
    codes = [i.code for i in cat]
    assert codes == sorted(codes)
    assert list(cat.interfaces) == codes


def test_uses_frequency_subject_and_types_are_from_the_lists(cat):
    for i in cat:
        assert i.frequency in FREQUENCIES, i.code
        assert i.uses and set(i.uses) <= set(USES), i.code
        assert i.subject in SUBJECTS, i.code
        assert i.name and i.description, i.code
        for f in i.fields:
            assert f.type in FIELD_TYPES, (i.code, f.name)
            assert f.header, (i.code, f.name)


def test_every_use_and_most_frequencies_occur(cat):
    for use in USES:
        assert cat.for_use(use), use
    assert {i.frequency for i in cat} >= {"daily", "monthly", "event"}
    with pytest.raises(ValueError):
        cat.for_use("gossip")


def test_keys_and_roles_name_required_fields_of_the_right_type(cat):
    for i in cat:
        for k in i.key:
            assert i.field(k).required, (i.code, k)
        if i.period_field:
            assert i.field(i.period_field).type == "date", i.code
        if i.subject in ("person", "household"):
            assert i.field(i.person_field).type == "id_number", i.code
            assert i.field(i.name_field).type == "string", i.code
        else:
            assert i.field(i.area_field).type == "region_code", i.code


def test_person_interfaces_have_id_and_name_columns(cat):
    persons = [i for i in cat if i.subject == "person"]
    assert len(persons) >= 40
    for i in persons:
        id_field = i.field(i.person_field)
        assert id_field.header == "身份证号", i.code
        assert {"公民身份号码", "证件号码"} <= set(id_field.aliases), i.code
        assert i.field(i.name_field).header == "姓名", i.code
        assert i.headers()["公民身份号码"] == i.person_field
        assert "身份证号" in i.required_headers() and "姓名" in i.required_headers()


def test_household_and_area_interfaces(cat):
    birth = cat.get("birth_registration")
    assert birth.subject == "household"
    assert birth.id_field.header == "母亲身份证号"
    weather = cat.get("weather_warning")
    assert weather.subject == "area"
    assert weather.area_field == "region_code"
    assert weather.field("region_code").type == "region_code"
    assert weather.person_field is None and weather.id_field is None
    assert weather.field("level").canonical("橙色预警") == "orange"


AMOUNT_WORDS = ("金额", "费用", "支付", "余额", "自付", "价值", "保费", "收入额", "税额", "津贴")


def test_amounts_are_decimal(cat):
    amounts = 0
    for i in cat:
        for f in i.fields:
            if any(w in f.header for w in AMOUNT_WORDS):
                assert f.type == "decimal", (i.code, f.header)
                amounts += 1
    assert amounts > 40


def test_returned_to_towns(cat):
    returned = {i.code: i.returned_to_towns for i in cat.returned()}
    for code in (
        "death_registration",
        "death_certificate",
        "cremation",
        "medical_inpatient",
        "disability_certificate",
        "unemployment_registration",
        "birth_registration",
        "disaster_loss",
        "weather_warning",
    ):
        assert returned.get(code), code
    for i in cat:
        assert i.returned == ("return" in i.uses), i.code


def test_headers_map_every_accepted_header(cat):
    i = cat.get("medical_inpatient")
    headers = i.headers()
    assert headers["身份证号"] == "id_number"
    assert headers["公民身份号码"] == "id_number"
    assert headers["定点医疗机构"] == "institution"
    assert headers[normalize_header(" 身份证号 *")] == "id_number"
    assert headers[normalize_header("医疗总费用\u3000")] == "total_cost"
    assert len(headers) == sum(len(f.headers) for f in i.fields)
    with pytest.raises(TypeError):
        headers["新列"] = "x"  # type: ignore[index]
    assert i.field_names()[0] == "id_number"
    with pytest.raises(KeyError):
        i.field("nope")


def test_required_headers(cat):
    i = cat.get("unemployment_registration")
    assert i.required_headers() == ("身份证号", "姓名", "登记日期", "失业原因")


# -- enums --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("一级", "1"),
        ("1", "1"),
        ("1级", "1"),
        ("壹级", "1"),
        ("一级残疾", "1"),
        (" 一级 ", "1"),
        ("１级", "1"),  # full-width digit
        ("二级", "2"),
        ("贰级", "2"),
        ("3", "3"),
        ("三级残疾", "3"),
        ("四级", "4"),
        ("4级", "4"),
        ("肆级", "4"),
        ("五级", None),
        ("", None),
        (None, None),
    ],
)
def test_disability_grade_spellings(cat, spelling, canonical):
    assert cat.get("disability_certificate").field("grade").canonical(spelling) == canonical


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("视力", "visual"),
        ("视力残疾", "visual"),
        ("听力", "hearing"),
        ("言语残疾", "speech"),
        ("肢体", "physical"),
        ("智力残疾", "intellectual"),
        ("精神", "mental"),
        ("多重残疾", "multiple"),
        ("visual", "visual"),
        ("Mental", "mental"),
        ("残疾", None),
    ],
)
def test_disability_category_spellings(cat, spelling, canonical):
    assert cat.get("disability_certificate").field("category").canonical(spelling) == canonical


def test_disability_enum_declarations(cat):
    i = cat.get("disability_certificate")
    assert list(i.field("category").values) == [
        "visual",
        "hearing",
        "speech",
        "physical",
        "intellectual",
        "mental",
        "multiple",
    ]
    assert list(i.field("grade").values) == ["1", "2", "3", "4"]
    assert isinstance(i.field("grade").values["1"], tuple)


def test_every_enum_has_values_and_unambiguous_spellings(cat):
    for i in cat:
        for f in i.fields:
            if f.type == "enum":
                assert f.values, (i.code, f.name)
                for canonical, spellings in f.values.items():
                    for s in (canonical, *spellings):
                        assert f.canonical(s) == canonical, (i.code, f.name, s)
            else:
                assert not f.values, (i.code, f.name)


def test_business_status_with_full_width_brackets(cat):
    status = cat.get("business_registration").field("status")
    assert status.canonical("存续(在营、开业、在册)") == "active"
    assert status.canonical("吊销未注销") == "revoked"


# -- normalisation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("身份证号", "身份证号"),
        ("  身份证号  ", "身份证号"),
        ("\u3000姓名\u3000", "姓名"),
        ("姓\u3000名", "姓名"),
        ("出院\n日期", "出院日期"),
        ("\t余额\xa0", "余额"),
        ("\ufeff身份证号", "身份证号"),
        ("医疗总费用（元）", "医疗总费用(元)"),
        ("医疗总费用 ( 元 )", "医疗总费用(元)"),
        ("姓名*", "姓名"),
        ("姓名 * ", "姓名"),
        ("姓名**", "姓名"),
        ("姓名＊", "姓名"),
        ("*姓名", "姓名"),
        ("建筑面积（平方米）*", "建筑面积(平方米)"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_header(raw, expected):
    assert normalize_header(raw) == expected


def test_normalize_header_is_idempotent(cat):
    for i in cat:
        for h in i.headers():
            assert normalize_header(h) == h


def test_normalize_value():
    assert normalize_value(" Ａ１ ") == "a1"
    assert normalize_value("一级\u3000") == "一级"
    assert normalize_value(None) == ""


# -- catalog object -----------------------------------------------------------------------------


def test_unknown_interface(cat):
    with pytest.raises(UnknownInterface) as exc:
        cat.get("medical_inpatiant")
    err = exc.value
    assert isinstance(err, KeyError)
    message = str(err)
    assert "medical_inpatiant" in message
    assert "数据池中没有接口" in message and "Unknown data-pool interface" in message
    assert "medical_inpatient" in message  # suggestion
    assert not message.startswith("'")
    with pytest.raises(KeyError):
        cat.get("nothing_like_it")
    assert "nothing_like_it" not in cat


def test_by_department_covers_every_interface_once(cat):
    groups = cat.by_department()
    assert list(groups) == list(cat.departments)
    flat = [i.code for items in groups.values() for i in items]
    assert sorted(flat) == [i.code for i in cat]


def test_declarations_are_immutable(cat):
    i = cat.get("bank_deposit")
    with pytest.raises(dataclasses.FrozenInstanceError):
        i.name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        i.fields[0].header = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        cat.interfaces["x"] = i  # type: ignore[index]
    with pytest.raises(TypeError):
        i.field("asset_type").values["gold"] = ("金",)  # type: ignore[index]
    assert isinstance(i.uses, tuple) and isinstance(i.key, tuple)
    assert hash(i.fields[0]) == hash(i.fields[0])


def test_load_is_cached_per_directory(tmp_path):
    assert load_catalog() is load_catalog()
    assert load_catalog(DEFAULT_DIRECTORY) is load_catalog()
    write_catalog(tmp_path, [valid_interface()])
    small = load_catalog(tmp_path)
    assert small is load_catalog(str(tmp_path))
    assert small is not load_catalog()
    assert len(small) == 1 and small.get("sample").department == "civil_affairs"
    catalog_module.clear_cache()
    assert load_catalog(tmp_path) is not small


def test_catalog_module_does_not_import_django():
    code = (
        "import sys, doudi.datapool.catalog as c; c.load_catalog(); "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- the loader's rules -------------------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(
            f"{json.dumps(k, ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items()
        )
        return "{ " + items + " }"
    raise TypeError(value)


def dump_toml(data: dict[str, Any]) -> str:
    lines = [f"{k} = {toml_value(v)}" for k, v in data.items() if k != "fields"]
    for field in data.get("fields", []):
        lines += ["", "[[fields]]"] + [f"{k} = {toml_value(v)}" for k, v in field.items()]
    return "\n".join(lines) + "\n"


DEPARTMENTS = [
    {"code": "civil_affairs", "name": "市民政局", "short": "民政"},
    {"code": "health", "name": "市卫生健康委员会", "short": "卫健"},
]


def valid_interface(code: str = "sample") -> dict[str, Any]:
    return {
        "code": code,
        "name": "样例接口",
        "department": "civil_affairs",
        "description": "测试用",
        "frequency": "daily",
        "uses": ["verification", "return"],
        "key": ["id_number", "event_date"],
        "period_field": "event_date",
        "subject": "person",
        "person_field": "id_number",
        "name_field": "name",
        "returned_to_towns": "样例",
        "fields": [
            {
                "name": "id_number",
                "header": "身份证号",
                "type": "id_number",
                "required": True,
                "aliases": ["公民身份号码"],
            },
            {"name": "name", "header": "姓名", "type": "string"},
            {"name": "event_date", "header": "日期", "type": "date"},
            {"name": "amount", "header": "金额", "type": "decimal", "required": False},
            {
                "name": "grade",
                "header": "等级",
                "type": "enum",
                "required": False,
                "values": {"1": ["一级"], "2": ["二级"]},
            },
            {"name": "region", "header": "区划代码", "type": "region_code", "required": False},
        ],
    }


def write_catalog(
    directory: Path,
    interfaces: list[dict[str, Any]],
    departments: list[dict[str, Any]] | None = None,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    depts = DEPARTMENTS if departments is None else departments
    text = "\n".join("[[department]]\n" + dump_toml(d) for d in depts)
    (directory / "_departments.toml").write_text(text, encoding="utf-8")
    for data in interfaces:
        (directory / f"{data['code']}.toml").write_text(dump_toml(data), encoding="utf-8")
    return directory


def test_the_valid_sample_loads(tmp_path):
    cat = load_catalog(write_catalog(tmp_path, [valid_interface()]))
    sample = cat.get("sample")
    assert sample.field("grade").canonical("一级") == "1"
    assert sample.field("name").required is True  # default
    assert sample.required_headers() == ("身份证号", "姓名", "日期")
    assert sample.area_field is None


def field_named(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in data["fields"] if f["name"] == name)


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        d[key] = value

    return mutate


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: d.pop(key)


def _field(name: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(d: dict[str, Any]) -> None:
        field_named(d, name)[key] = value

    return mutate


def _field_drop(name: str, key: str) -> Callable[[dict[str, Any]], None]:
    return lambda d: field_named(d, name).pop(key)


def _add_field(**field: Any) -> Callable[[dict[str, Any]], None]:
    return lambda d: d["fields"].append(field)


def _area(d: dict[str, Any]) -> None:
    d.update(subject="area", area_field="region")
    d.pop("person_field")
    d.pop("name_field")


BAD_INTERFACES = {
    "unknown department": (_set("department", "police"), "unknown department 'police'"),
    "unknown frequency": (_set("frequency", "hourly"), "unknown frequency 'hourly'"),
    "unknown use": (_set("uses", ["verification", "gossip"]), "unknown use 'gossip'"),
    "empty uses": (_set("uses", []), "uses is empty"),
    "uses repeated": (_set("uses", ["warning", "warning"]), "more than once"),
    "uses not a list": (_set("uses", "warning"), "uses must be a list"),
    "unknown subject": (_set("subject", "village"), "unknown subject 'village'"),
    "missing name": (_drop("name"), "name is missing"),
    "missing frequency": (_drop("frequency"), "frequency is missing"),
    "name not a string": (_set("name", 5), "name must be a string"),
    "unknown key": (_set("frequence", "daily"), "unknown key(s) frequence"),
    "code not snake_case": (_set("code", "Sample"), "not lowercase snake_case"),
    "code differs from file name": (_set("code", "other"), "does not match the file name"),
    "key names undeclared field": (_set("key", ["id_number", "nope"]), "key field 'nope'"),
    "key field optional": (_set("key", ["id_number", "amount"]), "must be a required field"),
    "empty key": (_set("key", []), "key is empty"),
    "period_field undeclared": (_set("period_field", "nope"), "period_field 'nope' is not"),
    "period_field not a date": (
        _set("period_field", "name"),
        "must be a field of type date, not string",
    ),
    "period_field optional": (
        lambda d: (_field("event_date", "required", False)(d), d.update(key=["id_number"])),
        "period_field 'event_date' must be a required field",
    ),
    "person_field not an id_number": (
        _set("person_field", "name"),
        "must be a field of type id_number",
    ),
    "name_field undeclared": (_set("name_field", "full_name"), "name_field 'full_name' is not"),
    "name_field not a string": (_set("name_field", "event_date"), "must be a field of type string"),
    "person without person_field": (_drop("person_field"), "needs person_field"),
    "person without name_field": (_drop("name_field"), "needs name_field"),
    "household without person_field": (
        lambda d: (d.update(subject="household"), d.pop("person_field")),
        "subject household needs person_field",
    ),
    "area without area_field": (
        lambda d: (_area(d), d.pop("area_field")),
        "subject area needs area_field",
    ),
    "area_field not a region_code": (
        lambda d: (_area(d), d.update(area_field="name")),
        "must be a field of type region_code",
    ),
    "area_field optional": (_area, "area_field 'region' must be a required field"),
    "no fields": (_set("fields", []), "no [[fields]]"),
    "duplicate field name": (
        _add_field(name="name", header="名字", type="string"),
        "duplicate field name 'name'",
    ),
    "duplicate header": (
        _add_field(name="name2", header="姓名", type="string", required=False),
        "header '姓名' is used by both",
    ),
    "header equals another field's alias": (
        _add_field(name="doc", header="公民身份号码", type="string", required=False),
        "header '公民身份号码' is used by both 'id_number' and 'doc'",
    ),
    "alias equals another field's header": (
        _field("amount", "aliases", ["姓名"]),
        "header '姓名' is used by both 'name' and 'amount'",
    ),
    "header not normalised": (_field("amount", "header", "金额（元）"), "write '金额(元)'"),
    "header with star": (_field("amount", "header", "金额*"), "not in normalised form"),
    "alias not normalised": (_field("amount", "aliases", ["金 额"]), "not in normalised form"),
    "empty header": (_field("amount", "header", ""), "header is missing"),
    "unknown type": (_field("amount", "type", "money"), "unknown type 'money'"),
    "required not a boolean": (_field("amount", "required", "yes"), "required must be true"),
    "field name not snake_case": (_field("amount", "name", "Amount"), "not lowercase snake_case"),
    "unknown field key": (_field("amount", "unit", "元"), "unknown key(s) unit"),
    "enum without values": (_field_drop("grade", "values"), "enum field needs values"),
    "enum with empty values": (_field("grade", "values", {}), "enum field needs values"),
    "values on a non-enum field": (
        _field("amount", "values", {"a": ["甲"]}),
        "values are only allowed on enum fields",
    ),
    "ambiguous enum spelling": (
        _field("grade", "values", {"1": ["一级"], "2": ["二级", "一级"]}),
        "spelling '一级' is accepted for both '1' and '2'",
    ),
    "ambiguous after normalisation": (
        _field("grade", "values", {"1": ["１级"], "2": ["1级"]}),
        "accepted for both",
    ),
    "enum spellings not a list": (_field("grade", "values", {"1": "一级"}), "list of non-empty"),
    "returned without return use": (
        _set("uses", ["verification"]),
        "returned_to_towns must be set",
    ),
    "return use without label": (_drop("returned_to_towns"), "returned_to_towns must be set"),
}


@pytest.mark.parametrize("case", BAD_INTERFACES, ids=list(BAD_INTERFACES))
def test_bad_interface_is_rejected(tmp_path, case):
    mutate, message = BAD_INTERFACES[case]
    data = copy.deepcopy(valid_interface())
    mutate(data)
    directory = tmp_path / "catalog"
    write_catalog(directory, [])
    (directory / "sample.toml").write_text(dump_toml(data), encoding="utf-8")
    with pytest.raises(CatalogError) as exc:
        load_catalog(directory)
    err = exc.value
    assert err.file.name == "sample.toml"
    assert str(err).startswith("sample.toml: ")
    assert message in str(err)


def test_duplicate_interface_code(tmp_path):
    first = valid_interface("alpha")
    second = valid_interface("alpha")
    write_catalog(tmp_path, [first])
    (tmp_path / "beta.toml").write_text(dump_toml(second), encoding="utf-8")
    with pytest.raises(CatalogError, match="duplicate interface code 'alpha'") as exc:
        load_catalog(tmp_path)
    assert exc.value.file.name == "beta.toml"
    assert "alpha.toml" in str(exc.value)


def test_invalid_toml(tmp_path):
    write_catalog(tmp_path, [valid_interface()])
    (tmp_path / "broken.toml").write_text('code = "broken"\nname = \n', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"^broken\.toml: not valid TOML"):
        load_catalog(tmp_path)


def test_missing_directory_and_departments_file(tmp_path):
    with pytest.raises(CatalogError, match="catalog directory not found"):
        load_catalog(tmp_path / "nowhere")
    (tmp_path / "sample.toml").write_text(dump_toml(valid_interface()), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"^_departments\.toml: departments file not found"):
        load_catalog(tmp_path)


BAD_DEPARTMENTS = {
    "duplicate code": (DEPARTMENTS + [DEPARTMENTS[0]], "duplicate department code"),
    "missing short": ([{"code": "civil_affairs", "name": "市民政局"}], "short is missing"),
    "unknown key": ([{**DEPARTMENTS[0], "phone": "110"}], "unknown key(s) phone"),
    "bad code": ([{**DEPARTMENTS[0], "code": "Civil Affairs"}], "not lowercase snake_case"),
    "none": ([], "no [[department]] entries"),
}


@pytest.mark.parametrize("case", BAD_DEPARTMENTS, ids=list(BAD_DEPARTMENTS))
def test_bad_departments_file(tmp_path, case):
    departments, message = BAD_DEPARTMENTS[case]
    write_catalog(tmp_path, [valid_interface()], departments=departments)
    with pytest.raises(CatalogError) as exc:
        load_catalog(tmp_path)
    assert exc.value.file.name == "_departments.toml"
    assert message in str(exc.value)


def test_underscore_files_and_other_files_are_not_interfaces(tmp_path):
    write_catalog(tmp_path, [valid_interface()])
    (tmp_path / "README.md").write_text("notes", encoding="utf-8")
    (tmp_path / "_draft.toml").write_text("not = [valid", encoding="utf-8")
    assert [i.code for i in load_catalog(tmp_path)] == ["sample"]


def test_every_project_file_is_an_interface():
    files = {p.stem for p in DEFAULT_DIRECTORY.glob("*.toml") if not p.name.startswith("_")}
    assert files == set(load_catalog().interfaces)
    assert all(isinstance(i, Interface) for i in load_catalog())
