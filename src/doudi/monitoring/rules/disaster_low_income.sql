-- code: disaster_low_income
-- name: 低收入家庭受灾或遇极端天气
-- kind: risk
-- severity: orange
-- route: town
-- deadline_days: 3
-- suppress_days: 30
-- worsen: 1.01
-- reads: disaster_loss, weather_warning, registry_persons, registry_households, m_watch, m_recipients, m_window, m_params
-- params: monitor.weather.min_level
-- reference: 《自然灾害救助条例》；DOMAIN.md §8、§9（灾害和极端天气探访）
-- summary: 低收入家庭受灾或所在区域发布极端天气预警（级别{magnitude}）
-- description: 低收入监测范围内家庭（见 m_watch：在保对象、低收入名册、防止返贫监测户、认定为
--  低收入的家庭）的成员报告了灾害损失；或在保低保、特困、单人保家庭所在区域（按区划代码前缀）
--  发布了红色气象预警（级别可调），须探访确认安全。30天内同一家庭不重复预警，除非灾情更重。
--  须在3个工作日内探访，确认安全和基本生活。灾害损失的级别：房屋倒塌5、严重损坏4、其他3；
--  气象预警按颜色：红4、橙3、黄2、蓝1。
WITH low AS (
    SELECT DISTINCT household_id FROM m_watch
),
loss AS (
    SELECT p.household_id, x.person_id, x.disaster_date AS d,
           CASE x.loss_type WHEN 'house_collapsed' THEN 5
                WHEN 'house_severely_damaged' THEN 4 ELSE 3 END AS lvl,
           x.direct_loss AS amount, 'disaster_loss' AS src, x.record_key, x._file, x._line
    FROM disaster_loss x
    CROSS JOIN m_window w
    JOIN registry_persons p ON p.person_id = x.person_id
    JOIN low ON low.household_id = p.household_id
    WHERE x.disaster_date <= w.as_of AND x.disaster_date > w.year_ago
      AND (x.disaster_date > w.since_date OR x._ingest > w.last_ingest)
),
warn AS (
    SELECT ww.region_code, ww.issue_date, ww.record_key, ww._file, ww._line,
           CASE ww.level WHEN 'red' THEN 4 WHEN 'orange' THEN 3 WHEN 'yellow' THEN 2 ELSE 1 END
               AS lvl
    FROM weather_warning ww
    CROSS JOIN m_window w
    WHERE ww.issue_date <= w.as_of AND ww.issue_date > w.year_ago
      AND (ww.issue_date > w.since_date OR ww._ingest > w.last_ingest)
),
hit_weather AS (
    SELECT h.household_id, CAST(NULL AS BIGINT) AS person_id, wa.issue_date AS d, wa.lvl,
           CAST(NULL AS DECIMAL(14, 2)) AS amount, 'weather_warning' AS src,
           wa.record_key, wa._file, wa._line
    FROM warn wa
    JOIN registry_households h
      ON substr(h.village_code, 1, length(wa.region_code)) = wa.region_code
    JOIN (
        SELECT DISTINCT household_id FROM m_recipients
        WHERE item IN ('dibao', 'tekun', 'single_person_dibao')
    ) rc ON rc.household_id = h.household_id
    JOIN m_params mp ON mp.county_code = h.county_code
    WHERE wa.lvl >= mp.weather_min_level
)
SELECT
    household_id,
    person_id,
    d AS event_date,
    CAST(lvl AS DOUBLE) AS magnitude,
    CAST(1 AS BIGINT) AS count_n,
    CAST(amount AS DECIMAL(14, 2)) AS amount,
    src AS ev_interface,
    record_key AS ev_key,
    _file AS ev_file,
    _line AS ev_line
FROM (
    SELECT * FROM loss
    UNION ALL
    SELECT * FROM hit_weather
) u
