"""The demo history: cases of the items across the registry, consistent with the rules
(no decided case with a missing document), idempotent."""

from __future__ import annotations

import datetime as dt

import pytest

from doudi.cases import demo, selectors
from doudi.cases.models import Case, Document
from doudi.cases.workflow import DECIDED_STATES

pytestmark = pytest.mark.django_db


def test_demo_seed(users, town_households, register):
    from tests.conftest import make_id

    for i in range(30):
        register(
            "370611001001" if i % 2 else "370611002001",
            [
                (make_id("370611", f"19{40 + i:02d}0101", 100 + i * 2 + 1), f"测试{i}", "head"),
                (make_id("370611", "20120303", 300 + i * 2), f"孩子{i}", "child"),
            ],
        )
    today = dt.date.today()
    out = demo.seed(today=today, progress=lambda s: None)
    assert out["cases"] >= 12 and out["applications"] >= 12
    assert Case.objects.values("item").distinct().count() >= 6
    for case in Case.objects.filter(state__in=DECIDED_STATES):
        missing = Document.objects.filter(application=case.application, status="missing")
        assert all(case.item not in d.items for d in missing), case
        assert case.decided_on <= today and case.cycle_days is not None
    data = selectors.cycle_times(since=today - dt.timedelta(days=400))
    assert data["total"] > 0 and data["items"]
    assert demo.seed(today=today, progress=lambda s: None) == {"skipped": True}
