"""The policy rules written in plain pandas: the "what a data analyst would write" baseline.

Only for ``doudi bench policy`` (pandas is not a doudi dependency; the benchmark skips this
engine when pandas is not installed). It reads the same three input tables as the SQL stages
(``p_households``, ``p_members``, ``p_params``, see ``engine/schema.py``) and computes, with
vectorised pandas on nullable dtypes (``Int64`` / ``boolean``: NA is SQL's NULL, and ``&``, ``|``
and ``~`` on ``boolean`` follow the same three-valued Kleene logic as SQL's AND, OR and NOT):

- members: age, counted in the household, severe disability, labour capacity, counted income;
- households: members counted, the asset tests, the standards of the household's county;
- support obligors living in the household (counts per relation instead of SQL's self-join);
- 特困 (no labour capacity, no livelihood, no able obligor; yes / no / unknown) and care level;
- household income, 低保, 低保边缘, 刚性支出困难, 防止返贫监测, 其他困难, 低保渐退;
- per-person amounts (特困 standard + care fee, 单人保, 分类施保) and the household's tier,
  monthly benefit (whole yuan, half up) and per-capita income (fen, half up).

Each block names the SQL stage it mirrors (``engine/rules/NN_*.sql``); the results are meant to
equal DuckDB's row for row (the benchmark counts the mismatches).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

NOT_COUNTED = ["prison", "drug_rehab", "missing", "clergy_apart", "dead"]
HOUSEHOLD_OUTPUTS = (
    "household_id",
    "n_counted",
    "income_total_fen",
    "a_fin",
    "a_vehicles",
    "a_dwellings",
    "a_business",
    "dibao",
    "near_dibao",
    "rigid_expense",
    "relapse_watch",
    "other_difficulty",
    "has_tekun",
    "tier",
    "monthly_benefit_yuan",
    "per_capita_fen",
)
MEMBER_OUTPUTS = ("household_id", "member_idx", "tekun", "care_level")


def _na_int(index: pd.Index) -> pd.Series:
    return pd.Series(pd.NA, index=index, dtype="Int64")


def _when(cond: pd.Series, then: Any, otherwise: Any) -> pd.Series:
    """SQL's ``CASE WHEN cond THEN then ELSE otherwise END`` (a NULL condition is not true)."""
    c = cond.fillna(False).astype(bool)
    then_s = then if isinstance(then, pd.Series) else pd.Series(then, index=cond.index)
    other_s = (
        otherwise if isinstance(otherwise, pd.Series) else pd.Series(otherwise, index=cond.index)
    )
    return then_s.where(c, other_s)


