"""Fixtures for the monitoring tests: a fresh data dir per test, department rows fed into the pool
through the real ingest, and a helper that runs the monitor."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def pool_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return settings.DATA_DIR / "pool"


@pytest.fixture
def feed(tmp_path) -> Callable[..., object]:
    """``feed("death_registration", [{...}, ...])``: ingest rows (keyed by field name) as one
    JSON-lines file of that department; returns the ledger row."""
    from doudi.datapool.ingest import IngestOptions, ingest_file

    counter = {"n": 0}

    def _feed(interface: str, rows: list[dict[str, object]], name: str | None = None):
        counter["n"] += 1
        path = Path(tmp_path) / f"{interface}-{counter['n']}.jsonl"
        path.write_text(
            "\n".join(json.dumps(r, ensure_ascii=False, default=str) for r in rows) + "\n",
            encoding="utf-8",
        )
        result = ingest_file(
            interface,
            path,
            file_name=name or path.name,
            options=IngestOptions(probabilistic=False),
        )
        assert result.status == "committed", result.summary()
        assert result.quarantined == 0, result.summary()
        return result

    return _feed


@pytest.fixture
def monitor() -> Callable[..., object]:
    """``monitor(as_of, since=None)``: one run by the system; returns the run."""
    from doudi.monitoring.services import monitor_run

    def _run(as_of: dt.date, since: dt.date | None = None, engine: str = "duckdb"):
        return monitor_run(actor=None, as_of=as_of, since=since, engine_name=engine)

    return _run


def person_of(household, relation: str = "head"):
    from doudi.registry.selectors import household_members

    for m in household_members(household=household):
        if m.relation == relation:
            return m.person
    raise LookupError(relation)


def id_of(person) -> str:
    from doudi.core import crypto

    return crypto.decrypt(person.id_enc)


@pytest.fixture
def watch(feed) -> Callable[..., object]:
    """``watch(household, on)``: put the household under low-income monitoring (a 防止返贫
    watch-list row for each member, identified on ``on``)."""
    from doudi.registry.selectors import household_members

    def _watch(household, on: dt.date):
        members = list(household_members(household=household))
        head = next(m.person for m in members if m.relation == "head")
        rows = [
            {
                "id_number": id_of(m.person),
                "name": m.person.name,
                "head_id_number": id_of(head),
                "relation": m.get_relation_display(),
                "region_code": household.region_id,
                "watch_type": "边缘易致贫户",
                "risk_type": "因病",
                "identified_date": on.isoformat(),
                "risk_status": "风险未消除",
                "household_size": len(members),
                "per_capita_income": "600",
            }
            for m in members
        ]
        return feed("relapse_watch", rows)

    return _watch
