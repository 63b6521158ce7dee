"""``doudi bench <what>``: the benchmarks whose figures go into the issues' closing notes."""

from __future__ import annotations

import sys
from collections.abc import Sequence

BENCHES = {
    "ingest": "doudi.datapool.bench",
    "pool": "doudi.datapool.bench_pool",
    "linkage": "doudi.datapool.bench_linkage",
    "generate": "doudi.synth.cli",
    "policy": "doudi.policy.bench",
    "monitor": "doudi.monitoring.bench",
}


def main(argv: Sequence[str]) -> int:
    if not argv or argv[0] not in BENCHES:
        print("用法 / usage: doudi bench {" + "|".join(BENCHES) + "} [options]", file=sys.stderr)
        return 2
    import importlib

    return int(importlib.import_module(BENCHES[argv[0]]).main(list(argv[1:])) or 0)
