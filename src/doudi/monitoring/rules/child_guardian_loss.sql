-- code: child_guardian_loss
-- name: 未成年人失去最后一位监护人（事实无人抚养）
-- kind: risk
-- severity: red
-- route: town
-- deadline_days: 5
-- suppress_days: 365
-- reads: death_registration, prisoner, disability_certificate, registry_persons, m_window, m_params
-- context: death_registration, prisoner, disability_certificate
-- params: monitor.disability.severe_grade, monitor.disability.mental_grade
-- reference: 《关于进一步加强事实无人抚养儿童保障工作的意见》（民发〔2019〕62号）；DOMAIN.md §3、§8
-- summary: 未成年子女的监护人死亡、服刑或重度残疾，家中已无其他有能力的监护人
-- description: 户主或配偶（与户主关系为“子女”的未成年人的父母）新死亡、新入狱服刑或新办重度
--  残疾人证，而家庭中的另一位父母不存在，或已死亡、正在服刑、重度残疾。该子女可能成为事实
--  无人抚养儿童或孤儿，须尽快上门核实。人口库中登记为死亡、服刑、宣告失踪或强制隔离戒毒的
--  另一位父母也视为不能履行监护。证据为触发事件的记录，预警落在子女身上。
WITH minors AS (
    SELECT p.person_id, p.household_id
    FROM registry_persons p
    CROSS JOIN m_window w
    WHERE p.relation = 'child'
      AND p.status <> 'dead'
      AND p.household_id IS NOT NULL
      AND year(p.birth_date) * 10000 + month(p.birth_date) * 100 + day(p.birth_date) + 180000
          > w.as_of_ymd
),
guardians AS (
    SELECT p.person_id, p.household_id, p.county_code
    FROM registry_persons p
    WHERE p.relation IN ('head', 'spouse') AND p.household_id IS NOT NULL
),
severe AS (
    SELECT d.person_id, d.issue_date, d.record_key, d._file, d._line, d._ingest
    FROM disability_certificate d
    JOIN guardians g ON g.person_id = d.person_id
    JOIN m_params mp ON mp.county_code = g.county_code
    WHERE d.status = 'valid'
      AND (
          CAST(d.grade AS INTEGER) <= mp.disability_severe_grade
          OR (d.category IN ('mental', 'intellectual')
              AND CAST(d.grade AS INTEGER) <= mp.disability_mental_grade)
      )
),
incapable AS (
    SELECT d.person_id FROM death_registration d CROSS JOIN m_window w
    WHERE d.death_date <= w.as_of
    UNION
    SELECT p.person_id FROM registry_persons p
    WHERE p.status IN ('dead', 'prison', 'missing', 'drug_rehab')
    UNION
    SELECT x.person_id FROM prisoner x CROSS JOIN m_window w
    WHERE x.status = 'in_custody' AND x.admission_date <= w.as_of
      AND (x.release_date IS NULL OR x.release_date > w.as_of)
    UNION
    SELECT s.person_id FROM severe s CROSS JOIN m_window w WHERE s.issue_date <= w.as_of
),
events AS (
    SELECT d.person_id, d.death_date AS d, 'death_registration' AS src,
           d.record_key, d._file, d._line
    FROM death_registration d CROSS JOIN m_window w
    WHERE d.death_date <= w.as_of AND d.death_date > w.year_ago
      AND (d.death_date > w.since_date OR d._ingest > w.last_ingest)
    UNION ALL
    SELECT x.person_id, x.admission_date AS d, 'prisoner' AS src, x.record_key, x._file, x._line
    FROM prisoner x CROSS JOIN m_window w
    WHERE x.status = 'in_custody' AND x.admission_date <= w.as_of
      AND x.admission_date > w.year_ago
      AND (x.release_date IS NULL OR x.release_date > w.as_of)
      AND (x.admission_date > w.since_date OR x._ingest > w.last_ingest)
    UNION ALL
    SELECT s.person_id, s.issue_date AS d, 'disability_certificate' AS src,
           s.record_key, s._file, s._line
    FROM severe s CROSS JOIN m_window w
    WHERE s.issue_date <= w.as_of AND s.issue_date > w.year_ago
      AND (s.issue_date > w.since_date OR s._ingest > w.last_ingest)
)
SELECT
    m.household_id,
    m.person_id,
    e.d AS event_date,
    CAST(1 AS DOUBLE) AS magnitude,
    CAST(1 AS BIGINT) AS count_n,
    CAST(NULL AS DECIMAL(14, 2)) AS amount,
    e.src AS ev_interface,
    e.record_key AS ev_key,
    e._file AS ev_file,
    e._line AS ev_line
FROM events e
JOIN guardians g ON g.person_id = e.person_id
JOIN minors m ON m.household_id = g.household_id
WHERE NOT EXISTS (
    SELECT 1 FROM guardians g2
    WHERE g2.household_id = g.household_id
      AND g2.person_id <> g.person_id
      AND g2.person_id NOT IN (SELECT i.person_id FROM incapable i WHERE i.person_id IS NOT NULL)
)
