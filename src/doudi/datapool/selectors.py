"""Reads of the data pool: the catalog with freshness, DuckDB connections with the views, the
quarantine, the review queue, and the facts returned to towns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from django.db.models import Count, Max, Q, QuerySet, Sum

from doudi.core.access import jurisdiction_prefix
from doudi.core.models import Region, User
from doudi.datapool import mirror as mirror_module
from doudi.datapool import store
from doudi.datapool.catalog import Interface, load_catalog
from doudi.datapool.ingest import stored_schema
from doudi.datapool.models import IngestFile, LinkReview, QuarantineRow, ReturnReceipt, StoreFile


def pool_connection(
    *,
    threads: int | None = None,
    only: Iterable[str] | None = None,
    scope_ingests: Iterable[int] | None = None,
    unscoped: Iterable[str] = (),
    history: Iterable[str] | None = None,
    pin: bool = False,
    mirror: bool = False,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with every interface's views over the committed store files
    (``only``: just these interfaces' views, which is faster to set up with many files).

    ``scope_ingests``: restrict the person interfaces' views (all but ``unscoped``) to the
    households touched by the rows of those ingest batches (a job's new data): every row of every
    member of a household with a new row, plus the rows without a valid ID number (they may link
    to anyone).
    An incremental job then reads those households' whole history and nothing else. The scope
    is the temp table ``pool_scope_ids`` (``id_index``), their registry rows
    ``pool_scope_registry``. ``pool_rows`` (interface, stored_rows) gives each interface's size.

    ``history`` (with ``scope_ingests``): only these person interfaces are read with the scope's
    history; every other one holds just the rows of those ingest batches (finding a few
    households' rows in an interface's history costs a scan of all of it, which a job that only
    looks at what is new need not pay). ``None``: all of them with history.

    ``pin``: read the registry export into memory first (``store.pin_registry``), for a job
    that joins it many times; the scope is then found in memory too.

    ``mirror``: read the rows and the registry from the pool's mirror (``datapool.mirror``,
    brought up to date first) where it can serve the job, for a city-wide job; the connection
    is then a database of its own (close it when done: it holds the mirror open read-only, and
    the next job cannot update the mirror while it does). Pinning the registry is then
    unnecessary (reading the mirror's copy is faster than reading it into memory)."""
    wanted = None if only is None else frozenset(only)
    root = store.pool_root()
    files: dict[str, list[str]] = {}
    stored_rows: dict[str, int] = {}
    for interface, path, rows in (
        StoreFile.objects.filter(ingest__status=IngestFile.Status.COMMITTED)
        .filter(**({} if wanted is None else {"interface__in": wanted}))
        .order_by("id")
        .values_list("interface", "path", "rows")
    ):
        files.setdefault(interface, []).append(path)
        stored_rows[interface] = stored_rows.get(interface, 0) + rows
    export_overrides(root)
    relations: dict[str, str] = {}
    if mirror and mirror_module.enabled():
        con = store.connect(threads=threads, private=True)
        mirrored = mirror_module.attach(con, root, files, committed=_still_committed)
        if mirrored is not None:
            relations = {code: mirror_module.table(code) for code in mirrored}
            for name, rel in mirror_module.REGISTRY_TABLES.items():
                if (root / rel).exists():
                    relations[name] = mirror_module.table(name)
    else:
        con = store.connect(threads=threads)
    catalog = load_catalog()
    # the person interfaces a scope restricts (the ``unscoped`` ones are read whole)
    scoped = (
        set()
        if scope_ingests is None
        else {
            i.code
            for i in catalog
            if i.person_field
            and (wanted is None or i.code in wanted)
            and i.code not in frozenset(unscoped)
        }
    )
    store.create_views(
        con,
        root,
        # the scoped interfaces' views are made below: binding a view over all of an
        # interface's files reads each file's footer, which would be done twice
        {code: paths for code, paths in files.items() if code not in scoped},
        [
            (i.code, i.person_field or None, stored_schema(i))
            for i in catalog
            if wanted is None or i.code in wanted
        ],
        unique=unique_interfaces(),
        keys={i.code: stored_key_columns(i) for i in catalog},
        relations={k: v for k, v in relations.items() if k not in scoped},
    )
    # rows stored per interface (the manifest's counts, whatever a view keeps of them): lets a
    # job judge an interface's size without scanning it
    con.register(
        "_pool_rows",
        pa.table(
            {
                "interface": pa.array(list(stored_rows), pa.string()),
                "stored_rows": pa.array(list(stored_rows.values()), pa.int64()),
            }
        ),
    )
    con.execute("CREATE OR REPLACE TEMP TABLE pool_rows AS SELECT * FROM _pool_rows")
    if pin and "registry_persons" not in relations:
        store.pin_registry(con)
    if scope_ingests is not None:
        _restrict_to_scope(
            con,
            root,
            files,
            set(scope_ingests),
            scoped,
            None if history is None else frozenset(history),
            relations,
        )
    return con


