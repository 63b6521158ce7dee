-- code: new_disability
-- name: 新办重度残疾人证
-- kind: risk
-- severity: orange
-- route: town
-- deadline_days: 10
-- suppress_days: 365
-- reads: disability_certificate, registry_persons, m_watch, m_window, m_params
-- params: monitor.disability.severe_grade, monitor.disability.mental_grade
-- reference: 《关于进一步做好困难群众基本生活保障工作的通知》（重度残疾人单人保）；DOMAIN.md §3、§8
-- summary: 新办残疾人证（{count}张）
-- description: 残联给低收入监测范围内家庭（见 m_watch）的成员新发残疾人证（有效），等级为一、
--  二级，或精神、智力残疾一至三级。
--  需核实是否符合重度残疾人单人保、困难残疾人生活补贴和重度残疾人护理补贴。
SELECT
    p.household_id,
    d.person_id,
    d.issue_date AS event_date,
    CAST(5 - CAST(d.grade AS INTEGER) AS DOUBLE) AS magnitude,
    CAST(1 AS BIGINT) AS count_n,
    CAST(NULL AS DECIMAL(14, 2)) AS amount,
    'disability_certificate' AS ev_interface,
    d.record_key AS ev_key,
    d._file AS ev_file,
    d._line AS ev_line
FROM disability_certificate d
CROSS JOIN m_window w
JOIN registry_persons p ON p.person_id = d.person_id
JOIN m_watch mw ON mw.household_id = p.household_id
JOIN m_params mp ON mp.county_code = p.county_code
WHERE d.status = 'valid'
  AND d.issue_date <= w.as_of
  AND d.issue_date > w.year_ago
  AND (d.issue_date > w.since_date OR d._ingest > w.last_ingest)
  AND p.household_id IS NOT NULL
  AND p.status <> 'dead'
  AND (
      CAST(d.grade AS INTEGER) <= mp.disability_severe_grade
      OR (d.category IN ('mental', 'intellectual')
          AND CAST(d.grade AS INTEGER) <= mp.disability_mental_grade)
  )
