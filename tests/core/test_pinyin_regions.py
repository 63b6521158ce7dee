from __future__ import annotations

import pytest

from doudi.core.models import Region
from doudi.core.pinyin import name_initials, name_pinyin
from doudi.core.regions import VillageImportError, villages_import


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("曾小明", "zeng xiao ming"),
        ("单丽", "shan li"),
        ("解放", "xie fang"),
        ("仇伟", "qiu wei"),
        ("区志强", "ou zhi qiang"),
        ("朴敏", "piao min"),
        ("查文", "zha wen"),
        ("乐天", "yue tian"),
        ("张 伟", "zhang wei"),
        ("欧阳娜娜", "ou yang na na"),
    ],
)
def test_surname_readings(name, expected):
    assert name_pinyin(name) == expected


def test_initials():
    assert name_initials("曾小明") == "zxm"


@pytest.mark.django_db
def test_official_regions_loaded_by_migration():
    assert Region.objects.filter(level="county").count() == 13
    assert Region.objects.filter(level="town").count() == 159
    city = Region.objects.get(code="370600")
    assert city.parent_id == "370000"
    assert Region.objects.get(code="370611001").full_name == "山东省烟台市福山区清洋街道"
    assert city.scope_prefix == "3706"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"code": "37061100100", "name": "x"}, "12位"),
        ({"code": "370699001001", "name": "x"}, "上级镇街"),
        ({"code": "370611001001", "name": ""}, "名称"),
        ({"code": "370611001001", "name": "x", "kind": "farm"}, "类型"),
    ],
)
def test_village_import_rejects_bad_rows_and_writes_nothing(row, message):
    good = {"code": "370611001002", "name": "好村"}
    with pytest.raises(VillageImportError, match=message):
        villages_import([good, row], source="test")
    assert not Region.objects.filter(code="370611001002").exists()


@pytest.mark.django_db
def test_village_import_guesses_kind_and_is_idempotent():
    rows = [{"code": "370611001001", "name": "清洋社区"}, {"code": "370611001201", "name": "王村"}]
    assert villages_import(rows, source="csv") == 2
    assert villages_import(rows, source="csv") == 2
    assert Region.objects.filter(level="village").count() == 2
    assert Region.objects.get(code="370611001001").residence_type == "urban"
    assert Region.objects.get(code="370611001201").kind == "village"
