"""Benchmark, synthetic test data and model training for :mod:`doudi.datapool.linkage`.

```
python -m doudi.datapool.bench_linkage --registry-persons 7000000 --candidates 100000 --seed 1
python -m doudi.datapool.bench_linkage --registry-persons 1000000 --candidates 20000 --seed 7 \\
    --train-model src/doudi/datapool/linkage_model.json
```

The registry is a synthetic city (:func:`doudi.synth.generator.build_tables`), persons joined to
their households for the county and town of residence. Candidate rows are registry persons with
the faults department data has (:func:`corrupt`), plus a share of persons who are not in the
registry at all (drawn from a city generated with another seed). The benchmark prints one JSON
object: sizes, the seconds and peak memory of :func:`~doudi.datapool.linkage.probabilistic_link`
alone (data generation excluded), and precision/recall from
:func:`~doudi.datapool.linkage.evaluate`.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

AS_OF = date(2026, 1, 1)

#: Groups of given-name characters with the same toneless pinyin (checked by the tests), the
#: homophone typos (同音字) department clerks make when typing a name they heard.
HOMOPHONES: tuple[str, ...] = tuple(
    "小晓筱 明铭鸣 伟玮炜卫薇 丽莉俐立 华桦骅花 军君钧俊 静靖晶 红宏鸿洪 芳方 春纯 文雯 建剑健 "
    "志智 磊蕾 鹏朋 杰洁 浩昊皓 宇雨语玉 秀绣 英瑛颖 兰岚 欣鑫新馨 怡仪宜 涵晗 婷亭 平萍 永勇 福富 "
    "金锦 庆清青晴 成诚 林琳霖 东冬 祥翔香 山珊 忠中 兴星 刚钢 涛韬 辉慧惠 斌彬 飞菲 轩萱宣 博波 "
    "晨辰 睿瑞 阳洋 峰锋丰凤 梅美 燕艳妍 云芸 梓子紫 琪琦棋 佳嘉家 悦月 雅亚 珍真 琴勤 璐露路".split()
)
_HOMOPHONE_OF: dict[str, str] = {ch: group for group in HOMOPHONES for ch in group}

#: Shares of the faults injected into candidate rows of registry persons (assumed).
FAULTS = {
    "homophone": 0.30,  # one given-name character replaced by a homophone (if it has one)
    "char_typo": 0.03,  # one given-name character replaced by another (the pinyin changes)
    "spaces": 0.15,  # stray spaces inside or around the name
    "pinyin_given": 0.30,  # the department supplies the pinyin (else null, computed)
    "birth_missing": 0.05,
    "birth_wrong": 0.02,  # a digit typo in the day or month
    "sex_missing": 0.10,
    "sex_wrong": 0.005,
    "county_from_id": 0.40,  # county taken from the ID number's address code, not residence
    "county_wrong": 0.03,
    "county_missing": 0.02,
    "town_given": 0.40,
}


def registry_from_city(tables: dict[str, pa.Table]) -> pa.Table:
    """Registry persons (linkage columns plus ``id_number``) from a synthetic city."""
    persons = tables["persons"]
    households = tables["households"]
    hh_ids = households["household_id"].to_numpy()
    order = np.argsort(hh_ids)
    pos = order[np.searchsorted(hh_ids, persons["household_id"].to_numpy(), sorter=order)]
    village = households["village_code"].take(pa.array(pos))
    return pa.table(
        {
            "person_id": persons["person_id"],
            "name": persons["name"],
            "name_pinyin": persons["name_pinyin"],
            "sex": persons["sex"],
            "birth_date": persons["birth_date"],
            "county_code": pc.utf8_slice_codeunits(village, 0, 6),
            "town_code": pc.utf8_slice_codeunits(village, 0, 9),
            "id_number": persons["id_number"],
        }
    )


def city_registry(persons: int, seed: int) -> pa.Table:
    from doudi.synth.generator import build_tables

    return registry_from_city(build_tables(persons=persons, seed=seed, as_of=AS_OF))


def homophone_typo(name: str, rng: np.random.Generator) -> str:
    """``name`` with one given-name character replaced by a homophone, if any has one."""
    positions = [i for i in range(1, len(name)) if name[i] in _HOMOPHONE_OF]
    if not positions:
        return name
    i = positions[int(rng.integers(len(positions)))]
    others = [c for c in _HOMOPHONE_OF[name[i]] if c != name[i]]
    return name[:i] + others[int(rng.integers(len(others)))] + name[i + 1 :]


def char_typo(name: str, rng: np.random.Generator) -> str:
    """``name`` with one given-name character replaced by an unrelated common one."""
    if len(name) < 2:
        return name
    i = int(rng.integers(1, len(name)))
    return name[:i] + _TYPO_CHARS[int(rng.integers(len(_TYPO_CHARS)))] + name[i + 1 :]


_TYPO_CHARS = "国建华明春文丽军志海红伟磊鹏杰浩宇秀英兰玉芳欣怡涵婷平德永福金庆学成林东"


def stray_spaces(name: str, rng: np.random.Generator) -> str:
    kind = int(rng.integers(3))
    if kind == 0 and len(name) > 1:
        return name[0] + " " + name[1:]
    if kind == 1:
        return " " + name + " "
    return " ".join(name)


def _wrong_dates(dates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A typo in the day (±1..9 days) or the month (±1..3 months), staying a valid date."""
    out = dates.copy()
    for i, d in enumerate(dates.astype("datetime64[D]").astype(object)):
        if rng.random() < 0.5:
            shift = int(rng.integers(1, 10)) * (1 if rng.random() < 0.5 else -1)
            out[i] = np.datetime64(d, "D") + shift
        else:
            month = (d.month - 1 + int(rng.integers(1, 4))) % 12 + 1
            day = min(d.day, 28)
            out[i] = np.datetime64(date(d.year, month, day), "D")
    return out


