"""Access getters: a test per branch of the jurisdiction."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from doudi.cases import services
from doudi.cases.selectors import (
    application_get_for_user,
    applications_visible_to,
    case_get_for_user,
)

pytestmark = pytest.mark.django_db

DOCS = ("application_form", "identity", "authorisation", "income_proof")


@pytest.fixture
def cases(town_households):
    out = {}
    for key, hh in town_households.items():
        application = services.application_accept(
            actor=None,
            household=hh,
            items=["dibao"],
            received=DOCS,
            applicant=services.Applicant(kind="agent", agent_name="某某", agent_relation="女儿"),
        )
        out[key] = application.cases.get()
    return out


@pytest.mark.parametrize(
    ("user", "visible"),
    [
        ("admin", {"qy", "qy_village", "fx", "zf"}),
        ("analyst", {"qy", "qy_village", "fx", "zf"}),
        ("county", {"qy", "qy_village", "fx"}),
        ("other_county", {"zf"}),
        ("clerk", {"qy", "qy_village"}),
        ("clerk2", {"fx"}),
        ("village", {"qy"}),
        ("carer", set()),
        ("api", set()),
    ],
)
def test_case_get_for_user(users, cases, user, visible):
    u = users[user]
    for key, case in cases.items():
        if key in visible:
            assert case_get_for_user(user=u, case_id=case.pk) == case
            assert application_get_for_user(user=u, application_id=case.application_id)
        else:
            with pytest.raises(Http404):
                case_get_for_user(user=u, case_id=case.pk)
            with pytest.raises(Http404):
                application_get_for_user(user=u, application_id=case.application_id)


def test_inactive_anonymous_and_regionless_users_see_nothing(users, cases, make_user):
    inactive = users["clerk"]
    inactive.is_active = False
    inactive.save()
    nobody = make_user("nobody", "town_clerk", None)
    for u in (inactive, AnonymousUser(), nobody):
        assert not applications_visible_to(u).exists()
        with pytest.raises(Http404):
            case_get_for_user(user=u, case_id=cases["qy"].pk)


def test_missing_case_is_404(users):
    with pytest.raises(Http404):
        case_get_for_user(user=users["admin"], case_id=999_999)


def test_services_check_jurisdiction(users, cases):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):  # another town's clerk
        services.case_withdraw(actor=users["clerk2"], case=cases["qy"], reason="x")
    with pytest.raises(PermissionDenied):  # a role that does no town steps
        services.case_withdraw(actor=users["analyst"], case=cases["qy"], reason="x")
