"""The registry part of the API (django-ninja, OpenAPI at /api/v1/docs). Reads go through the same
jurisdiction-scoped selectors as the pages; ID numbers are always masked here."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from doudi.registry import selectors

router = Router(tags=["registry"])


class PersonOut(Schema):
    id: int
    name: str
    id_number_masked: str
    sex: str
    birth_date: dt.date
    status: str
    residence_region: str
    hukou_region: str

    @staticmethod
    def resolve_id_number_masked(obj) -> str:  # type: ignore[no-untyped-def]
        return obj.masked_id

    @staticmethod
    def resolve_residence_region(obj) -> str:  # type: ignore[no-untyped-def]
        return obj.residence_region_id

    @staticmethod
    def resolve_hukou_region(obj) -> str:  # type: ignore[no-untyped-def]
        return obj.hukou_region_id


class MemberOut(Schema):
    person_id: int
    name: str
    relation: str
    id_number_masked: str


class HouseholdOut(Schema):
    id: int
    number: str
    region: str
    hukou_region: str
    residence_type: str
    status: str
    members: list[MemberOut]


@router.get("/persons", response=list[PersonOut], summary="查询人员 / search persons")
@paginate(LimitOffsetPagination)
def persons(request: HttpRequest, q: str = "", region: str = ""):  # type: ignore[no-untyped-def]
    outcome = selectors.person_search(user=request.auth, query=q, region_code=region)
    return outcome.persons


@router.get("/persons/{person_id}", response=PersonOut, summary="人员详情 / a person")
def person(request: HttpRequest, person_id: int):  # type: ignore[no-untyped-def]
    found = selectors.person_get_for_user(user=request.auth, person_id=person_id)
    selectors.person_view_record(user=request.auth, person=found)
    return found


@router.get("/households/{household_id}", response=HouseholdOut, summary="家庭详情 / a household")
def household(request: HttpRequest, household_id: int):  # type: ignore[no-untyped-def]
    found = selectors.household_get_for_user(user=request.auth, household_id=household_id)
    selectors.household_view_record(user=request.auth, household=found)
    members = [
        MemberOut(
            person_id=m.person_id,
            name=m.person.name,
            relation=m.relation,
            id_number_masked=m.person.masked_id,
        )
        for m in selectors.household_members(household=found)
    ]
    return HouseholdOut(
        id=found.pk,
        number=found.number,
        region=found.region_id,
        hukou_region=found.hukou_region_id,
        residence_type=found.residence_type,
        status=found.status,
        members=members,
    )
