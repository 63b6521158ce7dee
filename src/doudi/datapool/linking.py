"""Probabilistic linking of the pool's unlinked rows, in bulk.

Ingest links rows exactly (blind index of the ID number). The rest — no usable ID number, or a
valid number the registry does not know — are gathered here across all interfaces and matched in
one Splink run (:func:`doudi.datapool.linkage.probabilistic_link`), so the model and the registry
are loaded once per run rather than once per file. Results are written as an overlay
(``links/prob/run-*.parquet``, each file complete or absent) that the views join:

- ``linked``: the row's ``person_id`` becomes the matched person (``link_method = 'probabilistic'``);
- ``review``: a :class:`LinkReview` row asks a clerk of the person's town to confirm or reject;
- ``unlinked``: nothing matched; the row is not tried again unless ``retry`` is asked.

Each ingest's counts (linked, unlinked, review) are updated with the outcome of its rows.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from django.db import transaction
from django.db.models import F

from doudi.datapool import store
from doudi.datapool.catalog import load_catalog
from doudi.datapool.models import IngestFile, LinkReview

PROB_DIR = "links/prob"
PROB_SCHEMA = pa.schema(
    [
        ("interface", pa.string()),
        ("record_key", pa.string()),
        ("person_id", pa.int64()),
        ("probability", pa.float64()),
        ("decision", pa.string()),
        ("run", pa.int64()),
    ]
)


def prob_files(root: Path) -> list[str]:
    folder = root / PROB_DIR
    return sorted(str(p) for p in folder.glob("run-*.parquet")) if folder.exists() else []


def link_pending(
    *, interfaces: list[str] | None = None, retry: bool = False, con=None
) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """Match every pooled row that has no person yet; returns counts per decision."""
    from doudi.datapool.linkage import probabilistic_link
    from doudi.datapool.registry_export import registry_export
    from doudi.datapool.selectors import pool_connection
    from doudi.registry.models import Person

    t0 = time.perf_counter()
    root = store.pool_root()
    registry_export(root)
    con = con or pool_connection()
    parts = []
    for interface in load_catalog():
        if interfaces and interface.code not in interfaces:
            continue
        if not (interface.person_field and interface.name_field):
            continue
        tried = (
            ""
            if retry
            else (
                "AND NOT EXISTS (SELECT 1 FROM prob_links t WHERE t.interface = "
                f"'{interface.code}' AND t.record_key = r.record_key)"
            )
        )
        parts.append(f"""
            SELECT '{interface.code}' AS interface, r.record_key, r."{interface.name_field}" AS name,
                   r.id_birth_date AS birth_date, r.id_sex AS sex, r.id_region AS county_code,
                   r._ingest, r._line, r.id_masked
            FROM {interface.code} r
            WHERE r.person_id IS NULL AND r."{interface.name_field}" IS NOT NULL {tried}
        """)
    if not parts:
        return {"candidates": 0}
    pending = con.sql(" UNION ALL ".join(parts)).to_arrow_table()
    if pending.num_rows == 0:
        return {"candidates": 0, "seconds": round(time.perf_counter() - t0, 2)}
    candidates = pa.table(
        {
            "row_id": pa.array(range(pending.num_rows), pa.int64()),
            "name": pending["name"],
            "birth_date": pending["birth_date"],
            "sex": pending["sex"],
            "county_code": pending["county_code"],
        }
    )
    result = probabilistic_link(candidates, root / store.REGISTRY_PERSONS)
    result = result.sort_by("row_id")
    decision = result["decision"].combine_chunks()
    person = result["person_id"].combine_chunks()
    run = time.time_ns()
    overlay = pa.table(
        {
            "interface": pending["interface"],
            "record_key": pending["record_key"],
            "person_id": pc.if_else(
                pc.equal(decision, "linked"), person, pa.scalar(None, pa.int64())
            ),
            "probability": result["match_probability"],
            "decision": decision,
            "run": pa.array([run] * pending.num_rows, pa.int64()),
        },
        schema=PROB_SCHEMA,
    )
    review_idx = pc.indices_nonzero(pc.and_(pc.equal(decision, "review"), pc.is_valid(person)))
    reviews = []
    if len(review_idx):
        rows = {
            c: pc.take(pending[c], review_idx).to_pylist()
            for c in (
                "interface",
                "record_key",
                "_ingest",
                "_line",
                "name",
                "id_masked",
                "birth_date",
            )
        }
        people = pc.take(person, review_idx).to_pylist()
        probs = pc.take(result["match_probability"], review_idx).to_pylist()
        regions = dict(
            Person.objects.filter(pk__in=set(people)).values_list("id", "residence_region_id")
        )
        for i, pid in enumerate(people):
            if pid not in regions:
                continue
            reviews.append(
                LinkReview(
                    ingest_id=rows["_ingest"][i],
                    interface=rows["interface"][i],
                    record_key=rows["record_key"][i],
                    line=rows["_line"][i],
                    name=rows["name"][i] or "",
                    id_masked=rows["id_masked"][i] or "",
                    birth_date=rows["birth_date"][i],
                    candidate_id=pid,
                    probability=probs[i] or 0.0,
                    region_id=regions[pid],
                )
            )
    linked_by_ingest = Counter(
        pc.filter(pending["_ingest"], pc.equal(decision, "linked")).to_pylist()
    )
    review_by_ingest = Counter(r.ingest_id for r in reviews)
    store.atomic_write_table(overlay, root / PROB_DIR / f"run-{run}.parquet")
    with transaction.atomic():
        LinkReview.objects.bulk_create(reviews, batch_size=5000)
        for ingest_id, n in linked_by_ingest.items():
            IngestFile.objects.filter(pk=ingest_id).update(
                linked=F("linked") + n, unlinked=F("unlinked") - n
            )
        for ingest_id, n in review_by_ingest.items():
            IngestFile.objects.filter(pk=ingest_id).update(review=F("review") + n)
    counts = Counter(decision.to_pylist())
    return {
        "candidates": pending.num_rows,
        "linked": counts.get("linked", 0),
        "review": len(reviews),
        # decisions "review" whose candidate is not in the operational registry get no queue row
        # (the benches export a synthetic registry without loading it into the database)
        "review_decisions": counts.get("review", 0),
        "unlinked": counts.get("unlinked", 0),
        "seconds": round(time.perf_counter() - t0, 2),
    }
