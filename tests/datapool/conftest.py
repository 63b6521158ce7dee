from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def pool_dir(settings, tmp_path):
    """Each test gets its own data dir, so the pool's files start empty."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return settings.DATA_DIR / "pool"


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n"


#: the mandated headers of medical_inpatient (医保住院结算)
INPATIENT_HEADER = [
    "身份证号",
    "姓名",
    "入院日期",
    "出院日期",
    "医疗总费用",
    "统筹支付",
    "个人自付",
    "医疗机构",
]
