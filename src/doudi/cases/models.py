"""One-window applications (一门受理): an application of a household for one or several items,
one case per item with its own workflow, steps with deadlines, documents (容缺), home
investigations, committee decisions (一事一议) and appeals.

The workflow of a case is the state machine in :mod:`doudi.cases.workflow`; every change goes
through a service in :mod:`doudi.cases.services`, which stamps who and when, appends a
:class:`CaseEvent` and writes the audit row in the same transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Origin(models.TextChoices):
    WINDOW = "window", _("窗口申请")
    HELP_TO_APPLY = "help_to_apply", _("帮办代办")
    ONLINE = "online", _("网上申请")
    ALERT = "alert", _("预警主动发现")
    REVIEW = "review", _("定期复核")


class ApplicantKind(models.TextChoices):
    SELF = "self", _("本人")
    FAMILY = "family", _("家庭成员")
    AGENT = "agent", _("委托代理人")


class State(models.TextChoices):
    """A case's state: the step it waits for, or how it ended (see ``workflow``)."""

    ADVANCE_PAYMENT = "advance_payment", _("待先行救助")
    VERIFICATION = "verification", _("待信息核对")
    INVESTIGATION = "investigation", _("待入户调查")
    FIRST_REVIEW = "first_review", _("待初审")
    NOTICE = "notice", _("公示中")
    DECISION = "decision", _("待审核确认")
    REFERRAL = "referral", _("待转介")
    COMMITTEE = "committee", _("一事一议")
    APPROVED = "approved", _("已批准")
    REFUSED = "refused", _("不予批准")
    REFERRED = "referred", _("已转介")
    WITHDRAWN = "withdrawn", _("已撤回")


