-- stage: ph
-- title: 家庭财产与标准 / household assets against the limits
-- reads: p_households, p_params, pm
-- reference: DOMAIN.md §5 (财产); 潍坊2017 illustration (assumed for Yantai)
-- The standards that apply to the household (urban or rural, its county), the members counted,
-- and each asset test: per-capita financial assets not above the limit (months of the 低保
-- standard; equal is within), non-exempt vehicles, dwellings and registered businesses within
-- their limits. NULL (unknown) where the household's asset figure is missing or no parameter is
-- in force on the date.
SELECT
    h.household_id,
    h.county_code,
    h.residence,
    h.fin_fen,
    h.vehicles,
    h.dwellings,
    h.business,
    h.rigid_medical_fen,
    h.rigid_education_fen,
    h.rigid_rehab_fen,
    h.relapse_listed,
    h.sudden_ymd,
    h.receiving_dibao_fen,
    h.exit_start_ymd,
    p.as_of_ymd,
    CASE WHEN h.residence = 'urban' THEN p.dibao_std_urban ELSE p.dibao_std_rural END AS dibao_std,
    CASE WHEN h.residence = 'urban' THEN p.tekun_std_urban ELSE p.tekun_std_rural END AS tekun_std,
    p.care_full,
    p.care_partial,
    p.care_self,
    p.near_mult_bp,
    p.fin_months,
    p.max_vehicles,
    p.max_dwellings,
    p.rigid_ceiling_annual,
    p.rigid_share_bp,
    p.exit_months,
    p.sup_elderly,
    p.sup_severe,
    p.sup_child,
    p.sup_ill,
    p.elderly_age,
    p.minor_age,
    p.other_window_months,
    c.n_members,
    c.n_counted,
    p.fin_months * (CASE WHEN h.residence = 'urban' THEN p.dibao_std_urban ELSE p.dibao_std_rural END)
        * c.n_counted AS fin_limit_fen,
    h.fin_fen <= p.fin_months
        * (CASE WHEN h.residence = 'urban' THEN p.dibao_std_urban ELSE p.dibao_std_rural END)
        * c.n_counted AS a_fin,
    h.vehicles <= p.max_vehicles AS a_vehicles,
    h.dwellings <= p.max_dwellings AS a_dwellings,
    NOT h.business AS a_business
FROM p_households AS h
JOIN p_params AS p ON p.county_code = h.county_code
JOIN (
    SELECT
        household_id,
        CAST(COUNT(*) AS BIGINT) AS n_members,
        CAST(SUM(CASE WHEN counted THEN 1 ELSE 0 END) AS BIGINT) AS n_counted
    FROM pm
    GROUP BY household_id
) AS c ON c.household_id = h.household_id
