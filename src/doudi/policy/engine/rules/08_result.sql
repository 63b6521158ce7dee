-- stage: pr
-- title: 家庭结论、层级与月待遇 / household result, tier and monthly amount
-- reads: phc, pmc
-- reference: DOMAIN.md §4 (分层), §5 (差额补助)
-- Tier 1 (基本生活救助): 低保, a 特困 member or a 单人保 member. Tier 2 (专项救助): 低保边缘,
-- 刚性支出困难 or 防止返贫监测. Tier 3 (急难社会救助): 其他困难. Unknown outcomes do not place a
-- household in a tier. The monthly amount in fen: the 低保 gap (standard times members counted
-- minus the household's counted income), supplements, 特困 and 单人保 amounts, and the unchanged
-- amount during a gradual exit; rounded once to the whole yuan, half up. Per-capita income
-- (over all members counted; ``dibao_pc_fen`` over those counted for 低保, i.e. without 特困
-- members) rounded to the fen, half up.
WITH m AS (
    SELECT
        household_id,
        CAST(SUM(tekun_fen) AS BIGINT) AS tekun_fen,
        CAST(SUM(single_dibao_fen) AS BIGINT) AS single_dibao_fen,
        CAST(SUM(supplement_fen) AS BIGINT) AS supplement_fen,
        MAX(CASE WHEN COALESCE(single_dibao, FALSE) THEN 1 ELSE 0 END) AS any_single_dibao
    FROM pmc
    GROUP BY household_id
),
amounts AS (
    SELECT
        h.*,
        m.tekun_fen,
        m.single_dibao_fen,
        m.supplement_fen,
        m.any_single_dibao,
        CASE WHEN COALESCE(h.dibao, FALSE)
            THEN h.dibao_std * h.n_dibao - h.income_total_fen ELSE 0
        END AS dibao_gap_fen,
        CASE WHEN COALESCE(h.gradual_exit, FALSE) THEN h.receiving_dibao_fen ELSE 0
        END AS exit_fen,
        CASE WHEN h.n_dibao > 0
            THEN (2 * h.income_total_fen + h.n_dibao) // (2 * h.n_dibao)
        END AS dibao_pc_fen,
        CASE WHEN h.n_counted > 0
            THEN (2 * h.income_all_fen + h.n_counted) // (2 * h.n_counted)
        END AS per_capita_fen
    FROM phc AS h
    JOIN m ON m.household_id = h.household_id
)
SELECT
    a.*,
    CASE
        WHEN COALESCE(a.dibao, FALSE) OR COALESCE(a.has_tekun, FALSE) OR a.any_single_dibao = 1
            THEN 1
        WHEN COALESCE(a.near_dibao, FALSE) OR COALESCE(a.rigid_expense, FALSE)
            OR COALESCE(a.relapse_watch, FALSE) THEN 2
        WHEN a.other_difficulty THEN 3
    END AS tier,
    (a.dibao_gap_fen + a.supplement_fen + a.tekun_fen + a.single_dibao_fen + a.exit_fen + 50)
        // 100 AS monthly_benefit_yuan
FROM amounts AS a
