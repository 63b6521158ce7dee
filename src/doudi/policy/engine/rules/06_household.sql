-- stage: phc
-- title: 家庭类别 / household categories
-- reads: ph, ptr
-- reference: DOMAIN.md §3, §5; 民发〔2021〕57号; 国办发〔2023〕39号
-- Income: the sum over the members counted for 低保 (counted and not 特困; a member whose 特困
-- status is unknown stays in) of their counted income; unknown if any of them has no income
-- declared. 低保: per-capita income strictly below the standard (income equal to the standard
-- is not below it), assets within limits. 低保边缘: not 低保, no 特困 member, per-capita income
-- below the multiplier times the standard, assets within limits. 刚性支出困难: none of those,
-- annual per-capita income below the previous year's per-capita disposable income, assets
-- within limits, rigid spending of the last 12 months above the share of the year's income.
-- 防止返贫监测: listed by agriculture-rural bodies (urban households are never on the list).
-- 其他困难: a sudden hardship within the window. All comparisons in integer fen.
WITH agg AS (
    SELECT
        household_id,
        CAST(SUM(CASE WHEN counted AND NOT COALESCE(tekun, FALSE) THEN 1 ELSE 0 END) AS BIGINT) AS n_dibao,
        CAST(SUM(CASE WHEN counted AND NOT COALESCE(tekun, FALSE) AND income_fen IS NULL THEN 1 ELSE 0 END) AS BIGINT)
            AS n_income_unknown,
        CAST(SUM(CASE WHEN counted AND NOT COALESCE(tekun, FALSE) THEN income_fen ELSE 0 END) AS BIGINT) AS income_sum,
        CAST(SUM(CASE WHEN counted THEN COALESCE(excluded_fen, 0) ELSE 0 END) AS BIGINT) AS excluded_sum,
        CAST(SUM(CASE WHEN counted AND income_fen IS NULL THEN 1 ELSE 0 END) AS BIGINT)
            AS n_all_unknown,
        CAST(SUM(CASE WHEN counted THEN income_fen ELSE 0 END) AS BIGINT) AS income_all_sum,
        CAST(SUM(CASE WHEN tekun THEN 1 ELSE 0 END) AS BIGINT) AS n_tekun,
        CAST(SUM(CASE WHEN tekun IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS n_tekun_unknown,
        MIN(CASE WHEN age IS NULL THEN 0 WHEN age >= 60 THEN 1 ELSE 0 END) AS all_elderly
    FROM ptr
    GROUP BY household_id
),
base AS (
    SELECT
        h.*,
        a.n_dibao,
        a.n_tekun,
        a.excluded_sum,
        a.all_elderly,
        CASE WHEN a.n_income_unknown = 0 THEN a.income_sum END AS income_total_fen,
        CASE WHEN a.n_all_unknown = 0 THEN a.income_all_sum END AS income_all_fen,
        CASE
            WHEN a.n_tekun > 0 THEN TRUE
            WHEN a.n_tekun_unknown > 0 THEN NULL
            ELSE FALSE
        END AS has_tekun,
        h.a_fin AND h.a_vehicles AND h.a_dwellings AND h.a_business AS assets_ok,
        COALESCE(h.rigid_medical_fen, 0) + COALESCE(h.rigid_education_fen, 0)
            + COALESCE(h.rigid_rehab_fen, 0) AS rigid_sum_fen,
        h.rigid_medical_fen IS NOT NULL OR h.rigid_education_fen IS NOT NULL
            OR h.rigid_rehab_fen IS NOT NULL AS rigid_known
    FROM ph AS h
    JOIN agg AS a ON a.household_id = h.household_id
),
tests AS (
    SELECT
        b.*,
        b.n_dibao > 0 AND b.income_total_fen < b.dibao_std * b.n_dibao AS d_income,
        b.income_total_fen * 10000 < b.near_mult_bp * b.dibao_std * b.n_dibao AS n_income,
        b.n_dibao > 0 AND b.income_total_fen * 12 < b.rigid_ceiling_annual * b.n_dibao AS r_income,
        CASE WHEN b.rigid_known THEN b.rigid_sum_fen * 10000 > b.rigid_share_bp * b.income_total_fen * 12
        END AS r_share,
        CASE WHEN b.residence = 'urban' THEN COALESCE(b.relapse_listed, FALSE)
            ELSE b.relapse_listed
        END AS relapse_watch,
        COALESCE(
            ((b.as_of_ymd // 10000) * 12 + (b.as_of_ymd // 100) % 100)
                - ((b.sudden_ymd // 10000) * 12 + (b.sudden_ymd // 100) % 100)
                < b.other_window_months
            AND b.sudden_ymd <= b.as_of_ymd,
            FALSE
        ) AS other_difficulty
    FROM base AS b
),
cats AS (
    SELECT
        t.*,
        t.d_income AND t.assets_ok AS dibao
    FROM tests AS t
),
cats2 AS (
    SELECT
        c.*,
        NOT c.dibao AND NOT c.has_tekun AND c.n_dibao > 0 AND c.n_income AND c.assets_ok
            AS near_dibao
    FROM cats AS c
)
SELECT
    c.*,
    NOT c.dibao AND NOT c.has_tekun AND NOT c.near_dibao AND c.r_income AND c.assets_ok
        AND c.r_share AS rigid_expense,
    c.receiving_dibao_fen IS NOT NULL AND NOT COALESCE(c.dibao, TRUE)
        AND COALESCE(c.assets_ok, FALSE) AND NOT COALESCE(c.d_income, TRUE)
        AND COALESCE(
            ((c.as_of_ymd // 10000) * 12 + (c.as_of_ymd // 100) % 100)
                - ((c.exit_start_ymd // 10000) * 12 + (c.exit_start_ymd // 100) % 100),
            0
        ) < c.exit_months AS gradual_exit,
    c.exit_months - COALESCE(
        ((c.as_of_ymd // 10000) * 12 + (c.as_of_ymd // 100) % 100)
            - ((c.exit_start_ymd // 10000) * 12 + (c.exit_start_ymd // 100) % 100),
        0
    ) AS exit_months_left
FROM cats2 AS c