def corrupt(rows: pa.Table, rng: np.random.Generator, counties: Sequence[str]) -> pa.Table:
    """Candidate rows (without row_id) for registry ``rows``, with department-data faults."""
    n = rows.num_rows
    u = {k: rng.random(n) < v for k, v in FAULTS.items()}
    names = rows["name"].to_pylist()
    for i in np.flatnonzero(u["homophone"]):
        names[i] = homophone_typo(names[i], rng)
    for i in np.flatnonzero(u["char_typo"]):
        names[i] = char_typo(names[i], rng)
    for i in np.flatnonzero(u["spaces"]):
        names[i] = stray_spaces(names[i], rng)
    pinyin = pc.if_else(pa.array(u["pinyin_given"]), rows["name_pinyin"], None)

    birth = rows["birth_date"].to_numpy().astype("datetime64[D]")
    wrong = np.flatnonzero(u["birth_wrong"])
    birth[wrong] = _wrong_dates(birth[wrong], rng)
    birth_arr = pa.array(birth, pa.date32(), mask=u["birth_missing"])

    sex = rows["sex"].to_numpy(zero_copy_only=False).astype(object)
    sex = np.where(u["sex_wrong"], np.where(sex == "M", "F", "M"), sex)
    sex = pa.array(sex, pa.string(), mask=u["sex_missing"])

    county = rows["county_code"].to_numpy(zero_copy_only=False).astype(object)
    id_county = pc.utf8_slice_codeunits(rows["id_number"], 0, 6).to_numpy(zero_copy_only=False)
    county = np.where(u["county_from_id"], id_county, county)
    counties = np.asarray(counties, dtype=object)
    wrong_county = np.flatnonzero(u["county_wrong"])
    for i in wrong_county:
        choices = counties[counties != county[i]]
        county[i] = choices[int(rng.integers(len(choices)))]
    county_arr = pa.array(county, pa.string(), mask=u["county_missing"])
    town_ok = u["town_given"] & ~u["county_wrong"] & ~u["county_missing"]
    town = pc.if_else(pa.array(town_ok), rows["town_code"], None)
    return pa.table(
        {
            "name": pa.array(names, pa.string()),
            "name_pinyin": pinyin,
            "birth_date": birth_arr,
            "sex": sex,
            "county_code": county_arr,
            "town_code": town,
        }
    )


def outsiders(n: int, seed: int, rng: np.random.Generator) -> pa.Table:
    """Rows of ``n`` persons of another synthetic city (not in the registry), lightly faulted."""
    other = city_registry(max(10 * n, 2_000), seed + 7_919)
    pick = np.sort(rng.choice(other.num_rows, size=n, replace=False))
    rows = other.take(pa.array(pick))
    town_given = rng.random(n) < FAULTS["town_given"]
    return pa.table(
        {
            "name": rows["name"],
            "name_pinyin": pc.if_else(pa.array(rng.random(n) < 0.3), rows["name_pinyin"], None),
            "birth_date": rows["birth_date"],
            "sex": rows["sex"],
            "county_code": rows["county_code"],
            "town_code": pc.if_else(pa.array(town_given), rows["town_code"], None),
        }
    )


