-- code: asset_acquired
-- name: 救助家庭新增车辆或房产
-- kind: reverse
-- severity: orange
-- route: town
-- deadline_days: 10
-- suppress_days: 180
-- worsen: 1.01
-- reads: vehicle_registration, real_estate, registry_persons, m_recipients, m_window, m_params
-- params: monitor.vehicle.min_value
-- reference: DOMAIN.md §5（拥有机动车辆、两套以上住房不符合）；民发〔2021〕57号
-- summary: 在保家庭成员新登记车辆或房产{count}项
-- description: 在保低保、特困、单人保家庭的成员新登记了机动车（不含残疾人专用车辆，价值不低于
--  阈值或价值缺失），或新登记了不动产（现势）。可能不再符合财产条件，须核实后调整或停发。
WITH recip_h AS (
    SELECT DISTINCT household_id FROM m_recipients
    WHERE item IN ('dibao', 'tekun', 'single_person_dibao')
),
v AS (
    SELECT x.person_id, x.registration_date AS d, x.vehicle_value AS amount,
           'vehicle_registration' AS src, x.record_key, x._file, x._line
    FROM vehicle_registration x
    CROSS JOIN m_window w
    JOIN registry_persons p ON p.person_id = x.person_id
    JOIN m_params mp ON mp.county_code = p.county_code
    WHERE x.registration_date <= w.as_of AND x.registration_date > w.year_ago
      AND (x.registration_date > w.since_date OR x._ingest > w.last_ingest)
      AND NOT coalesce(x.disability_vehicle, FALSE)
      AND (x.vehicle_value IS NULL OR x.vehicle_value * 100 >= mp.vehicle_min_value_fen)
),
re AS (
    SELECT x.person_id, x.registration_date AS d, CAST(NULL AS DECIMAL(14, 2)) AS amount,
           'real_estate' AS src, x.record_key, x._file, x._line
    FROM real_estate x
    CROSS JOIN m_window w
    WHERE x.status = 'current'
      AND x.registration_date <= w.as_of AND x.registration_date > w.year_ago
      AND (x.registration_date > w.since_date OR x._ingest > w.last_ingest)
),
ev AS (
    SELECT * FROM v
    UNION ALL
    SELECT * FROM re
),
ev_h AS (
    SELECT p.household_id, ev.*
    FROM ev
    JOIN registry_persons p ON p.person_id = ev.person_id
    JOIN recip_h ON recip_h.household_id = p.household_id
),
n AS (SELECT household_id, count(*) AS n FROM ev_h GROUP BY household_id)
SELECT
    ev_h.household_id,
    ev_h.person_id,
    ev_h.d AS event_date,
    CAST(n.n AS DOUBLE) AS magnitude,
    n.n AS count_n,
    CAST(ev_h.amount AS DECIMAL(14, 2)) AS amount,
    ev_h.src AS ev_interface,
    ev_h.record_key AS ev_key,
    ev_h._file AS ev_file,
    ev_h._line AS ev_line
FROM ev_h
JOIN n ON n.household_id = ev_h.household_id
