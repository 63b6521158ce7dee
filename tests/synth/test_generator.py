"""Tests of the synthetic city generator (no Django, no database).

The ID-number checks recompute the GB 11643-1999 check characters and dates here, independently of
``doudi.core.idcard`` and of the generator.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from doudi.synth import cli, generator, names
from doudi.synth.generator import generate, id_numbers

AS_OF = date(2026, 1, 1)
N_BIG = 200_000
CORE = Path(generator.__file__).resolve().parent.parent / "core" / "data"
SYNTH_DATA = Path(generator.__file__).resolve().parent / "data"


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def _ages(birth: np.ndarray, as_of: date = AS_OF) -> np.ndarray:
    """Age in completed years, computed from calendar fields."""
    b = birth.astype("datetime64[D]")
    y = b.astype("datetime64[Y]").astype(int) + 1970
    m = b.astype("datetime64[M]").astype(int) % 12 + 1
    d = (b - b.astype("datetime64[M]")).astype(int) + 1
    before_birthday = (m > as_of.month) | ((m == as_of.month) & (d > as_of.day))
    return as_of.year - y - before_birthday


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    out = tmp_path_factory.mktemp("city")
    stats = generate(persons=N_BIG, seed=7, out_dir=out, as_of=AS_OF)
    tables = {n: pq.read_table(out / f"{n}.parquet") for n in ("villages", "households", "persons")}
    per = tables["persons"]
    hh = tables["households"]
    cols = {
        "birth": per["birth_date"].to_numpy().astype("datetime64[D]"),
        "hid": per["household_id"].to_numpy(),
        "rel": np.asarray(per["relation"].to_pylist()),
        "sex": np.asarray(per["sex"].to_pylist()),
        "ids": np.asarray(per["id_number"].to_pylist()),
        "size": hh["size"].to_numpy(),
        "urban": np.asarray(hh["residence_type"].to_pylist()) == "urban",
    }
    cols["age"] = _ages(cols["birth"])
    return {"out": out, "stats": stats, **tables, **cols}


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    a = generate(persons=20_000, seed=3, out_dir=tmp_path / "a")
    b = generate(persons=20_000, seed=3, out_dir=tmp_path / "b")
    c = generate(persons=20_000, seed=4, out_dir=tmp_path / "c")
    assert a["persons"] == b["persons"] == 20_000
    for name in ("villages", "households", "persons"):
        ta = pq.read_table(tmp_path / "a" / f"{name}.parquet")
        tb = pq.read_table(tmp_path / "b" / f"{name}.parquet")
        assert ta.equals(tb), name
        assert (tmp_path / "a" / f"{name}.parquet").read_bytes() == (
            tmp_path / "b" / f"{name}.parquet"
        ).read_bytes()
    pa_ = pq.read_table(tmp_path / "a" / "persons.parquet")
    pc_ = pq.read_table(tmp_path / "c" / "persons.parquet")
    assert not pa_.column("id_number").equals(pc_.column("id_number"))
    assert c["persons"] == 20_000


def test_as_of_sets_the_reference_date_for_ages(tmp_path):
    leap = date(2024, 2, 29)
    generate(persons=20_000, seed=3, out_dir=tmp_path, as_of=leap)
    birth = pq.read_table(tmp_path / "persons.parquet")["birth_date"].to_numpy()
    birth = birth.astype("datetime64[D]")
    assert (birth <= np.datetime64(leap)).all()
    assert abs((_ages(birth, leap) >= 60).mean() - 0.2568) < 0.02
    assert birth.max() > np.datetime64("2023-01-01")  # babies born in the year before


# --- schema and stats ---------------------------------------------------------------------------


def test_schemas_are_exactly_the_documented_ones(city):
    assert city["villages"].schema.equals(generator.VILLAGES_SCHEMA)
    assert city["households"].schema.equals(generator.HOUSEHOLDS_SCHEMA)
    assert city["persons"].schema.equals(generator.PERSONS_SCHEMA)
    p = city["persons"].schema
    assert p.field("birth_date").type == pa.date32()
    assert p.field("disability_grade").type == pa.int8()
    assert city["households"].schema.field("size").type == pa.int16()


def test_stats_report_what_was_written(city):
    s = city["stats"]
    for key in (
        "persons",
        "households",
        "villages",
        "seconds",
        "peak_rss_mib",
        "out_dir",
        "seed",
        "dibao_persons",
        "dibao_households",
        "tekun_persons",
        "aged_60_plus_share",
    ):
        assert key in s, key
    assert s["persons"] == city["persons"].num_rows == N_BIG
    assert s["households"] == city["households"].num_rows
    assert s["villages"] == city["villages"].num_rows
    assert s["seed"] == 7 and s["seconds"] > 0 and s["peak_rss_mib"] > 0
    manifest = json.loads((city["out"] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["persons"] == N_BIG
    assert manifest["files"]["persons.parquet"] == (city["out"] / "persons.parquet").stat().st_size
    assert not [p for p in city["out"].iterdir() if ".tmp" in p.name]


# --- ID numbers ---------------------------------------------------------------------------------

_W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


def _check_chars(ids: np.ndarray) -> np.ndarray:
    digits = np.array([list(s[:17]) for s in ids], dtype=np.int64)
    return np.array(list("10X98765432"))[(digits * _W).sum(axis=1) % 11]


def test_id_numbers_have_correct_check_characters(city):
    ids = city["ids"]
    assert all(len(s) == 18 and s[:17].isdigit() for s in ids)
    assert np.array_equal(_check_chars(ids), np.array([s[17] for s in ids]))
    # a known value from DOMAIN.md §11, through the same independent computation
    assert _check_chars(np.array(["370602198001010012"]))[0] == "2"


def test_id_numbers_are_unique(city):
    assert len(set(city["ids"].tolist())) == city["persons"].num_rows


def test_id_birth_date_and_sex_match_the_columns(city):
    ids = city["ids"]
    ymd = np.array([s[6:14] for s in ids])
    expected = np.array([d.strftime("%Y%m%d") for d in city["persons"]["birth_date"].to_pylist()])
    assert np.array_equal(ymd, expected)
    odd = np.array([int(s[16]) % 2 == 1 for s in ids])
    assert np.array_equal(odd, city["sex"] == "M")


def test_id_address_codes_are_hukou_counties_or_documented_others(city):
    ids, hh = city["ids"], city["households"]
    addr = np.array([s[:6] for s in ids])
    hukou = np.repeat(
        np.asarray(pc.utf8_slice_codeunits(hh["hukou_village_code"], 0, 6)), city["size"]
    )
    # the development zones register their people under the districts they were carved from
    hukou = np.where(hukou == "370671", "370613", np.where(hukou == "370676", "370611", hukou))
    counties = {r["code"] for r in _csv(CORE / "yantai_divisions.csv") if r["level"] == "county"}
    counties -= {"370671", "370676"}
    others = {r["code"]: r for r in _csv(SYNTH_DATA / "address_codes.csv")}
    assert set(addr) <= counties | set(others)
    same = addr == hukou
    assert 0.95 <= same.mean() < 0.995  # ~3% of older persons carry another code
    assert {"370634", "370684"} <= set(addr)  # abolished 长岛县 and 蓬莱市 occur
    born = city["birth"]
    legacy = np.isin(addr, ["370634", "370684"])
    assert (born[legacy] < np.datetime64("2020-06-01")).all()
    assert (hukou[legacy] == "370614").all()  # only for hukou in 蓬莱区
    migrant = ~same & ~legacy
    assert (born[migrant] < np.datetime64("2000-01-01")).all()


def test_id_numbers_stay_unique_when_many_share_address_date_and_sex():
    n = 499
    addr = np.full(2 * n, 370602, np.int64)
    birth = np.full(2 * n, np.datetime64("1980-01-01"), "datetime64[D]")
    male = np.repeat([True, False], n)
    ids = np.asarray(id_numbers(addr, birth, male).to_pylist())
    assert len(set(ids.tolist())) == 2 * n
    assert np.array_equal(_check_chars(ids), np.array([s[17] for s in ids]))
    assert all(int(s[16]) % 2 == 1 for s in ids[:n]) and all(int(s[16]) % 2 == 0 for s in ids[n:])
    with pytest.raises(ValueError):
        id_numbers(addr[: n + 1], birth[: n + 1], np.ones(n + 1, bool))


# --- population structure -----------------------------------------------------------------------


def test_share_aged_60_plus_matches_the_census(city):
    share = (city["age"] >= 60).mean()
    assert abs(share - 0.2568) <= 0.01, share
    assert abs(city["stats"]["aged_60_plus_share"] - share) < 0.002


def test_sex_ratio_children_share_and_household_size_are_plausible(city):
    male = (city["sex"] == "M").mean()
    assert 0.49 <= male <= 0.52, male
    kids = (city["age"] < 15).mean()
    assert 0.10 <= kids <= 0.15, kids
    mean_size = city["persons"].num_rows / city["households"].num_rows
    assert 2.3 <= mean_size <= 2.7, mean_size
    sizes = np.bincount(city["size"])
    assert sizes[1] / sizes.sum() > 0.15 and sizes[2] / sizes.sum() > 0.25  # many 1–2 person


def test_persons_per_county_follow_the_population_table(city):
    pop = {r["code"]: int(r["population"]) for r in _csv(CORE / "county_population_2020.csv")}
    hh = city["households"]
    county = np.repeat(np.asarray(pc.utf8_slice_codeunits(hh["village_code"], 0, 6)), city["size"])
    codes, counts = np.unique(county, return_counts=True)
    assert set(codes) == set(pop)
    total = sum(pop.values())
    for c, k in zip(codes, counts, strict=True):
        expected = N_BIG * pop[c] / total
        assert abs(k - expected) / expected < 0.03, (c, k, expected)


def test_streets_are_larger_than_towns_and_mostly_urban(city):
    div = {r["code"]: r["level"] for r in _csv(CORE / "yantai_divisions.csv")}
    hh = city["households"]
    town = np.repeat(np.asarray(pc.utf8_slice_codeunits(hh["village_code"], 0, 9)), city["size"])
    level = np.array([div[t] for t in np.unique(town)])
    per_town = dict(zip(*np.unique(town, return_counts=True), strict=True))
    streets = [per_town[t] for t, lv in zip(np.unique(town), level, strict=True) if lv == "street"]
    towns = [per_town[t] for t, lv in zip(np.unique(town), level, strict=True) if lv == "town"]
    assert np.mean(streets) > np.mean(towns)
    urban = np.repeat(city["urban"], city["size"])
    is_street = np.isin(town, [t for t, lv in div.items() if lv == "street"])
    assert urban[is_street].mean() > 0.85 and urban[~is_street].mean() < 0.5
    assert 0.55 <= urban.mean() <= 0.72  # Yantai 2019: 65.4% urban


# --- households ---------------------------------------------------------------------------------


def test_households_have_one_head_matching_ids_and_sizes(city):
    per, hh = city["persons"], city["households"]
    n, h = per.num_rows, hh.num_rows
    assert np.array_equal(per["person_id"].to_numpy(), np.arange(1, n + 1))
    assert np.array_equal(hh["household_id"].to_numpy(), np.arange(1, h + 1))
    hid = city["hid"]
    assert np.array_equal(np.bincount(hid, minlength=h + 1)[1:], city["size"])
    heads = city["rel"] == "head"
    assert np.array_equal(np.bincount(hid[heads], minlength=h + 1)[1:], np.ones(h, int))
    head_ids = per["person_id"].to_numpy()[heads]
    assert np.array_equal(head_ids, hh["head_person_id"].to_numpy())
    assert np.array_equal(per["dibao"].to_numpy(), hh["dibao"].to_numpy()[hid - 1])
    assert set(city["rel"]) <= set(generator.RELATIONS)


def test_relatives_ages_are_consistent_with_the_head(city):
    hid, rel, age = city["hid"], city["rel"], city["age"]
    head_age = age[city["households"]["head_person_id"].to_numpy() - 1][hid - 1]
    gap = head_age - age
    assert (np.abs(gap[rel == "spouse"]) <= 15).all()
    assert (age[rel == "spouse"] >= 19).all()
    assert ((gap[rel == "child"] >= 19) & (gap[rel == "child"] <= 41)).all()
    assert (gap[rel == "parent"] <= -19).all()
    assert (gap[rel == "grandchild"] >= 39).all()
    assert (gap[rel == "grandparent"] <= -41).all()
    assert (age[rel == "head"] >= 17).all()


def test_hukou_differs_from_residence_for_about_5_percent(city):
    hh = city["households"]
    differ = pc.not_equal(hh["village_code"], hh["hukou_village_code"]).to_numpy(
        zero_copy_only=False
    )
    assert 0.04 <= differ.mean() <= 0.06


def test_addresses_name_the_village(city):
    hh, vil = city["households"], city["villages"]
    vname = dict(zip(vil["code"].to_pylist(), vil["name"].to_pylist(), strict=True))
    sample = hh.slice(0, 2000).to_pylist() + hh.slice(hh.num_rows - 2000).to_pylist()
    for r in sample:
        assert r["address"].startswith(vname[r["village_code"]])
        assert re.fullmatch(r".+(\d+号|\d+号楼\d单元\d0\d室)", r["address"])


# --- villages -----------------------------------------------------------------------------------


def test_village_codes_sit_under_their_town(city):
    vil = city["villages"].to_pylist()
    div = {r["code"]: r for r in _csv(CORE / "yantai_divisions.csv")}
    towns = {c for c, r in div.items() if len(c) == 9}
    assert {v["town_code"] for v in vil} == towns
    for v in vil:
        assert re.fullmatch(r"\d{12}", v["code"]), v
        assert v["code"][:9] == v["town_code"] and v["town_code"][:6] == v["county_code"]
        assert div[v["town_code"]]["parent_code"] == v["county_code"]
        seq = int(v["code"][9:])
        if v["kind"] == "community":
            assert 1 <= seq <= 199 and v["residence_type"] == "urban" and v["name"].endswith("社区")
        else:
            assert v["kind"] == "village"
            assert 200 <= seq <= 599 and v["residence_type"] == "rural" and v["name"].endswith("村")
    keys = [(v["town_code"], v["name"]) for v in vil]
    assert len(set(keys)) == len(keys)  # names unique within a town
    per_town = np.unique([v["town_code"] for v in vil], return_counts=True)[1]
    assert per_town.min() >= 3


def test_village_count_scales_towards_yantai_real_count():
    towns = generator._towns(7_000_000)
    v = generator._villages(towns, np.random.default_rng(0))
    assert 5_500 <= len(v.code) <= 7_500  # Yantai ≈ 6,500 village-level units
    small = generator._villages(generator._towns(50_000), np.random.default_rng(0))
    assert np.bincount(small.town).min() >= 3


# --- names --------------------------------------------------------------------------------------


POLYPHONIC = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "朴": "piao",
    "查": "zha",
    "乐": "yue",
}


def test_polyphonic_surnames_use_surname_readings():
    for ch, reading in POLYPHONIC.items():
        assert names.surname_pinyin(ch) == reading
    t = names.name_tables()
    assert set(POLYPHONIC) <= set(t.surnames.tolist())


def test_polyphonic_surnames_in_the_generated_city(city):
    nm = np.asarray(city["persons"]["name"].to_pylist())
    py = np.asarray(city["persons"]["name_pinyin"].to_pylist())
    for ch, reading in POLYPHONIC.items():
        hit = np.char.startswith(nm, ch)
        assert hit.any(), ch
        assert all(p.split(" ")[0] == reading for p in py[hit]), ch


def test_pinyin_is_lowercase_syllables_one_per_character(city):
    nm = city["persons"]["name"].to_pylist()[:20_000]
    py = city["persons"]["name_pinyin"].to_pylist()[:20_000]
    for n, p in zip(nm, py, strict=True):
        assert re.fullmatch(r"[a-z]+( [a-z]+)+", p), p
        assert len(p.split(" ")) == len(n), (n, p)
        assert 2 <= len(n) <= 4


def test_children_mostly_carry_the_family_surname(city):
    nm = np.asarray(city["persons"]["name"].to_pylist())
    hid, rel, sex = city["hid"], city["rel"], city["sex"]
    head_idx = city["households"]["head_person_id"].to_numpy()[hid - 1] - 1
    kids = (rel == "child") & (sex[head_idx] == "M")
    same = np.array([a[0] == b[0] for a, b in zip(nm[kids], nm[head_idx[kids]], strict=True)])
    assert same.mean() > 0.85


# --- disability, self-care, income --------------------------------------------------------------


def test_disability_certificates(city):
    per = city["persons"]
    cat, grade = per["disability_category"], per["disability_grade"]
    assert cat.null_count == grade.null_count
    share = 1 - cat.null_count / per.num_rows
    assert abs(share - 0.026) < 0.001
    assert set(pc.unique(cat.drop_null()).to_pylist()) == set(generator.DISABILITY_CATEGORIES)
    g = grade.drop_null().to_numpy()
    assert g.min() == 1 and g.max() == 4
    has = np.asarray(cat.is_valid())
    age = city["age"]
    assert has[age >= 70].mean() > 2 * has[age < 45].mean()


def test_statuses_are_registry_values_and_rare(city):
    status = np.asarray(city["persons"]["status"].to_pylist())
    assert set(status) <= {"present", "prison", "missing", "drug_rehab"}
    assert (status == "present").mean() > 0.995
    assert (status == "prison").any()
    away = status != "present"
    assert not city["persons"]["employed"].to_numpy()[away].any()
    assert (city["persons"]["monthly_income_yuan"].to_numpy()[away] == 0).all()


def test_self_care_failures_rise_with_age(city):
    sc = city["persons"]["self_care_failed_activities"].to_numpy()
    age = city["age"]
    assert sc.min() == 0 and sc.max() <= 6
    assert (sc == 0).mean() > 0.9
    assert (sc[age >= 85] > 0).mean() > 5 * (sc[(age >= 18) & (age < 60)] > 0).mean()


def test_incomes(city):
    per = city["persons"]
    inc = per["monthly_income_yuan"].to_numpy()
    emp = per["employed"].to_numpy()
    age = city["age"]
    assert (inc[age < 16] == 0).all()
    assert (inc[emp] > 0).all()
    wage = np.median(inc[emp & (age >= 20) & (age < 60)])
    assert 3000 <= wage <= 4800, wage
    urban_p = np.repeat(city["urban"], city["size"])
    pension_u = np.median(inc[(age >= 65) & ~emp & urban_p])
    pension_r = np.median(inc[(age >= 65) & ~emp & ~urban_p])
    assert pension_u > pension_r
    veh = city["households"]["vehicles"].to_numpy()
    assert 0.37 <= (veh > 0).mean() <= 0.43


# --- recipients ---------------------------------------------------------------------------------


def test_recipient_rates_match_yantai(city):
    per = city["persons"]
    n = per.num_rows
    dibao = per["dibao"].to_numpy().mean()
    tekun = per["tekun"].to_numpy().mean()
    assert abs(dibao - 0.00859) <= 0.001, dibao
    assert abs(tekun - 0.00338) <= 0.001, tekun
    assert city["stats"]["dibao_persons"] == int(per["dibao"].to_numpy().sum())
    assert city["stats"]["tekun_persons"] == int(per["tekun"].to_numpy().sum())
    assert not (per["dibao"].to_numpy() & per["tekun"].to_numpy()).any()
    assert n == N_BIG


def test_dibao_households_pass_the_income_and_asset_tests(city):
    per, hh = city["persons"], city["households"]
    size = city["size"]
    inc = np.bincount(
        city["hid"] - 1, weights=per["monthly_income_yuan"].to_numpy(), minlength=len(size)
    )
    std = np.where(city["urban"], 1069, 872)
    d = hh["dibao"].to_numpy()
    assert d.sum() > 0
    assert (inc[d] / size[d] < std[d]).all()
    assert (hh["vehicles"].to_numpy()[d] == 0).all()
    assert not hh["business_registered"].to_numpy()[d].any()
    assert (hh["financial_assets_yuan"].to_numpy()[d] <= 24 * std[d] * size[d]).all()
    # and they are poorer than the rest, on average
    assert np.median(inc[d] / size[d]) < 0.5 * np.median(inc[~d] / size[~d])


def test_tekun_persons_live_alone_without_labour_capacity_or_means(city):
    per, hh = city["persons"], city["households"]
    tk = per["tekun"].to_numpy()
    hid = city["hid"]
    age = city["age"]
    assert (city["size"][hid[tk] - 1] == 1).all()
    grade = per["disability_grade"].fill_null(0).to_numpy()
    assert ((age[tk] >= 60) | ((grade[tk] >= 1) & (grade[tk] <= 3))).all()
    assert not per["employed"].to_numpy()[tk].any()
    assert (per["monthly_income_yuan"].to_numpy()[tk] <= 320).all()  # basic pension at most
    assert (hh["vehicles"].to_numpy()[hid[tk] - 1] == 0).all()
    assert (age[tk] >= 60).mean() > 0.7
    assert (np.asarray(per["status"].to_pylist())[tk] == "present").all()


# --- the command --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--persons", "50", "--out", "{tmp}"], "--persons"),
        (["--persons", "many", "--out", "{tmp}"], "integer"),
        (["--persons", "1000"], "--out"),
        (["--persons", "1000", "--out", "{tmp}", "--as-of", "2026-02-30"], "--as-of"),
        (["--persons", "1000", "--out", "{tmp}", "--seed", "-1"], "--seed"),
        (["--persons", "1000", "--out", "{file}"], "folder"),
        (["--persons", "1000", "--out", "{tmp}", "--colour", "red"], "unrecognized"),
    ],
)
def test_cli_rejects_bad_arguments_in_both_languages(tmp_path, capsys, argv, needle):
    f = tmp_path / "a-file"
    f.write_text("x")
    argv = [a.format(tmp=tmp_path / "out", file=f) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert re.search(r"[\u4e00-\u9fff]", err)  # Chinese
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "persons.parquet").exists()


def test_cli_rejects_an_unwritable_folder(tmp_path, capsys):
    blocker = tmp_path / "plain-file"
    blocker.write_text("x")  # a folder cannot be created under a file, not even by root
    assert cli.main(["--persons", "200", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert "无法写入" in err and "cannot write" in err and "Traceback" not in err


def test_cli_rejects_a_read_only_folder(tmp_path, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("root ignores permission bits")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        assert cli.main(["--persons", "200", "--out", str(ro)]) == 2
        assert "cannot write" in capsys.readouterr().err
    finally:
        ro.chmod(0o700)


def test_cli_prints_stats_as_one_json_object(tmp_path, capsys):
    assert cli.main(["--persons", "2000", "--seed", "5", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    stats = json.loads(out[0])
    assert stats["persons"] == 2000 and stats["seed"] == 5
    assert pq.read_table(tmp_path / "persons.parquet").num_rows == 2000


def test_a_crash_while_writing_leaves_no_complete_looking_file(tmp_path, monkeypatch, capsys):
    real = pq.write_table
    calls = []

    def flaky(table, where, **kw):
        calls.append(Path(where))
        if len(calls) == 3:  # persons.parquet: write half a file, then fail
            Path(where).write_bytes(b"PAR1 half a file")
            raise OSError(28, "No space left on device")
        return real(table, where, **kw)

    monkeypatch.setattr(generator.pq, "write_table", flaky)
    assert cli.main(["--persons", "500", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "写入失败" in err and "writing failed" in err and "Traceback" not in err
    assert not (tmp_path / "persons.parquet").exists()
    assert not (tmp_path / "manifest.json").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]
    assert all(not p.name.endswith(".parquet") for p in calls)  # always a temporary name


def test_the_doudi_dispatcher_routes_generate(tmp_path, capsys):
    from doudi.config.cli import main as doudi_main

    assert doudi_main(["generate", "--persons", "300", "--out", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["persons"] == 300
