"""Setting up Django for the console command, and the checks that turn a misconfigured installation
into a clear message instead of a stack trace."""

from __future__ import annotations

import os
import sys


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "doudi.config.settings")
    import django

    django.setup()


def unapplied_migrations() -> list[str]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _ in plan]


def require_ready(*, need_key: bool = True) -> bool:
    """Print what is wrong and what to do, and return False, when the database is unreachable or
    not migrated, or the encryption key is missing."""
    from django.db import OperationalError

    from doudi.core import crypto

    try:
        pending = unapplied_migrations()
    except OperationalError as exc:
        print(
            f"无法连接数据库 / cannot connect to the database: {exc}\n"
            "请检查 DATABASE_URL / check DATABASE_URL.",
            file=sys.stderr,
        )
        return False
    if pending:
        print(
            f"数据库尚未初始化或需要升级（{len(pending)} 个迁移未执行）。请运行："
            "doudi manage migrate\n/ The database is not migrated "
            f"({len(pending)} pending migrations): run `doudi manage migrate`.",
            file=sys.stderr,
        )
        return False
    if need_key and not crypto.keys_available():
        print(str(crypto.FieldKeyMissing()), file=sys.stderr)
        return False
    return True