class Application(models.Model):
    """One application at the window: one household, one or several items (one case each)."""

    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="+", verbose_name=_("家庭")
    )
    region = models.ForeignKey(
        "core.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("村（社区）")
    )
    town_code = models.CharField(_("镇街"), max_length=9, db_index=True)
    county_code = models.CharField(_("区县"), max_length=6, db_index=True)
    origin = models.CharField(
        _("来源"), max_length=16, choices=Origin.choices, default=Origin.WINDOW
    )
    alert_ref = models.CharField(_("预警线索"), max_length=40, blank=True, db_index=True)
    applicant_kind = models.CharField(
        _("申请人"), max_length=8, choices=ApplicantKind.choices, default=ApplicantKind.SELF
    )
    applicant_person = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申请人（家庭成员）"),
    )
    agent_name = models.CharField(_("代理人"), max_length=64, blank=True)
    agent_relation = models.CharField(_("代理人身份"), max_length=64, blank=True)
    helper = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("帮办人"),
    )
    accepted_on = models.DateField(_("受理日期"), db_index=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    authorisation_id = models.BigIntegerField(_("核对授权书"), null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-accepted_on", "-id"]
        verbose_name = _("申请")
        verbose_name_plural = _("申请")

    def __str__(self) -> str:
        return f"A{self.pk} {self.household_id} {self.accepted_on}"

    @property
    def number(self) -> str:
        return f"SQ{self.accepted_on:%Y%m%d}{self.pk:05d}"


class Case(models.Model):
    """One item of an application and its workflow."""

    application = models.ForeignKey(Application, on_delete=models.PROTECT, related_name="cases")
    item = models.CharField(_("事项"), max_length=32, db_index=True)
    person = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("对象"),
    )
    state = models.CharField(_("状态"), max_length=16, choices=State.choices, db_index=True)
    opened_on = models.DateField(_("受理日期"), db_index=True)
    due_on = models.DateField(_("办结时限"))
    due_estimated = models.BooleanField(_("时限为估算"), default=False)
    step_due_on = models.DateField(_("本环节时限"), null=True, blank=True, db_index=True)
    step_due_estimated = models.BooleanField(default=False)
    extended = models.BooleanField(_("已延长"), default=False)
    extension_reason = models.TextField(_("延长理由"), blank=True)
    # verification and classification attached as a snapshot
    verification_id = models.BigIntegerField(null=True, blank=True)
    snapshot = models.JSONField(_("核对与认定快照"), default=dict, blank=True)
    # first review
    recommend = models.BooleanField(_("初审意见"), null=True, blank=True)
    proposed_amount = models.DecimalField(
        _("拟发金额"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    review_opinion = models.TextField(_("初审意见"), blank=True)
    # public notice
    notice_from = models.DateField(_("公示开始"), null=True, blank=True)
    notice_until = models.DateField(_("公示结束"), null=True, blank=True)
    notice_skipped = models.CharField(_("未公示原因"), max_length=100, blank=True)
    objections = models.TextField(_("公示异议"), blank=True)
    # advance payment (先行救助)
    advance_amount = models.DecimalField(
        _("先行救助金额"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    advance_paid_on = models.DateField(_("先行救助日期"), null=True, blank=True)
    # decision
    decided_on = models.DateField(_("决定日期"), null=True, blank=True, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved = models.BooleanField(_("是否批准"), null=True, blank=True)
    action = models.CharField(_("决定内容"), max_length=16, blank=True)
    monthly_amount = models.DecimalField(
        _("金额"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    start_month = models.DateField(_("起始月份"), null=True, blank=True)
    exit_months = models.PositiveSmallIntegerField(_("渐退月数"), null=True, blank=True)
    care_level = models.CharField(_("护理等级"), max_length=8, blank=True)
    reasons = models.TextField(_("理由"), blank=True)
    letter_due = models.DateField(_("告知时限"), null=True, blank=True)
    letter_due_estimated = models.BooleanField(default=False)
    benefit_ref = models.CharField(_("待遇"), max_length=40, blank=True)
    cycle_days = models.PositiveIntegerField(_("办理用时（工作日）"), null=True, blank=True)
    cycle_estimated = models.BooleanField(default=False)
    # referral
    referral_department = models.CharField(_("转介部门"), max_length=64, blank=True)
    referral_note = models.TextField(_("转介说明"), blank=True)
    referral_outcome = models.TextField(_("办理结果"), blank=True)
    # reviews: the case under review, and how often the approved household is reviewed
    review_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reviews"
    )
    review_months = models.PositiveSmallIntegerField(_("复核周期（月）"), null=True, blank=True)
    escalated_on = models.DateField(_("逾期上报日期"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_on", "-id"]
        verbose_name = _("事项办理")
        verbose_name_plural = _("事项办理")
        indexes = [models.Index(fields=["state", "item"])]

    def __str__(self) -> str:
        return f"C{self.pk} {self.item} {self.state}"

    @property
    def number(self) -> str:
        return f"BJ{self.opened_on:%Y%m%d}{self.pk:05d}"


class CaseStep(models.Model):
    """One step of a case with its deadline; the current step has no ``completed_on``."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(_("环节"), max_length=16)
    started_on = models.DateField(_("开始"))
    due_on = models.DateField(_("时限"))
    due_estimated = models.BooleanField(_("时限为估算"), default=False)
    limit_days = models.PositiveSmallIntegerField(_("时限天数"))
    limit_unit = models.CharField(max_length=8, default="working")
    completed_on = models.DateField(_("完成"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["case", "started_on", "id"]
        indexes = [models.Index(fields=["completed_on", "due_on"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.step} {self.due_on}"


class CaseEvent(models.Model):
    """A case's own history: each transition and record, with who, when and what."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    on = models.DateField(_("日期"))
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    event = models.CharField(_("事件"), max_length=32)
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["case", "on", "id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.on} {self.event}"


class Document(models.Model):
    """A document of an application: received, missing (容缺, with a due date) or waived."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("已收")
        MISSING = "missing", _("容缺待补")
        WAIVED = "waived", _("已免交")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    code = models.CharField(_("材料"), max_length=32)
    name = models.CharField(_("材料名称"), max_length=120)
    items = models.JSONField(_("适用事项"), default=list)
    required = models.BooleanField(_("必交"), default=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices)
    due_on = models.DateField(_("补交期限"), null=True, blank=True)
    due_estimated = models.BooleanField(default=False)
    received_on = models.DateField(_("收到日期"), null=True, blank=True)
    file = models.FileField(_("扫描件"), upload_to="cases/%Y/%m/", blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    waived_on = models.DateField(_("免交日期"), null=True, blank=True)
    waive_reason = models.TextField(_("免交理由"), blank=True)
    reminded_on = models.DateField(_("最近提醒"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["application", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "code"], name="one_document_per_code")
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.code} {self.status}"


class Investigation(models.Model):
    """A home investigation (入户调查) by at least two staff."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="investigations")
    visited_on = models.DateField(_("调查日期"))
    staff = models.JSONField(_("调查人员"), default=list)
    findings = models.TextField(_("调查情况"))
    neighbours = models.TextField(_("邻里访问"), blank=True)
    self_care_failed = models.PositiveSmallIntegerField(_("不能自理项数"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-visited_on", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.visited_on}"


class InvestigationPhoto(models.Model):
    investigation = models.ForeignKey(
        Investigation, on_delete=models.CASCADE, related_name="photos"
    )
    file = models.FileField(upload_to="cases/photos/%Y/%m/")
    sha256 = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.investigation_id} {self.sha256[:12]}"


class CommitteeDecision(models.Model):
    """A recorded case-by-case decision (一事一议) for a case outside the rules."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="committee")
    referred_on = models.DateField(_("提交日期"))
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    referral_reason = models.TextField(_("提交理由"))
    met_on = models.DateField(_("会议日期"), null=True, blank=True)
    members = models.JSONField(_("参会人员"), default=list)
    votes_for = models.PositiveSmallIntegerField(_("同意"), default=0)
    votes_against = models.PositiveSmallIntegerField(_("反对"), default=0)
    votes_abstain = models.PositiveSmallIntegerField(_("弃权"), default=0)
    minutes = models.TextField(_("会议纪要"), blank=True)
    approve = models.BooleanField(_("议定结果"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.case_id} {self.met_on}"


class Appeal(models.Model):
    """An appeal against a decision: administrative reconsideration, litigation or complaint."""

    class Kind(models.TextChoices):
        RECONSIDERATION = "reconsideration", _("行政复议")
        LITIGATION = "litigation", _("行政诉讼")
        COMPLAINT = "complaint", _("信访投诉")

    class Status(models.TextChoices):
        OPEN = "open", _("办理中")
        UPHELD = "upheld", _("维持原决定")
        OVERTURNED = "overturned", _("撤销或变更原决定")
        WITHDRAWN = "withdrawn", _("申请人撤回")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="appeals")
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    received_on = models.DateField(_("收到日期"))
    due_on = models.DateField(_("办理期限"))
    appellant = models.CharField(_("申请人"), max_length=64)
    grounds = models.TextField(_("理由"))
    status = models.CharField(_("状态"), max_length=12, choices=Status.choices, default=Status.OPEN)
    resolved_on = models.DateField(_("办结日期"), null=True, blank=True)
    resolution = models.TextField(_("办理结果"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_on", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.status}"
