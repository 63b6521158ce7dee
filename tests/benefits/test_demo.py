"""Demo seeding: the pool's 低保 and 特困 rolls become benefits, a year of rolls is built and
approved, deaths the rolls never heard of are recovered, and a second run does nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from doudi.benefits import selectors as benefit_selectors
from doudi.benefits.demo import seed
from doudi.benefits.models import Benefit, BenefitChange, PaymentRoll
from doudi.benefits.months import month_range
from doudi.core import crypto
from doudi.core.models import AuditEvent
from doudi.datapool.ingest import IngestOptions, ingest_file
from tests.benefits.conftest import M

pytestmark = pytest.mark.django_db

DIBAO_HEADER = [
    "身份证号",
    "姓名",
    "户主身份证号",
    "与户主关系",
    "区划代码",
    "城乡类别",
    "保障人数",
    "月保障金额",
    "救助开始日期",
    "名册日期",
    "保障状态",
]
TEKUN_HEADER = [
    "身份证号",
    "姓名",
    "区划代码",
    "城乡类别",
    "供养方式",
    "生活自理能力",
    "基本生活费",
    "照料护理费",
    "认定日期",
    "供养机构",
    "名册日期",
    "供养状态",
]


def _csv(tmp_path, name, header, rows):
    path = tmp_path / name
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def pool(hh, member, tmp_path):
    """2025's monthly rolls: 曾小明 + 李秀英 (820 + 819) all year; 张伟 (872) January to August;
    单丽 (1,069, 1,000 from July) all year; 特困 王强 (1,402 + 233) from May."""

    def idn(name):
        return crypto.decrypt(member(name).id_enc)

    dibao, tekun = [], []
    for m in month_range(M(2025, 1), M(2025, 12)):
        day = m.isoformat()
        zeng = idn("曾小明")
        for name, rel, amount in (("曾小明", "户主", "820"), ("李秀英", "配偶", "819")):
            dibao.append(
                [
                    idn(name),
                    name,
                    zeng,
                    rel,
                    "370611001001",
                    "城市",
                    "2",
                    amount,
                    "2024-06-10",
                    day,
                    "在保",
                ]
            )
        if m <= M(2025, 8):
            dibao.append(
                [
                    idn("张伟"),
                    "张伟",
                    idn("张伟"),
                    "户主",
                    "370611002001",
                    "城市",
                    "1",
                    "872",
                    "2023-03-01",
                    day,
                    "在保",
                ]
            )
        amount = "1069" if m < M(2025, 7) else "1000"
        dibao.append(
            [
                idn("单丽"),
                "单丽",
                idn("单丽"),
                "户主",
                "370602001001",
                "城市",
                "1",
                amount,
                "2022-01-05",
                day,
                "在保",
            ]
        )
        if m >= M(2025, 5):
            tekun.append(
                [
                    idn("王强"),
                    "王强",
                    "370611001201",
                    "农村",
                    "分散供养",
                    "全自理",
                    "1402",
                    "233",
                    "2025-04-12",
                    "",
                    day,
                    "在保",
                ]
            )
    opts = IngestOptions(probabilistic=False)
    ingest_file("dibao_roll", _csv(tmp_path, "dibao.csv", DIBAO_HEADER, dibao), options=opts)
    ingest_file("tekun_roll", _csv(tmp_path, "tekun.csv", TEKUN_HEADER, tekun), options=opts)


def test_seed_builds_benefits_and_a_year_of_rolls(pool, hh, member, users):
    from doudi.registry.services import person_record_death

    # deaths the civil-affairs rolls never heard of: known two months later
    person_record_death(actor=None, person=member("李秀英"), date=dt.date(2025, 9, 15))
    person_record_death(actor=None, person=member("王强"), date=dt.date(2025, 11, 20))
    out = seed(today=dt.date(2026, 1, 15), progress=lambda s: None)
    assert out["import"] == {
        "benefits": 4,
        "changes": 6,  # 4 starts, 单丽's adjustment, 张伟's stop
        "by_item": {"dibao": 3, "tekun": 1},
    }
    qy = Benefit.objects.get(household=hh["qy"])
    assert (qy.item, qy.start_month, qy.case_ref) == ("dibao", M(2024, 7), "legacy:dibao_roll")
    fx = Benefit.objects.get(household=hh["fx"])
    assert (fx.status, fx.end_month) == ("stopped", M(2025, 8))
    tk = Benefit.objects.get(item="tekun")
    assert (tk.person, tk.start_month, tk.case_ref) == (
        member("王强"),
        M(2025, 5),
        "legacy:tekun_roll",
    )
    zf = Benefit.objects.get(household=hh["zf"])
    assert benefit_selectors.amount_in_month(benefit_id=zf.pk, month=M(2025, 6)) == 1069
    assert benefit_selectors.amount_in_month(benefit_id=zf.pk, month=M(2025, 7)) == 1000
    assert AuditEvent.objects.filter(event="benefit.import_legacy").count() == 1
    # rolls: 2025 approved for both counties, January 2026 waiting
    assert out["rolls_approved"] == 24 and out["rolls_built"] == 26
    fushan = PaymentRoll.objects.filter(county_id="370611")
    assert set(fushan.filter(status="approved").values_list("month", flat=True)) == set(
        month_range(M(2025, 1), M(2025, 12))
    )
    draft = fushan.get(status="draft")
    assert draft.month == M(2026, 1) and draft.built_by is None
    assert fushan.get(month=M(2025, 1)).approved_by == users["county"]
    assert (
        PaymentRoll.objects.get(county_id="370602", month=M(2025, 1)).approved_by
        == users["other_county"]
    )
    may = fushan.get(month=M(2025, 5))
    assert may.lines.get(payee_name="王强").kind == "start"
    sept = fushan.get(month=M(2025, 9))
    assert sept.lines.get(payee_name="张伟").kind == "stop"
    # 李秀英's death (September) became known in November: her 819 from October is taken off
    nov = fushan.get(month=M(2025, 11))
    qy_lines = sorted(
        nov.lines.filter(household=hh["qy"]).values_list("kind", "for_month", "amount")
    )
    assert qy_lines == [
        ("adjustment", M(2025, 10), Decimal("-819")),
        ("normal", M(2025, 11), Decimal("820")),
    ]
    # 王强's death (November) becomes known in January: December recovered on the draft
    wang = sorted(draft.lines.filter(payee_name="王强").values_list("kind", "for_month", "amount"))
    assert wang == [("adjustment", M(2025, 12), Decimal("-1635")), ("stop", M(2026, 1), 0)]
    assert out["late_deaths"] == 2 and out["deaths_applied"] == 2
    assert BenefitChange.objects.filter(source__startswith="registry:death:").count() == 2
    for roll in PaymentRoll.objects.all():
        assert benefit_selectors.payroll_reconcile(roll).ok, roll
    # a second run changes nothing
    counts = (Benefit.objects.count(), BenefitChange.objects.count(), PaymentRoll.objects.count())
    again = seed(today=dt.date(2026, 1, 15), progress=lambda s: None)
    assert again == {"skipped": True}
    assert counts == (
        Benefit.objects.count(),
        BenefitChange.objects.count(),
        PaymentRoll.objects.count(),
    )


def test_seed_without_rolls_in_the_pool(hh):
    assert seed(today=dt.date(2026, 1, 15), progress=lambda s: None)["import"]["benefits"] == 0
    assert not PaymentRoll.objects.exists()
