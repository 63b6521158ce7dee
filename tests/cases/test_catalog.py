"""The items as data: the bundled files load, and a file that breaks a rule is refused at load
time with a message naming the file and the field."""

from __future__ import annotations

import pytest

from doudi.cases.catalog import ItemError, load_item, load_items

GOOD = """
code = "x"
name = "测试事项"
short = "测试"
order = 1
benefit = "dibao"
outcome = "start"
decider = "county"
legal_basis = ["某文件"]
[total]
limit = 30
extended = 45
source = "某文件"
[refusal_letter]
limit = 3
source = "某文件"
[[documents]]
code = "form"
name = "申请书"
[[steps]]
code = "verification"
limit = 3
source = "某文件"
[[steps]]
code = "decision"
limit = 10
source = "某文件"
"""


def test_bundled_items():
    items = load_items()
    assert len(items) == 12  # 11 items; 临时救助 has its two types (急难, 支出) as two files
    assert list(items)[:2] == ["dibao", "tekun"]
    for item in items.values():
        for step in item.steps:
            assert step.limit.source
            assert not step.limit.assumed or step.limit.note
    dibao = items["dibao"]
    assert dibao.total.days == 30 and dibao.extended_days == 45 and not dibao.total.assumed
    assert dibao.step("notice").limit.days == 7 and dibao.step("notice").limit.unit == "calendar"
    assert dibao.step("decision").limit.days == 10 and not dibao.step("decision").limit.assumed
    assert dibao.refusal_letter.days == 3
    tekun = items["tekun"]
    assert tekun.step("decision").limit.days == 3 and tekun.skip_notice_for_minors
    emergency = items["temporary_emergency"]
    assert emergency.step_codes == ("advance_payment", "investigation", "decision")
    assert all(d.deferrable for d in emergency.documents)
    assert items["medical_referral"].step_codes == ("referral",)


def _write(tmp_path, text, name="x.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_a_good_file_loads(tmp_path):
    assert load_item(_write(tmp_path, GOOD)).step_codes == ("verification", "decision")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace('code = "x"', 'code = "y"'), "code"),
        (
            lambda t: t.replace(
                'limit = 3\nsource = "某文件"\n[[steps]]', 'limit = 3\nsource = ""\n[[steps]]'
            ),
            "steps[0].source",
        ),
        (
            lambda t: t.replace(
                'limit = 10\nsource = "某文件"', 'limit = 10\nsource = "某文件"\nassumed = true'
            ),
            "note",
        ),
        (
            lambda t: t.replace('code = "verification"', 'code = "notice"').replace(
                'limit = 3\nsource = "某文件"\n[[steps]]',
                'limit = 3\nunit = "calendar"\nsource = "某文件"\n[[steps]]',
            ),
            "初审",
        ),
        (lambda t: t.replace('code = "verification"', 'code = "decision2"'), "未知步骤"),
        (lambda t: t.replace('benefit = "dibao"', 'benefit = "cash"'), "benefit"),
        (lambda t: t.replace("limit = 30", "limit = 0"), "total.limit"),
        (lambda t: t.replace("extended = 45", "extended = 20"), "total.extended"),
        (
            lambda t: t.replace(
                '[[documents]]\ncode = "form"\nname = "申请书"',
                '[[documents]]\ncode = "form"\nname = "申请书"\ndeferrable = true',
            ),
            "documents[0].due",
        ),
        (lambda t: t + '\n[[steps]]\ncode = "investigation"\nlimit = 5\nsource = "x"\n', "顺序"),
        (
            lambda t: t.replace('[refusal_letter]\nlimit = 3\nsource = "某文件"\n', ""),
            "refusal_letter",
        ),
        (lambda t: t.replace('decider = "county"', 'decider = "city"'), "decider"),
    ],
    ids=[
        "code-mismatch",
        "no-source",
        "assumed-without-note",
        "notice-without-review",
        "unknown-step",
        "unknown-benefit",
        "zero-limit",
        "extended-shorter",
        "deferrable-without-due",
        "order",
        "no-refusal-letter",
        "bad-decider",
    ],
)
def test_a_bad_file_is_refused(tmp_path, change, message):
    with pytest.raises(ItemError) as exc:
        load_item(_write(tmp_path, change(GOOD)))
    assert "x.toml" in str(exc.value) and message in str(exc.value)


def test_invalid_toml(tmp_path):
    with pytest.raises(ItemError, match="TOML"):
        load_item(_write(tmp_path, "code = "))


def test_duplicate_order(tmp_path):
    _write(tmp_path, GOOD)
    _write(tmp_path, GOOD.replace('code = "x"', 'code = "z"'), "z.toml")
    with pytest.raises(ItemError, match="order"):
        load_items(tmp_path)
