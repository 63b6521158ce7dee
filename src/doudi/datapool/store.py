"""The data pool's store: Parquet files partitioned by interface and period, read through DuckDB.

Layout under ``<DOUDI_DATA_DIR>/pool``::

    <interface>/period=2024-05/i<ingest id>-<n>.parquet   rows accepted from one file
    registry/persons.parquet, registry/households.parquet  the registry, exported for joins
    links/overrides.parquet                                 clerical link decisions
    staging/                                                files being written

A file becomes part of the store only when its row in the manifest (``datapool.StoreFile``) commits,
in the same database transaction that marks the ingest committed. Files are written to ``staging``
and renamed into place just before that commit; if the process dies anywhere in between, the files
are not in the manifest, so no view ever sees them (and :func:`remove_orphans` deletes them later).
Views are built from the manifest only.

Views (in every connection from :func:`connect`):

- ``<interface>_all``: every version of every accepted row, with provenance (``_ingest``,
  ``_line``, ``_received_at``, ``_file``), ``record_key``, ``content_hash``;
- ``<interface>``: the current version of each record (a corrected row supersedes the row it
  corrects: latest received wins), with ``person_id`` resolved through the registry (exact ID
  match), then clerical decisions, then accepted probabilistic links;
- ``registry_persons``, ``registry_households``.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

REGISTRY_PERSONS = "registry/persons.parquet"
REGISTRY_HOUSEHOLDS = "registry/households.parquet"
OVERRIDES = "links/overrides.parquet"
#: the registry export's files, by the name of the view that reads them, and their keys
REGISTRY_FILES = {"registry_persons": REGISTRY_PERSONS, "registry_households": REGISTRY_HOUSEHOLDS}
REGISTRY_KEYS = {"registry_persons": "person_id", "registry_households": "household_id"}
#: the changes merged into the registry export (``registry_export``), one folder per merge
REGISTRY_CHANGES = "registry/changes"

PERSONS_SCHEMA = pa.schema(
    [
        ("person_id", pa.int64()),
        ("id_index", pa.string()),
        ("name", pa.string()),
        ("name_pinyin", pa.string()),
        ("sex", pa.string()),
        ("birth_date", pa.date32()),
        ("status", pa.string()),
        ("household_id", pa.int64()),
        ("relation", pa.string()),
        ("village_code", pa.string()),
        ("town_code", pa.string()),
        ("county_code", pa.string()),
        ("hukou_village_code", pa.string()),
        ("residence_type", pa.string()),
    ]
)
HOUSEHOLDS_SCHEMA = pa.schema(
    [
        ("household_id", pa.int64()),
        ("number", pa.string()),
        ("village_code", pa.string()),
        ("town_code", pa.string()),
        ("county_code", pa.string()),
        ("residence_type", pa.string()),
        ("status", pa.string()),
    ]
)
OVERRIDES_SCHEMA = pa.schema(
    [
        ("interface", pa.string()),
        ("record_key", pa.string()),
        ("person_id", pa.int64()),
    ]
)


def pool_root() -> Path:
    from django.conf import settings

    root = Path(settings.DATA_DIR) / "pool"
    root.mkdir(parents=True, exist_ok=True)
    return root


#: DuckDB threads per connection (None: all cores); benchmarks set it to measure per core
DEFAULT_THREADS: int | None = None


_base: duckdb.DuckDBPyConnection | None = None
_base_lock = threading.Lock()


_CONFIG = {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


def connect(
    root: Path | None = None, *, threads: int | None = None, private: bool = False
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with no network access and no extension downloads.

    All connections are cursors on one in-memory database per process (a new database costs
    ~30 ms, a cursor well under 1 ms); views are TEMP views and registered tables are per
    cursor, so connections never see each other's objects. ``private``: a database of its own
    instead (a job that attaches a database file: attachments are shared by all cursors)."""
    global _base
    if private:
        con = duckdb.connect(database=":memory:", config=_CONFIG)
        con.execute("SET enable_progress_bar = false")
    else:
        with _base_lock:
            if _base is None:
                _base = duckdb.connect(database=":memory:", config=_CONFIG)
                _base.execute("SET enable_progress_bar = false")
            con = _base.cursor()
    threads = threads or DEFAULT_THREADS
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def reset_connection() -> None:
    """Forget the process's DuckDB database (after a fork: a child must not share the parent's)."""
    global _base
    _base = None


