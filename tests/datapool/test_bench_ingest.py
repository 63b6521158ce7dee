"""``doudi bench ingest`` on a small city: every row accepted and linked, the seconds of each step
and the libraries' floors reported. No timing is asserted: the machine is shared."""

from __future__ import annotations

import contextlib
import io
import json
import os

import pyarrow as pa
import pytest

from doudi.datapool import bench, store


@pytest.mark.django_db(transaction=True)
def test_bench_ingest_reports_steps_and_floors(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(store, "DEFAULT_THREADS", store.DEFAULT_THREADS)
    for name in ("DOUDI_DATA_DIR", "DOUDI_FIELD_KEY"):  # the bench sets them: restored after
        monkeypatch.setenv(name, os.environ.get(name, ""))
        if not os.environ[name]:
            monkeypatch.delenv(name)
    cpus, io_threads = pa.cpu_count(), pa.io_thread_count()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            code = bench.main(
                ["--persons", "3000", "--rows", "4000", "--dir", str(tmp_path), "--floors"]
            )
    finally:
        pa.set_cpu_count(cpus)
        pa.set_io_thread_count(io_threads)
    assert code == 0
    report = json.loads(out.getvalue().strip().splitlines()[-1])
    assert report["rows"] == report["accepted"] == report["linked"] == 4000
    assert report["duplicates"] == 0
    steps = report["steps_seconds"]
    for step in (
        "read and parse",
        "record keys and content hashes (MD5)",
        "blind indexes (SHA-256)",
        "exact linkage",
        "Parquet files written",
    ):
        assert steps[step] >= 0
    assert sum(steps.values()) <= report["seconds"] + 0.01
    floors = report["library_floors_seconds"]
    assert len(floors) == 6
    assert floors["sum (with the store's zstd write)"] == pytest.approx(
        sum(v for k, v in floors.items() if "uncompressed" not in k and not k.startswith("sum")),
        abs=0.01,
    )
