"""The ``doudi`` console command.

Subcommands that need no database (``idcard``, ``generate``) run without setting up Django, so they
start fast and work before anything is installed or migrated. The others set up Django first.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

# subcommand -> (module, function, help). The function takes the remaining argv.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("doudi.config.demo", "main", "build the demo city and serve it on 127.0.0.1:8000"),
    "serve": ("doudi.config.serve", "main", "serve the web application"),
    "worker": ("doudi.config.serve", "worker_main", "run the background task worker"),
    "generate": ("doudi.synth.cli", "main", "generate a synthetic city (Parquet files)"),
    "load": ("doudi.config.demo", "load_main", "load a generated synthetic city into the registry"),
    "idcard": ("doudi.core.idcard_cli", "main", "validate resident ID numbers, one JSON per line"),
    "ingest": ("doudi.datapool.cli", "main", "ingest department files into the data pool"),
    "assess": ("doudi.policy.cli", "assess_main", "classify households described in JSON"),
    "sweep": ("doudi.policy.cli", "sweep_main", "classify every household of the registry"),
    "simulate": ("doudi.policy.cli", "simulate_main", "what-if: compare a policy change"),
    "monitor": ("doudi.monitoring.cli", "main", "run the warning rules over the data pool"),
    "bench": ("doudi.config.bench", "main", "run a benchmark (ingest, linkage, generate)"),
    "manage": ("doudi.config.serve", "manage_main", "run a Django management command"),
}


def _resolve(name: str) -> Callable[[Sequence[str]], int]:
    import importlib

    module, func, _ = _COMMANDS[name]
    return getattr(importlib.import_module(module), func)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="doudi",
        description="兜底 doudi — 分层分类社会救助平台 / tiered, classified social assistance",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, _, help_text) in _COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    if not argv or argv[0] in {"-h", "--help"}:
        parser.print_help()
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in _COMMANDS:
        parser.print_usage(sys.stderr)
        print(f"doudi: 未知命令 / unknown command: {name}", file=sys.stderr)
        return 2
    return int(_resolve(name)(rest) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
