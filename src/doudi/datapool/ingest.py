"""Ingest: one file (or one API push) for one interface, from bytes to committed store files.

Steps, each on whole columns:

1. ledger: the file's SHA-256; a file already committed for this interface changes nothing;
2. read (any format, :mod:`readers`) and validate/normalise (:mod:`normalize`); rows with a problem
   go to quarantine with the reason, the file and the line; all others are accepted;
3. keys: ``record_key`` (a keyed hash of the declared key fields) and ``content_hash``; a row whose
   key and content are already in the store, or earlier in the same file, is a duplicate and is not
   stored again; a row whose key is known with other content is a correction and supersedes it
   (history kept: both versions stay in ``<interface>_all``);
4. linkage: exact, by the blind index of the normalised ID number against the registry export;
   rows without a usable ID, or with an ID not in the registry, are matched probabilistically
   afterwards, in bulk (:mod:`linking`): above the upper threshold linked, between the
   thresholds a clerk's review queue, below unlinked;
5. store: Parquet files per period written to staging, renamed into place, and made visible by the
   manifest rows that commit in one transaction with the ledger row, the quarantine and the review
   queue (see :mod:`store`).

ID numbers never reach the store in clear: rows keep the blind index, a masked copy, and the birth
date and area code read from the number (used by linkage).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.db import transaction
from django.utils import timezone

from doudi.core import crypto, idcard
from doudi.core.audit import audit_record
from doudi.core.models import User
from doudi.datapool import normalize as norm
from doudi.datapool import store
from doudi.datapool.catalog import Interface, load_catalog
from doudi.datapool.models import IngestFile, QuarantineRow, StoreFile
from doudi.datapool.readers import RawRead, UnreadableFile, read_file
from doudi.datapool.registry_export import registry_export

log = logging.getLogger(__name__)

PROVENANCE = [
    ("record_key", pa.string()),
    ("content_hash", pa.uint64()),
    ("_ingest", pa.int64()),
    ("_line", pa.int64()),
    ("_received_at", pa.timestamp("us", tz="UTC")),
    ("_file", pa.string()),
]
ID_COLUMNS = [
    ("id_index", pa.string()),
    ("id_masked", pa.string()),
    ("id_valid", pa.bool_()),
    ("id_birth_date", pa.date32()),
    ("id_sex", pa.string()),
    ("id_region", pa.string()),
]
_ARROW_TYPES = {
    "string": pa.string(),
    "date": pa.date32(),
    "decimal": norm.DECIMAL,
    "integer": pa.int64(),
    "enum": pa.string(),
    "boolean": pa.bool_(),
    "region_code": pa.string(),
}


def stored_schema(interface: Interface) -> pa.Schema:
    """The columns of an interface's rows in the store."""
    fields = []
    for f in interface.fields:
        if f.type == "id_number":
            if f.name != interface.person_field:
                fields.append(pa.field(f"{f.name}_masked", pa.string()))
            continue
        fields.append(pa.field(f.name, _ARROW_TYPES[f.type]))
    extra = ID_COLUMNS if interface.person_field else []
    return pa.schema(fields + [pa.field(n, t) for n, t in extra + PROVENANCE])


@dataclass
class IngestOptions:
    source: str = IngestFile.Source.CLI
    user: User | None = None
    probabilistic: bool = True
    today: dt.date | None = None
    after_stage: Callable[[], None] | None = None  # test hook: called between stage and commit
    #: when a dict: filled with the seconds each step took (``doudi bench ingest`` prints them)
    timings: dict[str, float] | None = None


