"""Tests of the synthetic department feeds (no Django, no database).

One 20,000-person city and its feeds (12 months + 7 days) are shared by most tests; the files are
read back with the data pool's own readers and normalisation, so the tests check what an ingest
would see.
"""

from __future__ import annotations

import collections
import json
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from doudi.core import idcard
from doudi.datapool.catalog import load_catalog
from doudi.datapool.normalize import normalize
from doudi.datapool.readers import read_file
from doudi.synth import cli, feeds
from doudi.synth.generator import generate

AS_OF = date(2026, 1, 1)
PERSONS = 20_000
SEED = 11
CATALOG = load_catalog()


@pytest.fixture(scope="module")
def feed(tmp_path_factory):
    root = tmp_path_factory.mktemp("feeds")
    generate(persons=PERSONS, seed=SEED, out_dir=root / "city", as_of=AS_OF)
    stats = feeds.generate_feeds(
        city_dir=root / "city", out_dir=root / "feeds", seed=SEED, as_of=AS_OF
    )
    persons = pq.read_table(root / "city" / "persons.parquet")
    households = pq.read_table(root / "city" / "households.parquet")
    return {
        "root": root,
        "out": root / "feeds",
        "stats": stats,
        "persons": persons,
        "households": households,
        "cache": {},
    }


def _required(code: str) -> list[str]:
    return [f.name for f in CATALOG.get(code).fields if f.required]


def _read(code: str, path: Path):
    return read_file(path, CATALOG.get(code).headers(), _required(code))


def _truth(feed, code: str) -> pa.Table:
    return pq.read_table(feed["out"] / "_truth" / f"{code}.parquet")


def _rows(feed, code: str) -> pa.Table:
    """Every row of every file of ``code``: normalised columns, the raw name and ID, the file,
    and the truth (person_id, id_fault, name_typo, bad_value, copy)."""
    if code in feed["cache"]:
        return feed["cache"][code]
    iface = CATALOG.get(code)
    parts = []
    for path in sorted((feed["out"] / code).iterdir()):
        raw = _read(code, path)
        if not raw.table.num_rows:
            continue
        norm = normalize(iface, raw.table, today=AS_OF)
        t = norm.table.append_column("_reason", norm.reason)
        t = t.append_column("_file", pa.array([path.name] * t.num_rows, pa.string()))
        if iface.name_field:
            t = t.append_column("_name_raw", raw.table[iface.name_field])
        parts.append(t)
    table = pa.concat_tables(parts, promote_options="permissive")
    truth = _truth(feed, code).rename_columns(
        ["_file", "_line", "person_id", "id_fault", "name_typo", "bad_value", "copy"]
    )
    table = table.join(truth, ["_file", "_line"], join_type="left outer")
    feed["cache"][code] = table
    return table


# --- files, formats, headers -----------------------------------------------------------------


def test_every_interface_gets_monthly_and_daily_files(feed):
    out = feed["out"]
    for iface in CATALOG:
        names = sorted(p.name for p in (out / iface.code).iterdir())
        assert len(names) == 12 + 7, iface.code
        assert any(n.startswith(f"{iface.code}-2025-03.") for n in names)
        assert any(n.startswith(f"{iface.code}-2025-12-31.") for n in names)
        assert (out / "_truth" / f"{iface.code}.parquet").is_file()
    assert feed["stats"]["interfaces"] == len(CATALOG)
    assert feed["stats"]["files"] == len(CATALOG) * 19
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["total_rows"] == feed["stats"]["total_rows"]


def _header_cells(path: Path) -> list[list[str]]:
    """The first rows of a file as cells, whatever its format."""
    data = path.read_bytes()
    if path.suffix == ".xlsx":
        from python_calamine import CalamineWorkbook

        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
        return [[str(c) for c in r] for r in rows]
    if path.suffix == ".jsonl":
        return [list(json.loads(line)) for line in data.decode("utf-8").splitlines()[:3]]
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("gb18030")
    return [line.split(",") for line in text.splitlines()[:3]]


