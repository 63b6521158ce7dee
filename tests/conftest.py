"""Shared fixtures: users of every role, villages, households registered through the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from doudi.core import idcard

CHECK = idcard.check_char


def make_id(region6: str, birth: str, seq: int) -> str:
    """A valid 18-digit ID number for tests (seq odd = male)."""
    first17 = f"{region6}{birth}{seq:03d}"
    return first17 + CHECK(first17)


@pytest.fixture
def villages(db):
    """Two villages in 福山区清洋街道, one in 福新街道, one in 芝罘区向阳街道."""
    from doudi.core.models import Region
    from doudi.core.regions import load_official, villages_import

    if Region.objects.filter(level="town").count() != 159:  # flushed by a transactional test
        load_official(Region)

    rows = [
        {"code": "370611001001", "name": "清洋社区"},
        {"code": "370611001201", "name": "王家庄村"},
        {"code": "370611002001", "name": "福新社区"},
        {"code": "370602001001", "name": "向阳社区"},
    ]
    villages_import(rows, source="test")

    return {r.code: r for r in Region.objects.filter(code__in=[x["code"] for x in rows])}


@pytest.fixture
def make_user(db, villages) -> Callable[..., object]:
    from doudi.core.models import User

    def _make(username: str, role: str, region: str | None, **extra: object) -> User:
        user = User.objects.create_user(
            username=username, password="pw-doudi-test", role=role, region_id=region, **extra
        )
        return user

    return _make


@pytest.fixture
def users(make_user):
    return {
        "admin": make_user("admin", "city_admin", "370600"),
        "analyst": make_user("analyst", "city_analyst", "370600"),
        "county": make_user("county", "county_approver", "370611"),
        "other_county": make_user("zhifu", "county_approver", "370602"),
        "clerk": make_user("clerk", "town_clerk", "370611001"),
        "clerk2": make_user("clerk2", "town_clerk", "370611002"),
        "village": make_user("village", "village_worker", "370611001001"),
        "carer": make_user("carer", "caretaker", "370611001001"),
        "api": make_user("api", "department_api", "370600"),
    }


@pytest.fixture
def register(db, villages):
    """Register a household through the real service; returns the Household."""
    from doudi.registry.services import MemberInput, household_register

    def _register(region: str, members: list[tuple[str, str, str]], **kw: object):
        return household_register(
            actor=None,
            region_code=region,
            members=[MemberInput(id_number=i, name=n, relation=r) for i, n, r in members],
            date=dt.date(2025, 1, 2),
            **kw,
        )

    return _register


@pytest.fixture
def town_households(register):
    """One household in each of: 清洋街道 (two villages), 福新街道, 芝罘区向阳街道."""
    return {
        "qy": register(
            "370611001001",
            [
                (make_id("370611", "19500101", 11), "曾小明", "head"),
                (make_id("370611", "19520304", 22), "李秀英", "spouse"),
            ],
        ),
        "qy_village": register(
            "370611001201", [(make_id("370611", "19800505", 31), "王强", "head")]
        ),
        "fx": register("370611002001", [(make_id("370611", "19700707", 41), "张伟", "head")]),
        "zf": register("370602001001", [(make_id("370602", "19900909", 51), "单丽", "head")]),
    }
