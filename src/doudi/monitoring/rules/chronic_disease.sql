-- code: chronic_disease
-- name: 新认定慢特病或大病
-- kind: risk
-- severity: yellow
-- route: town
-- deadline_days: 15
-- suppress_days: 180
-- reads: chronic_disease_certification, serious_disease, registry_persons, m_watch, m_window
-- history: serious_disease
-- reference: 《社会救助暂行办法》第二十八条；DOMAIN.md §8（医保慢特病、大病保险）
-- summary: 新认定慢特病或大病保险结算{count}项
-- description: 低收入监测范围内家庭（见 m_watch）的成员，经医保部门新认定门诊慢特病（有效状态），
--  或首次出现大病保险结算（此前一年内没有大病结算）。家庭可能因长期医疗支出陷入困难，需核实是否符合刚性支出困难、
--  医疗救助等。
WITH cert AS (
    SELECT c.person_id, c.certified_date AS d, c.record_key, c._file, c._line,
           'chronic_disease_certification' AS src
    FROM chronic_disease_certification c
    CROSS JOIN m_window w
    WHERE c.person_id IS NOT NULL
      AND c.status = 'valid'
      AND c.certified_date <= w.as_of
      AND (c.certified_date > w.since_date OR c._ingest > w.last_ingest)
      AND c.certified_date > w.year_ago
),
serious_new AS (
    SELECT s.person_id, s.settlement_date AS d, s.record_key, s._file, s._line,
           'serious_disease' AS src
    FROM serious_disease s
    CROSS JOIN m_window w
    WHERE s.person_id IS NOT NULL
      AND s.settlement_date <= w.as_of
      AND (s.settlement_date > w.since_date OR s._ingest > w.last_ingest)
      AND s.settlement_date > w.year_ago
      AND NOT EXISTS (
          SELECT 1 FROM serious_disease e
          WHERE e.person_id = s.person_id
            AND e.settlement_date < s.settlement_date
            AND e.settlement_date >= s.settlement_date - INTERVAL 365 DAY
      )
),
ev AS (
    SELECT * FROM cert
    UNION ALL
    SELECT * FROM serious_new
),
n AS (
    SELECT person_id, count(*) AS n FROM ev GROUP BY person_id
)
SELECT
    p.household_id,
    ev.person_id,
    ev.d AS event_date,
    CAST(n.n AS DOUBLE) AS magnitude,
    n.n AS count_n,
    CAST(NULL AS DECIMAL(14, 2)) AS amount,
    ev.src AS ev_interface,
    ev.record_key AS ev_key,
    ev._file AS ev_file,
    ev._line AS ev_line
FROM ev
JOIN n ON n.person_id = ev.person_id
JOIN registry_persons p ON p.person_id = ev.person_id
JOIN m_watch mw ON mw.household_id = p.household_id
WHERE p.household_id IS NOT NULL AND p.status <> 'dead'
