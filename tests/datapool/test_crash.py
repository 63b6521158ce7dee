"""Kill a real `doudi ingest` process at several points, re-run it, and the store is exact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_id

pytestmark = pytest.mark.slow

DOUDI = [sys.executable, "-m", "doudi.config.cli"]
HEADER = "身份证号,姓名,入院日期,出院日期,医疗总费用,统筹支付,个人自付,医疗机构\n"


def env_for(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(
        DOUDI_DATA_DIR=str(data),
        DJANGO_SETTINGS_MODULE="doudi.config.settings",
        DOUDI_FIELD_KEY="dGVzdC1rZXktZm9yLWRvdWRpLXRlc3RzLW9ubHktMzI=",
    )
    return env


def big_file(path: Path, rows: int) -> None:
    lines = [HEADER]
    for i in range(rows):
        number = make_id("370611", f"19{50 + i % 40:02d}0{1 + i % 9}1{i % 9}", i % 997 + 1)
        lines.append(
            f"{number},测试{i % 1000},2025-{1 + i % 12:02d}-01,2025-{1 + i % 12:02d}-09,"
            f"{1000 + i % 5000},600,{400 + i % 300},医院{i % 50}\n"
        )
    path.write_text("".join(lines), encoding="utf-8")


def check(data: Path) -> dict:
    out = subprocess.run(
        [*DOUDI, "manage", "pool_check"],
        env=env_for(data),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def migrate(data: Path) -> None:
    subprocess.run([*DOUDI, "manage", "migrate", "-v0"], env=env_for(data), check=True)


def test_killed_ingest_then_rerun_gives_the_exact_store(tmp_path):
    source = tmp_path / "inpatient.csv"
    big_file(source, 150_000)
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    for d in (clean, crashed):
        d.mkdir()
        migrate(d)
    ingest = [
        *DOUDI,
        "ingest",
        "--interface",
        "medical_inpatient",
        "--no-probabilistic",
        str(source),
    ]
    subprocess.run(ingest, env=env_for(clean), check=True, capture_output=True)
    expected = check(clean)
    assert expected["interfaces"]["medical_inpatient"]["current"] > 100_000

    kills = 0
    for delay in (0.5, 1.5, 2.5, 3.5):
        proc = subprocess.Popen(
            ingest, env=env_for(crashed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        if proc.returncode == 0:
            break  # finished before the kill: the rest is the re-run
    assert kills >= 1, "the ingest finished before any kill: make the file bigger"
    subprocess.run(ingest, env=env_for(crashed), check=True, capture_output=True)
    got = check(crashed)
    assert got["interfaces"] == expected["interfaces"]
    subprocess.run(
        [*DOUDI, "manage", "pool_check", "--remove-orphans"],
        env=env_for(crashed),
        check=True,
        capture_output=True,
    )
    assert check(crashed)["orphans"] == 0
    assert check(crashed)["interfaces"] == expected["interfaces"]
