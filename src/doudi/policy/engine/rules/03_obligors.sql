-- stage: pob
-- title: 赡养、抚养、扶养义务人 / support obligors living in the household
-- reads: pm
-- reference: DOMAIN.md §3 (特困：无法定赡养、抚养、扶养义务人或其无履行能力)
-- Per household, the members able to support others: "able" means counted in the household,
-- present, aged 18 to 69 and not severely disabled (an obligor aged 70+ or severely disabled is
-- unable, DOMAIN.md §3), counted among the head and spouse, among the head alone, and among
-- the children of the head. Stage pt turns these into each member's obligors in the household:
-- the spouse and adult children for the head or the spouse; the head and the spouse for a
-- child; the head for the head's parents; the head's children for a grandchild. (Counting per
-- household, rather than pairing members, keeps the sweep linear in the number of persons.)
SELECT
    household_id,
    CAST(SUM(CASE WHEN relation IN ('head', 'spouse') AND able THEN 1 ELSE 0 END) AS BIGINT)
        AS able_head_spouse,
    CAST(SUM(CASE WHEN relation = 'head' AND able THEN 1 ELSE 0 END) AS BIGINT) AS able_head,
    CAST(SUM(CASE WHEN relation = 'child' AND able THEN 1 ELSE 0 END) AS BIGINT) AS able_children
FROM (
    SELECT
        household_id,
        relation,
        COALESCE(counted AND status = 'present' AND age >= 18 AND age < 70 AND NOT severe, FALSE)
            AS able
    FROM pm
) AS a
GROUP BY household_id
