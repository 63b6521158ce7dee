-- code: business_registered
-- name: 救助家庭成员新办市场主体
-- kind: reverse
-- severity: orange
-- route: town
-- deadline_days: 10
-- suppress_days: 180
-- worsen: 1.01
-- reads: business_registration, registry_persons, m_recipients, m_window
-- reference: DOMAIN.md §5（登记有市场主体的不符合）；民发〔2021〕57号
-- summary: 在保家庭成员新登记市场主体{count}户
-- description: 在保低保、特困、单人保家庭的成员成为新成立市场主体（存续状态）的法定代表人、
--  经营者、股东或合伙人。可能有经营收入或不符合财产条件，须核实收入后调整或停发。
WITH recip_h AS (
    SELECT DISTINCT household_id FROM m_recipients
    WHERE item IN ('dibao', 'tekun', 'single_person_dibao')
),
ev AS (
    SELECT p.household_id, x.person_id, x.established_date AS d,
           x.record_key, x._file, x._line
    FROM business_registration x
    CROSS JOIN m_window w
    JOIN registry_persons p ON p.person_id = x.person_id
    JOIN recip_h ON recip_h.household_id = p.household_id
    WHERE x.status = 'active'
      AND x.established_date <= w.as_of AND x.established_date > w.year_ago
      AND (x.established_date > w.since_date OR x._ingest > w.last_ingest)
),
n AS (SELECT household_id, count(*) AS n FROM ev GROUP BY household_id)
SELECT
    ev.household_id,
    ev.person_id,
    ev.d AS event_date,
    CAST(n.n AS DOUBLE) AS magnitude,
    n.n AS count_n,
    CAST(NULL AS DECIMAL(14, 2)) AS amount,
    'business_registration' AS ev_interface,
    ev.record_key AS ev_key,
    ev._file AS ev_file,
    ev._line AS ev_line
FROM ev
JOIN n ON n.household_id = ev.household_id
