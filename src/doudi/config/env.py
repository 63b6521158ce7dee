"""The one place that reads the environment.

Variables (all optional for the demo):

- ``DOUDI_DATA_DIR``: where the embedded database, the data pool and uploads live (default ``./data``).
- ``DATABASE_URL``: ``postgres://user@host:5432/db`` for PostgreSQL; SQLite under the data dir if unset.
- ``DOUDI_SECRET_KEY``: Django's secret key; generated once into the data dir if unset.
- ``DOUDI_FIELD_KEY``: the key that encrypts ID numbers at rest (see ``doudi.core.crypto``).
- ``DOUDI_DEBUG``, ``DOUDI_ALLOWED_HOSTS``, ``DOUDI_CSRF_TRUSTED_ORIGINS``, ``DOUDI_TIME_ZONE``,
  ``DOUDI_SESSION_SECONDS``, ``DOUDI_SECURE_COOKIES``, ``DOUDI_LOG_LEVEL``, ``DOUDI_CITY_CODE``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any


def text(name: str, *, default: str) -> str:
    return os.environ.get(name, default)


def flag(name: str, *, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def integer(name: str, *, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def list_of(name: str, *, default: list[str]) -> list[str]:
    value = os.environ.get(name, "")
    return [v.strip() for v in value.split(",") if v.strip()] if value.strip() else default


def data_dir() -> Path:
    path = Path(os.environ.get("DOUDI_DATA_DIR", "data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def secret_key(data: Path) -> str:
    """Django's signing key: from the environment, else generated once and kept in the data dir."""
    key = os.environ.get("DOUDI_SECRET_KEY", "")
    if key:
        return key
    path = data / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEMO_KEY_FILE = "demo_field_key"


def field_key(data: Path) -> str:
    """``DOUDI_FIELD_KEY``; failing that, the demo key that ``doudi demo`` wrote into the data dir.

    A demo key sits beside the database it protects, so it protects nothing: production sets
    ``DOUDI_FIELD_KEY`` from a secret store and has no such file.
    """
    key = os.environ.get("DOUDI_FIELD_KEY", "").strip()
    if key:
        return key
    path = data / DEMO_KEY_FILE
    return path.read_text().strip() if path.exists() else ""


def database(data: Path) -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        import dj_database_url

        config = dict(dj_database_url.parse(url, conn_max_age=60))
        return config
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": data / "doudi.sqlite3",
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
