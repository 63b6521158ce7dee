from __future__ import annotations

import pytest

from doudi.core.models import AuditEvent
from doudi.core.tokens import api_token_issue, api_token_revoke
from doudi.registry.models import Person

pytestmark = pytest.mark.django_db


def bearer(client, user):
    token = api_token_issue(actor=None, user=user, name="test")

    def get(url, **params):
        return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {token}")

    return get, token


def test_unauthenticated_is_401(client):
    response = client.get("/api/v1/registry/persons")
    assert response.status_code == 401


def test_bad_token_is_401(client):
    response = client.get("/api/v1/registry/persons", HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401


def test_clerk_search_is_scoped_and_masked(client, users, town_households):
    get, _ = bearer(client, users["clerk"])
    body = get("/api/v1/registry/persons", region="3706").json()
    assert sorted(p["name"] for p in body["items"]) == sorted(["曾小明", "李秀英", "王强"])
    assert all("********" in p["id_number_masked"] for p in body["items"])
    assert body["count"] == 3


def test_clerk_cannot_get_other_towns_person_by_api(client, users, town_households):
    get, _ = bearer(client, users["clerk"])
    other = Person.objects.get(name="单丽")
    assert get(f"/api/v1/registry/persons/{other.pk}").status_code == 404
    assert get(f"/api/v1/registry/households/{town_households['zf'].pk}").status_code == 404
    mine = Person.objects.get(name="曾小明")
    assert get(f"/api/v1/registry/persons/{mine.pk}").json()["name"] == "曾小明"
    assert AuditEvent.objects.filter(event="person.view", subject_id=str(mine.pk)).count() == 1


def test_department_client_sees_no_person(client, users, town_households):
    get, _ = bearer(client, users["api"])
    assert get("/api/v1/registry/persons", region="3706").json()["count"] == 0


def test_household_members(client, users, town_households):
    get, _ = bearer(client, users["village"])
    body = get(f"/api/v1/registry/households/{town_households['qy'].pk}").json()
    assert {m["relation"] for m in body["members"]} == {"head", "spouse"}


def test_revoked_token_stops_working(client, users, town_households):
    get, token = bearer(client, users["clerk"])
    api_token_revoke(actor=None, token_prefix=token[:8], user=users["clerk"])
    assert get("/api/v1/registry/persons").status_code == 401


def test_openapi_schema_is_served(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