def test_headers_are_the_declared_headers(feed):
    for iface in CATALOG:
        declared = [f.header for f in iface.fields]
        for path in (feed["out"] / iface.code).iterdir():
            rows = _header_cells(path)
            if path.suffix == ".jsonl":
                assert all(r == declared for r in rows), path.name
                continue
            index = 2 if path.suffix == ".xlsx" else (1 if len(rows[0]) == 1 else 0)
            assert rows[index] == declared, path.name


def test_every_declared_field_is_filled_in_some_row(feed):
    for iface in CATALOG:
        filled = dict.fromkeys(iface.field_names(), 0)
        per_file = collections.Counter(_truth(feed, iface.code)["file"].to_pylist())
        for name, _ in per_file.most_common():  # the largest files first
            t = _read(iface.code, feed["out"] / iface.code / name).table
            for field in filled:
                if field in t.column_names:
                    text = pc.fill_null(t[field], "")
                    filled[field] += pc.sum(pc.greater(pc.utf8_length(text), 0)).as_py() or 0
            if all(filled.values()):
                break
        assert all(filled.values()), (iface.code, [k for k, v in filled.items() if not v])


def test_formats_gbk_bom_xlsx_with_title_and_total_and_jsonl(feed):
    out = feed["out"]
    gbk = (out / "death_registration" / "death_registration-2025-06.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        gbk.decode("utf-8")
    assert gbk.decode("gbk").startswith("身份证号,姓名,死亡日期")
    assert b"\r\n" in gbk
    bom = (out / "pension_payment" / "pension_payment-2025-06.csv").read_bytes()
    assert bom.startswith(b"\xef\xbb\xbf")
    titled = (out / "dibao_roll" / "dibao_roll-2025-06.csv").read_bytes().decode("gb18030")
    assert titled.splitlines()[0] == "民政·低保名册（2025年06月）"

    from python_calamine import CalamineWorkbook

    path = out / "disability_certificate" / "disability_certificate-2025-06.xlsx"
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[0][0] == "残联·残疾人证（2025年06月）" and not any(rows[1])
    assert rows[-1][0] == "合计"
    raw = _read("disability_certificate", path)
    assert raw.skipped["total"] == 1
    assert raw.table["_line"].to_pylist() == list(range(4, 4 + len(rows) - 4))

    lines = (out / "weather_warning" / "weather_warning-2025-07.jsonl").read_text("utf-8")
    first = json.loads(lines.splitlines()[0])
    assert first["预警编号"].startswith("370600-2025") and len(first["区划代码"]) in (6, 9)
    # daily files of a department that sends JSON lines every day
    assert list((out / "disaster_relief").glob("*-2025-12-31.jsonl"))


def test_dates_and_amounts_come_in_mixed_styles(feed):
    text = "".join(
        p.read_text("utf-8") for p in (feed["out"] / "medical_inpatient").glob("*-2025-0*.csv")
    )
    assert "年" in text and "/" in text and "-" in text  # 2025年3月1日, 2025/3/1, 2025-03-01
    assert '"1,' in text or '"2,' in text  # thousands separators
    pension = (feed["out"] / "pension_payment" / "pension_payment-2025-06.csv").read_text(
        "utf-8-sig"
    )
    assert "2025/6/" in pension


# --- reading back: counts, lines, quarantine --------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "death_registration",
        "pension_payment",
        "disability_certificate",
        "weather_warning",
        "dibao_roll",
        "medical_inpatient",
        "disaster_relief",
    ],
)
def test_readers_read_as_many_rows_as_the_truth_lists(feed, code):
    truth = _truth(feed, code)
    per_file = collections.Counter(truth["file"].to_pylist())
    for path in sorted((feed["out"] / code).iterdir()):
        raw = _read(code, path)
        assert raw.table.num_rows == per_file.get(path.name, 0), path.name
        lines = truth.filter(pc.equal(truth["file"], path.name))["line"].to_pylist()
        assert raw.table["_line"].to_pylist() == lines, path.name


