"""The menu and the top bar: only what the user's role may use."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from doudi.benefits.services import can_view_rolls as benefits_can_view_rolls
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
    benefit_items = []
    if user.role in access.REGION_SCOPED:
        benefit_items.append({"label": _("待遇台账"), "url": reverse("benefits:list")})
    if benefits_can_view_rolls(user):
        benefit_items.append({"label": _("发放名册"), "url": reverse("benefits:rolls")})
    if benefit_items:
        groups.append({"title": _("待遇发放"), "items": benefit_items})
    monitor_items = []
    if user.role in {"city_admin", "county_approver", "town_clerk", "village_worker"}:
        monitor_items.append(
            {"label": _("预警处置"), "url": reverse("monitoring:queue"), "key": "alerts"}
        )
    if user.role in {"town_clerk", "village_worker"}:
        monitor_items.append({"label": _("待走访"), "url": reverse("monitoring:field")})
    if user.role in {"city_admin", "city_analyst", "county_approver"}:
        monitor_items.append({"label": _("处置情况"), "url": reverse("monitoring:overview")})
        monitor_items.append({"label": _("主动服务"), "url": reverse("monitoring:proactive")})
    if user.role in access.REGION_SCOPED:
        monitor_items.append({"label": _("预警规则"), "url": reverse("monitoring:rules")})
        monitor_items.append({"label": _("监测运行"), "url": reverse("monitoring:runs")})
    if monitor_items:
        groups.append({"title": _("监测预警"), "items": monitor_items})
    case_items = []
    if user.role in access.REGION_SCOPED:
        case_items.append({"label": _("待办"), "url": reverse("cases:queue"), "key": "cases"})
    if user.role in {"city_admin", "town_clerk", "village_worker"}:
        case_items.append({"label": _("受理新申请"), "url": reverse("cases:intake")})
    if user.role in access.REGION_SCOPED:
        case_items.append({"label": _("公示名单"), "url": reverse("cases:notices")})
    if user.role in {"city_admin", "city_analyst", "county_approver", "town_clerk"}:
        case_items.append({"label": _("定期复核"), "url": reverse("cases:reviews")})
    if user.role in access.REGION_SCOPED:
        case_items.append({"label": _("办理时效"), "url": reverse("cases:dashboard")})
        case_items.append({"label": _("救助事项"), "url": reverse("cases:items")})
    if case_items:
        groups.append({"title": _("一门受理"), "items": case_items})
    admin_items = []
    if access.can_view_audit(user):
        admin_items.append({"label": _("审计日志"), "url": reverse("core:audit"), "key": "audit"})
    if access.can_manage_users_role(user):
        admin_items.append({"label": _("用户与角色"), "url": reverse("core:users"), "key": "users"})
    if user.role in {"city_admin", "city_analyst", "county_approver", "town_clerk"}:
        admin_items.append(
            {"label": _("工作日历"), "url": reverse("core:workdays"), "key": "workdays"}
        )
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
