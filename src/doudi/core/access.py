"""Who may do what, and over which part of the city.

Every user has one role and one region. The region is the user's jurisdiction: a town clerk sees the
people of their town, a county approver their county, city staff the whole city. Caretakers see only
the persons assigned to them; department API clients see no person through pages (what they may
pull is governed by data-sharing agreements). The registry's selectors call these functions; views
never filter personal data themselves.
"""

from __future__ import annotations

from doudi.core.models import Role, User

#: roles whose jurisdiction is their region (and everything below it)
REGION_SCOPED = frozenset(
    {Role.CITY_ADMIN, Role.CITY_ANALYST, Role.COUNTY_APPROVER, Role.TOWN_CLERK, Role.VILLAGE_WORKER}
)
CAN_REVEAL_ID = frozenset(
    {Role.CITY_ADMIN, Role.COUNTY_APPROVER, Role.TOWN_CLERK, Role.VILLAGE_WORKER}
)
CAN_EXPORT_PERSONS = frozenset(
    {Role.CITY_ADMIN, Role.CITY_ANALYST, Role.COUNTY_APPROVER, Role.TOWN_CLERK}
)
CAN_REGISTER = frozenset({Role.CITY_ADMIN, Role.COUNTY_APPROVER, Role.TOWN_CLERK})
CAN_VIEW_AUDIT = frozenset({Role.CITY_ADMIN})
CAN_MANAGE_USERS = frozenset({Role.CITY_ADMIN})


def jurisdiction_prefix(user: User) -> str | None:
    """Region-code prefix of everything the user may see, or None when they see no region.

    Caretakers and department API clients have no regional jurisdiction (None); so has an
    unauthenticated user, or a user whose region is not set.
    """
    if not user.is_authenticated or not user.is_active:
        return None
    if user.role not in REGION_SCOPED or user.region_id is None:
        return None
    return user.region.scope_prefix


def region_in_jurisdiction(user: User, region_code: str) -> bool:
    prefix = jurisdiction_prefix(user)
    return prefix is not None and region_code.startswith(prefix)


def _has(user: User, roles: frozenset[str]) -> bool:
    return bool(user.is_authenticated and user.is_active and user.role in roles)


def can_reveal_id(user: User) -> bool:
    return _has(user, CAN_REVEAL_ID)


def can_export_persons(user: User) -> bool:
    return _has(user, CAN_EXPORT_PERSONS)


def can_register(user: User) -> bool:
    return _has(user, CAN_REGISTER)


def can_view_audit(user: User) -> bool:
    return _has(user, CAN_VIEW_AUDIT)


def can_search_persons(user: User) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.role in REGION_SCOPED or user.role == Role.CARETAKER)
    )


def can_manage_users_role(user: User) -> bool:
    return _has(user, CAN_MANAGE_USERS)
