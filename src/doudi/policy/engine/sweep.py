"""The city-wide sweep: household descriptions from the registry and the data pool, then the rules.

``build_inputs(con, as_of)`` turns the pool's views (``registry_persons``, ``registry_households``
and the interface views) plus ``declarations(person_id, monthly_fen, declared_on)`` into the rule
inputs ``p_households`` and ``p_members`` as temp tables on ``con``; ``run(con, ...)`` adds
``p_params``, runs the rule stages (materialised) and writes the results as Parquet.

What comes from where (as of the date; "last 12 months" = the 12 months up to it):

- members: the registry's current households (persons moved out of the city left out); status
  from the registry, overridden by the pool: a death registration makes a person dead, a
  prisoner record in custody makes them "prison".
- disability: the person's latest disability certificate (残联); seriously ill: a serious-disease
  settlement (医保) in the last 12 months; care: the 特困 roll's care level (全自理 -> 0 failed
  activities, 半护理 -> 2, 全护理 -> 5, which gives the same level back).
- income, monthly: wages = the average of the months with a wage line in the personal income tax
  feed in the last 12 months, if the last is within 3 months; business and property income
  (investment, leases, property transfers) = the tax feed's last 12 months / 12; transfers = the
  average unemployment insurance payment of the last 3 months; pensions = the average of the
  pension payments of the last 3 months, by type (employee -> pension; residents' basic pension
  -> basic_pension); the declared income (latest declaration) counts only for the part no
  department evidences: ``max(0, declared - everything above)``. Unknown when a person of 16 or
  more has neither a declaration nor a pool figure. Farm subsidies, royalties and incidental
  income are shown by the verification report but not counted.
- assets: the latest balance of every bank and securities account (institution, account, type)
  queried in the last 12 months, and the cash value of in-force insurance policies held;
  vehicles registered (not disability vehicles, not cancelled or scrapped) and fishing vessels
  (DOMAIN.md §5: "a vehicle, ship or large machine"); current residential real estate; an
  active business registration. A department that holds nothing for a person is a finding
  (none), not missing data.
- rigid spending in the last 12 months: inpatient and outpatient self-paid costs (医保) and
  rehabilitation self-paid costs (残联); education costs are not in any feed (0).
- 防止返贫监测: a member on the relapse-watch list with the risk not eliminated.
- sudden hardship: the latest disaster loss of a member's household (collapsed or severely
  damaged house, casualty).
- receiving 低保: the members' amounts on their latest 低保 roll line if active or in gradual exit.
- parents of a child: the head and spouse of the child's household; the orphan and unsupported
  child rolls say both parents are dead, or unable.
- obligors outside the household: known (none able) for persons on an active 特困 roll, whose
  recognition checked them; unknown for everyone else (a "待核实" lead for proactive help).
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import duckdb

from doudi.datapool.store import pin_registry
from doudi.policy.engine.core import define_stages
from doudi.policy.engine.parameters import ParameterTree
from doudi.policy.engine.schema import HOUSEHOLD_SCHEMA, MEMBER_SCHEMA, params_table

HOUSEHOLD_FLAGS = ("dibao", "near_dibao", "rigid_expense", "relapse_watch", "other_difficulty")
MEMBER_FLAGS = (
    "tekun",
    "orphan",
    "unsupported_child",
    "difficult_child",
    "difficult_elderly",
    "severe_disability",
    "single_dibao",
)


def _d(as_of: dt.date) -> str:
    return f"DATE '{as_of.isoformat()}'"


def pool_windows(as_of: dt.date) -> dict[str, tuple[str, str]]:
    """The date window the sweep reads of each large interface ({code: (field, condition)}):
    the pool may narrow those views to the window before ranking versions (a large speed-up on
    a city's history). The conditions repeat the ones in ``build_inputs``."""
    d = _d(as_of)
    y12 = f"{d} - INTERVAL 12 MONTH"
    m3 = f"{d} - INTERVAL 3 MONTH"
    w12 = {
        "tax_income": "period_start",
        "bank_deposit": "query_date",
        "securities": "query_date",
        "commercial_insurance": "query_date",
    }
    w3 = {"pension_payment": "payment_date", "unemployment_insurance": "payment_date"}
    out = {c: (f, f"{f} <= {d} AND {f} > {y12}") for c, f in w12.items()}
    out.update({c: (f, f"{f} <= {d} AND {f} > {m3}") for c, f in w3.items()})
    for code, field in (
        ("dibao_roll", "roll_date"),
        ("tekun_roll", "roll_date"),
        ("disability_certificate", "issue_date"),
        ("disaster_loss", "disaster_date"),
    ):
        out[code] = (field, f"{field} <= {d}")
    return out


def _conform(con: duckdb.DuckDBPyConnection) -> None:
    """The contract's column order. ``household_id`` keeps its type: the sweep builds it as an
    integer (joins and grouping on integers are several times faster than on strings; the rules
    only compare it), the window passes the caller's strings."""
    for name, schema in (("p_households", HOUSEHOLD_SCHEMA), ("p_members", MEMBER_SCHEMA)):
        cols = ", ".join(f.name for f in schema)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols} FROM {name}")


