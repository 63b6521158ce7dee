import json

from django.core.management.base import BaseCommand

from doudi.datapool import store
from doudi.datapool.catalog import load_catalog
from doudi.datapool.models import IngestFile, StoreFile
from doudi.datapool.selectors import pool_connection

PROVENANCE = ("_ingest", "_line", "_received_at", "_file")


class Command(BaseCommand):
    help = (
        "检查数据池：各接口当前行数、历史行数、内容校验和，以及未登记的孤立文件 / check the pool: "
        "rows, checksums of contents, orphan files"
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument(
            "--remove-orphans",
            action="store_true",
            help="删除崩溃遗留的未登记文件 / delete files left by a crash",
        )

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        con = pool_connection()
        out: dict[str, object] = {"interfaces": {}}
        for interface in load_catalog():
            current = con.execute(f"SELECT count(*) FROM {interface.code}").fetchone()[0]
            if not current:
                continue
            cols = [
                d[0]
                for d in con.execute(f"SELECT * FROM {interface.code}_all LIMIT 0").description
                if d[0] not in PROVENANCE
            ]
            expr = " || '|' || ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '')" for c in cols)
            checksum = con.execute(
                f"SELECT bit_xor(hash({expr})) FROM {interface.code}"
            ).fetchone()[0]
            total = con.execute(f"SELECT count(*) FROM {interface.code}_all").fetchone()[0]
            out["interfaces"][interface.code] = {
                "current": current,
                "all": total,
                "checksum": str(checksum),
            }
        manifest = set(
            StoreFile.objects.filter(ingest__status=IngestFile.Status.COMMITTED).values_list(
                "path", flat=True
            )
        )
        root = store.pool_root()
        orphans = sorted(
            p.relative_to(root).as_posix()
            for p in root.glob("*/period=*/*.parquet")
            if p.relative_to(root).as_posix() not in manifest
        )
        out["orphans"] = len(orphans)
        if options["remove_orphans"]:
            out["removed"] = store.remove_orphans(root, manifest)
        self.stdout.write(json.dumps(out, ensure_ascii=False, sort_keys=True))