def _months(ymd: pd.Series) -> pd.Series:
    return (ymd // 10000) * 12 + (ymd // 100) % 100


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Every integer column as Int64 (no int32 overflow in fen products)."""
    for col, dtype in frame.dtypes.items():
        if pd.api.types.is_integer_dtype(dtype):
            frame[col] = frame[col].astype("Int64")
    return frame


def read_inputs(
    households: str, members: str, params: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The three input tables from Parquet files, with pandas' nullable dtypes."""
    return tuple(  # type: ignore[return-value]
        _prepare(pd.read_parquet(p, dtype_backend="numpy_nullable"))
        for p in (households, members, params)
    )


def run(h: pd.DataFrame, m: pd.DataFrame, p: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the rules; return (households, members) with HOUSEHOLD_OUTPUTS / MEMBER_OUTPUTS."""
    # ------------------------------------------------------------------ pm: member facts
    pm = m.merge(h[["household_id", "county_code"]], on="household_id").merge(p, on="county_code")
    hh_of = h.merge(p, on="county_code")
    urban = hh_of["residence"] == "urban"
    hh_of["dibao_std"] = _when(urban, hh_of["dibao_std_urban"], hh_of["dibao_std_rural"])
    hh_of["tekun_std"] = _when(urban, hh_of["tekun_std_urban"], hh_of["tekun_std_rural"])
    pm = pm.merge(hh_of[["household_id", "dibao_std", "tekun_std"]], on="household_id")

    pm["age"] = (pm["as_of_ymd"] - pm["birth_ymd"]) // 10000
    counted = ~pm["status"].isin(NOT_COUNTED)
    pm["counted"] = counted.astype("boolean").mask(pm["status"].isna())
    grade, cat = pm["dis_grade"], pm["dis_cat"]
    pm["severe"] = grade.isin([1, 2]) | (cat.isin(["mental", "intellectual"]) & (grade == 3))
    pm["severe"] = pm["severe"].fillna(False)
    pm["disabled"] = grade.notna()
    pm["labour_disability"] = (
        (cat.isin(["intellectual", "mental"]) & (grade <= 3)).fillna(False)
        | (cat.eq("physical") & (grade <= 2)).fillna(False)
        | (cat.eq("visual") & (grade == 1)).fillna(False)
    )
    known = pm["income_known"].fillna(False)
    inc_tekun = (
        pm["inc_wage"]
        + pm["inc_business"]
        + pm["inc_property"]
        + pm["inc_transfer"]
        + pm["inc_pension"]
        + pm["inc_support"]
        + pm["inc_declared"]
    )
    pm["income_fen"] = (inc_tekun + pm["inc_basic_pension"]).where(known, pd.NA)
    pm["income_tekun_fen"] = inc_tekun.where(known, pd.NA)

    # ------------------------------------------------------------------ ph: households, assets
    cnt = (
        pm.assign(one=1, c=pm["counted"].fillna(False).astype("int64"))
        .groupby("household_id", sort=False)
        .agg(n_members=("one", "sum"), n_counted=("c", "sum"))
        .reset_index()
    )
    ph = hh_of.merge(cnt, on="household_id")
    ph["a_fin"] = ph["fin_fen"] <= ph["fin_months"] * ph["dibao_std"] * ph["n_counted"]
    ph["a_vehicles"] = ph["vehicles"] <= ph["max_vehicles"]
    ph["a_dwellings"] = ph["dwellings"] <= ph["max_dwellings"]
    ph["a_business"] = ~ph["business"]
    ph["assets_ok"] = ph["a_fin"] & ph["a_vehicles"] & ph["a_dwellings"] & ph["a_business"]

    # ------------------------------------------------------------------ pob: obligors at home
    # able = counted, present, 18-69, not severely disabled; counted per relation and household
    able = (
        pm["counted"]
        & pm["status"].eq("present")
        & (pm["age"] >= 18)
        & (pm["age"] < 70)
        & ~pm["severe"]
    ).fillna(False)
    rel = pm["relation"]
    per_rel = (
        pd.DataFrame(
            {
                "household_id": pm["household_id"],
                "head": (able & rel.eq("head")).astype("int64"),
                "spouse": (able & rel.eq("spouse")).astype("int64"),
                "child": (able & rel.eq("child")).astype("int64"),
            }
        )
        .groupby("household_id", sort=False)
        .sum()
    )
    at = per_rel.reindex(pm["household_id"]).to_numpy()
    a_head, a_spouse, a_child = at[:, 0], at[:, 1], at[:, 2]
    self_able = able.astype("int64").to_numpy()
    is_hs = rel.isin(["head", "spouse"]).fillna(False).to_numpy()
    inhouse = pd.Series(0, index=pm.index, dtype="int64")
    inhouse = inhouse.mask(is_hs, a_head + a_spouse + a_child - self_able)
    inhouse = inhouse.mask(rel.eq("child").fillna(False).to_numpy(), a_head + a_spouse)
    inhouse = inhouse.mask(rel.eq("parent").fillna(False).to_numpy(), a_head)
    inhouse = inhouse.mask(rel.eq("grandchild").fillna(False).to_numpy(), a_child)

    # ------------------------------------------------------------------ pt / ptr: 特困
    pm = pm.merge(
        ph[
            [
                "household_id",
                "a_fin",
                "a_vehicles",
                "a_dwellings",
                "a_business",
            ]
        ],
        on="household_id",
    )
    t_no_labour = (pm["age"] >= pm["elderly_age"]) | (pm["age"] < pm["minor_age"])
    t_no_labour = t_no_labour | pm["labour_disability"]
    t_no_livelihood = (
        (pm["income_tekun_fen"] < pm["dibao_std"])
        & pm["a_fin"]
        & pm["a_vehicles"]
        & pm["a_dwellings"]
        & pm["a_business"]
    )
    child_like = pm["parents_n"].notna() & pm["relation"].isin(["child", "grandchild"])
    obligors = _when(
        child_like, pm["parents_n"] - pm["parents_incapable_n"], inhouse.astype("Int64")
    ) + pm["obligors_able_n"].fillna(0)
    has_obligor = (obligors > 0).fillna(False)
    known_none = pm["obligors_n"].notna() | child_like
    t_no_obligor = pd.Series(pd.NA, index=pm.index, dtype="boolean")
    t_no_obligor = t_no_obligor.mask(known_none & ~has_obligor, True).mask(has_obligor, False)
    tekun = pm["counted"] & t_no_labour & t_no_livelihood & t_no_obligor
    pm["tekun"] = tekun
    scf = pm["self_care_failed"]
    care = pd.Series(pd.NA, index=pm.index, dtype="string")
    is_tekun = tekun.fillna(False)
    care = care.mask(is_tekun & scf.notna(), "self")
    care = care.mask(is_tekun & (scf >= 1).fillna(False), "partial")
    care = care.mask(is_tekun & (scf >= 4).fillna(False), "full")
    pm["care_level"] = care

    # ------------------------------------------------------------------ phc: household outcomes
    counted_b = pm["counted"].fillna(False)
    dib = counted_b & ~is_tekun
    inc = pm["income_fen"]
    agg = (
        pd.DataFrame(
            {
                "household_id": pm["household_id"],
                "n_dibao": dib.astype("int64"),
                "n_income_unknown": (dib & inc.isna()).astype("int64"),
                "income_sum": inc.where(dib, 0),
                "n_all_unknown": (counted_b & inc.isna()).astype("int64"),
                "income_all_sum": inc.where(counted_b, 0),
                "n_tekun": is_tekun.astype("int64"),
                "n_tekun_unknown": tekun.isna().astype("int64"),
            }
        )
        .groupby("household_id", sort=False)
        .sum()
        .reset_index()
    )
    hc = ph.merge(agg, on="household_id")
    hc["income_total_fen"] = hc["income_sum"].where(hc["n_income_unknown"] == 0, pd.NA)
    hc["income_all_fen"] = hc["income_all_sum"].where(hc["n_all_unknown"] == 0, pd.NA)
    has_tekun = pd.Series(False, index=hc.index, dtype="boolean")
    has_tekun = has_tekun.mask(hc["n_tekun_unknown"] > 0, pd.NA).mask(hc["n_tekun"] > 0, True)
    hc["has_tekun"] = has_tekun
    n_dibao, income, std = hc["n_dibao"], hc["income_total_fen"], hc["dibao_std"]
    assets_ok = hc["assets_ok"]
    d_income = (n_dibao > 0) & (income < std * n_dibao)
    n_income = income * 10000 < hc["near_mult_bp"] * std * n_dibao
    r_income = (n_dibao > 0) & (income * 12 < hc["rigid_ceiling_annual"] * n_dibao)
    rigid_sum = (
        hc["rigid_medical_fen"].fillna(0)
        + hc["rigid_education_fen"].fillna(0)
        + hc["rigid_rehab_fen"].fillna(0)
    )
    rigid_known = (
        hc["rigid_medical_fen"].notna()
        | hc["rigid_education_fen"].notna()
        | hc["rigid_rehab_fen"].notna()
    )
    r_share = (rigid_sum * 10000 > hc["rigid_share_bp"] * income * 12).where(rigid_known, pd.NA)
    hc["relapse_watch"] = _when(
        hc["residence"] == "urban", hc["relapse_listed"].fillna(False), hc["relapse_listed"]
    ).astype("boolean")
    months_now = _months(hc["as_of_ymd"])
    sudden = hc["sudden_ymd"]
    hc["other_difficulty"] = (
        (months_now - _months(sudden) < hc["other_window_months"]) & (sudden <= hc["as_of_ymd"])
    ).fillna(False)
    dibao = d_income & assets_ok
    near = ~dibao & ~has_tekun & (n_dibao > 0) & n_income & assets_ok
    hc["dibao"], hc["near_dibao"] = dibao, near
    hc["rigid_expense"] = ~dibao & ~has_tekun & ~near & r_income & assets_ok & r_share
    exit_elapsed = (months_now - _months(hc["exit_start_ymd"])).fillna(0)
    gradual_exit = (
        hc["receiving_dibao_fen"].notna()
        & ~dibao.fillna(True)
        & assets_ok.fillna(False)
        & ~d_income.fillna(True)
        & (exit_elapsed < hc["exit_months"])
    )
    hc["exit_fen"] = _when(gradual_exit, hc["receiving_dibao_fen"], 0).astype("Int64")

    # ------------------------------------------------------------------ pmc: per-person amounts
    pm = pm.merge(
        hc[["household_id", "dibao", "near_dibao"]].rename(
            columns={"dibao": "hh_dibao", "near_dibao": "hh_near"}
        ),
        on="household_id",
    )
    fee = pd.Series(0, index=pm.index, dtype="Int64")
    fee = _when(pm["care_level"] == "self", pm["care_self"], fee)
    fee = _when(pm["care_level"] == "partial", pm["care_partial"], fee)
    fee = _when(pm["care_level"] == "full", pm["care_full"], fee)
    tekun_b = pm["tekun"].fillna(False)
    pm["tekun_fen"] = _when(tekun_b, pm["tekun_std"] + fee, 0).astype("Int64")
    single = pm["severe"] & pm["counted"] & pm["hh_near"] & ~pm["tekun"]
    single_b = single.fillna(False)
    pm["single"] = single_b
    pm["single_fen"] = _when(
        single_b & (pm["income_fen"] < pm["dibao_std"]), pm["dibao_std"] - pm["income_fen"], 0
    ).astype("Int64")
    age = pm["age"]
    sup = (
        _when(age >= 60, pm["sup_elderly"], 0)
        + _when(pm["severe"], pm["sup_severe"], 0)
        + _when(age < 18, pm["sup_child"], 0)
        + _when(pm["seriously_ill"].fillna(False), pm["sup_ill"], 0)
    )
    pm["sup_fen"] = _when(pm["hh_dibao"].fillna(False) & pm["counted"] & ~tekun_b, sup, 0).astype(
        "Int64"
    )
    amounts = _sum_amounts(pm)

    # ------------------------------------------------------------------ pr: tier and amount
    hr = hc.merge(amounts, on="household_id")
    dibao_b = hr["dibao"].fillna(False)
    gap = _when(dibao_b, hr["dibao_std"] * hr["n_dibao"] - hr["income_total_fen"], 0)
    n_counted = hr["n_counted"]
    divisor = (2 * n_counted).where(n_counted > 0, 1)
    hr["per_capita_fen"] = ((2 * hr["income_all_fen"] + n_counted) // divisor).where(
        n_counted > 0, pd.NA
    )
    tier1 = dibao_b | hr["has_tekun"].fillna(False) | hr["any_single"]
    tier2 = (
        hr["near_dibao"].fillna(False)
        | hr["rigid_expense"].fillna(False)
        | hr["relapse_watch"].fillna(False)
    )
    tier = _na_int(hr.index)
    tier = tier.mask(hr["other_difficulty"].astype(bool), 3).mask(tier2, 2).mask(tier1, 1)
    hr["tier"] = tier
    total = gap + hr["sup_fen"] + hr["tekun_fen"] + hr["single_fen"] + hr["exit_fen"]
    hr["monthly_benefit_yuan"] = (total + 50) // 100
    households = hr[list(HOUSEHOLD_OUTPUTS)]
    members = pm[list(MEMBER_OUTPUTS)]
    return households, members


def _sum_amounts(pm: pd.DataFrame) -> pd.DataFrame:
    """Per household: the sums of the per-person amounts (NULL only if every one is NULL, as
    SQL's SUM) and whether any member is 单人保."""
    g = pm.groupby("household_id", sort=False)
    out = g[["tekun_fen", "single_fen", "sup_fen"]].sum(min_count=1)
    out["any_single"] = g["single"].any()
    return out.reset_index()
