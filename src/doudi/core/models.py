"""Shared kernel models: administrative regions, users with a role and a jurisdiction, the audit log,
local overrides of the working-day calendar."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    CITY = "city", _("市")
    COUNTY = "county", _("区县")
    TOWN = "town", _("镇街")
    VILLAGE = "village", _("村居")


class ResidenceType(models.TextChoices):
    URBAN = "urban", _("城市")
    RURAL = "rural", _("农村")


class Region(models.Model):
    """One administrative division, identified by its statistical division code.

    Codes nest by prefix: city ``370600`` (its counties all start ``3706``), county ``370602``
    (6 digits), town/street ``370602001`` (9), village/community ``370602001001`` (12). Jurisdiction
    checks rely on that nesting (``scope_prefix``).
    """

    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.CharField(_("层级"), max_length=16, choices=RegionLevel.choices, db_index=True)
    kind = models.CharField(
        _("类型"),
        max_length=16,
        blank=True,
        help_text="street/town/township/zone/community/village",
    )
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    residence_type = models.CharField(
        _("城乡"), max_length=8, choices=ResidenceType.choices, blank=True
    )
    full_name = models.CharField(_("全称"), max_length=200, blank=True)
    source = models.CharField(_("来源"), max_length=32, default="official")

    class Meta:
        ordering = ["code"]
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")

    def __str__(self) -> str:
        return self.name

    @property
    def scope_prefix(self) -> str:
        """The code prefix shared by this region and everything below it."""
        if self.level == RegionLevel.PROVINCE:
            return self.code[:2]
        if self.level == RegionLevel.CITY:
            return self.code[:4]
        return self.code


class Role(models.TextChoices):
    CITY_ADMIN = "city_admin", _("市级管理员")
    CITY_ANALYST = "city_analyst", _("市级分析员")
    COUNTY_APPROVER = "county_approver", _("区县审核员")
    TOWN_CLERK = "town_clerk", _("镇街窗口受理员")
    VILLAGE_WORKER = "village_worker", _("村居网格员")
    CARETAKER = "caretaker", _("照护人")
    DEPARTMENT_API = "department_api", _("部门接口用户")


class User(AbstractUser):
    """A person (or another department's system) using doudi, with one role in one region."""

    full_name = models.CharField(_("姓名"), max_length=64, blank=True)
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="users",
        verbose_name=_("所属区划"),
        null=True,
    )
    department = models.CharField(_("单位"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.username


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("审计日志只能追加 / the audit log is append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("审计日志只能追加 / the audit log is append-only")


class AuditEvent(models.Model):
    """One entry in the append-only audit log: who did what to which subject, old and new values.

    Rows are never updated or deleted: the model refuses it, and on PostgreSQL a trigger refuses it
    in the database too (migration ``0003_audit_append_only``).
    """

    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_label = models.CharField(_("操作人"), max_length=150, blank=True)
    actor_role = models.CharField(_("角色"), max_length=32, blank=True)
    event = models.CharField(_("事件"), max_length=64, db_index=True)
    subject_type = models.CharField(_("对象类型"), max_length=32, db_index=True, blank=True)
    subject_id = models.CharField(_("对象"), max_length=64, db_index=True, blank=True)
    subject_label = models.CharField(_("对象名称"), max_length=200, blank=True)
    region_code = models.CharField(_("对象区划"), max_length=12, blank=True, db_index=True)
    old = models.JSONField(_("原值"), null=True, blank=True)
    new = models.JSONField(_("新值"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("IP"), null=True, blank=True)
    path = models.CharField(_("请求"), max_length=300, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("审计日志")
        verbose_name_plural = _("审计日志")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.event} {self.subject_label}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("审计日志只能追加 / the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError("审计日志只能追加 / the audit log is append-only")


class ApiToken(models.Model):
    """A bearer token for the API. Only its SHA-256 is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=64)
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(_("前缀"), max_length=8)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.user} {self.prefix}…"


class WorkdayOverride(models.Model):
    """A local decision that one date is worked or not, winning over the State Council schedule.

    Used for a local adjustment (e.g. 烟台市地方性调休) or to enter next year's schedule before the
    ``chinesecalendar`` package knows it; a date with an override counts as known (not estimated).
    Changed only through ``workdays.workday_override_set / workday_override_delete``, which audit.
    ``created_by`` and ``created_at`` say who set the current value and when.
    """

    date = models.DateField(_("日期"), unique=True)
    is_working_day = models.BooleanField(_("是否上班"))
    reason = models.CharField(_("原因"), max_length=200)
    created_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("设置人"),
    )
    created_at = models.DateTimeField(_("设置时间"), auto_now_add=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("工作日调整")
        verbose_name_plural = _("工作日调整")

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {'上班' if self.is_working_day else '休息'}"


def _workday_override_changed(**kwargs: Any) -> None:
    """Drop the cached working-day calendar of this process when an override changes."""
    from doudi.core import workdays

    workdays.invalidate()


post_save.connect(
    _workday_override_changed, sender=WorkdayOverride, dispatch_uid="workday_override_saved"
)
post_delete.connect(
    _workday_override_changed, sender=WorkdayOverride, dispatch_uid="workday_override_deleted"
)