class _Steps:
    """Seconds per step of one ingest, into ``IngestOptions.timings`` when asked for."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def done(self, step: str) -> None:
        if self.timings is None:
            return
        now = time.perf_counter()
        self.timings[step] = round(self.timings.get(step, 0.0) + now - self.last, 3)
        self.last = now


class IngestError(Exception):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def _mask_ids(raw: pa.Array) -> pa.Array:
    """Masked copies of ID numbers as sent: spaces removed, upper case, the first six and the
    last four characters kept. The usual value, 18 printable ASCII characters, is masked on the
    bytes of the Arrow buffer; everything else by :func:`_mask_ids_general`."""
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    raw = pc.fill_null(raw, "") if raw.null_count else raw
    if raw.type != pa.string():
        return _mask_ids_general(raw)
    offsets, data = idcard.string_buffers(raw)
    rows = np.flatnonzero(np.diff(offsets) == 18)
    chars = idcard.fixed_width_matrix(offsets, data, rows, 18)
    # printable ASCII only: nothing for \s to remove, upper case is a byte map
    plain = ((chars - np.uint8(0x21)) <= np.uint8(0x7E - 0x21)).all(axis=1)
    if not plain.all():
        rows, chars = rows[plain], chars[plain]
    masked = np.empty((rows.size, 18), dtype=np.uint8)
    masked[:, :6] = _UPPER[chars[:, :6]]
    masked[:, 6:14] = ord("*")
    masked[:, 14:] = _UPPER[chars[:, 14:]]
    fast = idcard.arrow_fixed_width(masked)
    if rows.size == len(raw):
        return fast
    other = np.ones(len(raw), dtype=bool)
    other[rows] = False
    rest = np.flatnonzero(other)
    slow = _mask_ids_general(raw.take(pa.array(rest)))
    where = np.empty(len(raw), dtype=np.int64)
    where[rows] = np.arange(rows.size)
    where[rest] = rows.size + np.arange(rest.size)
    return pa.concat_arrays([fast, slow.cast(pa.string())]).take(pa.array(where))


#: byte → its ASCII upper case
_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[ord("a") : ord("z") + 1] -= 32


def _mask_ids_general(raw: pa.Array) -> pa.Array:
    s = pc.utf8_upper(pc.replace_substring_regex(pc.fill_null(raw, ""), r"\s", ""))
    n = pc.utf8_length(s)
    masked = pc.binary_join_element_wise(
        pc.utf8_slice_codeunits(s, 0, 6), pa.scalar("********"), pc.utf8_slice_codeunits(s, -4), ""
    )
    return pc.if_else(
        pc.greater_equal(n, 15),
        masked,
        pc.if_else(pc.greater(n, 0), pa.scalar("****"), pa.scalar(None, pa.string())),
    )


def _id_parts(raw: pa.Array, normalized: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Birth date, sex and area code read from the number, also when it is invalid (a wrong check
    character still leaves a usable birth date for linkage)."""
    s = pc.coalesce(
        normalized, pc.utf8_upper(pc.replace_substring_regex(pc.fill_null(raw, ""), r"\s", ""))
    )
    is18 = pc.equal(pc.utf8_length(s), 18)
    birth_text = pc.if_else(is18, pc.utf8_slice_codeunits(s, 6, 14), "")
    birth, _ = norm.parse_dates(birth_text)
    digit17 = pc.utf8_slice_codeunits(s, 16, 17)
    odd = pc.is_in(digit17, value_set=pa.array(list("13579")))
    even = pc.is_in(digit17, value_set=pa.array(list("02468")))
    sex = pc.if_else(
        pc.and_(is18, odd), "M", pc.if_else(pc.and_(is18, even), "F", pa.scalar(None, pa.string()))
    )
    region = pc.utf8_slice_codeunits(s, 0, 6)
    region = pc.if_else(
        pc.match_substring_regex(region, r"^\d{6}$"), region, pa.scalar(None, pa.string())
    )
    return birth, sex, region


def _scatter(base: pa.Array, positions: pa.Array, values: pa.Array) -> pa.Array:
    """``base`` with ``values`` put at ``positions``."""
    where = np.arange(len(base), dtype=np.int64)
    where[np.asarray(positions, dtype=np.int64)] = len(base) + np.arange(len(values))
    return pa.concat_arrays([base, values.cast(base.type)]).take(pa.array(where))


def _quarantine_rows(raw: RawRead, reason: pa.Array, ingest: IngestFile) -> list[QuarantineRow]:
    bad = pc.is_valid(reason)
    if not pc.any(bad).as_py():
        return []
    table = raw.table.filter(bad)
    reasons = reason.filter(bad).to_pylist()
    columns = [c for c in table.column_names if not c.startswith("_")]
    data = {c: table[c].to_pylist() for c in columns}
    out = []
    for i, line in enumerate(table["_line"].to_pylist()):
        row = {c: data[c][i] for c in columns}
        out.append(
            QuarantineRow(
                ingest=ingest,
                line=line,
                reason=reasons[i][:300],
                data_enc=crypto.encrypt(json.dumps(row, ensure_ascii=False)),
            )
        )
    return out


def _hash_sql(columns: list[str]) -> str:
    """A keyed MD5 over the columns' text (stable across DuckDB versions, unlike ``hash``), as 32
    hex digits. Content hashes are its low 64 bits (:func:`_md5_number_lower`)."""
    # concat() of the parts (never null) is the text of '<key>|' || a || chr(31) || b ..., built
    # in one step instead of one intermediate string per ||
    parts = ", chr(31), ".join(
        f"coalesce(CAST({c if c.startswith('coalesce(') else chr(34) + c + chr(34)} AS VARCHAR), '')"
        for c in columns
    )
    return f"md5(concat('{crypto.index_key_hex()}|', {parts}))"


#: hex digit (ASCII byte) → its value
_NIBBLE = np.zeros(256, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"abcdef", dtype=np.uint8)] = np.arange(10, 16, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"ABCDEF", dtype=np.uint8)] = np.arange(10, 16, dtype=np.uint8)


def _md5_number_lower(digests: pa.Array) -> pa.Array:
    """DuckDB's ``md5_number_lower`` (digest bytes 8 to 15 read as a little-endian uint64) from
    ``md5`` hex digests: the same numbers, without DuckDB's 128-bit arithmetic, which costs four
    times the MD5 itself. The content hashes in the store were made by ``md5_number_lower``."""
    n = len(digests)
    if not n:
        return pa.array([], pa.uint64())
    offsets, data = idcard.string_buffers(digests)
    if digests.null_count or not (np.diff(offsets) == 32).all():
        raise ValueError("expected 32 hex digits per row")
    hex_low = _NIBBLE[idcard.fixed_width_matrix(offsets, data, np.arange(n), 32)[:, 16:]]
    octets = (hex_low[:, 0::2] << np.uint8(4)) | hex_low[:, 1::2]
    return pa.array(np.ascontiguousarray(octets).view("<u8").reshape(n))


