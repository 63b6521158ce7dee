-- code: recipient_death
-- name: 救助对象死亡
-- kind: reverse
-- severity: red
-- route: town
-- deadline_days: 5
-- suppress_days: 3650
-- reads: death_registration, death_certificate, cremation, m_recipients, m_window
-- context: death_registration, death_certificate, cremation
-- reference: 民发〔2021〕57号（低保对象死亡的，自次月起停发或调整）；《特困人员认定办法》第二十二条
-- summary: 在保救助对象死亡（{count}条死亡信息）
-- description: 正在领取低保、特困、单人保等待遇的人员，在公安死亡登记、卫健死亡医学证明或
--  殡葬火化记录中出现。待遇须自次月起停发（单人户）或调整（多人户重新核定保障人数）。证据为
--  各部门的死亡记录。
WITH d AS (
    SELECT x.person_id, x.death_date AS d, 'death_registration' AS src,
           x.record_key, x._file, x._line, x._ingest
    FROM death_registration x
    UNION ALL
    SELECT x.person_id, x.death_date AS d, 'death_certificate' AS src,
           x.record_key, x._file, x._line, x._ingest
    FROM death_certificate x
    UNION ALL
    SELECT x.person_id, x.death_date AS d, 'cremation' AS src,
           x.record_key, x._file, x._line, x._ingest
    FROM cremation x
),
recip AS (
    SELECT person_id, min(household_id) AS household_id
    FROM m_recipients
    WHERE item IN ('dibao', 'tekun', 'single_person_dibao')
    GROUP BY person_id
),
touched AS (
    SELECT DISTINCT d.person_id
    FROM d CROSS JOIN m_window w
    WHERE d.person_id IS NOT NULL AND d.d <= w.as_of
      AND (d.d > w.since_date OR d._ingest > w.last_ingest)
),
n AS (
    SELECT d.person_id, count(*) AS n FROM d JOIN touched t ON t.person_id = d.person_id
    GROUP BY d.person_id
)
SELECT
    r.household_id,
    d.person_id,
    d.d AS event_date,
    CAST(1 AS DOUBLE) AS magnitude,
    n.n AS count_n,
    CAST(NULL AS DECIMAL(14, 2)) AS amount,
    d.src AS ev_interface,
    d.record_key AS ev_key,
    d._file AS ev_file,
    d._line AS ev_line
FROM d
JOIN n ON n.person_id = d.person_id
JOIN recip r ON r.person_id = d.person_id
CROSS JOIN m_window w
WHERE d.d <= w.as_of