def synthetic_candidates(
    registry: pa.Table, *, n: int, seed: int, non_match_share: float = 0.2
) -> tuple[pa.Table, pa.Table]:
    """``n`` candidate rows and the truth table (row_id, person_id; null for non-matches)."""
    rng = np.random.default_rng([seed, 20_260_101])
    n_out = round(n * non_match_share)
    n_in = n - n_out
    pick = np.sort(rng.choice(registry.num_rows, size=n_in, replace=False))
    inside = registry.take(pa.array(pick))
    counties = pc.unique(registry["county_code"]).to_pylist()
    faulted = corrupt(inside, rng, counties)
    rows = pa.concat_tables([faulted, outsiders(n_out, seed, rng)]) if n_out else faulted
    person = pa.concat_arrays([inside["person_id"].combine_chunks(), pa.nulls(n_out, pa.int64())])
    order = rng.permutation(n)
    rows = rows.take(pa.array(order))
    person = person.take(pa.array(order))
    row_id = pa.array(np.arange(1, n + 1, dtype=np.int64) + 10_000_000_000)
    candidates = rows.add_column(0, "row_id", row_id)
    truth = pa.table({"row_id": row_id, "person_id": person})
    return candidates, truth


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train_model(registry: pa.Table, candidates: pa.Table, out: Path, *, seed: int) -> dict:
    """Estimate the model's m and u probabilities without labels and write the JSON file.

    u: random sampling of candidate × registry pairs (almost all non-matches). m: expectation
    maximisation twice, blocked on the birth date (estimates name, sex, region) and on the Chinese
    name and sex (estimates birth date and region), so every comparison is estimated from pairs
    not selected on it. (Blocking on the name alone lets EM drift: namesakes mostly share their
    sex, since given names are gendered, which the population-wide u for sex does not expect.)
    """
    from splink import block_on

    from doudi.datapool import linkage

    con = linkage.connect()
    prepared = linkage._prepare_candidates(candidates)
    staged = linkage.stage_inputs(con, prepared, registry, tag="train", prefilter=False)
    settings = linkage.model_settings()
    settings.probability_two_random_records_match = 0.8 / staged.registry_size
    settings.max_iterations = 200
    settings.em_convergence = 1e-5
    _, linker = linkage.make_linker(con, staged, settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e7, seed=seed)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("birth_date"), estimate_without_term_frequencies=True
    )
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name_clean", "sex"), estimate_without_term_frequencies=True
    )
    model = linker.misc.save_model_to_json()
    model["linker_uid"] = None
    model["max_iterations"], model["em_convergence"] = 25, 0.0001
    out.write_text(json.dumps(model, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return model


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_linkage", description=__doc__.split("\n")[0])
    parser.add_argument("--registry-persons", type=int, default=1_000_000)
    parser.add_argument("--candidates", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--non-match-share", type=float, default=0.2)
    parser.add_argument(
        "--train-model", type=Path, default=None, help="train and write the model JSON here"
    )
    args = parser.parse_args(argv)
    if args.registry_persons < 100 or args.candidates < 1:
        parser.error("need --registry-persons >= 100 and --candidates >= 1")

    from doudi.datapool.linkage import evaluate, probabilistic_link

    t0 = time.perf_counter()
    registry = city_registry(args.registry_persons, args.seed)
    candidates, truth = synthetic_candidates(
        registry, n=args.candidates, seed=args.seed, non_match_share=args.non_match_share
    )
    setup = time.perf_counter() - t0

    if args.train_model is not None:
        train_model(registry, candidates, args.train_model, seed=args.seed)

    rss_before = peak_rss_mib()
    t0 = time.perf_counter()
    links = probabilistic_link(candidates, registry)
    seconds = time.perf_counter() - t0
    quality = evaluate(links, truth)
    out = {
        "registry": registry.num_rows,
        "candidates": candidates.num_rows,
        "seconds": round(seconds, 2),
        "setup_seconds": round(setup, 2),
        "peak_rss_mib": round(peak_rss_mib()),
        "peak_rss_mib_before_link": round(rss_before),
        "precision": round(quality["precision"], 5),
        "recall": round(quality["recall"], 5),
        "linked": quality["linked"],
        "review": quality["review"],
        "unlinked": quality["unlinked"],
        "wrong_links": quality["wrong_links"],
        "review_best_is_true": quality["review_best_is_true"],
        "true_matches": quality["true_matches"],
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