#: per process: interface → (manifest paths, current record_key/content_hash). A cache only:
#: it is rebuilt from the store whenever the manifest differs from what it was built from.
_keys_cache: dict[tuple[str, str], tuple[frozenset[str], pa.Table | Callable[[], pa.Table]]] = {}
_registry_cache: dict[str, tuple[float, _RegistryIndexes]] = {}


def _existing_keys(con, root: Path, interface: Interface) -> tuple[frozenset[str], pa.Table]:
    files = frozenset(
        StoreFile.objects.filter(
            interface=interface.code, ingest__status=IngestFile.Status.COMMITTED
        ).values_list("path", flat=True)
    )
    cached = _keys_cache.get((str(root), interface.code))
    if cached is not None and cached[0] == files:
        table = cached[1]
        if callable(table):  # built on first use
            table = table()
            _keys_cache[(str(root), interface.code)] = (files, table)
        return files, table
    if not files:
        table = pa.table(
            {"record_key": pa.array([], pa.string()), "content_hash": pa.array([], pa.uint64())}
        )
    else:
        paths = "[" + ", ".join(f"'{root / p}'" for p in sorted(files)) + "]"
        table = con.sql(f"""
            SELECT record_key, content_hash FROM read_parquet({paths}, union_by_name = true)
            QUALIFY row_number() OVER (PARTITION BY record_key
                                       ORDER BY _ingest DESC, _line DESC) = 1
        """).to_arrow_table()
    return files, table


def _remember_keys(
    root: Path,
    interface: Interface,
    files: frozenset[str],
    existing: pa.Table,
    new: pa.Table,
    replaced: pa.Array | None,
    new_files: list[str],
) -> None:
    """After a commit: the cache = the old keys, with the rows just stored replacing theirs (built
    when the next file for the interface needs it).

    ``new``: (record_key, content_hash) of the last stored version of each key; ``replaced``: the
    keys of ``existing`` among them (None: none)."""

    def merged() -> pa.Table:
        if not new.num_rows:
            return existing
        kept = existing
        if replaced is not None and len(replaced):
            kept = existing.filter(pc.invert(pc.is_in(existing["record_key"], value_set=replaced)))
        added = new.cast(existing.schema)
        return pa.concat_tables([kept, added]) if kept.num_rows else added

    _keys_cache[(str(root), interface.code)] = (files | frozenset(new_files), merged)


class _RegistryIndexes:
    """The blind indexes of the registry's persons, for exact linkage by binary search. Built
    once per registry export and process; a file's lookups then cost its distinct numbers, not a
    scan of the whole registry (a join read all 7M persons for every file: 0.18 s even for a file
    of 10,000 rows).

    Each index's first 16 hex digits give a 64-bit key; its high bits and the row number are
    packed into one integer and sorted (a plain sort, several times faster than an argsort). A
    lookup finds the first entry with the query's high bits and compares all 40 characters,
    moving on along entries that share the high bits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        table = pq.read_table(path, columns=["id_index", "person_id"])
        ids = _whole(table["id_index"])
        keep = pc.and_(pc.is_valid(ids), pc.is_valid(table["person_id"]))
        ids = ids.filter(keep) if not pc.all(keep).as_py() else ids
        words = _index_words(ids)
        self.searchable = words is not None  # else: not all 40 characters, joined by DuckDB
        if words is None:
            return
        n = words.shape[0]
        self.bits = np.uint64(max(1, int(n).bit_length()))
        self.low = (np.uint64(1) << self.bits) - np.uint64(1)
        packed = self._high(words)
        packed |= np.arange(n, dtype=np.uint64)
        packed.sort()
        self.packed = packed
        self.words = words[(packed & self.low).astype(np.int64)]  # in the sorted order

    def _high(self, words: np.ndarray) -> np.ndarray:
        """Each index's key with its low bits (where the row numbers go) cleared."""
        return (_index_key(words) >> self.bits) << self.bits

    def table(self) -> pa.Table:
        """(id_index, person_id) of the export, for the join."""
        return pq.read_table(self.path, columns=["id_index", "person_id"])

    def contains(self, indexes: pa.Array) -> np.ndarray | None:
        """Per index, whether a registry person has it (None: use the join)."""
        if not self.searchable:
            return None
        words = _index_words(indexes)
        if words is None:
            return None
        k = words.shape[0]
        found = np.zeros(k, dtype=bool)
        if not k or not self.packed.size:
            return found
        high = self._high(words)
        order = np.argsort(high)  # sorted needles: the search and the reads walk the table once
        high, words = high[order], words[order]
        pos = np.searchsorted(self.packed, high)
        hit = np.zeros(k, dtype=bool)
        active = np.arange(k)
        while active.size:
            at = pos[active]
            inside = at < self.packed.size
            active, at = active[inside], at[inside]
            same_high = (self.packed[at] & ~self.low) == high[active]
            active, at = active[same_high], at[same_high]
            match = (self.words[at] == words[active]).all(axis=1)
            hit[active[match]] = True
            active = active[~match]  # same high bits, another index: try the next entry
            pos[active] += 1
        found[order] = hit
        return found