def file_stamp(path: Path) -> tuple[int, int] | None:
    """What identifies one version of a file: size and modification time (ns); None if absent."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns


def registry_changes(root: Path, table: str) -> list[tuple[tuple, tuple, Path]]:
    """The change sets kept for one registry export file (``table``: a key of
    ``REGISTRY_FILES``), oldest first: (its stamp before, its stamp after, folder with
    ``ids.parquet`` and ``rows.parquet``)."""
    import json

    folder = root / REGISTRY_CHANGES
    if not folder.exists():
        return []
    out = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or not p.name.endswith(f"-{table}"):
            continue
        try:
            stamps = json.loads((p / "stamps.json").read_text())
            out.append((tuple(stamps["base"]), tuple(stamps["result"]), p))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def atomic_write_table(table: pa.Table, path: Path) -> None:
    """Write a Parquet file under a temporary name, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def stage_files(
    root: Path, interface: str, ingest_id: int, parts: Mapping[str, pa.Table]
) -> list[tuple[str, Path, int]]:
    """Write each period's rows into ``staging``; returns (period, staged path, rows)."""
    staging = root / "staging" / f"i{ingest_id}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    out = []
    for n, (period, table) in enumerate(sorted(parts.items())):
        out.append((period, staging / f"{interface}--{period}--{n}.parquet", table))

    def write(item: tuple[str, Path, pa.Table]) -> None:
        _, path, table = item
        pq.write_table(
            table,
            path,
            compression="zstd",
            compression_level=1,
            row_group_size=1 << 20,
            use_dictionary=_dictionary_columns(table),
        )

    # one period's file per thread (Arrow's writer releases the GIL and is single-threaded)
    threads = min(len(out), DEFAULT_THREADS or os.cpu_count() or 1)
    if threads > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(write, out))
    else:
        for item in out:
            write(item)
    return [(period, path, table.num_rows) for period, path, table in out]


#: high-entropy columns: dictionary encoding only costs time on them
_NO_DICTIONARY = {"record_key", "content_hash", "id_index", "id_masked", "_line", "_ingest"}


def _dictionary_columns(table: pa.Table) -> list[str]:
    return [
        f.name for f in table.schema if f.name not in _NO_DICTIONARY and pa.types.is_string(f.type)
    ]


def publish(
    root: Path, interface: str, ingest_id: int, staged: Iterable[tuple[str, Path, int]]
) -> list[tuple[str, str, int]]:
    """Move staged files to their final place (still invisible until the manifest commits)."""
    final = []
    for n, (period, path, rows) in enumerate(staged):
        rel = f"{interface}/period={period}/i{ingest_id}-{n}.parquet"
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        final.append((period, rel, rows))
    discard_staging(root, ingest_id)
    return final


def discard_staging(root: Path, ingest_id: int) -> None:
    """Remove whatever an ingest left in staging (after publishing it, or after a failure)."""
    shutil.rmtree(root / "staging" / f"i{ingest_id}", ignore_errors=True)


def remove_orphans(root: Path, manifest: set[str], *, older_than_seconds: float = 0) -> list[str]:
    """Delete data files that no manifest row names (left by a crash); returns what was removed."""
    removed = []
    now = time.time()
    for path in root.glob("*/period=*/*.parquet"):
        rel = path.relative_to(root).as_posix()
        if rel not in manifest and now - path.stat().st_mtime >= older_than_seconds:
            path.unlink()
            removed.append(rel)
    staging = root / "staging"
    if staging.exists():
        for child in staging.iterdir():
            if now - child.stat().st_mtime >= older_than_seconds:
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink()
                removed.append(child.relative_to(root).as_posix())
    return removed