def _still_committed(paths: set[str]) -> set[str]:
    return set(
        StoreFile.objects.filter(
            ingest__status=IngestFile.Status.COMMITTED, path__in=sorted(paths)
        ).values_list("path", flat=True)
    )


def _restrict_to_scope(  # type: ignore[no-untyped-def]
    con,
    root: Path,
    files: dict[str, list[str]],
    ingests: set[int],
    person_codes: set[str],
    history: frozenset[str] | None,
    relations: dict[str, str],
) -> None:
    delta_by_code: dict[str, list[str]] = {}
    for code, path in StoreFile.objects.filter(
        ingest__status=IngestFile.Status.COMMITTED,
        ingest_id__in=ingests,
        interface__in=person_codes,
    ).values_list("interface", "path"):
        delta_by_code.setdefault(code, []).append(path)
    delta = [p for paths in delta_by_code.values() for p in paths]
    if delta:
        paths = store._sql_list(str(root / p) for p in delta)
        new_ids = f"SELECT DISTINCT id_index FROM read_parquet({paths}, union_by_name = true)"
    else:
        new_ids = "SELECT CAST(NULL AS VARCHAR) AS id_index WHERE FALSE"
    con.execute(f"CREATE OR REPLACE TEMP TABLE pool_scope_new AS {new_ids}")
    # the registry rows of the touched households, read once: the scoped views link against
    # them instead of scanning the whole registry export for each interface
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE pool_scope_registry AS
        SELECT * FROM registry_persons
        WHERE household_id IN (
            SELECT p.household_id
            FROM registry_persons p JOIN pool_scope_new n ON n.id_index = p.id_index
            WHERE p.household_id IS NOT NULL
        )
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE pool_scope_ids AS
        SELECT id_index FROM pool_scope_new WHERE id_index IS NOT NULL
        UNION
        SELECT id_index FROM pool_scope_registry WHERE id_index IS NOT NULL
        """
    )
    catalog = load_catalog()
    unique = unique_interfaces()
    schemas = {i.code: stored_schema(i) for i in catalog if i.code in person_codes}
    for code in sorted(person_codes):
        paths = [str(root / f) for f in files.get(code, [])]
        if not paths:
            continue
        if history is not None and code not in history:
            new = [str(root / f) for f in delta_by_code.get(code, [])]
            if new:
                con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {code}_all AS SELECT * FROM "
                    f"read_parquet({store._sql_list(new)}, union_by_name = true)"
                )
            else:
                con.register(f"_{code}_none", schemas[code].empty_table())
                con.execute(f"CREATE OR REPLACE TEMP VIEW {code}_all AS SELECT * FROM _{code}_none")
        else:
            src = relations.get(code) or (
                f"read_parquet({store._sql_list(paths)}, union_by_name = true)"
            )
            # two scans rather than one OR: the first is a semi-join on the scope (a hash
            # probe), the second the few rows whose ID number is missing or invalid
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {code}_all AS "
                f"SELECT * FROM {src} WHERE id_index IN (SELECT id_index FROM pool_scope_ids) "
                f"UNION ALL SELECT * FROM {src} "
                "WHERE id_index IS NULL OR NOT coalesce(id_valid, FALSE)"
            )
        interface = catalog.get(code)
        sql = store.current_sql(
            code,
            interface.person_field or None,
            dedupe=code not in unique,
            keys=stored_key_columns(interface),
            registry="pool_scope_registry",
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW {code} AS {sql}")


def ingest_interfaces(ingests: Iterable[int]) -> frozenset[str]:
    """The interfaces with rows stored by these ingest batches."""
    return frozenset(
        StoreFile.objects.filter(
            ingest__status=IngestFile.Status.COMMITTED, ingest_id__in=list(ingests)
        ).values_list("interface", flat=True)
    )


def stored_key_columns(interface: Interface) -> list[str]:
    """The record key's fields as stored columns (ID numbers are stored only as keyed hashes
    and masked copies, so they are left out: ``record_key`` already covers them)."""
    return [k for k in interface.key if interface.field(k).type != "id_number"]


def unique_interfaces() -> frozenset[str]:
    """Interfaces whose every record key is stored once (no committed file ever superseded a
    row): their current view need not rank versions."""
    counts = (
        IngestFile.objects.filter(status=IngestFile.Status.COMMITTED)
        .values("interface")
        .annotate(s=Sum("superseded"))
    )
    return frozenset(r["interface"] for r in counts if not r["s"])


def export_overrides(root: Path) -> None:
    """Write clerks' link decisions where the views read them."""
    import pyarrow as pa

    from doudi.datapool.models import LinkOverride

    rows = list(LinkOverride.objects.values_list("interface", "record_key", "person_id"))
    table = pa.table(
        {
            "interface": pa.array([r[0] for r in rows], pa.string()),
            "record_key": pa.array([r[1] for r in rows], pa.string()),
            "person_id": pa.array([r[2] for r in rows], pa.int64()),
        }
    )
    store.atomic_write_table(table, root / store.OVERRIDES)


