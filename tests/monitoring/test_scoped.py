"""A scoped incremental run (only the households touched by new rows, history only where a rule
declares it needs it) finds exactly what the same window finds over the whole pool.

The pool of ``pool_cases`` is fed in two steps: "history" (arrived before the last run) and
"new" (arrived since). Each way of splitting it moves rows every rule reads between the two, so a
rule that reads older rows it did not declare under ``history`` or ``context`` shows up as a
difference between the scoped and the whole read.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from doudi.monitoring.engine import run as engine
from tests.monitoring.pool_cases import AS_OF, build_pool

pytestmark = pytest.mark.slow


#: "events": these interfaces' rows arrive new, everything around them (contributions,
#: employment, the other guardian's records, earlier death records) is history
EVENTS = {"death_registration", "unemployment_registration", "cremation", "disaster_loss"}


def _split(rows: list[dict[str, Any]], how: str, n: int, code: str) -> tuple[list, list]:
    """(history, new) of one interface's rows."""
    if how == "events":
        return ([], rows) if code in EVENTS else (rows, [])
    if len(rows) == 1:  # alternate, so that both sides hold single-row interfaces
        return ([], rows) if (n % 2 == 0) == (how == "last") else (rows, [])
    if how == "last":
        return rows[:-1], rows[-1:]
    return rows[1:], rows[:1]


def _hits(
    entitled: pa.Table, window: engine.Window, scope: list[int] | None, *, mirror: bool = True
) -> list[tuple]:
    from doudi.datapool import mirror as pool_mirror
    from doudi.datapool.services import registry_refresh
    from doudi.monitoring import selectors
    from doudi.policy import selectors as policy_selectors

    registry_refresh()
    rules = selectors.rules()
    con = selectors.rules_connection(rules, scope=scope)
    # the rules read the pool's mirror, or the Parquet files when it is turned off
    used = con.execute(
        "SELECT count(*) FROM duckdb_views() WHERE view_name = 'registry_persons' "
        f"AND contains(sql, '{pool_mirror.ALIAS}.')"
    ).fetchall()[0][0]
    assert used == int(mirror)
    engine.prepare(
        con,
        window=window,
        tree=policy_selectors.parameter_tree(),
        benefits=selectors.benefits_table(as_of=window.as_of),
        entitled=entitled,
    )
    engine.run_rules(con, rules, share_all=scope is not None)
    rows = con.sql("SELECT * FROM m_hits").fetchall()
    con.close()
    return sorted(rows, key=lambda r: tuple((v is not None, str(v)) for v in r))


@pytest.mark.parametrize("how", ["last", "first", "events"])
def test_a_scoped_incremental_run_finds_what_a_whole_read_finds(
    how: str, town_households: dict[str, Any], register: Any, feed: Any, monkeypatch: Any
) -> None:
    from doudi.datapool.models import IngestFile

    calls: list[tuple[str, list[dict[str, Any]]]] = []
    cases = build_pool(town_households, register, lambda code, rows: calls.append((code, rows)))
    later = []
    for n, (code, rows) in enumerate(calls):
        old, new = _split(rows, how, n, code)
        if old:
            feed(code, old)
        if new:
            later.append((code, new))
    last = IngestFile.objects.order_by("-id").values_list("id", flat=True).first() or 0
    for code, rows in later:
        feed(code, rows)
    scope = list(IngestFile.objects.filter(id__gt=last).values_list("id", flat=True))
    # the last run saw everything up to ``last``, all of which had arrived by its date
    window = engine.Window(as_of=AS_OF, since=AS_OF, last_ingest=last, scoped=True)
    scoped = _hits(cases["entitled"], window, scope)
    whole = _hits(
        cases["entitled"], engine.Window(as_of=AS_OF, since=AS_OF, last_ingest=last), None
    )
    assert scoped == whole
    # and the same from the Parquet files, without the pool's mirror
    monkeypatch.setenv("DOUDI_POOL_MIRROR", "0")
    assert _hits(cases["entitled"], window, scope, mirror=False) == scoped
    # the comparison is not vacuous: the new rows raise most rules, with older rows as evidence
    rules = {r[0] for r in whole}
    assert len(rules) >= 4, rules
