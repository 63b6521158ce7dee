"""The pool's mirror: the stored rows copied into one DuckDB database file, for city-wide jobs.

The store's Parquet files stay the record (``store``); the mirror is derived data, rebuilt from
them whenever it cannot be brought up to date, and never backed up or committed. It exists for
speed: a city-wide job (the night's warning rules, the policy sweep) joins the registry and scans
large interfaces again and again, and DuckDB reads its own storage several times faster than it
decodes Parquet (on the 7M synthetic city: the registry export takes 2-3 s to read into memory
from Parquet, a join against the mirrored copy about 0.1 s).

Layout: ``<pool>/mirror/pool.duckdb`` with

- ``registry_persons``, ``registry_households``: copies of the registry export, brought up to
  date with the change sets the export keeps beside it when they lead from the version held to
  the current one (``registry_export``), else copied again (size and modification time of the
  version held in ``_sources``);
- one table per interface holding every stored version of every row (what the ``<code>_all``
  view shows), appended with each committed store file not yet copied; ``_files`` lists the
  files copied, per interface.

:func:`attach` brings the mirror up to date with a job's manifest listing (the committed store
files it would otherwise read), then attaches it read-only. Several jobs may read it at once; only
one process may write it (DuckDB's own file lock), so a job that finds it locked for writing, or
finds it holding other files than its own listing after the update (another job updated it to a
newer listing in between), reads the Parquet files instead: a job's answer never depends on the
mirror, only its speed does. Each interface's update is one transaction: a crash leaves the
mirror as it was before that interface.

``DOUDI_POOL_MIRROR=0`` turns it off (every job then reads Parquet).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import duckdb

from doudi.datapool import store

log = logging.getLogger(__name__)

MIRROR = "mirror/pool.duckdb"
#: the alias the mirror is attached under, read-only (views refer to ``pool_mirror.<table>``)
ALIAS = "pool_mirror"
_WRITER = "pool_mirror_w"
REGISTRY_TABLES = store.REGISTRY_FILES


def enabled() -> bool:
    return os.environ.get("DOUDI_POOL_MIRROR", "1").strip().lower() not in {"0", "false", "no"}


def path(root: Path) -> Path:
    return root / MIRROR


def table(name: str) -> str:
    """The mirrored relation for an interface code or a registry table, as SQL."""
    return f'{ALIAS}."{name}"'


def attach(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    files: Mapping[str, Sequence[str]],
    *,
    committed: Callable[[set[str]], set[str]] | None = None,
) -> frozenset[str] | None:
    """Update the mirror to ``files`` ({interface: store paths relative to ``root``, in commit
    order}: the job's listing of the manifest) and the registry export, and attach it to
    ``con`` read-only as ``pool_mirror``. Returns the interfaces the job may read from it (all
    of ``files``), or None when the mirror cannot serve this job (then nothing is attached).

    ``committed``: given mirrored paths outside ``files``, those committed in the store now (a
    newer listing than the job's: the mirror is left as it is and the job reads Parquet); the
    others were removed from the store, and their interface is copied again from scratch.
    Without it, every path outside ``files`` counts as removed.
    """
    if not enabled():
        return None
    target = path(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if _attach_writer(con, target):
        try:
            _update(con, root, files, committed)
        except Exception:  # noqa: BLE001 - the mirror is never required: read Parquet instead
            log.exception("pool mirror update failed; the job reads the Parquet store")
            _detach(con, _WRITER)
            return None
        _detach(con, _WRITER)
    try:
        con.execute(f"ATTACH '{_quote(target)}' AS {ALIAS} (READ_ONLY)")
    except duckdb.Error as exc:
        log.info("pool mirror unavailable (%s); the job reads the Parquet store", exc)
        return None
    try:
        matches = _matches(con, root, files)
    except duckdb.Error:  # never written (its first update could not run)
        matches = False
    if not matches:
        log.info("pool mirror holds another listing; the job reads the Parquet store")
        _detach(con, ALIAS)
        return None
    log.info("pool mirror ready in %.2f s", time.perf_counter() - t0)
    return frozenset(files)


def _attach_writer(con: duckdb.DuckDBPyConnection, target: Path) -> bool:
    """Attach the mirror for writing; False when another job has it open (it may still be read
    as it is). A file DuckDB cannot open otherwise (damaged, or written by a newer DuckDB) is
    deleted and started afresh: it is derived data."""
    try:
        con.execute(f"ATTACH '{_quote(target)}' AS {_WRITER}")
        return True
    except duckdb.Error as exc:
        if _in_use(exc):
            log.info("pool mirror in use (%s); trying it read-only", exc)
            return False
        log.warning("pool mirror unreadable (%s); starting it afresh", exc)
    try:
        for p in (target, target.with_name(target.name + ".wal")):
            p.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("pool mirror cannot be removed (%s); the job reads the Parquet store", exc)
        return False
    try:
        con.execute(f"ATTACH '{_quote(target)}' AS {_WRITER}")
        return True
    except duckdb.Error as exc:
        log.warning("pool mirror cannot be created (%s); the job reads the Parquet store", exc)
        return False


def _in_use(exc: BaseException) -> bool:
    """Whether an ATTACH failed because another connection or process holds the file."""
    text = str(exc).lower()
    return "lock" in text or "already attached" in text or "in use" in text


def _quote(p: Path) -> str:
    return str(p).replace("'", "''")


def _detach(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    try:
        con.execute(f"DETACH {alias}")
    except duckdb.Error:  # pragma: no cover - already gone
        pass


def _apply_registry_changes(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    name: str,
    held: tuple[int, int],
    current: tuple[int, int],
) -> bool:
    """Bring the copy of a registry export file from the version ``held`` to ``current`` with
    the change sets the export kept (``store.registry_changes``), in one transaction; False
    (nothing changed) when they do not lead from one to the other."""
    after = {base: (result, folder) for base, result, folder in store.registry_changes(root, name)}
    steps = []
    at = held
    while at != current:
        if at not in after or len(steps) > len(after):
            return False
        at, folder = after[at]
        steps.append(folder)
    key = store.REGISTRY_KEYS[name]
    w = _WRITER
    con.execute("BEGIN")
    try:
        for folder in steps:
            con.execute(
                f'DELETE FROM {w}."{name}" WHERE {key} IN '
                f"(SELECT {key} FROM read_parquet('{_quote(folder / 'ids.parquet')}'))"
            )
            con.execute(
                f'INSERT INTO {w}."{name}" BY NAME '
                f"SELECT * FROM read_parquet('{_quote(folder / 'rows.parquet')}')"
            )
        con.execute(f"DELETE FROM {w}._sources WHERE name = ?", [name])
        con.execute(f"INSERT INTO {w}._sources VALUES (?, ?, ?)", [name, *current])
    except Exception:  # noqa: BLE001 - copied whole instead
        con.execute("ROLLBACK")
        log.warning("registry changes could not be applied to the pool mirror; copying it again")
        return False
    con.execute("COMMIT")
    return True


def _update(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    files: Mapping[str, Sequence[str]],
    committed: Callable[[set[str]], set[str]] | None,
) -> None:
    w = _WRITER
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {w}._files "
        "(interface VARCHAR, path VARCHAR, size BIGINT, mtime_ns BIGINT)"
    )
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {w}._sources "
        "(name VARCHAR PRIMARY KEY, size BIGINT, mtime_ns BIGINT)"
    )
    for name, rel in REGISTRY_TABLES.items():
        stamp = store.file_stamp(root / rel)
        held = con.execute(
            f"SELECT size, mtime_ns FROM {w}._sources WHERE name = ?", [name]
        ).fetchall()
        if stamp is None:
            con.execute("BEGIN")
            con.execute(f'DROP TABLE IF EXISTS {w}."{name}"')
            con.execute(f"DELETE FROM {w}._sources WHERE name = ?", [name])
            con.execute("COMMIT")
            continue
        if held and tuple(held[0]) == stamp:
            continue
        if held and _apply_registry_changes(con, root, name, tuple(held[0]), stamp):
            continue
        con.execute("BEGIN")
        try:
            con.execute(
                f'CREATE OR REPLACE TABLE {w}."{name}" AS '
                f"SELECT * FROM read_parquet('{_quote(root / rel)}')"
            )
            con.execute(f"DELETE FROM {w}._sources WHERE name = ?", [name])
            con.execute(f"INSERT INTO {w}._sources VALUES (?, ?, ?)", [name, *stamp])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    held_by: dict[str, set[Entry]] = {}
    for interface, p, size, mtime in con.execute(f"SELECT * FROM {w}._files").fetchall():
        held_by.setdefault(interface, set()).add((p, size, mtime))
    for interface, paths in sorted(files.items()):
        entries = [_entry(root, p) for p in paths]
        held = held_by.get(interface, set())
        extra = {e[0] for e in held - set(entries)}
        if extra:
            newer = not (extra & set(paths)) and committed is not None
            if newer and committed(extra) == extra:  # type: ignore[misc]
                continue  # a newer listing than this job's: leave it (the job reads Parquet)
            # a file no longer in the store (or another file at its path): copy it all again
            _copy(con, root, interface, entries, replace=True)
            continue
        new = [e for e in entries if e not in held]
        if not new:
            continue
        if not held:
            _copy(con, root, interface, entries, replace=True)
            continue
        try:
            _copy(con, root, interface, new, replace=False)
        except duckdb.Error:
            # new columns or types the table does not have: copy it again whole
            _copy(con, root, interface, entries, replace=True)


#: a mirrored store file: path, size, modification time (store files never change once
#: published, so a different size or time means another file at that path)
Entry = tuple[str, int, int]


def _entry(root: Path, rel: str) -> Entry:
    stamp = store.file_stamp(root / rel)
    return (rel, *(stamp or (-1, -1)))


def _copy(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    interface: str,
    entries: Sequence[Entry],
    *,
    replace: bool,
) -> None:
    src = store._sql_list(str(root / e[0]) for e in entries)
    con.execute("BEGIN")
    try:
        _copy_in_transaction(con, interface, src, entries, replace=replace)
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _copy_in_transaction(
    con: duckdb.DuckDBPyConnection,
    interface: str,
    src: str,
    entries: Sequence[Entry],
    *,
    replace: bool,
) -> None:
    w = _WRITER
    if replace:
        con.execute(
            f'CREATE OR REPLACE TABLE {w}."{interface}" AS '
            f"SELECT * FROM read_parquet({src}, union_by_name = true)"
        )
        con.execute(f"DELETE FROM {w}._files WHERE interface = ?", [interface])
    else:
        con.execute(
            f'INSERT INTO {w}."{interface}" BY NAME '
            f"SELECT * FROM read_parquet({src}, union_by_name = true)"
        )
    con.executemany(
        f"INSERT INTO {w}._files VALUES (?, ?, ?, ?)", [[interface, *e] for e in entries]
    )


def _matches(
    con: duckdb.DuckDBPyConnection, root: Path, files: Mapping[str, Sequence[str]]
) -> bool:
    """Whether the attached mirror holds exactly ``files`` and the current registry export."""
    held: dict[str, set[Entry]] = {}
    for interface, p, size, mtime in con.execute(f"SELECT * FROM {ALIAS}._files").fetchall():
        held.setdefault(interface, set()).add((p, size, mtime))
    for interface, paths in files.items():
        if held.get(interface, set()) != {_entry(root, p) for p in paths}:
            return False
    sources = {
        name: (size, mtime)
        for name, size, mtime in con.execute(f"SELECT * FROM {ALIAS}._sources").fetchall()
    }
    for name, rel in REGISTRY_TABLES.items():
        if store.file_stamp(root / rel) != sources.get(name):
            return False
    return True
