-- stage: ptr
-- title: 特困结论与护理等级 / 特困 outcome and care level
-- reads: pt
-- reference: 特困人员认定办法（民发〔2021〕43号）; DOMAIN.md §9
-- The three conditions together (three-valued: any "no" gives no, else any unknown gives
-- unknown); only members counted in the household can be 特困.
SELECT
    t.*,
    t.counted AND t.t_no_labour AND t.t_no_livelihood AND t.t_no_obligor AS tekun,
    CASE
        WHEN NOT (t.counted AND t.t_no_labour AND t.t_no_livelihood AND t.t_no_obligor)
            OR (t.counted AND t.t_no_labour AND t.t_no_livelihood AND t.t_no_obligor) IS NULL
            THEN NULL
        WHEN t.self_care_failed IS NULL THEN NULL
        WHEN t.self_care_failed >= 4 THEN 'full'
        WHEN t.self_care_failed >= 1 THEN 'partial'
        ELSE 'self'
    END AS care_level
FROM pt AS t
