-- code: unemployed_only_earner
-- name: 唯一劳动力失业
-- kind: risk
-- severity: orange
-- route: town
-- deadline_days: 10
-- suppress_days: 180
-- reads: unemployment_registration, employment_registration, social_insurance_contribution, registry_persons, m_window
-- context: employment_registration, social_insurance_contribution
-- reference: DOMAIN.md §8（人社失业登记）；《社会救助暂行办法》第四十二条（就业救助）
-- summary: 家庭唯一就业成员办理失业登记
-- description: 一个人办理失业登记（登记有效），而家庭中没有其他在世成员在基准日仍在就业：既无
--  有效的就业登记（用工日期不晚于基准日，合同未到期或未填到期日），近3个月也没有已到账的
--  职工养老保险缴费。家庭可能失去全部工资收入，需核实
--  是否符合低保、临时救助、就业救助。
WITH reg AS (
    SELECT u.person_id, u.registration_date, u.record_key, u._file, u._line
    FROM unemployment_registration u
    CROSS JOIN m_window w
    WHERE u.person_id IS NOT NULL
      AND u.status = 'active'
      AND u.registration_date <= w.as_of
      AND u.registration_date > w.year_ago
      AND (u.registration_date > w.since_date OR u._ingest > w.last_ingest)
),
employed AS (
    SELECT e.person_id
    FROM employment_registration e
    CROSS JOIN m_window w
    WHERE e.person_id IS NOT NULL
      AND e.employment_date <= w.as_of
      AND (e.contract_end IS NULL OR e.contract_end >= w.as_of)
    UNION
    SELECT c.person_id
    FROM social_insurance_contribution c
    CROSS JOIN m_window w
    WHERE c.person_id IS NOT NULL
      AND c.insurance_type = 'pension'
      AND c.status = 'paid'
      AND c.contribution_month > w.quarter_ago
      AND c.contribution_month <= w.as_of
)
SELECT
    p.household_id,
    r.person_id,
    r.registration_date AS event_date,
    CAST(1 AS DOUBLE) AS magnitude,
    CAST(1 AS BIGINT) AS count_n,
    CAST(NULL AS DECIMAL(14, 2)) AS amount,
    'unemployment_registration' AS ev_interface,
    r.record_key AS ev_key,
    r._file AS ev_file,
    r._line AS ev_line
FROM reg r
JOIN registry_persons p ON p.person_id = r.person_id
WHERE p.household_id IS NOT NULL
  AND p.status <> 'dead'
  AND NOT EXISTS (
      SELECT 1
      FROM registry_persons o
      JOIN employed e ON e.person_id = o.person_id
      WHERE o.household_id = p.household_id
        AND o.person_id <> p.person_id
        AND o.status <> 'dead'
  )