def test_only_the_rows_with_bad_values_are_quarantined(feed):
    for code in (
        "medical_inpatient",
        "pension_payment",
        "bank_deposit",
        "disability_certificate",
        "real_estate",
        "weather_warning",
        "tekun_roll",
        "hukou_change",
    ):
        t = _rows(feed, code)
        quarantined = pc.is_valid(t["_reason"])
        assert pc.all(pc.equal(quarantined, t["bad_value"])).as_py(), code


# --- consistency with the city ----------------------------------------------------------------


def _persons_np(feed):
    p = feed["persons"]
    return {
        "id": np.asarray(p["id_number"].to_pylist(), dtype=object),
        "name": np.asarray(p["name"].to_pylist(), dtype=object),
        "grade": p["disability_grade"].to_numpy(zero_copy_only=False),
        "category": np.asarray(p["disability_category"].to_pylist(), dtype=object),
    }


def test_disability_certificates_exactly_for_the_disabled(feed):
    t = _rows(feed, "disability_certificate")
    pid = t["person_id"].to_numpy()
    disabled = pc.is_valid(feed["persons"]["disability_grade"]).to_numpy(zero_copy_only=False)
    assert set(pid.tolist()) == set((np.flatnonzero(disabled) + 1).tolist())
    p = _persons_np(feed)
    ok = pc.invert(t["bad_value"]).to_numpy(zero_copy_only=False)
    cat = np.asarray(t["category"].to_pylist(), dtype=object)
    grade = np.asarray(t["grade"].to_pylist(), dtype=object)
    assert (cat[ok] == p["category"][pid[ok] - 1]).all()
    assert (grade[ok].astype(int) == p["grade"][pid[ok] - 1]).all()
    # grades are written both ways (1 and 一级) and categories in Chinese
    from python_calamine import CalamineWorkbook

    categories, grades = set(), set()
    for path in (feed["out"] / "disability_certificate").glob("*.xlsx"):
        for row in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()[3:-1]:
            categories.add(str(row[2]))
            grades.add(str(row[3]))
    assert {"肢体", "听力"} <= categories and "physical" not in categories
    assert grades & {"1", "2", "3", "4"} and grades & {"一级", "二级", "三级", "四级"}


def _first_by_person(t: pa.Table, column: str) -> dict[int, object]:
    out = {}
    for pid, v in zip(t["person_id"].to_pylist(), t[column].to_pylist(), strict=True):
        if pid is not None and v is not None:
            out.setdefault(pid, v)
    return out


def test_deaths_are_consistent_across_feeds_and_the_dead_stop_drawing_pensions(feed):
    reg = _rows(feed, "death_registration")
    cert = _rows(feed, "death_certificate")
    crem = _rows(feed, "cremation")
    hukou = _rows(feed, "hukou_change")
    died = _first_by_person(reg, "death_date")
    n = feed["persons"].num_rows
    assert 0.004 * n < len(died) < 0.011 * n  # ≈0.7% a year
    ages = pc.year(feed["persons"]["birth_date"]).to_numpy()
    old = np.mean([2025 - ages[pid - 1] >= 65 for pid in died])
    assert old > 0.7  # mostly the elderly
    assert _first_by_person(cert, "death_date") == died
    crem_death = _first_by_person(crem, "death_date")
    assert set(crem_death) <= set(died) and len(crem_death) > 0.9 * len(died)
    assert all(crem_death[p] == died[p] for p in crem_death)
    for p, d in _first_by_person(crem, "cremation_date").items():
        assert died[p] <= d <= died[p] + np.timedelta64(5, "D").astype(object)
    cancel = _first_by_person(reg, "cancellation_date")
    deaths = hukou.filter(pc.equal(hukou["change_type"], "death"))
    hk = _first_by_person(deaths, "change_date")
    assert hk == cancel and all(cancel[p] >= died[p] for p in cancel)
    # no pension is paid after the day of death
    pen = _rows(feed, "pension_payment")
    for p, day in zip(pen["person_id"].to_pylist(), pen["payment_date"].to_pylist(), strict=True):
        if p in died and day is not None:
            assert day < died[p]


