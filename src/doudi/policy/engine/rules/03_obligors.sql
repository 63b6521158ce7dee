-- stage: pob
-- title: 赡养、抚养、扶养义务人 / support obligors living in the household
-- reads: pm
-- reference: DOMAIN.md §3 (特困：无法定赡养、抚养、扶养义务人或其无履行能力)
-- For each member, the obligors who live in the same household and are able to pay: a spouse
-- and adult children for the head or the spouse; the head and the spouse for a child; the head
-- for the head's parents; adult children of the head for a grandchild. "Able" here means
-- counted in the household, aged 18 to 69 and not severely disabled (an obligor aged 70+ or
-- severely disabled is unable, DOMAIN.md §3). Obligors outside the household come from the
-- input (support_obligors, parents) and are added in stage pt.
SELECT
    a.household_id,
    a.member_idx,
    CAST(SUM(
        CASE WHEN b.counted AND b.status = 'present' AND b.age >= 18 AND b.age < 70 AND NOT b.severe
        THEN 1 ELSE 0 END
    ) AS BIGINT) AS inhouse_able_n
FROM pm AS a
JOIN pm AS b ON a.household_id = b.household_id AND a.member_idx <> b.member_idx
WHERE (a.relation IN ('head', 'spouse') AND b.relation IN ('head', 'spouse', 'child'))
    OR (a.relation = 'child' AND b.relation IN ('head', 'spouse'))
    OR (a.relation = 'parent' AND b.relation = 'head')
    OR (a.relation = 'grandchild' AND b.relation = 'child')
GROUP BY a.household_id, a.member_idx