@dataclass(frozen=True)
class InterfaceStatus:
    interface: Interface
    last: IngestFile | None
    files: int
    rows: int
    accepted: int
    quarantined: int
    failed: int


def catalog_status() -> list[InterfaceStatus]:
    """Each interface with its freshness: last file received, totals, errors."""
    totals = {
        r["interface"]: r
        for r in IngestFile.objects.values("interface").annotate(
            files=Count("id"),
            rows=Sum("rows"),
            accepted=Sum("accepted"),
            quarantined=Sum("quarantined"),
            failed=Count("id", filter=Q(status=IngestFile.Status.FAILED)),
            last=Max("id"),
        )
    }
    last_files = IngestFile.objects.in_bulk([t["last"] for t in totals.values()])
    out = []
    for interface in load_catalog():
        t = totals.get(interface.code)
        out.append(
            InterfaceStatus(
                interface=interface,
                last=last_files.get(t["last"]) if t else None,
                files=t["files"] if t else 0,
                rows=t["rows"] or 0 if t else 0,
                accepted=t["accepted"] or 0 if t else 0,
                quarantined=t["quarantined"] or 0 if t else 0,
                failed=t["failed"] if t else 0,
            )
        )
    return out


def ingest_files(*, interface: str = "") -> QuerySet[IngestFile]:
    qs = IngestFile.objects.select_related("uploaded_by")
    return qs.filter(interface=interface) if interface else qs


def quarantine_rows(*, ingest: IngestFile) -> QuerySet[QuarantineRow]:
    return ingest.quarantine.all()


def reviews_for_user(
    *, user: User, status: str = LinkReview.Status.PENDING
) -> QuerySet[LinkReview]:
    prefix = jurisdiction_prefix(user)
    if prefix is None:
        return LinkReview.objects.none()
    return LinkReview.objects.filter(status=status, region__code__startswith=prefix).select_related(
        "candidate", "candidate__residence_region", "ingest"
    )


def town_of(user: User) -> Region | None:
    """The town whose returned data the user sees (their town, or the town above their village)."""
    region = user.region
    if region is None:
        return None
    if region.level == "village":
        return region.parent
    if region.level == "town":
        return region
    return None


@dataclass(frozen=True)
class ReturnedFacts:
    interface: Interface
    rows: list[dict[str, object]]
    new: int
    total: int
    up_to_ingest: int


def returned_facts(
    *, town: Region, since_ingest: dict[str, int] | None = None, limit: int = 200
) -> list[ReturnedFacts]:
    """The pool's facts about the town's people, per returned interface, newest first, with how
    many arrived since the town last looked."""
    since = (
        since_ingest
        if since_ingest is not None
        else dict(ReturnReceipt.objects.filter(town=town).values_list("interface", "up_to_ingest"))
    )
    con = pool_connection()
    out = []
    for interface in load_catalog():
        if not interface.returned_to_towns or not interface.person_field:
            continue
        base = f"""
            FROM {interface.code} r JOIN registry_persons p ON p.person_id = r.person_id
            WHERE p.town_code = ?
        """
        total, newest, new = con.execute(
            f"SELECT count(*), coalesce(max(r._ingest), 0), "
            f"count(*) FILTER (WHERE r._ingest > ?) {base}",
            [since.get(interface.code, 0), town.code],
        ).fetchone()
        if not total:
            continue
        shown = [f.name for f in interface.fields if f.type not in {"id_number"}][:6]
        cols = ", ".join(f'r."{c}"' for c in shown)
        rows = con.execute(
            f"SELECT p.person_id, p.name AS person_name, p.village_code, r._ingest, r._file, "
            f"r._line, r._received_at, {cols} {base} ORDER BY r._ingest DESC, r._line LIMIT ?",
            [town.code, limit],
        ).fetchall()
        names = [
            "person_id",
            "person_name",
            "village_code",
            "ingest",
            "file",
            "line",
            "received_at",
            *shown,
        ]
        seen = since.get(interface.code, 0)
        facts = []
        for r in rows:
            fact = dict(zip(names, r, strict=True))
            fact["is_new"] = fact["ingest"] > seen
            for name in shown:
                fact[name] = display_value(interface.field(name), fact[name])
            facts.append(fact)
        out.append(ReturnedFacts(interface, facts, int(new), int(total), int(newest)))
    return out


