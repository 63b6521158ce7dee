"""``doudi ingest --interface CODE FILE...``: one JSON summary per file on stdout.

Exit status 0 when every file was read (rows may still have been quarantined); 1 when a file could
not be read at all (that file changed nothing; the others were still ingested); 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from doudi.config import bootstrap


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="doudi ingest",
        description="把部门数据文件接收入数据池 / ingest department files into the data pool",
    )
    parser.add_argument("--interface", required=True, help="接口代码 / interface code")
    parser.add_argument(
        "--no-probabilistic",
        action="store_true",
        help="只做身份证号精确匹配 / exact ID matching only",
    )
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(list(argv))
    bootstrap.setup()
    if not bootstrap.require_ready():
        return 1
    from doudi.datapool.catalog import UnknownInterface, load_catalog
    from doudi.datapool.ingest import IngestOptions, ingest_file
    from doudi.datapool.readers import UnreadableFile

    try:
        load_catalog().get(args.interface)
    except UnknownInterface as exc:
        print(str(exc), file=sys.stderr)
        return 2
    status = 0
    ingested = []
    for path in args.files:
        if not path.is_file():
            print(f"找不到文件 {path} / file not found", file=sys.stderr)
            status = 1
            continue
        try:
            ingest = ingest_file(
                args.interface, path, options=IngestOptions(probabilistic=not args.no_probabilistic)
            )
        except UnreadableFile as exc:
            print(
                f"{path}: 无法读取，未做任何更改：{exc.zh} / cannot read, nothing changed: {exc.en}",
                file=sys.stderr,
            )
            status = 1
            continue
        ingested.append((path, ingest))
    if ingested and not args.no_probabilistic:
        from doudi.datapool.linking import link_pending

        # one probabilistic run for all the files' rows without a usable ID number
        link_pending(interfaces=[args.interface])
    for path, ingest in ingested:
        ingest.refresh_from_db()
        summary = ingest.summary()
        summary["file"] = str(path)
        print(json.dumps(summary, ensure_ascii=False), flush=True)
    return status
