"""A small pool that makes every warning rule raise (and a few rows that must not), fed through
the real ingest: shared by the engine comparisons (DuckDB and Spark; a scoped incremental read and
a whole read)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa

from doudi.monitoring.engine import run as engine
from tests.conftest import make_id
from tests.monitoring.conftest import id_of, person_of

AS_OF = dt.date(2026, 3, 2)
SINCE = dt.date(2026, 2, 1)
ROLL = "2026-02-01"


def _person(p: Any, **row: Any) -> dict[str, Any]:
    return {"id_number": id_of(p), "name": p.name, **row}


def _dibao(p: Any, head: Any, size: int, amount: str, **extra: Any) -> dict[str, Any]:
    return _person(
        p,
        head_id_number=id_of(head),
        relation="本人" if p == head else "家庭成员",
        region_code="370611001001",
        area_type="城市",
        household_size=size,
        monthly_amount=amount,
        start_date="2024-05-01",
        roll_date=ROLL,
        status="在保",
        **extra,
    )


def build_pool(town_households: dict[str, Any], register: Any, feed: Any) -> dict[str, Any]:
    """Rows that make every rule raise. Returns the households and the hand-built
    ``m_entitled`` (a city-wide classification as of 2026-02-28)."""
    qy, fx, zf, qv = (town_households[k] for k in ("qy", "fx", "zf", "qy_village"))
    qy_head, qy_spouse = person_of(qy), person_of(qy, "spouse")
    fx_head, zf_head, qv_head = person_of(fx), person_of(zf), person_of(qv)
    # a father alone with a child (child_guardian_loss), an old man living alone who turns 80 in
    # the window (elderly_alone), and six 低保 members with deposits (deposits_over_limit)
    kid = register(
        "370611002001",
        [
            (make_id("370611", "19850303", 61), "赵建国", "head"),
            (make_id("370611", "20150606", 72), "赵小雨", "child"),
        ],
    )
    elder = register("370602001001", [(make_id("370602", "19460215", 81), "孙德福", "head")])
    big = register(
        "370611001001",
        [(make_id("370611", "19600101", 101), "钱大有", "head")]
        + [
            (make_id("370611", f"19{62 + i}0101", 102 + i), f"钱成员{i}", "child") for i in range(5)
        ],
    )
    kid_head, big_head = person_of(kid), person_of(big)

    # who receives what (m_recipients): 低保 for qy (both), fx (single) and big (the head);
    # 特困 for zf
    feed(
        "dibao_roll",
        [
            _dibao(qy_head, qy_head, 2, "1200.50"),
            _dibao(qy_spouse, qy_head, 2, "1200.50"),
            _dibao(fx_head, fx_head, 1, "820.00"),
            _dibao(big_head, big_head, 1, "700.00"),
        ],
    )
    feed(
        "tekun_roll",
        [
            _person(
                zf_head,
                region_code="370602001001",
                area_type="城市",
                support_mode="分散供养",
                care_level="全自理",
                basic_amount="1400.00",
                care_amount="0",
                start_date="2023-01-01",
                roll_date=ROLL,
                status="在保",
            )
        ],
    )
    # inpatient_cost: three stays in twelve months, 24,000.85 self-paid
    feed(
        "medical_inpatient",
        [
            _person(
                qv_head,
                admission_date=adm,
                discharge_date=dis,
                total_cost="30000",
                fund_paid="10000",
                self_paid=paid,
                institution="烟台山医院",
            )
            for adm, dis, paid in (
                ("2025-06-01", "2025-06-10", "9000.50"),
                ("2025-11-01", "2025-11-08", "8000.25"),
                ("2026-02-15", "2026-02-20", "7000.10"),
            )
        ],
    )
    # chronic_disease: a certification, and a first serious-disease settlement; 王强's second
    # settlement within 365 days of his first is not "new" (NOT EXISTS, date - INTERVAL)
    feed(
        "chronic_disease_certification",
        [_person(zf_head, disease_name="糖尿病", certified_date="2026-02-18", status="有效")],
    )
    feed(
        "serious_disease",
        [
            _person(
                zf_head,
                settlement_number="S1",
                settlement_date="2026-02-19",
                total_cost="80000",
                serious_paid="30000",
            ),
            _person(
                qv_head,
                settlement_number="S2",
                settlement_date="2025-12-01",
                total_cost="50000",
                serious_paid="20000",
            ),
            _person(
                qv_head,
                settlement_number="S3",
                settlement_date="2026-02-21",
                total_cost="50000",
                serious_paid="20000",
            ),
        ],
    )
    # new_disability (grade 1), and a grade-4 certificate that does not count
    feed(
        "disability_certificate",
        [
            _person(
                zf_head,
                category="肢体",
                grade="一级",
                issue_date="2026-02-20",
                certificate_number="D1",
                status="有效",
            ),
            _person(
                qy_spouse,
                category="肢体",
                grade="四级",
                issue_date="2026-02-20",
                certificate_number="D2",
                status="有效",
            ),
        ],
    )
    # unemployed_only_earner: fx lives alone; qy's spouse does not count, her husband paid
    # pension contributions within three months (quarter_ago, UNION)
    feed(
        "unemployment_registration",
        [
            _person(fx_head, registration_date="2026-02-15", reason="合同到期", status="有效"),
            _person(qy_spouse, registration_date="2026-02-16", reason="辞职", status="有效"),
        ],
    )
    # earner_death: qy's head: his contract ended in 2025, but he paid pension contributions
    # until his death (EXISTS ... OR EXISTS, date - INTERVAL 183 DAY)
    feed(
        "social_insurance_contribution",
        [
            _person(
                qy_head,
                insurance_type="养老保险",
                contribution_month=month,
                personal_amount="312.40",
                status="已缴",
            )
            for month in ("2025-12-01", "2026-01-01")
        ],
    )
    feed(
        "employment_registration",
        [
            _person(
                qy_head,
                employer="福山食品厂",
                employment_date="2024-03-01",
                contract_end="2025-12-31",
            )
        ],
    )
    # deaths: qy's head (a 低保 recipient: recipient_death from three departments, earner_death)
    # and the child's father (child_guardian_loss)
    feed(
        "death_registration",
        [
            _person(qy_head, death_date="2026-02-10", registration_authority="福山分局"),
            _person(kid_head, death_date="2026-02-05", registration_authority="福山分局"),
        ],
    )
    feed(
        "death_certificate",
        [
            _person(
                qy_head,
                certificate_number="DC1",
                death_date="2026-02-10",
                institution="福山区人民医院",
            )
        ],
    )
    feed(
        "cremation",
        [
            _person(
                qy_head,
                death_date="2026-02-10",
                cremation_date="2026-02-13",
                funeral_home="福山殡仪馆",
            )
        ],
    )
    # recipient_prison: the 特困 person
    feed(
        "prisoner",
        [_person(zf_head, prison="烟台监狱", admission_date="2026-02-12", status="在押")],
    )
    # disaster_low_income: a red warning over 福山区 (every low-income household there) and
    # a collapsed house of fx; a blue warning does not count
    feed(
        "weather_warning",
        [
            {
                "warning_id": "W1",
                "region_code": "370611",
                "warning_type": "暴雨",
                "level": "红色",
                "issue_date": "2026-02-22",
            },
            {
                "warning_id": "W2",
                "region_code": "370602",
                "warning_type": "大风",
                "level": "蓝色",
                "issue_date": "2026-02-22",
            },
        ],
    )
    feed(
        "disaster_loss",
        [
            _person(
                fx_head,
                region_code="370611002001",
                disaster_type="暴雨洪涝",
                disaster_date="2026-02-22",
                loss_type="房屋倒塌",
                direct_loss="12345.67",
            )
        ],
    )
    # asset_acquired and business_registered: fx
    feed(
        "vehicle_registration",
        [
            _person(
                fx_head,
                plate_number="鲁F12345",
                vehicle_type="小型轿车",
                registration_date="2026-02-20",
                vehicle_value="50000.00",
            )
        ],
    )
    feed(
        "real_estate",
        [
            _person(
                fx_head,
                certificate_number="RE1",
                location="福山区河滨路1号",
                floor_area="90.5",
                registration_date="2026-02-21",
                status="现势",
            )
        ],
    )
    feed(
        "business_registration",
        [
            _person(
                fx_head,
                credit_code="91370611MA00000001",
                entity_name="张伟小吃店",
                established_date="2026-02-22",
                status="存续",
            )
        ],
    )
    # deposits_over_limit: 156,000.15 over six members is 26,000.024999999998 in DOUBLE; DuckDB
    # casts it to DECIMAL(14, 2) as 26,000.03 (Spark's own cast gives 26,000.02); an older
    # query of the same account is superseded by the newer one (row_number())
    members = _members(big)
    balances = ["26000.00", "26000.00", "26000.00", "26000.00", "26000.00", "26000.15"]
    feed(
        "bank_deposit",
        [
            _person(
                m,
                institution="烟台银行",
                asset_type="活期存款",
                balance=b,
                query_date="2026-02-25",
                account_number=f"A{i}",
            )
            for i, (m, b) in enumerate(zip(members, balances, strict=True))
        ]
        + [
            _person(
                members[0],
                institution="烟台银行",
                asset_type="活期存款",
                balance="999999.99",
                query_date="2025-10-01",
                account_number="A0",
            )
        ],
    )
    entitled = pa.table(
        {
            # qv: 低保 entitled, not received (entitlement_gap); fx: a recipient whose income
            # is above the standard now (income_above_standard); zf: 特困 as received (nothing)
            "household_id": [qv.pk, fx.pk, zf.pk],
            "dibao": [True, True, False],
            "near_dibao": [False, False, False],
            "rigid_expense": [False, False, False],
            "has_tekun": [False, False, True],
            "per_capita_fen": [50000, 120050, None],
            "monthly_benefit_yuan": [Decimal("569.00"), Decimal("0.00"), None],
            "as_of": [dt.date(2026, 2, 28)] * 3,
            "file": ["sweep/2026-02-28/households.parquet"] * 3,
        },
        schema=engine.ENTITLED_SCHEMA,
    )
    return {"entitled": entitled, "big": big, "elder": elder, "kid": kid, **town_households}


def _members(household: Any) -> list[Any]:
    from doudi.registry.selectors import household_members

    return [m.person for m in household_members(household=household)]