def _index_words(indexes: pa.Array) -> np.ndarray | None:
    """Blind indexes (40 characters) as an (n, 5) matrix of their bytes read as integers; None when
    a value is null or of another length."""
    if isinstance(indexes, pa.ChunkedArray):
        indexes = indexes.combine_chunks()
    if indexes.null_count or indexes.type != pa.string():
        return None
    n = len(indexes)
    offsets, data = idcard.string_buffers(indexes)
    if n and not (np.diff(offsets) == 40).all():
        return None
    chars = idcard.fixed_width_matrix(offsets, data, np.arange(n), 40)
    return np.ascontiguousarray(chars).view("<u8").reshape(n, 5)


def _index_key(words: np.ndarray) -> np.ndarray:
    """One 64-bit key per index, mixed from its first 32 hex digits as record keys are."""
    return _mix(words[:, :4])


def _registry_ids(root: Path) -> _RegistryIndexes:
    """The registry export's persons by blind index, read once per export."""
    path = root / store.REGISTRY_PERSONS
    mtime = path.stat().st_mtime
    cached = _registry_cache.get(str(path))
    if cached is None or cached[0] != mtime:
        lookup = _RegistryIndexes(path)
        _registry_cache[str(path)] = (mtime, lookup)
        return lookup
    return cached[1]


def ingest_file(
    interface_code: str,
    path: Path,
    *,
    file_name: str | None = None,
    options: IngestOptions | None = None,
) -> IngestFile:
    """Ingest one file; returns its ledger row (``summary()`` gives the JSON summary).

    Raises :class:`UnknownInterface` for an unknown code; a file that cannot be read at all is
    recorded as failed and raises :class:`UnreadableFile`, changing nothing in the store.
    """
    options = options or IngestOptions()
    t0 = time.perf_counter()
    steps = _Steps(options.timings)
    interface = load_catalog().get(interface_code)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    steps.done("file hash (SHA-256)")
    name = file_name or path.name
    previous = IngestFile.objects.filter(
        interface=interface.code, sha256=digest, status=IngestFile.Status.COMMITTED
    ).first()
    if previous is not None:
        with transaction.atomic():
            dup = IngestFile.objects.create(
                interface=interface.code,
                file_name=name,
                sha256=digest,
                size=len(data),
                source=options.source,
                uploaded_by=options.user,
                status=IngestFile.Status.DUPLICATE,
                format=previous.format,
                encoding=previous.encoding,
                rows=previous.rows,
                duplicates=previous.rows,
                finished_at=timezone.now(),
                seconds=time.perf_counter() - t0,
                error=f"与第 {previous.pk} 号接收文件完全相同，未重复入库",
            )
            audit_record(
                actor=options.user,
                event="datapool.ingest_duplicate_file",
                subject_type="ingest",
                subject_id=dup.pk,
                subject_label=name,
                new={"interface": interface.code, "same_as": previous.pk},
            )
        return dup
    ingest = IngestFile.objects.create(
        interface=interface.code,
        file_name=name,
        sha256=digest,
        size=len(data),
        source=options.source,
        uploaded_by=options.user,
    )
    try:
        raw = read_file(path, interface.headers(), [f.name for f in interface.fields if f.required])
    except UnreadableFile as exc:
        _mark_failed(ingest, f"{exc.zh} / {exc.en}", t0)
        audit_record(
            actor=options.user,
            event="datapool.ingest_failed",
            subject_type="ingest",
            subject_id=ingest.pk,
            subject_label=name,
            new={"interface": interface.code, "error": exc.zh},
        )
        raise
    steps.done("read and parse")
    try:
        return _process(interface, raw, ingest, options, t0, steps)
    except Exception as exc:
        log.exception("ingest %s failed", ingest.pk)
        _mark_failed(ingest, f"处理失败：{exc}", t0)
        store.discard_staging(store.pool_root(), ingest.pk)
        raise


def _mark_failed(ingest: IngestFile, error: str, t0: float) -> None:
    """Record in the ledger that the file changed nothing, and why."""
    IngestFile.objects.filter(pk=ingest.pk).update(
        status=IngestFile.Status.FAILED,
        error=error[:2000],
        finished_at=timezone.now(),
        seconds=time.perf_counter() - t0,
    )


