from decimal import Decimal

from doudi.core.templatetags.doudi_tags import event_details, yuan


def test_event_details_in_chinese():
    assert event_details({"from": "present", "to": "dead", "note": ""}) == "原：在册；新：死亡"
    assert event_details({"source": "synth"}) == "来源：合成数据"
    assert event_details({"persons": [1, 2], "new_household": "JT1"}) == "人数：2；新家庭：JT1"
    assert event_details(None) == ""


def test_yuan():
    assert yuan(Decimal("1069")) == "¥1,069.00"
    assert yuan(1234567.5) == "¥1,234,567.50"
    assert yuan(None) == ""
