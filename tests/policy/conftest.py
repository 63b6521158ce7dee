from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest


@pytest.fixture(autouse=True)
def pool_dir(settings, tmp_path):
    """Each test gets its own data dir, so the pool and sweep files start empty."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return settings.DATA_DIR / "pool"


@pytest.fixture
def declared(town_households):
    """Declared incomes: the 清洋 elderly couple are poor (300 + 200 a month), the others not."""
    from doudi.policy.services import income_declare
    from doudi.registry.selectors import household_members

    amounts = {"qy": [300, 200], "qy_village": [6000], "fx": [900], "zf": [8000]}
    for key, household in town_households.items():
        for m, amount in zip(household_members(household=household), amounts[key], strict=True):
            income_declare(
                actor=None,
                person_id=m.person_id,
                monthly_income=Decimal(amount),
                declared_on=dt.date(2025, 6, 1),
            )
    return town_households
