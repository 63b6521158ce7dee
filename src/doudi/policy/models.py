"""Policy records: reviewed parameter changes, income declarations, authorisations, verifications,
sweeps and each household's classification timeline."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ParameterChange(models.Model):
    """A new dated value for a policy parameter, proposed by one person and approved by another.

    Approved changes are added to the parameter files' values (never replacing one): history is
    not edited. State machine::

        proposed --approve (another user)--> approved
        proposed --reject--> rejected
    """

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("待审核")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已驳回")

    name = models.CharField(_("参数"), max_length=80, db_index=True)
    scope = models.CharField(_("适用范围"), max_length=8, default="city")
    effective_from = models.DateField(_("生效日期"))
    value = models.DecimalField(_("取值"), max_digits=14, decimal_places=4)
    reference = models.CharField(_("政策依据"), max_length=300)
    reason = models.TextField(_("调整理由"), blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.PROPOSED
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(_("提出时间"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    decision_note = models.TextField(_("审核意见"), blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        verbose_name = _("参数调整")

    def __str__(self) -> str:
        return f"{self.name} {self.scope} {self.effective_from}: {self.value} ({self.status})"


class IncomeDeclaration(models.Model):
    """What a person declared as monthly income at application or review (家庭收入申报).

    The sweep counts the part of it that no department's data evidences on top of the pool's
    figures, never twice.
    """

    person = models.ForeignKey("registry.Person", on_delete=models.CASCADE, related_name="+")
    monthly_income = models.DecimalField(_("申报月收入"), max_digits=12, decimal_places=2)
    declared_on = models.DateField(_("申报日期"))
    source = models.CharField(_("来源"), max_length=32, default="application")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["person", "-declared_on"])]

    def __str__(self) -> str:
        return f"{self.person_id} {self.declared_on}: {self.monthly_income}"


class Authorisation(models.Model):
    """The household's signed authorisation to query its economic situation (核对授权书)."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    signed_by = models.CharField(_("签署人"), max_length=200)
    signed_on = models.DateField(_("签署日期"))
    scan = models.FileField(_("授权书扫描件"), upload_to="authorisations/%Y/%m/")
    scan_sha256 = models.CharField(max_length=64)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-signed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.household_id} {self.signed_by} {self.signed_on}"


class Verification(models.Model):
    """One household verification (核对) as of a date: what the pool held, and the outcome."""

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    authorisation = models.ForeignKey(Authorisation, on_delete=models.PROTECT, related_name="+")
    as_of = models.DateField(_("核对基准日"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    findings = models.JSONField(_("核对结果"))
    assessment = models.JSONField(_("认定结果"))
    policy_version = models.CharField(max_length=80)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.household_id} {self.as_of}"


class SweepRun(models.Model):
    """A city-wide classification run (sweep) or a what-if simulation."""

    class Kind(models.TextChoices):
        SWEEP = "sweep", _("全市认定")
        SIMULATE = "simulate", _("政策模拟")

    class Status(models.TextChoices):
        RUNNING = "running", _("运行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SWEEP)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    as_of = models.DateField(_("基准日"))
    engine = models.CharField(max_length=10, default="duckdb")
    sets = models.JSONField(_("调整参数"), default=dict, blank=True)
    policy_version = models.CharField(max_length=80, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    progress = models.CharField(_("进度"), max_length=200, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    result_path = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.as_of} ({self.status})"


class HouseholdClassification(models.Model):
    """A point of a household's category timeline: written by a sweep when the result changed."""

    household = models.ForeignKey("registry.Household", on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(SweepRun, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField(_("基准日"))
    categories = models.CharField(_("家庭类别"), max_length=120, blank=True)
    person_categories = models.JSONField(_("人员类别"), default=dict, blank=True)
    unknown = models.CharField(_("待核实类别"), max_length=120, blank=True)
    tier = models.PositiveSmallIntegerField(_("层级"), null=True, blank=True)
    monthly_benefit = models.DecimalField(_("月待遇"), max_digits=12, decimal_places=2)
    per_capita_income = models.DecimalField(
        _("月人均收入"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    policy_version = models.CharField(max_length=80)

    class Meta:
        ordering = ["household", "-as_of", "-id"]
        indexes = [models.Index(fields=["household", "-as_of"])]

    def __str__(self) -> str:
        return f"{self.household_id} {self.as_of}: {self.categories}"