def _ordered(table: pa.Table, con, sql: str) -> pa.Table:
    """The result of ``sql`` over ``table`` registered as ``incoming`` with a ``_pos`` column, in
    the order of ``table``'s rows. A projection keeps the order of its input in DuckDB
    (``preserve_insertion_order``); it is checked, and restored if ever needed."""
    n = table.num_rows
    con.register("incoming", table.append_column("_pos", pa.array(np.arange(n, dtype=np.int64))))
    try:
        result = con.sql(sql).to_arrow_table()
    finally:
        con.unregister("incoming")
    result = result.combine_chunks()
    pos = result["_pos"].to_numpy()
    if not np.array_equal(pos, np.arange(n)):
        result = result.take(pa.array(np.argsort(pos, kind="stable")))
    return result.drop_columns(["_pos"])


def _mix(words: np.ndarray) -> np.ndarray:
    """One 64-bit mix of each row of an (n, 4) uint64 matrix (32 hex digits: 8 bytes alone hold
    only 32 bits); equal rows give equal mixes, the rest almost never."""
    mixed = words[:, 0] * np.uint64(0x9E3779B97F4A7C15)
    mixed ^= words[:, 1] * np.uint64(0xC2B2AE3D27D4EB4F)
    mixed ^= words[:, 2] * np.uint64(0x165667B19E3779F9)
    mixed ^= words[:, 3]
    return mixed


