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

from doudi.core import crypto
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


class IngestError(Exception):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh, self.en = zh, en


def _mask_ids(raw: pa.Array) -> pa.Array:
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
    merged = base.to_pylist()
    for pos, value in zip(positions.to_pylist(), values.to_pylist(), strict=True):
        merged[pos] = value
    return pa.array(merged, base.type)


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


def _hash_sql(columns: list[str], *, number: bool = False) -> str:
    """A keyed MD5 over the columns' text (stable across DuckDB versions, unlike ``hash``);
    ``number``: the low 64 bits as an unsigned integer (content hashes), else 32 hex digits."""
    parts = " || chr(31) || ".join(
        f"coalesce(CAST({c if c.startswith('coalesce(') else chr(34) + c + chr(34)} AS VARCHAR), '')"
        for c in columns
    )
    function = "md5_number_lower" if number else "md5"
    return f"{function}('{crypto.index_key_hex()}|' || {parts})"


#: per process: interface → (manifest paths, current record_key/content_hash). A cache only:
#: it is rebuilt from the store whenever the manifest differs from what it was built from.
_keys_cache: dict[tuple[str, str], tuple[frozenset[str], pa.Table]] = {}
_registry_cache: dict[str, tuple[float, pa.Table]] = {}


def _existing_keys(con, root: Path, interface: Interface) -> tuple[frozenset[str], pa.Table]:
    files = frozenset(
        StoreFile.objects.filter(
            interface=interface.code, ingest__status=IngestFile.Status.COMMITTED
        ).values_list("path", flat=True)
    )
    cached = _keys_cache.get((str(root), interface.code))
    if cached is not None and cached[0] == files:
        return files, cached[1]
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
    stored: pa.Table,
    new_files: list[str],
) -> None:
    """After a commit: the cache = the old keys, with the rows just stored replacing theirs."""
    new = stored.select(["record_key", "content_hash"])
    if new.num_rows:
        # the last stored version of each key wins, as in the current view
        new = new.group_by("record_key", use_threads=False).aggregate([("content_hash", "last")])
        new = new.rename_columns(["record_key", "content_hash"]).select(
            ["record_key", "content_hash"]
        )
        keep = pc.invert(pc.is_in(existing["record_key"], value_set=new["record_key"]))
        merged = pa.concat_tables([existing.filter(keep), new.cast(existing.schema)])
    else:
        merged = existing
    _keys_cache[(str(root), interface.code)] = (files | frozenset(new_files), merged)


def _registry_ids(root: Path) -> pa.Table:
    """(id_index, person_id) of the registry export, read once per export."""
    path = root / store.REGISTRY_PERSONS
    mtime = path.stat().st_mtime
    cached = _registry_cache.get(str(path))
    if cached is None or cached[0] != mtime:
        table = pq.read_table(path, columns=["id_index", "person_id"])
        _registry_cache[str(path)] = (mtime, table)
        return table
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
    interface = load_catalog().get(interface_code)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
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
    try:
        return _process(interface, raw, ingest, options, t0)
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