def test_rolls_and_registers_match_the_city(feed):
    per = feed["persons"]
    hh = feed["households"]
    n = per.num_rows

    def people(code, where=None):
        t = _rows(feed, code)
        if where is not None:
            t = t.filter(where(t))
        return {p for p in t["person_id"].to_pylist() if p is not None}

    dibao = set((np.flatnonzero(per["dibao"].to_numpy(zero_copy_only=False)) + 1).tolist())
    tekun = set((np.flatnonzero(per["tekun"].to_numpy(zero_copy_only=False)) + 1).tolist())
    assert people("dibao_roll") <= dibao and len(people("dibao_roll")) > 0.9 * len(dibao)
    assert people("tekun_roll") <= tekun and len(people("tekun_roll")) > 0.9 * len(tekun)
    prison = set((np.flatnonzero(pc.equal(per["status"], "prison").to_numpy(False)) + 1).tolist())
    inside = people("prisoner", lambda t: pc.equal(t["status"], "in_custody"))
    assert inside == prison
    # vehicles: owned by heads of households with vehicles (plus exempt disability vehicles)
    heads = hh["head_person_id"].to_numpy()
    with_vehicle = set(heads[hh["vehicles"].to_numpy() > 0].tolist())
    veh = _rows(feed, "vehicle_registration")
    normal = people(
        "vehicle_registration", lambda t: pc.invert(pc.fill_null(t["disability_vehicle"], False))
    )
    assert normal == with_vehicle
    assert veh.num_rows >= int(hh["vehicles"].to_numpy().sum())
    business = set(heads[hh["business_registered"].to_numpy(zero_copy_only=False)].tolist())
    active = people("business_registration", lambda t: pc.equal(t["status"], "active"))
    spouses = {p for p in active if p not in business}
    assert len(active & business) > 0.6 * len(business) and len(spouses) < 0.4 * len(active)
    # pensions only for the elderly (and early-retired women), births not in the registry
    ages = 2026 - pc.year(per["birth_date"]).to_numpy()
    assert all(ages[p - 1] >= 55 for p in people("pension_payment"))
    births = _rows(feed, "hukou_change")
    births = births.filter(pc.equal(births["change_type"], "birth"))
    assert births.num_rows > 0 and births["person_id"].null_count == births.num_rows
    registry = set(per["id_number"].to_pylist())
    assert not registry & set(births["id_number"].to_pylist())
    assert n == PERSONS


def test_bank_deposits_add_up_to_household_assets(feed):
    t = _rows(feed, "bank_deposit")
    t = t.filter(
        pc.and_(pc.equal(t["query_date"], pa.scalar(date(2025, 6, 30))), pc.invert(t["bad_value"]))
    )
    t = t.filter(pc.is_null(t["copy"]))
    per = feed["persons"]
    hh_of = per["household_id"].to_numpy()
    sums = collections.defaultdict(float)
    for pid, bal in zip(t["person_id"].to_pylist(), t["balance"].to_pylist(), strict=True):
        if pid is not None:
            sums[hh_of[pid - 1]] += float(bal)
    assets = feed["households"]["financial_assets_yuan"].to_numpy()
    ratio = np.array([s / assets[h - 1] for h, s in sums.items() if assets[h - 1] > 10000])
    assert len(sums) > 0.9 * feed["households"].num_rows
    assert 0.85 < np.median(ratio) < 1.15