def _sql_list(paths: Iterable[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def create_views(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    files_by_interface: Mapping[str, list[str]],
    interfaces: Iterable[tuple[str, str | None, pa.Schema]],
    unique: frozenset[str] = frozenset(),
    keys: Mapping[str, Sequence[str]] | None = None,
    relations: Mapping[str, str] | None = None,
) -> None:
    """(Re)create the views. ``interfaces`` gives (code, person_field or None, stored schema) for
    every interface of the catalog, so that an interface with no data yet has empty, typed views.
    ``keys``: per interface, the stored columns of its record key (see :func:`current_sql`).
    ``relations``: for an interface code or a registry view name, an SQL relation holding the
    same rows as its files (the pool's mirror, ``datapool.mirror``) to read instead."""
    relations = relations or {}
    persons = root / REGISTRY_PERSONS
    households = root / REGISTRY_HOUSEHOLDS
    overrides = root / OVERRIDES
    from doudi.datapool.linking import PROB_SCHEMA, prob_files

    probs = prob_files(root)
    if probs:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW prob_links AS SELECT * FROM "
            f"read_parquet({_sql_list(probs)}) QUALIFY row_number() OVER "
            "(PARTITION BY interface, record_key ORDER BY run DESC) = 1"
        )
    else:
        con.register("_prob_links_empty", PROB_SCHEMA.empty_table())
        con.execute("CREATE OR REPLACE TEMP VIEW prob_links AS SELECT * FROM _prob_links_empty")
    for name, path, schema in (
        ("registry_persons", persons, PERSONS_SCHEMA),
        ("registry_households", households, HOUSEHOLDS_SCHEMA),
        ("link_overrides", overrides, OVERRIDES_SCHEMA),
    ):
        if name in relations:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {relations[name]}")
        elif path.exists():
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet('{path}')"
            )
        else:
            con.register(f"_{name}_empty", schema.empty_table())
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM _{name}_empty")
    for code, person_field, schema in interfaces:
        files = [str(root / f) for f in files_by_interface.get(code, [])]
        if code in relations:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {code}_all AS SELECT * FROM {relations[code]}"
            )
        elif not files:
            con.register(f"_{code}_empty", schema.empty_table())
            con.execute(f"CREATE OR REPLACE TEMP VIEW {code}_all AS SELECT * FROM _{code}_empty")
        else:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {code}_all AS SELECT * FROM "
                f"read_parquet({_sql_list(files)}, union_by_name = true)"
            )
        sql = current_sql(
            code, person_field, dedupe=code not in unique, keys=(keys or {}).get(code, ())
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW {code} AS {sql}")


def pin_registry(con: duckdb.DuckDBPyConnection) -> None:
    """Read the registry export once into memory for this connection (a city-wide job: every
    interface view joins it to resolve persons, and most jobs join it again, so scanning the
    Parquet file each time costs more than holding it). Views are bound late, so redefining
    ``registry_persons`` here serves them all. Idempotent. Does nothing where the registry is
    read from the pool's mirror (``datapool.mirror``): DuckDB's own storage is read faster than
    a copy is made."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'pool_registry' AND temporary"
    ).fetchall()[0][0]
    if exists:
        return
    from doudi.datapool import mirror

    mirrored = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = 'registry_persons' "
        f"AND temporary AND contains(sql, '{mirror.ALIAS}.')"
    ).fetchall()[0][0]
    if mirrored:
        return
    con.execute("CREATE TEMP TABLE pool_registry AS SELECT * FROM registry_persons")
    con.execute("CREATE OR REPLACE TEMP VIEW registry_persons AS SELECT * FROM pool_registry")


def current_sql(
    code: str,
    person_field: str | None,
    where: str = "",
    *,
    dedupe: bool = True,
    keys: Sequence[str] = (),
    registry: str = "registry_persons",
) -> str:
    """The SELECT behind the ``<code>`` view: the current version of each record, with the person
    it is linked to. ``where`` (an SQL condition on the interface's columns) filters the rows
    *before* the versions are compared; it is only safe on fields that are part of the record
    key (a correction keeps its key, so all versions of a record pass or fail together), which
    is how the sweep reads a date window of a large interface without ranking its whole
    history. ``dedupe=False`` skips ranking versions: right only when every record key is stored
    once, i.e. no committed file of the interface ever superseded a row (the ledger's
    ``superseded`` counts are all zero; ``selectors.pool_connection`` checks).

    ``keys``: the stored columns of the record key (its fields other than ID numbers). They are
    added to the ranking's PARTITION BY, which changes nothing (rows with the same
    ``record_key`` have the same key values) but lets DuckDB push a query's filter on them (a
    rule's date window on a key date, say) below the ranking and into the Parquet scan, where
    row-group statistics skip whole months of history.

    ``registry``: the relation exact links are looked up in (a scoped job passes the registry
    rows of its scope, which hold every person its scoped rows can link to)."""
    pre = f"WHERE {where}" if where else ""
    partition = ", ".join(["record_key", *(f'"{k}"' for k in keys)])
    rank = (
        f"QUALIFY row_number() OVER (PARTITION BY {partition} ORDER BY _ingest DESC, _line DESC) = 1"
        if dedupe
        else ""
    )
    cur = f"SELECT * FROM {code}_all {pre} {rank}"
    if not person_field:
        return cur
    return f"""
        WITH cur AS ({cur})
        SELECT cur.*,
               coalesce(o.person_id, p.person_id, l.person_id) AS person_id,
               CASE WHEN o.person_id IS NOT NULL THEN 'clerical'
                    WHEN p.person_id IS NOT NULL THEN 'exact'
                    WHEN l.person_id IS NOT NULL THEN 'probabilistic'
               END AS link_method,
               l.probability AS link_probability
        FROM cur
        LEFT JOIN {registry} p ON p.id_index = cur.id_index
        LEFT JOIN link_overrides o
               ON o.interface = '{code}' AND o.record_key = cur.record_key
        LEFT JOIN prob_links l
               ON l.interface = '{code}' AND l.record_key = cur.record_key
    """
