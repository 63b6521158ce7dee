-- code: inpatient_cost
-- name: 大额住院自付或反复住院
-- kind: risk
-- severity: orange
-- route: town
-- deadline_days: 10
-- suppress_days: 90
-- worsen: 1.5
-- reads: medical_inpatient, registry_persons, m_watch, m_window, m_params
-- history: medical_inpatient
-- params: monitor.inpatient.self_paid_12m, monitor.inpatient.admissions_12m
-- reference: 《社会救助暂行办法》第二十八条（医疗救助）；DOMAIN.md §8（医保大额、多次住院）
-- summary: 近12个月住院{count}次，个人自付累计¥{amount}
-- description: 低收入监测范围内家庭（见 m_watch）的成员，近12个月（出院日期在基准日前一年内）
--  住院结算的个人自付累计超过阈值，
--  或住院次数达到阈值。每当此人有新的住院结算入池时检查；证据为这一年的全部住院结算。
--  自付累计再升至上次预警的1.5倍以上时，即使在抑制期内也再次预警。
WITH stays AS (
    SELECT i.person_id, i.discharge_date, i.self_paid, i.record_key, i._file, i._line, i._ingest
    FROM medical_inpatient i
    CROSS JOIN m_window w
    WHERE i.person_id IS NOT NULL
      AND i.discharge_date <= w.as_of
      AND i.discharge_date > w.year_ago
),
touched AS (
    SELECT DISTINCT s.person_id
    FROM stays s
    CROSS JOIN m_window w
    WHERE s.discharge_date > w.since_date OR s._ingest > w.last_ingest
),
per_person AS (
    SELECT s.person_id, count(*) AS n, sum(s.self_paid) AS paid
    FROM stays s
    JOIN touched t ON t.person_id = s.person_id
    GROUP BY s.person_id
)
SELECT
    p.household_id,
    a.person_id,
    s.discharge_date AS event_date,
    CAST(a.paid AS DOUBLE) AS magnitude,
    a.n AS count_n,
    CAST(a.paid AS DECIMAL(14, 2)) AS amount,
    'medical_inpatient' AS ev_interface,
    s.record_key AS ev_key,
    s._file AS ev_file,
    s._line AS ev_line
FROM per_person a
JOIN stays s ON s.person_id = a.person_id
JOIN registry_persons p ON p.person_id = a.person_id
JOIN m_watch mw ON mw.household_id = p.household_id
JOIN m_params mp ON mp.county_code = p.county_code
WHERE p.household_id IS NOT NULL
  AND p.status <> 'dead'
  AND (a.paid * 100 > mp.inpatient_self_paid_fen OR a.n >= mp.inpatient_admissions)