def display_value(field, value):  # type: ignore[no-untyped-def]
    """A stored value as the clerk reads it: dates 2025-03-02, amounts 1,234.50, an enum's
    first Chinese spelling instead of its code."""
    import datetime as dt
    from decimal import Decimal

    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if field.type == "enum":
        spellings = field.values.get(str(value)) or ()
        return spellings[0] if spellings else str(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def share_rates() -> dict[str, object]:
    """数据返还 share rate: items returned (shown to the town) / items due, per town and interface."""
    con = pool_connection()
    receipts = list(ReturnReceipt.objects.values_list("town_id", "interface", "up_to_ingest"))
    import pyarrow as pa

    con.register(
        "receipts",
        pa.table(
            {
                "town_code": pa.array([r[0] for r in receipts], pa.string()),
                "interface": pa.array([r[1] for r in receipts], pa.string()),
                "up_to": pa.array([r[2] for r in receipts], pa.int64()),
            }
        ),
    )
    parts = []
    for interface in load_catalog():
        if interface.returned_to_towns and interface.person_field:
            parts.append(f"""
                SELECT '{interface.code}' AS interface, p.town_code, r._ingest
                FROM {interface.code} r JOIN registry_persons p ON p.person_id = r.person_id
            """)
    if not parts:
        return {"towns": [], "interfaces": []}
    con.execute("CREATE TEMP VIEW due AS " + " UNION ALL ".join(parts))
    by_town = con.execute("""
        SELECT d.town_code, count(*) AS due,
               count(*) FILTER (WHERE d._ingest <= coalesce(rc.up_to, 0)) AS returned
        FROM due d LEFT JOIN receipts rc
             ON rc.town_code = d.town_code AND rc.interface = d.interface
        GROUP BY d.town_code ORDER BY d.town_code
    """).fetchall()
    by_interface = con.execute("""
        SELECT d.interface, count(*) AS due,
               count(*) FILTER (WHERE d._ingest <= coalesce(rc.up_to, 0)) AS returned
        FROM due d LEFT JOIN receipts rc
             ON rc.town_code = d.town_code AND rc.interface = d.interface
        GROUP BY d.interface ORDER BY d.interface
    """).fetchall()
    names = dict(Region.objects.filter(level="town").values_list("code", "name"))
    return {
        "towns": [
            {
                "code": t,
                "name": names.get(t, t),
                "due": d,
                "returned": r,
                "rate": (r / d) if d else 1.0,
            }
            for t, d, r in by_town
        ],
        "interfaces": [
            {
                "code": i,
                "name": load_catalog().get(i).name,
                "due": d,
                "returned": r,
                "rate": (r / d) if d else 1.0,
            }
            for i, d, r in by_interface
        ],
    }


def pool_narrow(con: duckdb.DuckDBPyConnection, windows: dict[str, tuple[str, str]]) -> list[str]:
    """Redefine, on this connection only, the ``<code>`` views of ``windows`` ({code: (field,
    SQL condition)}) so that rows outside the condition are dropped before versions are ranked.
    Applied only where ``field`` is part of the interface's record key (see
    ``store.current_sql``); returns the codes narrowed."""
    catalog = load_catalog()
    unique = unique_interfaces()
    narrowed = []
    for code, (field, where) in windows.items():
        interface = catalog.get(code)
        if field not in interface.key:
            continue
        sql = store.current_sql(
            code,
            interface.person_field or None,
            where,
            dedupe=code not in unique,
            keys=stored_key_columns(interface),
        )
        con.execute(f"CREATE OR REPLACE TEMP VIEW {code} AS {sql}")
        narrowed.append(code)
    return narrowed