def build_inputs(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, *, household_ids: list[int] | None = None
) -> dict[str, int]:
    """Create ``p_households`` and ``p_members`` on ``con``; return their row counts.

    ``household_ids`` limits the inputs to those households (a household's page, a verification).
    """
    d = _d(as_of)
    if household_ids is None:
        pin_registry(con)
    only = ""
    if household_ids is not None:
        only = (
            "AND p.household_id IN ("
            + (", ".join(str(int(h)) for h in household_ids) or "NULL")
            + ")"
        )
    y12 = f"({d} - INTERVAL 12 MONTH)"
    m3 = f"({d} - INTERVAL 3 MONTH)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE sw_people AS
        WITH dead AS (
            SELECT DISTINCT person_id FROM death_registration
            WHERE person_id IS NOT NULL AND death_date <= {d}
        ),
        jailed AS (
            SELECT DISTINCT person_id FROM prisoner
            WHERE person_id IS NOT NULL AND status = 'in_custody' AND admission_date <= {d}
              AND (release_date IS NULL OR release_date > {d})
        )
        SELECT p.person_id, p.household_id, p.relation, p.birth_date,
               CASE WHEN dead.person_id IS NOT NULL THEN 'dead'
                    WHEN jailed.person_id IS NOT NULL THEN 'prison'
                    ELSE p.status END AS status,
               p.county_code, p.residence_type
        FROM registry_persons p
        LEFT JOIN dead ON dead.person_id = p.person_id
        LEFT JOIN jailed ON jailed.person_id = p.person_id
        WHERE p.household_id IS NOT NULL AND p.status <> 'moved_out' {only}
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE sw_income AS
        WITH wage_months AS (
            SELECT person_id, date_trunc('month', period_start) AS m,
                   sum(income) AS income
            FROM tax_income
            WHERE person_id IS NOT NULL AND income_item IN ('wage', 'labor')
              AND period_start <= {d} AND period_start > {y12}
            GROUP BY ALL
        ),
        wage AS (
            SELECT person_id, CAST(round(avg(income) * 100) AS BIGINT) AS wage_fen
            FROM wage_months GROUP BY person_id
            HAVING max(m) > {m3} - INTERVAL 1 MONTH
        ),
        other AS (
            SELECT person_id,
                   CAST(round(coalesce(sum(income) FILTER (income_item = 'business'), 0) * 100 / 12)
                        AS BIGINT) AS business_fen,
                   CAST(round(coalesce(sum(income) FILTER (income_item IN
                        ('investment', 'property_lease', 'property_transfer')), 0) * 100 / 12)
                        AS BIGINT) AS property_fen
            FROM tax_income
            WHERE person_id IS NOT NULL AND period_start <= {d} AND period_start > {y12}
              AND income_item IN ('business', 'investment', 'property_lease', 'property_transfer')
            GROUP BY person_id
        ),
        unemp AS (
            SELECT person_id, CAST(round(avg(amount) * 100) AS BIGINT) AS transfer_fen
            FROM unemployment_insurance
            WHERE person_id IS NOT NULL AND payment_date <= {d} AND payment_date > {m3}
            GROUP BY person_id
        ),
        pen AS (
            SELECT person_id,
                   CAST(round(coalesce(avg(amount) FILTER (pension_type <> 'resident'), 0) * 100)
                        AS BIGINT) AS pension_fen,
                   CAST(round(coalesce(avg(amount) FILTER (pension_type = 'resident'), 0) * 100)
                        AS BIGINT) AS basic_fen
            FROM pension_payment
            WHERE person_id IS NOT NULL AND payment_date <= {d} AND payment_date > {m3}
            GROUP BY person_id
        ),
        decl AS (
            SELECT person_id, arg_max(monthly_fen, declared_on) AS declared_fen
            FROM declarations WHERE declared_on <= {d} GROUP BY person_id
        )
        SELECT p.person_id,
               coalesce(w.wage_fen, 0) AS wage_fen,
               coalesce(pen.pension_fen, 0) AS pension_fen,
               coalesce(pen.basic_fen, 0) AS basic_fen,
               coalesce(other.business_fen, 0) AS business_fen,
               coalesce(other.property_fen, 0) AS property_fen,
               coalesce(unemp.transfer_fen, 0) AS transfer_fen,
               decl.declared_fen,
               w.person_id IS NOT NULL OR pen.person_id IS NOT NULL
                   OR other.person_id IS NOT NULL OR unemp.person_id IS NOT NULL AS pool_found
        FROM sw_people p
        LEFT JOIN wage w ON w.person_id = p.person_id
        LEFT JOIN other ON other.person_id = p.person_id
        LEFT JOIN unemp ON unemp.person_id = p.person_id
        LEFT JOIN pen ON pen.person_id = p.person_id
        LEFT JOIN decl ON decl.person_id = p.person_id
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE sw_person_facts AS
        WITH dis AS (
            SELECT person_id, arg_max(category, issue_date) AS cat,
                   CAST(arg_max(grade, issue_date) AS INTEGER) AS grade
            FROM disability_certificate
            WHERE person_id IS NOT NULL AND issue_date <= {d}
            GROUP BY person_id
        ),
        ill AS (
            SELECT DISTINCT person_id FROM serious_disease
            WHERE person_id IS NOT NULL AND settlement_date <= {d} AND settlement_date > {y12}
        ),
        care AS (
            SELECT person_id, arg_max(care_level, roll_date) AS level,
                   arg_max(status, roll_date) AS status
            FROM tekun_roll WHERE person_id IS NOT NULL AND roll_date <= {d}
            GROUP BY person_id
        ),
        orphans AS (
            SELECT person_id, arg_max(status, roll_date) AS status FROM orphan_roll
            WHERE person_id IS NOT NULL AND roll_date <= {d} GROUP BY person_id
        ),
        unsupported AS (
            SELECT person_id, arg_max(status, roll_date) AS status FROM unsupported_child_roll
            WHERE person_id IS NOT NULL AND roll_date <= {d} GROUP BY person_id
        )
        SELECT p.person_id, dis.cat, dis.grade, ill.person_id IS NOT NULL AS seriously_ill,
               CASE care.level WHEN 'self_care' THEN 0 WHEN 'partial' THEN 2
                               WHEN 'full' THEN 5 END AS self_care_failed,
               coalesce(care.status = 'active', FALSE) AS tekun_listed,
               coalesce(orphans.status = 'active', FALSE) AS orphan_listed,
               coalesce(unsupported.status = 'active', FALSE) AS unsupported_listed
        FROM sw_people p
        LEFT JOIN dis ON dis.person_id = p.person_id
        LEFT JOIN ill ON ill.person_id = p.person_id
        LEFT JOIN care ON care.person_id = p.person_id
        LEFT JOIN orphans ON orphans.person_id = p.person_id
        LEFT JOIN unsupported ON unsupported.person_id = p.person_id
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE p_members AS
        WITH parents AS (
            SELECT household_id, count(*) AS n,
                   count(*) FILTER (status IN ('prison', 'drug_rehab', 'missing', 'dead')
                                    OR (f.grade IN (1, 2))
                                    OR (f.cat IN ('mental', 'intellectual') AND f.grade IN (3, 4))
                                    OR f.seriously_ill) AS unable
            FROM sw_people p JOIN sw_person_facts f USING (person_id)
            WHERE relation IN ('head', 'spouse')
            GROUP BY household_id
        )
        SELECT p.household_id,
               CAST(row_number() OVER (PARTITION BY p.household_id ORDER BY p.person_id) - 1
                    AS INTEGER) AS member_idx,
               CAST(p.person_id AS VARCHAR) AS id_number,
               p.relation,
               CAST(strftime(p.birth_date, '%Y%m%d') AS INTEGER) AS birth_ymd,
               f.cat AS dis_cat, f.grade AS dis_grade, f.self_care_failed, p.status,
               f.seriously_ill,
               (i.declared_fen IS NOT NULL OR i.pool_found
                OR date_diff('year', p.birth_date, {d}) < 16) AS income_known,
               i.wage_fen AS inc_wage, i.business_fen AS inc_business,
               i.property_fen AS inc_property, i.transfer_fen AS inc_transfer,
               i.pension_fen AS inc_pension, i.basic_fen AS inc_basic_pension,
               0::BIGINT AS inc_support, 0::BIGINT AS inc_excluded,
               greatest(coalesce(i.declared_fen, 0) - i.wage_fen - i.pension_fen - i.basic_fen
                        - i.business_fen - i.property_fen - i.transfer_fen, 0) AS inc_declared,
               CAST(CASE WHEN f.orphan_listed OR f.unsupported_listed THEN 2
                         WHEN p.relation = 'child' THEN coalesce(par.n, 0) END AS INTEGER)
                   AS parents_n,
               CAST(CASE WHEN f.orphan_listed THEN 2 WHEN f.unsupported_listed THEN 0
                         WHEN p.relation = 'child' THEN 0 END AS INTEGER) AS parents_dead_n,
               CAST(CASE WHEN f.orphan_listed OR f.unsupported_listed THEN 2
                         WHEN p.relation = 'child' THEN coalesce(par.unable, 0) END AS INTEGER)
                   AS parents_incapable_n,
               CASE WHEN f.tekun_listed THEN 0 END::INTEGER AS obligors_n,
               CASE WHEN f.tekun_listed THEN 0 END::INTEGER AS obligors_able_n
        FROM sw_people p
        JOIN sw_person_facts f USING (person_id)
        JOIN sw_income i USING (person_id)
        LEFT JOIN parents par ON par.household_id = p.household_id
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE sw_household_facts AS
        WITH bank AS (
            SELECT person_id, arg_max(balance, query_date) AS v
            FROM bank_deposit WHERE person_id IS NOT NULL
              AND query_date <= {d} AND query_date > {y12}
            GROUP BY person_id, institution, account_number, asset_type
        ),
        sec AS (
            SELECT person_id, arg_max(market_value, query_date) AS v
            FROM securities WHERE person_id IS NOT NULL
              AND query_date <= {d} AND query_date > {y12}
            GROUP BY person_id, institution, account_number, asset_type
        ),
        ins AS (
            SELECT person_id, arg_max(cash_value, query_date) AS v,
                   arg_max(status, query_date) AS status
            FROM commercial_insurance WHERE person_id IS NOT NULL AND role = 'policyholder'
              AND query_date <= {d} AND query_date > {y12}
            GROUP BY person_id, institution, policy_number
        ),
        roll AS (
            SELECT person_id, arg_max(monthly_amount, roll_date) AS amount,
                   arg_max(status, roll_date) AS status, max(roll_date) AS last
            FROM dibao_roll WHERE person_id IS NOT NULL AND roll_date <= {d}
            GROUP BY person_id
        ),
        -- every fact as (person, kind, value), so that one join reaches the households
        facts AS (
            SELECT person_id, 'fin' AS kind, CAST(v AS DECIMAL(18, 2)) AS v FROM bank
            UNION ALL SELECT person_id, 'fin', v FROM sec
            UNION ALL SELECT person_id, 'fin', v FROM ins WHERE status = 'in_force'
            UNION ALL SELECT person_id, 'veh', 1 FROM vehicle_registration
                WHERE person_id IS NOT NULL AND registration_date <= {d}
                  AND NOT coalesce(disability_vehicle, FALSE)
                  AND coalesce(status, '') NOT SIMILAR TO '.*(注销|报废|转出).*'
            UNION ALL SELECT person_id, 'veh', 1 FROM fishing_vessel
                WHERE person_id IS NOT NULL AND registration_date <= {d}
                  AND status IS DISTINCT FROM 'cancelled'
            UNION ALL SELECT person_id, 'dw', 1 FROM real_estate
                WHERE person_id IS NOT NULL AND registration_date <= {d}
                  AND status = 'current' AND coalesce(usage, '住宅') LIKE '%住%'
            UNION ALL SELECT person_id, 'biz', 1 FROM business_registration
                WHERE person_id IS NOT NULL AND established_date <= {d} AND status = 'active'
            UNION ALL SELECT person_id, 'med', self_paid FROM medical_inpatient
                WHERE person_id IS NOT NULL AND discharge_date <= {d} AND discharge_date > {y12}
            UNION ALL SELECT person_id, 'med', self_paid FROM medical_outpatient
                WHERE person_id IS NOT NULL
                  AND settlement_date <= {d} AND settlement_date > {y12}
            UNION ALL SELECT person_id, 'rehab', self_paid FROM disability_rehab
                WHERE person_id IS NOT NULL AND start_date <= {d} AND start_date > {y12}
            UNION ALL SELECT person_id, 'relapse', 1 FROM relapse_watch
                WHERE person_id IS NOT NULL AND identified_date <= {d}
                  AND risk_status = 'not_eliminated'
            UNION ALL SELECT person_id, 'sudden',
                       CAST(strftime(disaster_date, '%Y%m%d') AS INTEGER) FROM disaster_loss
                WHERE person_id IS NOT NULL AND disaster_date <= {d}
                  AND loss_type IN ('house_collapsed', 'house_severely_damaged', 'casualty')
            UNION ALL SELECT person_id, 'receiving', amount FROM roll
                WHERE status IN ('active', 'gradual_exit') AND last > {m3}
        )
        SELECT p.household_id,
               sum(v) FILTER (kind = 'fin') AS fin,
               count(*) FILTER (kind = 'veh') AS veh,
               count(*) FILTER (kind = 'dw') AS dw,
               count(*) FILTER (kind = 'biz') > 0 AS biz,
               sum(v) FILTER (kind = 'med') AS med,
               sum(v) FILTER (kind = 'rehab') AS rehab,
               count(*) FILTER (kind = 'relapse') > 0 AS relapse,
               CAST(max(v) FILTER (kind = 'sudden') AS INTEGER) AS sudden_ymd,
               sum(v) FILTER (kind = 'receiving') AS receiving
        FROM facts f JOIN sw_people p USING (person_id)
        GROUP BY p.household_id
    """)
    con.execute("""
        CREATE OR REPLACE TEMP TABLE p_households AS
        SELECT h.household_id,
               h.county_code, h.residence_type AS residence,
               CAST(round(coalesce(f.fin, 0) * 100) AS BIGINT) AS fin_fen,
               CAST(coalesce(f.veh, 0) AS INTEGER) AS vehicles,
               CAST(coalesce(f.dw, 0) AS INTEGER) AS dwellings,
               coalesce(f.biz, FALSE) AS business,
               CAST(round(coalesce(f.med, 0) * 100) AS BIGINT) AS rigid_medical_fen,
               0::BIGINT AS rigid_education_fen,
               CAST(round(coalesce(f.rehab, 0) * 100) AS BIGINT) AS rigid_rehab_fen,
               coalesce(f.relapse, FALSE) AS relapse_listed,
               f.sudden_ymd,
               CAST(round(f.receiving * 100) AS BIGINT) AS receiving_dibao_fen,
               CAST(NULL AS INTEGER) AS exit_start_ymd
        FROM registry_households h
        SEMI JOIN (SELECT DISTINCT household_id FROM sw_people) m USING (household_id)
        LEFT JOIN sw_household_facts f USING (household_id)
        WHERE h.status = 'active'
    """)
    # members of households not in the table (dissolved) are dropped, so both tables agree
    con.execute(
        "DELETE FROM p_members WHERE household_id NOT IN (SELECT household_id FROM p_households)"
    )
    _conform(con)
    return {
        "households": con.execute("SELECT count(*) FROM p_households").fetchall()[0][0],
        "persons": con.execute("SELECT count(*) FROM p_members").fetchall()[0][0],
    }


def run_rules(con: duckdb.DuckDBPyConnection, *, tree: ParameterTree, as_of: dt.date) -> None:
    """With ``p_households`` and ``p_members`` on ``con``: add ``p_params``, run the stages."""
    counties = [r[0] for r in con.sql("SELECT DISTINCT county_code FROM p_households").fetchall()]
    con.register("_p_params", params_table(tree, as_of, counties))
    con.execute("CREATE OR REPLACE TEMP TABLE p_params AS SELECT * FROM _p_params")
    define_stages(con, materialize=True)


RESULT_HOUSEHOLD_COLUMNS = (
    "household_id",
    "county_code",
    "residence",
    "tier",
    *HOUSEHOLD_FLAGS,
    "has_tekun",
    "n_counted",
    "n_dibao",
    "income_total_fen",
    "per_capita_fen",
    "monthly_benefit_yuan",
    "dibao_gap_fen",
    "tekun_fen",
    "single_dibao_fen",
    "supplement_fen",
    "exit_fen",
    "gradual_exit",
    "receiving_dibao_fen",
)
RESULT_MEMBER_COLUMNS = (
    "household_id",
    "member_idx",
    "id_number",
    "age",
    "counted",
    *MEMBER_FLAGS,
    "care_level",
    "tekun_fen",
)


def write_results(con: duckdb.DuckDBPyConnection, out_dir: Path) -> dict[str, Path]:
    """Write the household and member results as Parquet under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"households": out_dir / "households.parquet", "members": out_dir / "members.parquet"}
    for key, rel, cols, order in (
        ("households", "pr", RESULT_HOUSEHOLD_COLUMNS, "household_id"),
        ("members", "pmc", RESULT_MEMBER_COLUMNS, "household_id, member_idx"),
    ):
        tmp = paths[key].with_suffix(".parquet.tmp")
        con.execute(
            f"COPY (SELECT {', '.join(cols)} FROM {rel} ORDER BY {order}) TO '{tmp}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
        tmp.replace(paths[key])
    return paths


def summarise(con: duckdb.DuckDBPyConnection, households: str, members: str) -> dict[str, Any]:
    """Counts per category (yes / unknown), per tier, and the monthly total, from result files."""
    hh = f"read_parquet('{households}')"
    mem = f"read_parquet('{members}')"
    cats: dict[str, dict[str, int]] = {}
    row = con.execute(
        "SELECT count(*), "
        + ", ".join(
            f"count(*) FILTER ({c}), count(*) FILTER ({c} IS NULL)" for c in HOUSEHOLD_FLAGS
        )
        + f", sum(monthly_benefit_yuan), count(*) FILTER (tier = 1), count(*) FILTER (tier = 2),"
        f" count(*) FILTER (tier = 3) FROM {hh}"
    ).fetchall()[0]
    assert row is not None
    for i, c in enumerate(HOUSEHOLD_FLAGS):
        cats[c] = {"yes": row[1 + 2 * i], "unknown": row[2 + 2 * i]}
    base = 1 + 2 * len(HOUSEHOLD_FLAGS)
    prow = con.execute(
        "SELECT count(*), "
        + ", ".join(f"count(*) FILTER ({c}), count(*) FILTER ({c} IS NULL)" for c in MEMBER_FLAGS)
        + f" FROM {mem}"
    ).fetchall()[0]
    assert prow is not None
    for i, c in enumerate(MEMBER_FLAGS):
        key = "single_person_dibao" if c == "single_dibao" else c
        cats[key] = {"yes": prow[1 + 2 * i], "unknown": prow[2 + 2 * i]}
    return {
        "households": row[0],
        "persons": prow[0],
        "categories": cats,
        "tiers": {"1": row[base + 1], "2": row[base + 2], "3": row[base + 3]},
        "monthly_benefit_total": int(row[base] or 0),
    }


def sweep_duckdb(
    con: duckdb.DuckDBPyConnection,
    *,
    tree: ParameterTree,
    as_of: dt.date,
    out_dir: Path,
    inputs_ready: bool = False,
    progress: Any = None,
) -> dict[str, Any]:
    """Build the inputs (unless ready), run the rules, write the results; return the summary.

    DuckDB's memory is capped (``DOUDI_SWEEP_MEMORY``, default 6GB) and spills to
    ``out_dir``'s parent beyond it, so a city's sweep fits the 8 GiB the machines allow.
    """
    import os

    limit = os.environ.get("DOUDI_SWEEP_MEMORY", "6GB")
    spill = out_dir.parent / "duckdb-spill"
    spill.mkdir(parents=True, exist_ok=True)
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute(f"SET temp_directory = '{spill}'")
    con.execute("SET preserve_insertion_order = false")
    t0 = time.perf_counter()
    if not inputs_ready:
        if progress:
            progress("building inputs")
        build_inputs(con, as_of)
    t1 = time.perf_counter()
    if progress:
        progress("running rules")
    run_rules(con, tree=tree, as_of=as_of)
    paths = write_results(con, out_dir)
    t2 = time.perf_counter()
    summary = summarise(con, str(paths["households"]), str(paths["members"]))
    summary.update(
        {
            "as_of": as_of.isoformat(),
            "engine": "duckdb",
            "policy_version": tree.version(as_of),
            "seconds": round(t2 - t0, 2),
            "seconds_inputs": round(t1 - t0, 2),
            "seconds_rules": round(t2 - t1, 2),
        }
    )
    return summary


def inputs_from_city(
    con: duckdb.DuckDBPyConnection, city_dir: Path, as_of: dt.date
) -> dict[str, int]:
    """Rule inputs straight from a synthetic city's Parquet files (no pool): for benchmarks that
    compare engines on the same households. Incomes are the persons' generated monthly incomes
    (counted as declared income; the residents' basic pension of 特困 persons, which the city
    generator sets as their income, is put in ``basic_pension``), assets the households' fields;
    obligors outside the household are known (none) only for the recognised 特困 persons.
    """
    p = f"read_parquet('{city_dir / 'persons.parquet'}')"
    h = f"read_parquet('{city_dir / 'households.parquet'}')"
    d = _d(as_of)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE p_members AS
        SELECT household_id,
               CAST(row_number() OVER (PARTITION BY household_id ORDER BY person_id) - 1
                    AS INTEGER) AS member_idx,
               CAST(person_id AS VARCHAR) AS id_number, relation,
               CAST(strftime(birth_date, '%Y%m%d') AS INTEGER) AS birth_ymd,
               disability_category AS dis_cat, CAST(disability_grade AS INTEGER) AS dis_grade,
               CAST(self_care_failed_activities AS INTEGER) AS self_care_failed, status,
               FALSE AS seriously_ill, TRUE AS income_known,
               0::BIGINT AS inc_wage, 0::BIGINT AS inc_business, 0::BIGINT AS inc_property,
               0::BIGINT AS inc_transfer, 0::BIGINT AS inc_pension,
               CASE WHEN tekun THEN monthly_income_yuan * 100 ELSE 0 END::BIGINT
                   AS inc_basic_pension,
               0::BIGINT AS inc_support, 0::BIGINT AS inc_excluded,
               CASE WHEN tekun THEN 0 ELSE monthly_income_yuan * 100 END::BIGINT AS inc_declared,
               CAST(NULL AS INTEGER) AS parents_n, CAST(NULL AS INTEGER) AS parents_dead_n,
               CAST(NULL AS INTEGER) AS parents_incapable_n,
               CASE WHEN tekun THEN 0 END::INTEGER AS obligors_n,
               CASE WHEN tekun THEN 0 END::INTEGER AS obligors_able_n
        FROM {p}
        WHERE birth_date <= {d}
    """)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE p_households AS
        SELECT household_id, left(village_code, 6) AS county_code,
               residence_type AS residence, financial_assets_yuan * 100 AS fin_fen,
               CAST(vehicles AS INTEGER) AS vehicles, CAST(dwellings AS INTEGER) AS dwellings,
               business_registered AS business, 0::BIGINT AS rigid_medical_fen,
               0::BIGINT AS rigid_education_fen, 0::BIGINT AS rigid_rehab_fen,
               CASE WHEN residence_type = 'urban' THEN FALSE END AS relapse_listed,
               CAST(NULL AS INTEGER) AS sudden_ymd, CAST(NULL AS BIGINT) AS receiving_dibao_fen,
               CAST(NULL AS INTEGER) AS exit_start_ymd
        FROM {h}
    """)
    _conform(con)
    return {
        "households": con.execute("SELECT count(*) FROM p_households").fetchall()[0][0],
        "persons": con.execute("SELECT count(*) FROM p_members").fetchall()[0][0],
    }
