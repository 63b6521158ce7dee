"""Ingesting any permutation of the same files, with any of them re-sent, gives the same store."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from doudi.datapool.ingest import IngestOptions, ingest_file
from doudi.datapool.selectors import pool_connection
from tests.conftest import make_id
from tests.datapool.conftest import INPATIENT_HEADER, csv_text

pytestmark = pytest.mark.django_db

HEADER = INPATIENT_HEADER
PEOPLE = [
    (make_id("370611", "19500101", 11), "曾小明"),
    (make_id("370611", "19700707", 41), "张伟"),
    (make_id("110105", "19491231", 2), "外地人"),
]


def rows(month: int, people: list[int]) -> list[list[str]]:
    return [
        [
            PEOPLE[p][0],
            PEOPLE[p][1],
            f"2025-{month:02d}-01",
            f"2025-{month:02d}-05",
            "1000",
            "600",
            "400",
            "医院",
        ]
        for p in people
    ]


# four files whose rows overlap (the same stay reported by two files, a row twice in one file)
FILES = {
    "a.csv": rows(1, [0, 1]) + rows(2, [0]),
    "b.csv": rows(2, [0, 2]) + rows(3, [1]),
    "c.csv": rows(3, [1]) + rows(3, [1]) + rows(4, [2]),
    "d.csv": rows(1, [1]) + rows(5, [0, 1, 2]),
}
PROVENANCE = {"_ingest", "_line", "_received_at", "_file"}


def store_contents() -> list[tuple]:
    con = pool_connection()
    cur = con.execute("SELECT * FROM medical_inpatient")
    names = [d[0] for d in cur.description]
    keep = [i for i, n in enumerate(names) if n not in PROVENANCE]
    return sorted(tuple(str(r[i]) for i in keep) for r in cur.fetchall())


def run(order: list[str], settings_obj) -> list[tuple]:
    with tempfile.TemporaryDirectory() as tmp, transaction.atomic():
        settings_obj.DATA_DIR = Path(tmp)
        for name in order:
            path = Path(tmp) / name
            path.write_text(csv_text(HEADER, FILES[name]), encoding="utf-8")
            ingest_file("medical_inpatient", path, options=IngestOptions(probabilistic=False))
        contents = store_contents()
        transaction.set_rollback(True)
    return contents


@pytest.fixture
def reference(town_households, settings):
    return run(sorted(FILES), settings)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    order=st.permutations(sorted(FILES)),
    resend=st.lists(st.sampled_from(sorted(FILES)), max_size=3),
)
def test_any_order_and_resends_give_the_same_store(reference, settings, order, resend):
    assert len(reference) == 9  # 11 distinct stays minus two reported twice
    assert run(list(order) + resend, settings) == reference