def _first_occurrences(key: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For 32-hex-digit keys: (group, first, size) where ``group`` numbers the distinct keys per
    row, ``first`` marks the first row of each key (in row order) and ``size`` is the number of
    rows of the row's key."""
    n = len(key)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros(0, dtype=bool), empty
    if key.type not in (pa.string(), pa.large_string()):
        key = key.cast(pa.string())
    offsets, data = idcard.string_buffers(key)
    if not (np.diff(offsets) == 32).all():  # not md5 hex digests: compare by Arrow's hashing
        enc = pc.dictionary_encode(key)
        group = enc.indices.to_numpy().astype(np.int64)
        seen = np.maximum.accumulate(group)
        first = np.ones(n, dtype=bool)
        first[1:] = group[1:] > seen[:-1]
        size = np.bincount(group)[group]
        return group, first, size
    words = np.ascontiguousarray(idcard.fixed_width_matrix(offsets, data, np.arange(n), 32))
    words = words.view(np.uint64)  # (n, 4): the 32 bytes of each key
    mixed = _mix(words)
    order = np.argsort(mixed)
    sorted_mixed = mixed[order]
    same = sorted_mixed[1:] == sorted_mixed[:-1]
    tied = np.flatnonzero(same)
    if tied.size and not (words[order[tied]] == words[order[tied + 1]]).all():
        # two keys mix to the same 64 bits: sort on all 32 bytes
        order = np.lexsort((words[:, 3], words[:, 2], words[:, 1], words[:, 0]))
        w = words[order]
        same = (w[1:] == w[:-1]).all(axis=1)
    start = np.ones(n, dtype=bool)
    start[1:] = ~same
    sorted_group = np.cumsum(start) - 1
    starts = np.flatnonzero(start)
    sizes = np.diff(np.append(starts, n))
    group = np.empty(n, dtype=np.int64)
    group[order] = sorted_group
    first = np.zeros(n, dtype=bool)
    first[np.minimum.reduceat(order, starts)] = True  # each key's first row in row order
    size = np.empty(n, dtype=np.int64)
    size[order] = sizes[sorted_group]
    return group, first, size


def _dedup_flags(
    con, record_key: pa.Array, content_hash: np.ndarray, existing: pa.Table
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: (duplicate, correction, group, size, known).

    A duplicate has the key and content of the store's current version, or of an earlier row of
    the file; a correction changes the content of the store's current version, or of an earlier
    row of the file (the first row with each new content). ``group`` numbers the file's keys,
    ``known[group]`` says whether the store has the key, ``first`` marks each key's first row."""
    n = len(record_key)
    group, first, size = _first_occurrences(record_key)
    # first row of each (key, content) pair: only keys with several rows can have later rows
    pair_first = np.ones(n, dtype=bool)
    multi = np.flatnonzero(size > 1)
    if multi.size:
        order = np.lexsort((multi, content_hash[multi], group[multi]))
        g, h = group[multi][order], content_hash[multi][order]
        start = np.ones(multi.size, dtype=bool)
        start[1:] = (g[1:] != g[:-1]) | (h[1:] != h[:-1])
        pair_first[multi[order]] = start
    duplicate = ~pair_first
    correction = (size > 1) & ~first & pair_first
    n_groups = int(group.max()) + 1 if n else 0
    known = np.zeros(n_groups, dtype=bool)
    if existing.num_rows and n:
        firsts = np.flatnonzero(first)
        con.register(
            "file_keys",
            pa.table(
                {"record_key": record_key.take(pa.array(firsts)), "g": pa.array(group[firsts])}
            ),
        )
        con.register("existing", existing)
        try:
            match = con.sql("""
                SELECT f.g, e.content_hash FROM file_keys f JOIN existing e USING (record_key)
            """).to_arrow_table()
        finally:
            con.unregister("file_keys")
            con.unregister("existing")
        if match.num_rows:
            stored_hash = np.zeros(n_groups, dtype=np.uint64)
            g = match["g"].to_numpy()
            known[g] = True
            stored_hash[g] = match["content_hash"].to_numpy()
            row_known = known[group]
            same = stored_hash[group] == content_hash
            duplicate |= row_known & same
            correction |= row_known & ~same
    return duplicate, correction, group, size, known


#: place values of 9 and 8 digits
_PLACE9 = 10 ** np.arange(8, -1, -1, dtype=np.int64)
_PLACE8 = 10 ** np.arange(7, -1, -1, dtype=np.int64)


def _distinct_ids(ids: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """(the distinct non-null values of ``ids``, per row the index of its value among them, or
    their number for a null). Normalised ID numbers (17 digits and a digit or X) are told apart
    by a 64-bit integer made of their characters; anything else by Arrow's hashing."""
    n = len(ids)
    if ids.type == pa.string():
        offsets, data = idcard.string_buffers(ids)
        rows = np.flatnonzero(np.asarray(pc.is_valid(ids))) if ids.null_count else np.arange(n)
        if (offsets[rows + 1] - offsets[rows] == 18).all():
            d = idcard.fixed_width_matrix(offsets, data, rows, 18) - np.uint8(0x30)
            last = d[:, 17]
            is_x = last == ord("X") - 0x30
            if (d[:, :17].max(axis=1, initial=0) <= 9).all() and ((last <= 9) | is_x).all():
                high = np.einsum("ij,j->i", d[:, :9], _PLACE9, dtype=np.int64, casting="unsafe")
                low = np.einsum("ij,j->i", d[:, 9:17], _PLACE8, dtype=np.int64, casting="unsafe")
                key = (high * 10**8 + low) * 11 + np.where(is_x, 10, last)
                # hashed, not sorted: values numbered in order of first appearance
                inverse = pc.dictionary_encode(pa.array(key)).indices.to_numpy().astype(np.int64)
                first = np.ones(inverse.size, dtype=bool)
                if inverse.size:
                    first[1:] = inverse[1:] > np.maximum.accumulate(inverse)[:-1]
                index = np.full(n, int(first.sum()), dtype=np.int64)
                index[rows] = inverse
                return ids.take(pa.array(rows[np.flatnonzero(first)])), index
    encoded = pc.dictionary_encode(ids)
    distinct = encoded.dictionary
    index = pc.fill_null(encoded.indices, len(distinct)).to_numpy().astype(np.int64)
    return distinct, index


def _blind_indexes(con, ids: pa.Array) -> tuple[pa.Array, pa.Array | None, np.ndarray]:
    """The blind index of each normalised ID number (null for null), computed once per distinct
    number; also the distinct indexes and, per row, the index of its number among them (their
    number for a null)."""
    distinct, index = _distinct_ids(ids)
    k = len(distinct)
    if not k:
        return pa.nulls(len(ids), pa.string()), None, index
    hashed = _ordered(
        pa.table({"v": distinct}),
        con,
        f"SELECT {crypto.blind_index_sql('v')} AS h, _pos FROM incoming",
    )["h"]
    hashed = _whole(hashed)
    present = index < k
    if hashed.type == pa.string():
        offsets, data = idcard.string_buffers(hashed)
        if (np.diff(offsets) == 40).all():  # 40 hex digits: gather the bytes
            chars = np.zeros((k + 1, 40), dtype=np.uint8)
            chars[:k] = idcard.fixed_width_matrix(offsets, data, np.arange(k), 40)
            return idcard.arrow_fixed_width(chars[index], present), hashed, index
    return hashed.take(pa.array(index, mask=~present)), hashed, index


def _linked(con, root: Path, distinct_index: pa.Array | None, index: np.ndarray) -> np.ndarray:
    """Per row: whether its blind index is a registry person's."""
    if distinct_index is None:
        return np.zeros(len(index), dtype=bool)
    registry = _registry_ids(root)
    found = registry.contains(distinct_index)
    if found is not None:
        hit = np.zeros(len(distinct_index) + 1, dtype=bool)
        hit[:-1] = found
        return hit[index]
    con.register(
        "ids", pa.table({"id_index": distinct_index, "g": pa.array(np.arange(len(distinct_index)))})
    )
    con.register("registry_persons", registry.table())
    try:
        found = (
            con.sql("""
            SELECT i.g FROM ids i JOIN registry_persons p ON p.id_index = i.id_index
            WHERE p.person_id IS NOT NULL
        """)
            .to_arrow_table()["g"]
            .to_numpy()
        )
    finally:
        con.unregister("ids")
        con.unregister("registry_persons")
    hit = np.zeros(len(distinct_index) + 1, dtype=bool)
    hit[found] = True
    return hit[index]


def _constant(value: object, n: int, type_: pa.DataType) -> pa.Array:
    """``value`` n times."""
    if pa.types.is_string(type_):
        data = str(value).encode("utf-8")
        offsets = np.arange(n + 1, dtype=np.int64) * len(data)
        if offsets[-1] >= 2**31:
            return pa.array([value] * n, type_)
        return pa.Array.from_buffers(
            type_, n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data * n)]
        )
    scalar = pa.scalar(value, type_)
    storage = {8: np.int64, 4: np.int32}[type_.bit_width // 8]
    number = scalar.cast(pa.int64() if storage is np.int64 else pa.int32()).as_py()
    return pa.Array.from_buffers(type_, n, [None, pa.py_buffer(np.full(n, number, storage))])


def _last_versions(
    out: pa.Table, group: np.ndarray, size: np.ndarray, known: np.ndarray, rows: np.ndarray
) -> tuple[pa.Table, pa.Array | None]:
    """(record_key, content_hash) of the last version of each key in ``out`` (the rows stored,
    which are the file's ``rows``, in this order): the one on the file's latest line, as in the
    current view (``out`` is in period order, and a correction may move a record to an earlier
    period), and the keys among them the store already had (None: none)."""
    new = out.select(["record_key", "content_hash"])
    groups = group[rows]
    last = np.ones(rows.size, dtype=bool)
    several = np.flatnonzero(size[rows] > 1)  # keys with several rows in the file
    if several.size:
        last[several] = False
        g = groups[several]
        lines = out["_line"].to_numpy()[several]
        order = np.lexsort((lines, g))  # by key, then line
        ordered = g[order]
        is_last = np.append(ordered[1:] != ordered[:-1], True)
        last[several[order[is_last]]] = True
    if not last.all():
        new = new.filter(pa.array(last))
    replaced = None
    if known.any():
        stored_known = known[groups] & last
        if stored_known.any():
            replaced = out["record_key"].filter(pa.array(stored_known)).combine_chunks()
    return new, replaced


def _months(dates: pa.Array) -> np.ndarray:
    """Months since 1970-01 of date32 values (nulls: 0, to be replaced by the caller)."""
    days = pc.fill_null(dates.cast(pa.int32()), 0).to_numpy()
    lo, hi = _MONTH_OF_DAY_RANGE
    if days.size and int(days.min()) >= lo and int(days.max()) < hi:
        return _MONTH_OF_DAY[days - lo]
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


#: month (since 1970-01) of each day from 1800-01-01 to 2199-12-31, as int16
_MONTH_OF_DAY_RANGE = (
    int(np.datetime64("1800-01-01", "D").astype(np.int64)),
    int(np.datetime64("2200-01-01", "D").astype(np.int64)),
)
_MONTH_OF_DAY = (
    np.arange(*_MONTH_OF_DAY_RANGE)
    .astype("datetime64[D]")
    .astype("datetime64[M]")
    .astype(np.int64)
    .astype(np.int16)
)


def _whole(column: pa.ChunkedArray) -> pa.Array:
    """The column as one array (without a copy when it already is one chunk)."""
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _process(
    interface: Interface,
    raw: RawRead,
    ingest: IngestFile,
    options: IngestOptions,
    t0: float,
    steps: _Steps,
) -> IngestFile:
    root = store.pool_root()
    normalized = norm.normalize(interface, raw.table, today=options.today)
    quarantine = _quarantine_rows(raw, normalized.reason, ingest)
    steps.done("validate and normalise")
    if normalized.reason.null_count == len(normalized.reason):
        table = normalized.table
    else:
        table = normalized.table.filter(pc.is_null(normalized.reason))
    table = table.combine_chunks()
    n_rows = raw.table.num_rows
    received = timezone.now()

    con = store.connect()
    pf = interface.person_field
    # an invalid ID number has no normalised form: its record is identified by the text as sent
    id_fields = {f.name for f in interface.fields if f.type == "id_number"}

    def ident(name: str) -> str:
        if name in id_fields:
            return f"coalesce(\"{name}\", upper(replace(\"{name}__raw\", ' ', '')))"
        return name

    key_cols = [ident(c) for c in interface.key]
    content_cols = [ident(f.name) for f in interface.fields]
    hashed = _ordered(
        table,
        con,
        f"""SELECT {_hash_sql(key_cols)} AS record_key,
                   {_hash_sql(content_cols)} AS content_digest, _pos
            FROM incoming""",
    )
    record_key = hashed["record_key"].chunk(0) if hashed.num_rows else pa.array([], pa.string())
    content_hash = _md5_number_lower(
        hashed["content_digest"].chunk(0) if hashed.num_rows else pa.array([], pa.string())
    )

    steps.done("record keys and content hashes (MD5)")
    manifest, existing = _existing_keys(con, root, interface)
    duplicate, correction, group, size, known = _dedup_flags(
        con, record_key, content_hash.to_numpy(), existing
    )
    keep = ~duplicate
    steps.done("duplicates and corrections")

    columns: dict[str, pa.Array] = {}
    schema = stored_schema(interface)
    for f in interface.fields:
        if f.type == "id_number":
            if f.name != pf:
                columns[f"{f.name}_masked"] = _mask_ids(_whole(table[f"{f.name}__raw"]))
            continue
        columns[f.name] = _whole(table[f.name])
    n = table.num_rows
    if pf:
        raw_ids = _whole(table[f"{pf}__raw"])
        id_norm = _whole(table[pf])
        birth = _whole(table["__id_birth"])
        sex = _whole(table["__id_sex"])
        region = _whole(table["__id_region"])
        invalid = pc.is_null(id_norm)
        if pc.any(invalid).as_py():  # read what can be read from the invalid numbers
            bad = pc.indices_nonzero(invalid)
            b2, s2, r2 = _id_parts(pc.take(raw_ids, bad), pa.nulls(len(bad), pa.string()))
            birth = _scatter(birth, bad, b2)
            sex = _scatter(sex, bad, s2)
            region = _scatter(region, bad, r2)
        steps.done("ID numbers: birth date, sex, area")
        id_index, distinct_index, id_group = _blind_indexes(con, id_norm)
        steps.done("blind indexes (SHA-256)")
        id_valid = pc.is_valid(id_norm)
        columns.update(
            {
                "id_index": id_index,
                "id_masked": _mask_ids(raw_ids),
                "id_valid": id_valid,
                "id_birth_date": birth,
                "id_sex": sex,
                "id_region": region,
            }
        )
        registry_export(root)
        linked = _linked(con, root, distinct_index, id_group)
        steps.done("exact linkage")
    else:
        linked = np.zeros(n, dtype=bool)
    columns["record_key"] = record_key
    columns["content_hash"] = content_hash
    constants = {
        "_ingest": ingest.pk,
        "_received_at": received,
        "_file": ingest.file_name,
    }
    columns["_line"] = _whole(table["_line"])

    # periods: the kept rows, grouped by period (stably: in file order within a period)
    kept = np.flatnonzero(keep)
    month_now = (received.year - 1970) * 12 + received.month - 1
    if interface.period_field and kept.size:
        dates = columns[interface.period_field]
        months = _months(dates)
        if dates.null_count:
            months[np.asarray(pc.is_null(dates), dtype=bool)] = month_now
        months = months[kept]
        if (
            months.dtype != np.int16
            and months.size
            and months.min() >= -(2**15)
            and months.max() < 2**15
        ):
            months = months.astype(np.int16)  # a stable sort of int16 is a radix sort
        order = np.argsort(months, kind="stable")
        rows, months = kept[order], months[order]
    else:
        rows, months = kept, np.full(kept.size, month_now, dtype=np.int64)
    take = pa.array(rows)
    m = rows.size
    arrays = []
    for f in schema:
        if f.name in constants:
            arrays.append(_constant(constants[f.name], m, f.type))
            continue
        column = columns[f.name]
        if column.null_count == len(column):
            arrays.append(pa.nulls(m, f.type))
        elif m == n:
            arrays.append(column if np.array_equal(rows, np.arange(n)) else column.take(take))
        else:
            arrays.append(column.take(take))
    out = pa.Table.from_arrays(arrays, schema=schema)
    parts = {}
    if m:
        bounds = np.flatnonzero(np.diff(months)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.append(bounds, m)
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            month = int(months[start])
            parts[f"{1970 + month // 12:04d}-{month % 12 + 1:02d}"] = out.slice(start, end - start)

    steps.done("rows ordered by period")
    staged = store.stage_files(root, interface.code, ingest.pk, parts) if parts else []
    steps.done("Parquet files written")
    if options.after_stage:
        options.after_stage()
    counts = {
        "rows": n_rows,
        "accepted": out.num_rows,
        "quarantined": len(quarantine),
        "duplicates": int(duplicate.sum()),
        "superseded": int((correction & keep).sum()),
        "linked": int((linked & keep).sum()) if pf else 0,
        "invalid_ids": int((~np.asarray(columns["id_valid"], dtype=bool) & keep).sum())
        if pf
        else 0,
    }
    counts["unlinked"] = counts["accepted"] - counts["linked"]
    final = store.publish(root, interface.code, ingest.pk, staged)
    with transaction.atomic():
        StoreFile.objects.bulk_create(
            [
                StoreFile(ingest=ingest, interface=interface.code, period=p, path=rel, rows=r)
                for p, rel, r in final
            ]
        )
        QuarantineRow.objects.bulk_create(quarantine, batch_size=5000)
        for key, value in counts.items():
            setattr(ingest, key, value)
        ingest.format = raw.format
        ingest.encoding = raw.encoding
        ingest.skipped_blank = raw.skipped.get("blank", 0)
        ingest.skipped_total = raw.skipped.get("total", 0)
        ingest.status = IngestFile.Status.COMMITTED
        ingest.finished_at = timezone.now()
        ingest.seconds = time.perf_counter() - t0
        ingest.save()
        audit_record(
            actor=options.user,
            event="datapool.ingest",
            subject_type="ingest",
            subject_id=ingest.pk,
            subject_label=ingest.file_name,
            new={"interface": interface.code, **counts},
        )
    steps.done("committed (ledger, manifest, audit)")
    new_keys, replaced = _last_versions(out, group, size, known, rows)
    _remember_keys(
        root, interface, manifest, existing, new_keys, replaced, [rel for _, rel, _ in final]
    )
    if options.probabilistic and interface.person_field and interface.name_field:
        from doudi.datapool.linking import link_pending

        link_pending(interfaces=[interface.code])
        ingest.refresh_from_db()
        steps.done("probabilistic linkage")
    return ingest
