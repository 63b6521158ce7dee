"""Monitoring runs, alerts and their handling.

An alert's life (one service a transition, each in a transaction with an audit row)::

    raised ──assign──▶ assigned ──verify──▶ verified ──close──▶ closed
       │                  │                                      ▲
       └──────────────────┴────────────── close (no visit needed) ┘
    (any open state) ──escalate (deadline passed)──▶ same state, escalated to the county

Outcomes on closing: application opened (links to the case), benefit adjusted, benefit stopped,
referred to another department or charity, no action (with a reason).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MonitorRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", _("运行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    class Mode(models.TextChoices):
        FULL = "full", _("全量")
        INCREMENTAL = "incremental", _("增量")
        PREVIEW = "preview", _("调参预演")

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    mode = models.CharField(_("方式"), max_length=12, choices=Mode.choices)
    engine = models.CharField(_("引擎"), max_length=10, default="duckdb")
    as_of = models.DateField(_("基准日"))
    since = models.DateField(_("起始日"))
    last_ingest = models.BigIntegerField(_("已检查的最后入池批次"), default=0)
    max_ingest = models.BigIntegerField(_("本次检查到的入池批次"), default=0)
    progress = models.CharField(_("进度"), max_length=200, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("监测运行")

    def __str__(self) -> str:
        return f"{self.mode} {self.as_of} ({self.status})"


class Alert(models.Model):
    class Status(models.TextChoices):
        RAISED = "raised", _("待分派")
        ASSIGNED = "assigned", _("待核实")
        VERIFIED = "verified", _("已核实")
        CLOSED = "closed", _("已办结")

    class Outcome(models.TextChoices):
        APPLICATION_OPENED = "application_opened", _("已发起救助申请")
        BENEFIT_ADJUSTED = "benefit_adjusted", _("待遇已调整")
        BENEFIT_STOPPED = "benefit_stopped", _("待遇已停发")
        REFERRED = "referred", _("已转介其他部门或慈善")
        NO_ACTION = "no_action", _("核实无需处理")

    rule = models.CharField(_("预警规则"), max_length=40, db_index=True)
    kind = models.CharField(_("类型"), max_length=8)
    severity = models.CharField(_("等级"), max_length=8)
    route = models.CharField(_("推送层级"), max_length=8, default="town")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    person_ids = models.JSONField(_("涉及人员"), default=list, blank=True)
    town_code = models.CharField(_("镇街"), max_length=12, db_index=True)
    county_code = models.CharField(_("区县"), max_length=6, db_index=True)
    village_code = models.CharField(_("村居"), max_length=12, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.RAISED, db_index=True
    )
    raised_on = models.DateField(_("预警日期"))
    deadline = models.DateField(_("核实期限"))
    deadline_estimated = models.BooleanField(_("期限为估算"), default=False)
    escalated = models.BooleanField(_("已上报区县"), default=False)
    escalated_at = models.DateTimeField(null=True, blank=True)
    event_first = models.DateField(_("最早事件日期"), null=True, blank=True)
    event_last = models.DateField(_("最近事件日期"), null=True, blank=True)
    magnitude = models.FloatField(_("程度"), null=True, blank=True)
    count_n = models.BigIntegerField(null=True, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    summary = models.CharField(_("预警内容"), max_length=300)
    evidence = models.JSONField(_("证据"), default=list, blank=True)
    evidence_n = models.IntegerField(default=0)
    categories = models.JSONField(_("预警时家庭类别"), default=dict, blank=True)
    run = models.ForeignKey(MonitorRun, on_delete=models.PROTECT, related_name="+")
    last_run = models.ForeignKey(
        MonitorRun, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updates = models.IntegerField(_("更新次数"), default=0)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(_("处理结果"), max_length=20, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(_("处理说明"), blank=True)
    outcome_ref = models.CharField(_("关联事项"), max_length=60, blank=True)
    closed_on = models.DateField(_("办结日期"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-raised_on", "-id"]
        indexes = [
            models.Index(fields=["rule", "household"]),
            models.Index(fields=["town_code", "status"]),
            models.Index(fields=["county_code", "status"]),
        ]
        verbose_name = _("预警")

    def __str__(self) -> str:
        return f"{self.rule} {self.household_id} {self.raised_on}"

    @property
    def is_open(self) -> bool:
        return self.status != self.Status.CLOSED


class AlertVisit(models.Model):
    """An on-site verification (上门核实): when, who, what was found, where (optional GPS)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="visits")
    visit_date = models.DateField(_("核实日期"))
    visitors = models.CharField(_("核实人员"), max_length=200)
    findings = models.TextField(_("核实情况"))
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    client_token = models.CharField(max_length=64, blank=True, db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["visit_date", "id"]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.visit_date}"


class AlertAttachment(models.Model):
    visit = models.ForeignKey(AlertVisit, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("照片或附件"), upload_to="alerts/%Y/%m/")
    name = models.CharField(max_length=200, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name or self.file.name
