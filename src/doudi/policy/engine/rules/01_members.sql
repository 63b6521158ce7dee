-- stage: pm
-- title: 家庭成员基础事实 / member facts
-- reads: p_members, p_households, p_params
-- reference: DOMAIN.md §3 (劳动能力), §5 (共同生活家庭成员、收入范围)
-- Each member with age on the as-of date, whether counted in the household (persons in prison,
-- compulsory drug rehabilitation, declared missing, clergy living apart and the dead are not),
-- severe disability (grade 1-2, or mental/intellectual grade 3), labour capacity for 特困
-- (aged 60+ or a minor; intellectual/mental grade 1-3; physical grade 1-2; visual grade 1) and
-- counted income in fen: for 低保 every type but the excluded ones; for 特困 also without the
-- residents' basic pension. ``inc_declared`` is income the household declared that no department
-- evidences (the sweep counts it on top of the pool's figures, never twice). NULL means unknown
-- (no birth date, no income declared or found).
SELECT
    m.household_id,
    m.member_idx,
    m.id_number,
    m.relation,
    m.status,
    m.dis_cat,
    m.dis_grade,
    m.self_care_failed,
    m.seriously_ill,
    m.parents_n,
    m.parents_dead_n,
    m.parents_incapable_n,
    m.obligors_n,
    m.obligors_able_n,
    h.county_code,
    h.residence,
    CAST((p.as_of_ymd - m.birth_ymd) // 10000 AS INTEGER) AS age,
    m.status NOT IN ('prison', 'drug_rehab', 'missing', 'clergy_apart', 'dead') AS counted,
    COALESCE(m.dis_grade IN (1, 2), FALSE)
        OR COALESCE(m.dis_cat IN ('mental', 'intellectual') AND m.dis_grade = 3, FALSE) AS severe,
    m.dis_grade IS NOT NULL AS disabled,
    COALESCE(m.dis_cat IN ('intellectual', 'mental') AND m.dis_grade <= 3, FALSE)
        OR COALESCE(m.dis_cat = 'physical' AND m.dis_grade <= 2, FALSE)
        OR COALESCE(m.dis_cat = 'visual' AND m.dis_grade = 1, FALSE) AS labour_disability,
    CASE WHEN m.income_known THEN
        m.inc_wage + m.inc_business + m.inc_property + m.inc_transfer + m.inc_pension
        + m.inc_basic_pension + m.inc_support + m.inc_declared
    END AS income_fen,
    CASE WHEN m.income_known THEN
        m.inc_wage + m.inc_business + m.inc_property + m.inc_transfer + m.inc_pension
        + m.inc_support + m.inc_declared
    END AS income_tekun_fen,
    CASE WHEN m.income_known THEN m.inc_excluded END AS excluded_fen,
    CASE WHEN m.income_known THEN m.inc_basic_pension END AS basic_pension_fen
FROM p_members AS m
JOIN p_households AS h ON h.household_id = m.household_id
JOIN p_params AS p ON p.county_code = h.county_code
