"""The menu and the top bar: only what the user's role may use."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from doudi.core import access
from doudi.datapool.services import can_ingest as pool_can_ingest
from doudi.policy.services import can_sweep as policy_can_sweep


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    groups: list[dict[str, Any]] = []
    registry_items = []
    if access.can_search_persons(user):
        registry_items.append(
            {"label": _("人员查询"), "url": reverse("registry:search"), "key": "search"}
        )
    if access.can_register(user):
        registry_items.append(
            {
                "label": _("家庭登记"),
                "url": reverse("registry:household_new"),
                "key": "household_new",
            }
        )
    if registry_items:
        groups.append({"title": _("人员与家庭"), "items": registry_items})
    pool_items = []
    if user.role in access.REGION_SCOPED or user.role == "department_api":
        pool_items.append({"label": _("接口目录"), "url": reverse("datapool:catalog")})
    if pool_can_ingest(user):
        pool_items.append({"label": _("上传数据"), "url": reverse("datapool:upload")})
    if user.role in access.REGION_SCOPED:
        pool_items.append({"label": _("待确认匹配"), "url": reverse("datapool:review")})
    if user.role in {"town_clerk", "village_worker"}:
        pool_items.append({"label": _("数据返还"), "url": reverse("datapool:returned")})
    if user.role in {"city_admin", "city_analyst", "county_approver"}:
        pool_items.append({"label": _("返还共享率"), "url": reverse("datapool:share")})
    if pool_items:
        groups.append({"title": _("数据池"), "items": pool_items})
    policy_items = []
    if user.role in access.REGION_SCOPED:
        policy_items.append({"label": _("全市认定"), "url": reverse("policy:sweeps")})
        policy_items.append({"label": _("政策参数"), "url": reverse("policy:parameters")})
    if policy_can_sweep(user):
        policy_items.append({"label": _("政策模拟"), "url": reverse("policy:whatif")})
    if policy_items:
        groups.append({"title": _("核对与认定"), "items": policy_items})
    admin_items = []
    if access.can_view_audit(user):
        admin_items.append({"label": _("审计日志"), "url": reverse("core:audit"), "key": "audit"})
    if access.can_manage_users_role(user):
        admin_items.append({"label": _("用户与角色"), "url": reverse("core:users"), "key": "users"})
    if admin_items:
        groups.append({"title": _("系统管理"), "items": admin_items})
    region = user.region
    chain = []
    while region is not None and region.level not in {"province"}:
        chain.append(region.name)
        region = region.parent
    return {
        "nav_groups": groups,
        "jurisdiction_label": " · ".join(reversed(chain)),
        "role_label": user.get_role_display() if user.role else "",
    }
