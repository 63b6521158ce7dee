-- code: earner_death
-- name: 家庭劳动力死亡
-- kind: risk
-- severity: orange
-- route: town
-- deadline_days: 10
-- suppress_days: 365
-- reads: death_registration, employment_registration, social_insurance_contribution, registry_persons, m_window
-- context: employment_registration, social_insurance_contribution
-- reference: DOMAIN.md §8（公安/卫健/殡葬：家庭成员死亡）
-- summary: 家庭中有收入的成员死亡
-- description: 公安死亡登记显示一个人死亡，而此人死亡时有就业登记在有效期内，或死亡前半年内
--  有已到账的职工养老保险缴费（即家庭的收入来源），
--  且家庭中还有在世成员。家庭可能失去收入来源，需核实是否需要临时救助或低保。
WITH deaths AS (
    SELECT d.person_id, d.death_date, d.record_key, d._file, d._line
    FROM death_registration d
    CROSS JOIN m_window w
    WHERE d.person_id IS NOT NULL
      AND d.death_date <= w.as_of
      AND d.death_date > w.year_ago
      AND (d.death_date > w.since_date OR d._ingest > w.last_ingest)
)
SELECT
    p.household_id,
    d.person_id,
    d.death_date AS event_date,
    CAST(1 AS DOUBLE) AS magnitude,
    CAST(1 AS BIGINT) AS count_n,
    CAST(NULL AS DECIMAL(14, 2)) AS amount,
    'death_registration' AS ev_interface,
    d.record_key AS ev_key,
    d._file AS ev_file,
    d._line AS ev_line
FROM deaths d
JOIN registry_persons p ON p.person_id = d.person_id
WHERE p.household_id IS NOT NULL
  AND (
      EXISTS (
          SELECT 1 FROM employment_registration e
          WHERE e.person_id = d.person_id
            AND e.employment_date <= d.death_date
            AND (e.contract_end IS NULL OR e.contract_end >= d.death_date)
      )
      OR EXISTS (
          SELECT 1 FROM social_insurance_contribution c
          WHERE c.person_id = d.person_id
            AND c.insurance_type = 'pension'
            AND c.status = 'paid'
            AND c.contribution_month <= d.death_date
            AND c.contribution_month > d.death_date - INTERVAL 183 DAY
      )
  )
  AND EXISTS (
      SELECT 1 FROM registry_persons o
      WHERE o.household_id = p.household_id
        AND o.person_id <> p.person_id
        AND o.status <> 'dead'
  )
