-- code: deposits_over_limit
-- name: 救助家庭金融资产超过限额
-- kind: reverse
-- severity: orange
-- route: town
-- deadline_days: 10
-- suppress_days: 180
-- worsen: 1.5
-- reads: bank_deposit, registry_persons, registry_households, m_recipients, m_window, m_params
-- history: bank_deposit
-- params: assets.financial_months, dibao.standard.urban, dibao.standard.rural
-- reference: DOMAIN.md §5（人均金融资产超过当地低保标准24个月之和的不符合，烟台为假设）
-- summary: 在保家庭人均金融资产¥{amount}，超过限额
-- description: 金融机构对在保低保、特困、单人保家庭成员的最新查询结果（每个账户取基准日前最后
--  一次查询的余额），按家庭在世成员人均计算，超过当地低保月标准乘以金融资产月数（默认24个月）。
--  每当有新的查询结果入池时检查。须核实后调整或停发。
WITH recip_h AS (
    SELECT DISTINCT household_id FROM m_recipients
    WHERE item IN ('dibao', 'tekun', 'single_person_dibao')
),
members AS (
    SELECT p.person_id, p.household_id
    FROM registry_persons p
    JOIN recip_h r ON r.household_id = p.household_id
    WHERE p.status <> 'dead'
),
q AS (
    SELECT m.household_id, x.person_id, x.query_date, x.balance, x.record_key, x._file,
           x._line, x._ingest,
           row_number() OVER (
               PARTITION BY x.person_id, x.institution, x.account_number, x.asset_type
               ORDER BY x.query_date DESC, x._ingest DESC, x._line DESC
           ) AS rn
    FROM bank_deposit x
    CROSS JOIN m_window w
    JOIN members m ON m.person_id = x.person_id
    WHERE x.query_date <= w.as_of
),
latest AS (SELECT * FROM q WHERE rn = 1),
touched AS (
    SELECT DISTINCT l.household_id
    FROM latest l CROSS JOIN m_window w
    WHERE l.query_date > w.since_date OR l._ingest > w.last_ingest
),
size AS (SELECT household_id, count(*) AS n FROM members GROUP BY household_id),
per_h AS (
    SELECT l.household_id, sum(l.balance) AS total
    FROM latest l JOIN touched t ON t.household_id = l.household_id
    GROUP BY l.household_id
),
over AS (
    SELECT ph.household_id, ph.total / s.n AS per_capita
    FROM per_h ph
    JOIN size s ON s.household_id = ph.household_id
    JOIN registry_households h ON h.household_id = ph.household_id
    JOIN m_params mp ON mp.county_code = h.county_code
    WHERE ph.total * 100 / s.n > mp.fin_months
          * (CASE WHEN h.residence_type = 'urban' THEN mp.dibao_urban_fen
                  ELSE mp.dibao_rural_fen END)
)
SELECT
    o.household_id,
    l.person_id,
    l.query_date AS event_date,
    CAST(o.per_capita AS DOUBLE) AS magnitude,
    CAST(1 AS BIGINT) AS count_n,
    CAST(o.per_capita AS DECIMAL(14, 2)) AS amount,
    'bank_deposit' AS ev_interface,
    l.record_key AS ev_key,
    l._file AS ev_file,
    l._line AS ev_line
FROM over o
JOIN latest l ON l.household_id = o.household_id
