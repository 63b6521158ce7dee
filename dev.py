#!/usr/bin/env python3
"""The two commands of the README, on a machine that has only Python >= 3.11 and pip.

    python3 dev.py demo [--persons N] [--no-serve] ...   build the demo city and serve it
    python3 dev.py test [pytest args]                     run the test suite

Each creates ``.venv`` (or ``$DOUDI_VENV``) if needed and installs exactly the locked dependencies
(``uv.lock``) with uv, itself installed from PyPI into that venv; then runs the command inside it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("DOUDI_VENV", ROOT / ".venv")).resolve()
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")


def run(cmd: list[str], **kw: object) -> None:
    subprocess.run(cmd, check=True, **kw)  # type: ignore[call-overload]


def ensure_env(extra: str | None) -> None:
    if sys.version_info < (3, 11):
        sys.exit("doudi 需要 Python 3.11 或更高版本 / doudi needs Python >= 3.11")
    if not PY.exists():
        print(f"创建虚拟环境 / creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    # DOUDI_EXTRAS adds optional extras (CI: "spark" for the Spark engine's tests)
    extras = [e for e in [extra, *os.environ.get("DOUDI_EXTRAS", "").split(",")] if e]
    lock = (ROOT / "uv.lock").read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    stamp = VENV / f".doudi-installed-{'-'.join(extras) or 'base'}"
    digest = hashlib.sha256(lock).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("安装依赖 / installing dependencies …", flush=True)
    if not (BIN / "uv").exists():
        run([str(PY), "-m", "pip", "install", "-q", "--disable-pip-version-check", "uv"])
    env = dict(os.environ, UV_PROJECT_ENVIRONMENT=str(VENV), VIRTUAL_ENV=str(VENV))
    cmd = [str(BIN / "uv"), "sync", "--frozen", "--inexact", "--python", str(PY)]
    for e in extras:
        cmd += ["--extra", e]
    run(cmd, cwd=ROOT, env=env)
    stamp.write_text(digest)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test"}:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    os.chdir(ROOT)
    if command == "demo":
        ensure_env(None)
        return subprocess.call([str(BIN / "doudi"), "demo", *rest])
    ensure_env("test")
    code = subprocess.call([str(PY), "-m", "pytest", *rest])
    if code == 5:
        print("pytest 没有收集到任何测试 / pytest collected no tests: failing", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
