"""Settings for the test suite: a throw-away data dir, a fixed field key, fast password hashing.
The database is still SQLite or, with ``DATABASE_URL``, PostgreSQL, exactly as in production."""

import os
import tempfile

os.environ.setdefault("DOUDI_DATA_DIR", tempfile.mkdtemp(prefix="doudi-test-"))
os.environ.setdefault("DOUDI_FIELD_KEY", "dGVzdC1rZXktZm9yLWRvdWRpLXRlc3RzLW9ubHktMzI=")

from doudi.config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
