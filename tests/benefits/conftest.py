"""Fixtures for the benefits tests: the four registered households of ``tests/conftest.py``, a
data dir of its own per test (the demo reads the pool), and month helpers."""

from __future__ import annotations

import datetime as dt

import pytest


@pytest.fixture(autouse=True)
def pool_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    return settings.DATA_DIR / "pool"


def M(year: int, month: int) -> dt.date:
    """The month ``year-month`` as the benefits app writes months (a date on the 1st)."""
    return dt.date(year, month, 1)


@pytest.fixture
def hh(town_households):
    """qy: 曾小明 (head) + 李秀英 in 福山区清洋街道; qy_village: 王强; fx: 张伟 (福新街道);
    zf: 单丽 (芝罘区)."""
    return town_households


@pytest.fixture
def member():
    """The current member of a household by name."""
    from doudi.registry.models import Person

    return lambda name: Person.objects.get(name=name)
