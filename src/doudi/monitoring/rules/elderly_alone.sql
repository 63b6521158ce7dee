-- code: elderly_alone
-- name: 独居老人年满80周岁
-- kind: risk
-- severity: yellow
-- route: town
-- deadline_days: 20
-- suppress_days: 3650
-- reads: registry_persons, m_window, m_params
-- params: monitor.elderly.alone_age
-- reference: DOMAIN.md §8（年满80周岁独居老人）；《关于加快建立完善农村留守老年人关爱服务体系的意见》
-- summary: 独居老人年满{count}周岁
-- description: 人口库中一个人在本次检查期间（上次检查日之后至基准日）年满80周岁，且其家庭中
--  只有他（她）一名在世成员。需上门探访，了解生活照料和经济状况。证据为人口库记录。
SELECT
    p.household_id,
    p.person_id,
    CAST(NULL AS DATE) AS event_date,
    CAST(mp.alone_age AS DOUBLE) AS magnitude,
    CAST(mp.alone_age AS BIGINT) AS count_n,
    CAST(NULL AS DECIMAL(14, 2)) AS amount,
    'registry_persons' AS ev_interface,
    CAST(p.person_id AS VARCHAR) AS ev_key,
    CAST(NULL AS VARCHAR) AS ev_file,
    CAST(NULL AS BIGINT) AS ev_line
FROM registry_persons p
CROSS JOIN m_window w
JOIN m_params mp ON mp.county_code = p.county_code
WHERE p.status = 'present'
  AND p.household_id IS NOT NULL
  AND year(p.birth_date) * 10000 + month(p.birth_date) * 100 + day(p.birth_date)
      + mp.alone_age * 10000 > w.since_ymd
  AND year(p.birth_date) * 10000 + month(p.birth_date) * 100 + day(p.birth_date)
      + mp.alone_age * 10000 <= w.as_of_ymd
  AND NOT EXISTS (
      SELECT 1 FROM registry_persons o
      WHERE o.household_id = p.household_id AND o.person_id <> p.person_id
        AND o.status <> 'dead'
  )
