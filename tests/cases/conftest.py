"""Fixtures for the one-window cases: a data dir per test, a household with a signed
authorisation, and helpers that accept applications and drive cases to a state."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

PDF = b"%PDF-1.4\n% a scanned document\n%%EOF\n"
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
ACCEPTED_ON = dt.date(2025, 6, 2)  # a Monday


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """Each test gets its own data dir (pool, sweeps) and media dir (scans, photos)."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.DATA_DIR


def pdf(name: str = "scan.pdf", extra: bytes = b"") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF + extra, content_type="application/pdf")


def jpg(name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, JPG, content_type="image/jpeg")


@pytest.fixture
def household(town_households):
    """曾小明 and 李秀英 in 清洋社区 (福山区清洋街道), declared poor (300 + 200 a month)."""
    from doudi.policy.services import income_declare
    from doudi.registry.selectors import household_members

    qy = town_households["qy"]
    for m, amount in zip(household_members(household=qy), (300, 200), strict=True):
        income_declare(
            actor=None,
            person_id=m.person_id,
            monthly_income=Decimal(amount),
            declared_on=dt.date(2025, 1, 10),
        )
    return qy


@pytest.fixture
def authorised(users, household):
    """The household's signed authorisation (signed before every date the tests use)."""
    from doudi.policy.verification import authorisation_record

    authorisation_record(
        actor=users["clerk"],
        household=household,
        signed_by="曾小明、李秀英",
        signed_on=dt.date(2025, 1, 10),
        scan=pdf("授权书.pdf"),
    )
    return household


def head(household):
    from doudi.registry.selectors import household_members

    return household_members(household=household).get(relation="head").person


@pytest.fixture
def accept(users, authorised):
    """Accept an application (default: 低保 with the income proof missing, 容缺)."""
    from doudi.cases import services

    def _accept(
        items=("dibao",),
        *,
        on=ACCEPTED_ON,
        received=("application_form", "identity"),
        actor=None,
        household=None,
        **kw,
    ):
        hh = household or authorised
        persons = kw.pop("persons", None)
        if persons is None:
            persons = {i: head(hh).pk for i in items}
        return services.application_accept(
            actor=actor or users["clerk"],
            household=hh,
            items=list(items),
            persons=persons,
            applicant=kw.pop("applicant", services.Applicant(kind="self", person_id=head(hh).pk)),
            received=received,
            on=on,
            **kw,
        )

    return _accept
