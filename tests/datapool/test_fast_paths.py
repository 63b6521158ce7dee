"""The fast paths of the ingest pipeline give what the general code gives."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from doudi.datapool import ingest, normalize, readers, store


def md5_keys(values: list[str]) -> pa.Array:
    return pa.array([hashlib.md5(v.encode()).hexdigest() for v in values], pa.string())


def reference_flags(keys: list[str], hashes: list[int], existing: dict[str, int]):
    """The flags as the SQL window functions define them."""
    duplicate, correction = [], []
    seen_key: dict[str, int] = {}
    seen_pair: set[tuple[str, int]] = set()
    count = {k: keys.count(k) for k in keys}
    for k, h in zip(keys, hashes, strict=True):
        pair_first = (k, h) not in seen_pair
        key_first = k not in seen_key
        duplicate.append(existing.get(k) == h or not pair_first)
        correction.append(
            (k in existing and existing[k] != h) or (count[k] > 1 and not key_first and pair_first)
        )
        seen_pair.add((k, h))
        seen_key[k] = 1
    return np.array(duplicate, bool), np.array(correction, bool)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 2)), max_size=30),
    st.dictionaries(st.integers(0, 8), st.integers(0, 2), max_size=5),
    st.booleans(),
)
def test_dedup_flags(rows, stored, collide) -> None:
    keys = [f"k{k}" for k, _ in rows]
    hashes = [h for _, h in rows]
    existing = {f"k{k}": h for k, h in stored.items()}
    record_key = md5_keys(keys)
    stored_keys = md5_keys(list(existing))
    table = pa.table(
        {
            "record_key": stored_keys,
            "content_hash": pa.array(list(existing.values()), pa.uint64()),
        }
    )
    by_md5 = {hashlib.md5(k.encode()).hexdigest(): v for k, v in existing.items()}
    original = ingest._mix
    if collide:  # every key mixes to the same value: the exact fallback sorts on all bytes
        ingest._mix = lambda words: np.zeros(len(words), np.uint64)
    try:
        dup, corr, group, size, known = ingest._dedup_flags(
            store.connect(), record_key, np.array(hashes, np.uint64), table
        )
    finally:
        ingest._mix = original
    ref_dup, ref_corr = reference_flags(record_key.to_pylist(), hashes, by_md5)
    assert dup.tolist() == ref_dup.tolist()
    assert corr.tolist() == ref_corr.tolist()
    assert size.tolist() == [keys.count(k) for k in keys]
    same = [[a == b for b in keys] for a in keys]
    assert [[ga == gb for gb in group] for ga in group] == same


def test_first_occurrences_other_keys() -> None:
    keys = pa.array(["b", "a", "b", "ccc", "a", "b"])
    group, first, size = ingest._first_occurrences(keys)
    assert first.tolist() == [True, True, False, True, False, False]
    assert size.tolist() == [3, 2, 3, 1, 2, 3]
    assert group[0] == group[2] == group[5] and group[1] == group[4] != group[0]


@pytest.mark.parametrize(
    "values",
    [
        ["370602198001010012", "37060219800101001x", "  370602198001010012 ", None, ""],
        ["abc", "3706021980010100１２", "370602 98001010012", "370602198001010012"],
        ["370602198001010012"] * 3,
        [],
    ],
)
def test_mask_ids_fast_path(values) -> None:
    arr = pa.array(values, pa.string())
    assert ingest._mask_ids(arr).to_pylist() == ingest._mask_ids_general(arr).to_pylist()


def test_scatter() -> None:
    base = pa.array(["a", None, "c", "d"])
    out = ingest._scatter(base, pa.array([1, 3], pa.uint64()), pa.array(["B", None]))
    assert out.to_pylist() == ["a", "B", "c", None]


def test_constant_columns() -> None:
    now = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    ts = pa.timestamp("us", tz="UTC")
    assert ingest._constant(now, 3, ts).to_pylist() == [now] * 3
    assert ingest._constant("文件.csv", 2, pa.string()).to_pylist() == ["文件.csv"] * 2
    assert ingest._constant(7, 2, pa.int64()).to_pylist() == [7, 7]
    assert len(ingest._constant("x", 0, pa.string())) == 0


def test_months() -> None:
    days = pa.array([dt.date(1880, 1, 1), None, dt.date(2024, 2, 29), dt.date(2100, 12, 31)])
    expected = [(d.year - 1970) * 12 + d.month - 1 if d else 0 for d in days.to_pylist()]
    assert ingest._months(days).tolist() == expected


iso = st.builds(
    lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
    st.sampled_from([0, 1879, 1880, 1900, 2000, 2023, 2024, 2100, 2101, 9999]),
    st.integers(0, 13),
    st.integers(0, 32),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(iso, st.just("")), max_size=30))
def test_iso_dates_same_as_strptime(values) -> None:
    arr = pa.array(values, pa.string())
    fast = normalize._iso_dates(arr)
    assert fast is not None
    assert fast.equals(normalize._strptime_iso(arr))


def test_iso_dates_declines_other_forms() -> None:
    assert normalize._iso_dates(pa.array(["2024-1-5"])) is None
    assert normalize._iso_dates(pa.array(["2024/01/05"])) is None
    assert normalize._iso_dates(pa.array(["2024-01-05", None])) is None


@pytest.mark.parametrize(
    "body",
    [b"a\nb\n", b"a\nb", b"a\n\nb\n", b"\na\n", b"a\r\nb\r\n", b"a\n\r\nb", b"a\n\r", b""],
)
def test_physical_lines_shortcut(body) -> None:
    slow = readers._physical_lines(body, 2)
    assert readers._physical_lines(body, 2, len(slow)).tolist() == slow.tolist()


@pytest.mark.parametrize(
    "data",
    [b"abc", "中文".encode(), "中文".encode("gbk"), b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b""],
)
def test_is_utf8(data) -> None:
    try:
        data.decode("utf-8")
        expected = True
    except UnicodeDecodeError:
        expected = False
    assert readers._is_utf8(data) is expected


def test_blank() -> None:
    for data in [b"", b" \t\r\n\x0b\x0c", b" x ", b"\xe3\x80\x80"]:
        assert readers._blank(data) is (not data.strip())


def test_marker_and_nonempty_checks() -> None:
    col = pa.chunked_array([pa.array(["", "x", "合"]), pa.array(["小计 1", "a"])])
    assert readers._may_start_with_marker(col)
    assert not readers._may_start_with_marker(pa.array(["", "金额合计", "合"]))
    assert readers._nonempty(col).to_pylist() == [False, True, True, True, True]
    assert pc.all(pc.equal(normalize._empty(pa.array(["", "a"])), pa.array([True, False])))


@pytest.mark.parametrize(
    "values",
    [
        [
            "37060219800101001X",
            None,
            "370602198001010012",
            "37060219800101001X",
            "110105194912310021",
        ],
        ["370602198001010012"] * 3 + [None],
        [None, None],
        ["abc", None, "abc", "370602198001010012"],  # not ID numbers: Arrow's hashing
    ],
)
def test_distinct_ids(values) -> None:
    arr = pa.array(values, pa.string())
    distinct, index = ingest._distinct_ids(arr)
    names = distinct.to_pylist()
    assert sorted(names) == sorted({v for v in values if v is not None})
    assert [None if i == len(names) else names[i] for i in index] == values


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=25))
def test_content_hash_is_duckdbs_md5_number_lower(values) -> None:
    """Content hashes already in the store were made by DuckDB's md5_number_lower: the numbers
    read off the hex digests must be the same."""
    con = store.connect(private=True)
    try:
        con.register("v", pa.table({"s": pa.array(values, pa.string())}))
        expected = con.sql("SELECT md5_number_lower(s) AS h FROM v").to_arrow_table()["h"]
        digests = con.sql("SELECT md5(s) AS d FROM v").to_arrow_table()["d"]
    finally:
        con.close()
    got = ingest._md5_number_lower(digests.combine_chunks())
    assert got.type == pa.uint64()
    assert got.to_pylist() == expected.to_pylist()


def test_content_hash_refuses_other_text() -> None:
    with pytest.raises(ValueError):
        ingest._md5_number_lower(pa.array(["abc"]))


def test_trim_leads_cover_every_white_space_arrow_trims() -> None:
    """Every code point that Arrow's utf8_trim_whitespace removes has a lead byte the shortcut
    looks for, so skipping the trim never keeps white space."""
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    cells = pa.array([f"x{chr(c)}" for c in points], pa.string())
    trimmed = pc.utf8_trim_whitespace(cells)
    removed = np.flatnonzero(~np.asarray(pc.equal(cells, trimmed)))
    assert removed.size >= 20  # ASCII spaces and controls, U+0085, U+00A0, U+2000..., U+3000
    for i in removed:
        lead = chr(points[i]).encode("utf-8")[0]
        assert readers._TRIM_LEADS[lead], hex(points[i])


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.text(
            alphabet=st.sampled_from(list("ab 张三\t\u3000\u00a0\u2003\u0085合计𠀀é\u200b\ufeff")),
            max_size=8,
        ),
        max_size=12,
    )
)
def test_trim_shortcut_same_as_arrow(values) -> None:
    arr = pa.array(values, pa.string())
    assert readers._trim(arr).to_pylist() == pc.utf8_trim_whitespace(arr).to_pylist()
    chunked = pa.chunked_array([arr, pa.array(["abc", " x"], pa.string())])
    assert readers._trim(chunked).to_pylist() == pc.utf8_trim_whitespace(chunked).to_pylist()


def test_marker_check_finds_each_marker() -> None:
    for marker in readers._TOTAL_CELL_MARKERS:
        assert readers._may_start_with_marker(pa.array(["张三", f"{marker}：12"], pa.string()))
    assert not readers._may_start_with_marker(pa.array(["张三丰", "烟台市", "ab"], pa.string()))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["2025/3/8", "2024年1月5日", "20240105", "45000", "2023/2/29", "", "abc", "1.5.2024"]
            + ["2024.01.05", "2024-1-5 10:00", "2101/1/1", "1879/12/31", "44927.0"]
        ),
        min_size=1,
        max_size=40,
    ),
    st.integers(1024, 3000),
)
def test_dates_parsed_once_per_distinct_text(pattern, n) -> None:
    """Parsing each distinct text once and spreading the results gives what parsing every row
    gives."""
    values = [pattern[i % len(pattern)] for i in range(n)]
    arr = pa.array(values, pa.string())
    got_values, got_ok = normalize._parse_dates_general(arr)
    want_values, want_ok = normalize._parse_date_texts(normalize._trim(arr))
    assert got_values.to_pylist() == want_values.to_pylist()
    assert got_ok.to_pylist() == want_ok.to_pylist()


def _registry_file(tmp_path, indexes, persons):
    import pyarrow.parquet as pq

    path = tmp_path / "persons.parquet"
    pq.write_table(
        pa.table(
            {"id_index": pa.array(indexes, pa.string()), "person_id": pa.array(persons, pa.int64())}
        ),
        path,
    )
    return path


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.booleans()), max_size=40),
    st.lists(st.integers(0, 40), max_size=30),
    st.sampled_from(["real", "one_high", "few_high"]),
)
def test_registry_lookup_is_set_membership(tmp_path_factory, registry, queries, keys) -> None:
    """Exact linkage by binary search finds exactly the indexes of registry persons (with a
    person id), also when many indexes share the high bits of their key (forced here)."""
    tmp_path = tmp_path_factory.mktemp("reg")

    def index(i: int) -> str:
        return hashlib.sha1(str(i).encode()).hexdigest()  # 40 hex digits

    path = _registry_file(
        tmp_path, [index(i) for i, _ in registry], [7 if has else None for _, has in registry]
    )
    original = ingest._index_key
    if keys == "one_high":
        ingest._index_key = lambda words: np.zeros(words.shape[0], dtype=np.uint64)
    elif keys == "few_high":
        ingest._index_key = lambda words: (words[:, 0] % np.uint64(3)) << np.uint64(62)
    try:
        lookup = ingest._RegistryIndexes(path)
        assert lookup.searchable
        got = lookup.contains(pa.array([index(q) for q in queries], pa.string()))
    finally:
        ingest._index_key = original
    persons = {i for i, has in registry if has}
    assert got.tolist() == [q in persons for q in queries]


def test_registry_lookup_falls_back_to_the_join(tmp_path) -> None:
    """Indexes that are not 40 characters are joined by DuckDB, with the same answer."""
    path = _registry_file(tmp_path, ["short", "a" * 40, None], [1, 2, 3])
    lookup = ingest._RegistryIndexes(path)
    assert not lookup.searchable
    assert lookup.contains(pa.array(["short"])) is None
    assert lookup.table().num_rows == 3


@pytest.mark.parametrize("short", [False, True])
def test_linked_by_search_or_join(tmp_path, short) -> None:
    a, b, c = (hashlib.sha1(x).hexdigest() for x in (b"a", b"b", b"c"))
    root = tmp_path / "pool"
    target = root / store.REGISTRY_PERSONS
    target.parent.mkdir(parents=True)
    registry = [a, b] + (["short"] if short else [])
    _registry_file(tmp_path, registry, [1, None] + ([3] if short else [])).rename(target)
    ingest._registry_cache.clear()
    con = store.connect(private=True)
    try:
        # distinct indexes a, b, c; rows: a, c, (null), a, b
        hit = ingest._linked(con, root, pa.array([a, b, c]), np.array([0, 2, 3, 0, 1]))
    finally:
        con.close()
        ingest._registry_cache.clear()
    assert hit.tolist() == [True, False, False, True, False]
