"""The pool's mirror (``datapool.mirror``): a DuckDB copy of the store's files that serves a job
only when it holds exactly the job's listing, and is brought up to date by appending, or copied
again when appending cannot be right."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from doudi.datapool import mirror, store


def write(root: Path, rel: str, **cols: list[Any]) -> str:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols), path)
    return rel


def registry(root: Path, ids: list[int]) -> None:
    store.atomic_write_table(
        pa.table({"person_id": pa.array(ids, pa.int64())}), root / store.REGISTRY_PERSONS
    )


def rows(con: duckdb.DuckDBPyConnection, name: str) -> list[tuple]:
    """The mirrored rows (without the ``period`` DuckDB reads from a store path, as the views
    over the Parquet files have it too)."""
    cols = "* EXCLUDE (period)" if name != "registry_persons" else "*"
    return sorted(con.execute(f"SELECT {cols} FROM {mirror.table(name)}").fetchall(), key=str)


@pytest.fixture
def copies(monkeypatch) -> list[tuple[str, bool, int]]:
    """Every copy the mirror makes: (interface, replace, files)."""
    made: list[tuple[str, bool, int]] = []
    real = mirror._copy

    def spy(con, root, interface, entries, *, replace):  # type: ignore[no-untyped-def]
        made.append((interface, replace, len(entries)))
        return real(con, root, interface, entries, replace=replace)

    monkeypatch.setattr(mirror, "_copy", spy)
    return made


def mirrored_two_files(root: Path) -> tuple[str, str]:
    """Two store files of interface ``x``, copied into the mirror."""
    a = write(root, "x/period=2025-01/i1-0.parquet", k=[1], v=["a"])
    b = write(root, "x/period=2025-02/i2-0.parquet", k=[2], v=["b"])
    con = duckdb.connect()
    mirror.attach(con, root, {"x": [a, b]})
    con.close()
    return a, b


def test_first_use_copies_then_new_files_are_appended(tmp_path: Path, copies) -> None:
    root = tmp_path / "pool"
    registry(root, [1, 2])
    a = write(root, "x/period=2025-01/i1-0.parquet", k=[1, 2], v=["a", "b"])
    con = duckdb.connect()
    assert mirror.attach(con, root, {"x": [a]}) == frozenset({"x"})
    assert rows(con, "x") == [(1, "a"), (2, "b")]
    assert rows(con, "registry_persons") == [(1,), (2,)]
    con.close()
    assert copies == [("x", True, 1)]

    b = write(root, "x/period=2025-02/i2-0.parquet", k=[3], v=["c"])
    con = duckdb.connect()
    assert mirror.attach(con, root, {"x": [a, b]}) == frozenset({"x"})
    assert rows(con, "x") == [(1, "a"), (2, "b"), (3, "c")]
    con.close()
    assert copies[1:] == [("x", False, 1)]  # only the new file

    con = duckdb.connect()  # nothing new: nothing copied
    assert mirror.attach(con, root, {"x": [a, b]}) == frozenset({"x"})
    con.close()
    assert len(copies) == 2


def test_a_file_with_new_columns_copies_the_interface_again(tmp_path: Path, copies) -> None:
    root = tmp_path / "pool"
    a = write(root, "x/period=2025-01/i1-0.parquet", k=[1], v=["a"])
    con = duckdb.connect()
    mirror.attach(con, root, {"x": [a]})
    con.close()
    b = write(root, "x/period=2025-02/i2-0.parquet", k=[2], v=["b"], extra=[7])
    con = duckdb.connect()
    assert mirror.attach(con, root, {"x": [a, b]}) == frozenset({"x"})
    assert rows(con, "x") == [(1, "a", None), (2, "b", 7)]
    con.close()
    assert copies == [("x", True, 1), ("x", False, 1), ("x", True, 2)]


def test_a_file_gone_from_the_store_or_replaced_copies_again(tmp_path: Path, copies) -> None:
    root = tmp_path / "pool"
    a, b = mirrored_two_files(root)
    # b is no longer committed (its ingest was undone): the mirror must drop its rows
    con = duckdb.connect()
    assert mirror.attach(con, root, {"x": [a]}, committed=lambda paths: set()) == {"x"}
    assert rows(con, "x") == [(1, "a")]
    con.close()
    # another file at a path the mirror holds (ids reused after a rollback): copied again
    time.sleep(0.01)
    os.remove(root / a)
    write(root, a, k=[9], v=["z"])
    con = duckdb.connect()
    assert mirror.attach(con, root, {"x": [a]}, committed=lambda paths: paths) == {"x"}
    assert rows(con, "x") == [(9, "z")]
    con.close()
    assert [c[1] for c in copies] == [True, True, True]


def test_a_mirror_of_a_newer_listing_is_left_alone_and_not_used(tmp_path: Path, copies) -> None:
    root = tmp_path / "pool"
    a, b = mirrored_two_files(root)
    # a job that listed the manifest before b committed: b is committed, so the mirror is newer
    con = duckdb.connect()
    assert mirror.attach(con, root, {"x": [a]}, committed=lambda paths: paths) is None
    assert con.execute("SELECT count(*) FROM duckdb_databases() WHERE NOT internal").fetchall() == [
        (1,)
    ]  # nothing left attached
    con.close()
    assert len(copies) == 1


def test_a_mirror_in_use_serves_if_current_else_the_job_reads_parquet(tmp_path: Path) -> None:
    root = tmp_path / "pool"
    a = write(root, "x/period=2025-01/i1-0.parquet", k=[1], v=["a"])
    reader = duckdb.connect()
    assert mirror.attach(reader, root, {"x": [a]}) == {"x"}
    # another job while the first still reads it: it cannot update, but the mirror is current
    other = duckdb.connect()
    assert mirror.attach(other, root, {"x": [a]}) == {"x"}
    assert rows(other, "x") == [(1, "a")]
    other.close()
    # a job with a new file: it cannot bring the mirror up to date, so it is not used
    b = write(root, "x/period=2025-02/i2-0.parquet", k=[2], v=["b"])
    other = duckdb.connect()
    assert mirror.attach(other, root, {"x": [a, b]}) is None
    other.close()
    reader.close()
    # once the first job is done, the next one updates it
    other = duckdb.connect()
    assert mirror.attach(other, root, {"x": [a, b]}) == {"x"}
    assert rows(other, "x") == [(1, "a"), (2, "b")]
    other.close()


def test_the_registry_copy_follows_the_export(tmp_path: Path) -> None:
    root = tmp_path / "pool"
    registry(root, [1])
    con = duckdb.connect()
    mirror.attach(con, root, {})
    assert rows(con, "registry_persons") == [(1,)]
    con.close()
    time.sleep(0.01)
    registry(root, [1, 2, 3])
    con = duckdb.connect()
    mirror.attach(con, root, {})
    assert rows(con, "registry_persons") == [(1,), (2,), (3,)]
    con.close()


def test_it_can_be_turned_off(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DOUDI_POOL_MIRROR", "0")
    root = tmp_path / "pool"
    a = write(root, "x/period=2025-01/i1-0.parquet", k=[1], v=["a"])
    con = duckdb.connect()
    assert mirror.attach(con, root, {"x": [a]}) is None
    con.close()
    assert not mirror.path(root).exists()


def test_a_damaged_mirror_is_started_afresh(tmp_path: Path) -> None:
    root = tmp_path / "pool"
    a = write(root, "x/period=2025-01/i1-0.parquet", k=[1], v=["a"])
    mirror.path(root).parent.mkdir(parents=True)
    mirror.path(root).write_bytes(b"not a database" * 1000)
    con = duckdb.connect()
    assert mirror.attach(con, root, {"x": [a]}) == {"x"}
    assert rows(con, "x") == [(1, "a")]
    con.close()
