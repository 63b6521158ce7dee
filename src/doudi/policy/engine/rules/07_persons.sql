-- stage: pmc
-- title: 人员类别与个人待遇 / person categories and per-person amounts
-- reads: ptr, phc
-- reference: DOMAIN.md §3 (人员类别), §5 (分类施保), §9 (护理费)
-- 孤儿: under 18, both parents dead. 事实无人抚养儿童: under 18, every parent dead, missing,
-- severely disabled, seriously ill, imprisoned or in compulsory drug rehabilitation, and not
-- both dead. 困境儿童: under 18 in a 低保, 特困 or 低保边缘 household, or disabled, or seriously
-- ill. 困难老年人: 60+ in such a household who lives alone, in an all-elderly (empty-nest)
-- household, or is disabled. 重度残疾人: grade 1-2, or mental/intellectual grade 3. 单人保: a
-- severely disabled member of a 低保边缘 household gets 低保 as a one-person household.
-- Amounts in fen: 特困 basic living standard plus the care fee of the care level; 单人保 the
-- standard minus the member's own income; 分类施保 supplements for members of 低保 households.
SELECT
    t.*,
    h.dibao AS hh_dibao,
    h.near_dibao AS hh_near_dibao,
    h.has_tekun AS hh_has_tekun,
    t.age < 18 AND t.parents_dead_n >= 2 AS orphan,
    t.age < 18 AND t.parents_n >= 1 AND t.parents_incapable_n = t.parents_n
        AND t.parents_dead_n < 2 AS unsupported_child,
    t.age < 18 AND (
        h.dibao OR h.has_tekun OR h.near_dibao OR t.disabled OR COALESCE(t.seriously_ill, FALSE)
    ) AS difficult_child,
    t.age >= 60 AND (h.dibao OR h.has_tekun OR h.near_dibao) AND (
        h.n_counted = 1 OR h.all_elderly = 1 OR t.disabled
    ) AS difficult_elderly,
    t.severe AS severe_disability,
    t.severe AND t.counted AND h.near_dibao AND NOT t.tekun AS single_dibao,
    CASE WHEN COALESCE(t.tekun, FALSE) THEN
        t.tekun_std + CASE t.care_level
            WHEN 'full' THEN h.care_full
            WHEN 'partial' THEN h.care_partial
            WHEN 'self' THEN h.care_self
            ELSE 0
        END
    ELSE 0 END AS tekun_fen,
    CASE WHEN COALESCE(t.severe AND t.counted AND h.near_dibao AND NOT t.tekun, FALSE)
            AND t.income_fen < h.dibao_std
        THEN h.dibao_std - t.income_fen
        ELSE 0
    END AS single_dibao_fen,
    CASE WHEN COALESCE(h.dibao, FALSE) AND t.counted AND NOT COALESCE(t.tekun, FALSE) THEN
        CASE WHEN t.age >= 60 THEN h.sup_elderly ELSE 0 END
        + CASE WHEN t.severe THEN h.sup_severe ELSE 0 END
        + CASE WHEN t.age < 18 THEN h.sup_child ELSE 0 END
        + CASE WHEN COALESCE(t.seriously_ill, FALSE) THEN h.sup_ill ELSE 0 END
    ELSE 0 END AS supplement_fen
FROM ptr AS t
JOIN phc AS h ON h.household_id = t.household_id
