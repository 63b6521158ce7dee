-- code: recipient_prison
-- name: 救助对象入狱服刑
-- kind: reverse
-- severity: orange
-- route: town
-- deadline_days: 10
-- suppress_days: 365
-- reads: prisoner, m_recipients, m_window
-- reference: DOMAIN.md §5（服刑人员不计入共同生活家庭成员）；民发〔2021〕57号
-- summary: 在保救助对象入狱服刑
-- description: 正在领取低保、特困、单人保待遇的人员在司法部门服刑人员信息中出现（在押）。
--  服刑人员不再计入保障人数，待遇须调整或停发；如家中留有未成年人或无人照料的老人，同时
--  核实其监护和照料。
SELECT
    r.household_id,
    x.person_id,
    x.admission_date AS event_date,
    CAST(1 AS DOUBLE) AS magnitude,
    CAST(1 AS BIGINT) AS count_n,
    CAST(NULL AS DECIMAL(14, 2)) AS amount,
    'prisoner' AS ev_interface,
    x.record_key AS ev_key,
    x._file AS ev_file,
    x._line AS ev_line
FROM prisoner x
CROSS JOIN m_window w
JOIN (
    SELECT person_id, min(household_id) AS household_id
    FROM m_recipients
    WHERE item IN ('dibao', 'tekun', 'single_person_dibao')
    GROUP BY person_id
) r ON r.person_id = x.person_id
WHERE x.status = 'in_custody'
  AND x.admission_date <= w.as_of
  AND (x.release_date IS NULL OR x.release_date > w.as_of)
  AND (x.admission_date > w.since_date OR x._ingest > w.last_ingest)