def _process(
    interface: Interface, raw: RawRead, ingest: IngestFile, options: IngestOptions, t0: float
) -> IngestFile:
    root = store.pool_root()
    normalized = norm.normalize(interface, raw.table, today=options.today)
    good = pc.is_null(normalized.reason)
    quarantine = _quarantine_rows(raw, normalized.reason, ingest)
    table = normalized.table.filter(good)
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
    con.register("incoming", table)
    id_index_sql = (
        f'CASE WHEN "{pf}" IS NOT NULL THEN {crypto.blind_index_sql(chr(34) + pf + chr(34))} END'
        if pf
        else "NULL"
    )
    hashed = (
        con.sql(f"""
        SELECT {_hash_sql(key_cols)} AS record_key,
               {_hash_sql(content_cols, number=True)} AS content_hash,
               {id_index_sql} AS id_index,
               row_number() OVER () - 1 AS _pos
        FROM incoming
    """)
        .to_arrow_table()
        .sort_by("_pos")
    )
    record_key = hashed["record_key"].combine_chunks()
    content_hash = hashed["content_hash"].combine_chunks()

    manifest, existing = _existing_keys(con, root, interface)
    con.register("existing", existing)
    con.register("hashed", hashed)
    flags = (
        con.sql("""
        SELECT h._pos,
               (e.content_hash = h.content_hash
                OR row_number() OVER (PARTITION BY h.record_key, h.content_hash
                                      ORDER BY h._pos) > 1) AS duplicate,
               (e.record_key IS NOT NULL AND e.content_hash <> h.content_hash)
               OR (count(*) OVER (PARTITION BY h.record_key) > 1
                   AND row_number() OVER (PARTITION BY h.record_key ORDER BY h._pos) > 1
                   AND row_number() OVER (PARTITION BY h.record_key, h.content_hash
                                          ORDER BY h._pos) = 1) AS correction
        FROM hashed h LEFT JOIN existing e USING (record_key)
    """)
        .to_arrow_table()
        .sort_by("_pos")
    )
    duplicate = pc.fill_null(flags["duplicate"].combine_chunks(), False)
    correction = pc.fill_null(flags["correction"].combine_chunks(), False)
    keep = pc.invert(duplicate)

    columns: dict[str, pa.Array] = {}
    schema = stored_schema(interface)
    for f in interface.fields:
        if f.type == "id_number":
            if f.name != pf:
                columns[f"{f.name}_masked"] = _mask_ids(table[f"{f.name}__raw"].combine_chunks())
            continue
        columns[f.name] = table[f.name].combine_chunks()
    n = table.num_rows
    if pf:
        raw_ids = table[f"{pf}__raw"].combine_chunks()
        id_norm = table[pf].combine_chunks()
        birth = table["__id_birth"].combine_chunks()
        sex = table["__id_sex"].combine_chunks()
        region = table["__id_region"].combine_chunks()
        invalid = pc.is_null(id_norm)
        if pc.any(invalid).as_py():  # read what can be read from the invalid numbers
            bad = pc.indices_nonzero(invalid)
            b2, s2, r2 = _id_parts(pc.take(raw_ids, bad), pa.nulls(len(bad), pa.string()))
            birth = _scatter(birth, bad, b2)
            sex = _scatter(sex, bad, s2)
            region = _scatter(region, bad, r2)
        columns.update(
            {
                "id_index": hashed["id_index"].combine_chunks(),
                "id_masked": _mask_ids(raw_ids),
                "id_valid": pc.is_valid(id_norm),
                "id_birth_date": birth,
                "id_sex": sex,
                "id_region": region,
            }
        )
        registry_export(root)
        con.register("registry_persons", _registry_ids(root))
        exact = (
            con.sql("""
            SELECT h._pos, p.person_id FROM hashed h
            LEFT JOIN registry_persons p ON p.id_index = h.id_index
        """)
            .to_arrow_table()
            .sort_by("_pos")["person_id"]
            .combine_chunks()
        )
        linked_exact = pc.is_valid(exact)
        linked = linked_exact
    else:
        linked = pa.array(np.zeros(n, bool))
    columns["record_key"] = record_key
    columns["content_hash"] = content_hash
    columns["_ingest"] = pa.array(np.full(n, ingest.pk, np.int64))
    columns["_line"] = table["_line"].combine_chunks()
    columns["_received_at"] = (
        pa.array([received] * n, pa.timestamp("us", tz="UTC"))
        if n
        else pa.array([], pa.timestamp("us", tz="UTC"))
    )
    columns["_file"] = pa.array([ingest.file_name] * n, pa.string())
    out = pa.table({f.name: columns[f.name] for f in schema}, schema=schema).filter(keep)

    # periods
    if interface.period_field and out.num_rows:
        period = pc.strftime(out[interface.period_field], format="%Y-%m")
        period = pc.fill_null(period, received.strftime("%Y-%m"))
    else:
        period = pa.array([received.strftime("%Y-%m")] * out.num_rows, pa.string())
    parts = {}
    if out.num_rows:
        order = pc.sort_indices(period)
        out = out.take(order)
        period = pc.take(period, order)
        values, counts = pc.value_counts(period).flatten()
        start = 0
        for value, count in sorted(zip(values.to_pylist(), counts.to_pylist(), strict=True)):
            parts[value] = out.slice(start, count)
            start += count

    staged = store.stage_files(root, interface.code, ingest.pk, parts) if parts else []
    if options.after_stage:
        options.after_stage()
    kept_linked = pc.and_(linked, keep)
    counts = {
        "rows": n_rows,
        "accepted": out.num_rows,
        "quarantined": len(quarantine),
        "duplicates": int(pc.sum(duplicate).as_py() or 0),
        "superseded": int(pc.sum(pc.and_(correction, keep)).as_py() or 0),
        "linked": int(pc.sum(kept_linked).as_py() or 0) if pf else 0,
        "invalid_ids": int(pc.sum(pc.and_(pc.invert(columns["id_valid"]), keep)).as_py() or 0)
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
    _remember_keys(root, interface, manifest, existing, out, [rel for _, rel, _ in final])
    if options.probabilistic and interface.person_field and interface.name_field:
        from doudi.datapool.linking import link_pending

        link_pending(interfaces=[interface.code])
        ingest.refresh_from_db()
    return ingest