def test_inpatient_stays_are_realistic(feed):
    t = _rows(feed, "medical_inpatient")
    t = t.filter(pc.invert(t["bad_value"]))
    self_paid = np.asarray(t["self_paid"].to_pylist(), dtype=float)
    assert np.median(self_paid) > 500
    assert (self_paid > 20000).sum() >= 5  # large bills for the monitoring rules
    adm = np.asarray(t["admission_date"].to_pylist(), dtype="datetime64[D]")
    dis = np.asarray(t["discharge_date"].to_pylist(), dtype="datetime64[D]")
    assert (adm <= dis).all()
    ages = 2026 - pc.year(feed["persons"]["birth_date"]).to_numpy()
    pids = [p for p in t["person_id"].to_pylist() if p is not None]
    assert np.mean(ages[np.array(pids) - 1] >= 60) > 0.4  # more for the elderly


# --- faults and truth ------------------------------------------------------------------------


def test_fault_rates_are_within_tolerance(feed):
    st = feed["stats"]
    truths = [_truth(feed, i.code) for i in CATALOG if i.person_field]
    t = pa.concat_tables(truths)
    n = t.num_rows
    faults = collections.Counter(v for v in t["id_fault"].to_pylist() if v)
    assert 0.007 < faults["bad_check"] / n < 0.013
    assert 0.008 < faults["id15"] / n < 0.025  # 2% of the rows of persons born 1900–1999
    assert faults["lower_x"] > 0.005 * n and 0 < faults["fullwidth"] < 0.003 * n
    assert 0.007 < pc.sum(t["name_typo"]).as_py() / n < 0.013
    assert 0.0035 < st["faults"]["duplicate"] / st["total_rows"] < 0.0065
    assert 0.001 < st["faults"]["bad_value"] / st["total_rows"] < 0.003
    assert st["faults"]["resent"] > 0
    assert 4.3 < st["rows_per_person"] < 20


def _homophone_of() -> dict[str, str]:
    return {ch: g for g in feeds.homophone_groups() for ch in g}


def _same_modulo_homophone(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) != len(b):
        return False
    diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    groups = _homophone_of()
    return len(diff) == 1 and groups.get(diff[0][0], "") == groups.get(diff[0][1], "?")


def test_homophone_groups_read_alike():
    from pypinyin import lazy_pinyin

    for group in feeds.homophone_groups():
        assert len({lazy_pinyin(ch)[0] for ch in group}) == 1, group


@pytest.mark.parametrize(
    "code",
    [
        "medical_inpatient",
        "death_registration",
        "disability_certificate",
        "tax_income",
        "population_registration",
        "dibao_roll",
    ],
)
def test_truth_lines_point_at_the_right_person(feed, code):
    t = _rows(feed, code)
    p = _persons_np(feed)
    iface = CATALOG.get(code)
    ids = t[iface.person_field].to_pylist()
    raw_names = t["_name_raw"].to_pylist()
    checked = 0
    for pid, id_, name, fault, typo in zip(
        t["person_id"].to_pylist(),
        ids,
        raw_names,
        t["id_fault"].to_pylist(),
        t["name_typo"].to_pylist(),
        strict=True,
    ):
        if pid is None:
            continue
        checked += 1
        assert _same_modulo_homophone(name, p["name"][pid - 1]), (name, p["name"][pid - 1])
        assert typo == (name != p["name"][pid - 1])
        if fault == "bad_check":
            assert id_ is None  # the check character is wrong: the number is rejected
        else:
            assert id_ == p["id"][pid - 1]  # normalised: 15 digits, x and full width repaired
    assert checked > 0


def test_id_faults_look_like_department_data(feed):
    t = _rows(feed, "population_registration")
    raw = dict(zip(t["id_fault"].to_pylist(), t["id_number__raw"].to_pylist(), strict=True))
    assert len(raw["id15"]) == 15 and raw["id15"].isdigit()
    assert raw["lower_x"].endswith("x")
    assert any(0xFF10 <= ord(ch) <= 0xFF19 for ch in raw["fullwidth"])
    assert not idcard.validate(raw["bad_check"]).valid


