-- stage: pt
-- title: 特困人员认定 / extremely poor persons
-- reads: pm, ph, pob
-- reference: 特困人员认定办法（民发〔2021〕43号）; DOMAIN.md §3, §9
-- A member is 特困 when all three hold: no labour capacity (aged 60+ or a minor, or the listed
-- disabilities); no livelihood (own income, not counting the residents' basic pension, below the
-- 低保 standard, and the household's assets within the limits); and no support obligor able to
-- pay (none in the household, none listed outside it, parents unable). Whether there are obligors
-- outside the household is known only when they are listed (an empty list means none) or the
-- child's parents are given; otherwise, with no able obligor at home, the answer is unknown.
-- Care level from the six
-- self-care activities: none failed = self-care, 1-3 = partial, 4+ = full care.
SELECT
    m.*,
    CASE
        WHEN m.parents_n IS NOT NULL THEN m.parents_n - m.parents_incapable_n
        ELSE 0
    END AS parents_able_n,
    m.age >= h.elderly_age OR m.age < h.minor_age OR m.labour_disability AS t_no_labour,
    m.income_tekun_fen < h.dibao_std
        AND h.a_fin AND h.a_vehicles AND h.a_dwellings AND h.a_business AS t_no_livelihood,
    CASE
        WHEN (
            CASE WHEN m.parents_n IS NOT NULL AND m.relation IN ('child', 'grandchild')
                THEN m.parents_n - m.parents_incapable_n
                ELSE m.inhouse_able_n
            END
            + COALESCE(m.obligors_able_n, 0)
        ) > 0 THEN FALSE
        WHEN m.obligors_n IS NOT NULL
            OR (m.parents_n IS NOT NULL AND m.relation IN ('child', 'grandchild')) THEN TRUE
    END AS t_no_obligor,
    h.dibao_std,
    h.tekun_std,
    h.elderly_age,
    h.minor_age
FROM (
    SELECT
        p.*,
        CASE
            WHEN p.relation IN ('head', 'spouse') THEN
                o.able_head_spouse + o.able_children
                - CASE WHEN COALESCE(
                    p.counted AND p.status = 'present' AND p.age >= 18 AND p.age < 70
                        AND NOT p.severe,
                    FALSE
                ) THEN 1 ELSE 0 END
            WHEN p.relation = 'child' THEN o.able_head_spouse
            WHEN p.relation = 'parent' THEN o.able_head
            WHEN p.relation = 'grandchild' THEN o.able_children
            ELSE 0
        END AS inhouse_able_n
    FROM pm AS p
    JOIN pob AS o ON o.household_id = p.household_id
) AS m
JOIN ph AS h ON h.household_id = m.household_id
