-- code: income_above_standard
-- name: 低保家庭收入超过保障标准（启动渐退）
-- kind: reverse
-- severity: yellow
-- route: town
-- deadline_days: 15
-- suppress_days: 180
-- reads: m_entitled, m_recipients, registry_households, m_window, m_params
-- params: dibao.standard.urban, dibao.standard.rural, dibao.gradual_exit_months
-- reference: 民发〔2021〕57号（收入超过标准的，可给予不超过6个月的渐退期）；DOMAIN.md §6
-- summary: 在保低保家庭人均月收入¥{amount}，已不低于低保标准
-- description: 最近一次全市认定算出的在保低保家庭人均月收入（有数据可查），已不低于当地低保
--  标准。须核实收入，符合条件的按渐退办理（默认6个月），不再符合的停发。只在出现新的认定结果
--  时检查。证据为认定结果。单人保（边缘家庭中的重度残疾人单独纳入低保）的家庭人均收入本就
--  不低于标准，不在此预警。
WITH recip_h AS (
    SELECT DISTINCT household_id FROM m_recipients
    WHERE item = 'dibao'
)
SELECT
    e.household_id,
    CAST(NULL AS BIGINT) AS person_id,
    e.as_of AS event_date,
    CAST(e.per_capita_fen AS DOUBLE) / 100 AS magnitude,
    CAST(1 AS BIGINT) AS count_n,
    CAST(CAST(e.per_capita_fen AS DOUBLE) / 100 AS DECIMAL(14, 2)) AS amount,
    'policy_sweep' AS ev_interface,
    CAST(e.household_id AS VARCHAR) AS ev_key,
    e.file AS ev_file,
    CAST(NULL AS BIGINT) AS ev_line
FROM m_entitled e
JOIN recip_h r ON r.household_id = e.household_id
JOIN registry_households h ON h.household_id = e.household_id
JOIN m_params mp ON mp.county_code = h.county_code
CROSS JOIN m_window w
WHERE e.per_capita_fen IS NOT NULL
  AND e.as_of > w.since_date AND e.as_of <= w.as_of
  AND e.per_capita_fen >= CASE WHEN h.residence_type = 'urban' THEN mp.dibao_urban_fen
                               ELSE mp.dibao_rural_fen END