def test_daily_files_resend_rows_of_the_previous_day(feed):
    """A re-sent row repeats, value for value, a row of the previous day's file (the last
    monthly file for the first day)."""
    resent_total = 0
    for iface in CATALOG:
        truth = _truth(feed, iface.code)
        if not pc.any(pc.equal(truth["copy"], "resent")).as_py():
            continue
        t = _rows(feed, iface.code)
        fields = [f.name for f in iface.fields]
        by_file = collections.defaultdict(set)
        for row in t.select(["_file", *fields]).to_pylist():
            by_file[row.pop("_file")].add(tuple(row.values()))
        resent = t.filter(pc.fill_null(pc.equal(t["copy"], "resent"), False))
        for row in resent.select(["_file", *fields]).to_pylist():
            file = row.pop("_file")
            day = date.fromisoformat(file[len(iface.code) + 1 : len(iface.code) + 11])
            prev = date.fromordinal(day.toordinal() - 1)
            prefixes = (prev.isoformat() + ".", prev.strftime("%Y-%m") + ".")
            prev_files = [f for f in by_file if f[len(iface.code) + 1 :].startswith(prefixes)]
            assert any(tuple(row.values()) in by_file[f] for f in prev_files), (file, row)
            resent_total += 1
    assert resent_total > 0


# --- determinism and the command ---------------------------------------------------------------


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(feed, tmp_path):
    codes = ["death_registration", "disability_certificate", "pension_payment", "weather_warning"]
    feeds.generate_feeds(
        city_dir=feed["root"] / "city",
        out_dir=tmp_path / "a",
        seed=SEED,
        as_of=AS_OF,
        interfaces=codes,
    )
    feeds.generate_feeds(
        city_dir=feed["root"] / "city",
        out_dir=tmp_path / "b",
        seed=SEED + 1,
        as_of=AS_OF,
        interfaces=codes,
    )
    for code in codes:
        for path in sorted((feed["out"] / code).iterdir()):
            same = tmp_path / "a" / code / path.name
            assert same.read_bytes() == path.read_bytes(), path.name
        truth = f"_truth/{code}.parquet"
        assert (tmp_path / "a" / truth).read_bytes() == (feed["out"] / truth).read_bytes()
    other = tmp_path / "b" / "pension_payment" / "pension_payment-2025-06.csv"
    assert other.read_bytes() != (feed["out"] / "pension_payment" / other.name).read_bytes()


def test_cli_writes_feeds_by_default_and_not_with_no_feeds(tmp_path, capsys):
    argv = ["--persons", "300", "--seed", "2", "--feed-months", "2", "--feed-days", "2"]
    assert cli.main([*argv, "--out", str(tmp_path / "a")]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["feeds"]["files"] == len(CATALOG) * 4
    assert stats["feeds"]["total_rows"] > 0
    assert sorted(p.name for p in (tmp_path / "a" / "feeds" / "pension_payment").iterdir()) == [
        "pension_payment-2025-11.csv",
        "pension_payment-2025-12-30.csv",
        "pension_payment-2025-12-31.csv",
        "pension_payment-2025-12.csv",
    ]
    assert cli.main(["--persons", "300", "--no-feeds", "--out", str(tmp_path / "b")]) == 0
    assert "feeds" not in json.loads(capsys.readouterr().out)
    assert not (tmp_path / "b" / "feeds").exists()
    assert cli.main(["--persons", "300", "--feed-months", "-1", "--out", str(tmp_path / "c")]) == 2
    assert "--feed-months" in capsys.readouterr().err


def test_window_history_then_daily_files():
    w = feeds.Window.build(date(2026, 1, 8), 12, 7)
    assert w.labels()[0] == "2025-01" and w.labels()[11] == "2025-12"
    assert w.labels()[12:] == [f"2026-01-0{d}" for d in range(1, 8)]
    w = feeds.Window.build(date(2026, 1, 1), 3, 7)
    assert w.labels() == ["2025-10", "2025-11", "2025-12"] + [f"2025-12-{d}" for d in range(25, 32)]
