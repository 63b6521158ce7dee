-- code: entitlement_gap
-- name: 应保未保（认定结果与在保情况不符）
-- kind: risk
-- severity: yellow
-- route: town
-- deadline_days: 20
-- suppress_days: 365
-- reads: m_entitled, m_recipients, registry_households, m_window
-- reference: 《社会救助暂行办法》；民发〔2021〕57号（主动发现）；DOMAIN.md §3、§8
-- summary: 最近一次全市认定为{count}类救助对象，但未在保
-- description: 最近一次全市分层分类认定（政策引擎）认定家庭符合低保，或有成员符合特困供养，
--  而家庭并未领取相应待遇（低保、特困名册和本系统在保待遇中都没有）。低保边缘、刚性支出困难
--  须本人申请认定，不在此预警（见 m_watch 的监测范围）。需上门核实并帮助申请（主动办理）。证据为认定结果。只在出现新的认定结果（认定基准日
--  在本次检查期间）时检查。
WITH got AS (
    SELECT household_id,
           max(CASE WHEN item IN ('dibao', 'single_person_dibao') THEN 1 ELSE 0 END) AS dibao,
           max(CASE WHEN item = 'tekun' THEN 1 ELSE 0 END) AS tekun
    FROM m_recipients
    GROUP BY household_id
),
gap AS (
    SELECT e.household_id, e.as_of, e.file,
           (CASE WHEN e.dibao AND coalesce(g.dibao, 0) = 0 THEN 1 ELSE 0 END)
           + (CASE WHEN e.has_tekun AND coalesce(g.tekun, 0) = 0 THEN 1 ELSE 0 END)
           AS n,
           e.monthly_benefit_yuan
    FROM m_entitled e
    LEFT JOIN got g ON g.household_id = e.household_id
)
SELECT
    gap.household_id,
    CAST(NULL AS BIGINT) AS person_id,
    gap.as_of AS event_date,
    CAST(gap.n AS DOUBLE) AS magnitude,
    CAST(gap.n AS BIGINT) AS count_n,
    CAST(gap.monthly_benefit_yuan AS DECIMAL(14, 2)) AS amount,
    'policy_sweep' AS ev_interface,
    CAST(gap.household_id AS VARCHAR) AS ev_key,
    gap.file AS ev_file,
    CAST(NULL AS BIGINT) AS ev_line
FROM gap
JOIN registry_households h ON h.household_id = gap.household_id
CROSS JOIN m_window w
WHERE gap.n > 0 AND h.status = 'active'
  AND gap.as_of > w.since_date AND gap.as_of <= w.as_of
