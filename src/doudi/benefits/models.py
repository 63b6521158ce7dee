"""Benefits in payment (待遇), their history of decisions, and the monthly payment rolls (发放名册).

A :class:`Benefit` is one entitlement of a household (低保) or a person (特困, 单人保) decided by a
case, an alert or a legacy roll: an item, a monthly amount, the first month paid and, once an end
is decided, the last month paid. Every decision about it is a :class:`BenefitChange` row, never an
edit of the past: what a benefit pays in any month is worked out from those rows
(``doudi.benefits.schedule``).

A :class:`PaymentRoll` is one county's payments for one month. State machine::

    (none) --payroll_build--> draft --payroll_build--> draft (rebuilt from the benefits)
    draft --payroll_approve (another user)--> approved (frozen: never rebuilt or edited)

Corrections to a frozen month (a death known late, a retroactive adjustment) are worked out when
the next roll is built and land on it as adjustment lines (补发 positive, 追回 negative).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doudi.benefits.months import add_months


def _user_label(user) -> str:  # type: ignore[no-untyped-def]
    """A user's name for the pages; a system action (no user) reads 系统."""
    if user is None:
        return str(_("系统"))
    return user.full_name or user.username


class Item(models.TextChoices):
    """Benefit items: the vocabulary shared with ``doudi.cases`` (DOMAIN.md §3–4)."""

    DIBAO = "dibao", _("低保")
    TEKUN = "tekun", _("特困供养")
    SINGLE_PERSON_DIBAO = "single_person_dibao", _("单人保")
    NEAR_DIBAO = "near_dibao", _("低保边缘")
    RIGID_EXPENSE = "rigid_expense", _("刚性支出困难")
    TEMPORARY = "temporary", _("临时救助")


#: items paid to one person (the benefit names the person)
PERSON_ITEMS = frozenset({Item.TEKUN, Item.SINGLE_PERSON_DIBAO})
#: items of the whole household (no person)
HOUSEHOLD_ITEMS = frozenset({Item.DIBAO, Item.NEAR_DIBAO, Item.RIGID_EXPENSE})
#: items that are cash every month: their amount must be above zero
CASH_ITEMS = frozenset({Item.DIBAO, Item.TEKUN, Item.SINGLE_PERSON_DIBAO, Item.TEMPORARY})


class Benefit(models.Model):
    """One benefit in payment. ``monthly_amount`` is the amount of the latest decision (in force
    from that decision's month); the month-by-month amounts come from the changes.

    ``status`` is what has been decided: ``active`` (no end decided), ``gradual_exit`` (渐退: paying
    on until ``end_month``), ``stopped`` (``end_month`` is the last month paid). A one-off 临时救助
    is a benefit whose start and end month are the same month.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("正常发放")
        GRADUAL_EXIT = "gradual_exit", _("渐退")
        STOPPED = "stopped", _("已停发")

    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="+", verbose_name=_("家庭")
    )
    person = models.ForeignKey(
        "registry.Person",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("对象"),
    )
    item = models.CharField(_("项目"), max_length=24, choices=Item.choices)
    monthly_amount = models.DecimalField(_("月金额"), max_digits=12, decimal_places=2)
    start_month = models.DateField(_("起始月份"))
    end_month = models.DateField(_("末次发放月份"), null=True, blank=True)
    exit_from_month = models.DateField(_("渐退起始月份"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    county = models.ForeignKey(
        "core.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("区县")
    )
    case_ref = models.CharField(_("来源"), max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["household_id", "item", "-start_month", "-id"]
        verbose_name = _("待遇")
        verbose_name_plural = _("待遇")
        indexes = [
            models.Index(fields=["county", "start_month"], name="benefit_county_idx"),
            models.Index(fields=["household", "item"], name="benefit_hh_idx"),
            models.Index(fields=["person", "item"], name="benefit_person_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(monthly_amount__gte=0), name="benefit_amount_ge_0"),
        ]

    def __str__(self) -> str:
        return f"{self.item} {self.household_id}/{self.person_id or '-'} {self.start_month}"

    def in_force(self, month: dt.date) -> bool:
        return self.start_month <= month and (self.end_month is None or month <= self.end_month)

    def status_in(self, month: dt.date) -> str:
        """``pending`` (not started), ``active``, ``gradual_exit`` or ``stopped`` in ``month``."""
        if month < self.start_month:
            return "pending"
        if self.end_month is not None and month > self.end_month:
            return self.Status.STOPPED
        if self.exit_from_month is not None and month >= self.exit_from_month:
            return self.Status.GRADUAL_EXIT
        return self.Status.ACTIVE

    @property
    def next_month_after_end(self) -> dt.date | None:
        return None if self.end_month is None else add_months(self.end_month, 1)


class BenefitChange(models.Model):
    """One decision about a benefit (the history, append-only): start, adjust, gradual exit, stop.

    ``from_month`` is the first month the decision applies to (for a stop: the first month no
    longer paid); ``end_month`` is the last month paid after a stop or gradual exit.
    """

    class Kind(models.TextChoices):
        START = "start", _("开始发放")
        ADJUST = "adjust", _("调整金额")
        GRADUAL_EXIT = "gradual_exit", _("渐退")
        STOP = "stop", _("停发")

    benefit = models.ForeignKey(Benefit, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(_("变更"), max_length=16, choices=Kind.choices)
    from_month = models.DateField(_("起始月份"))
    end_month = models.DateField(_("末次发放月份"), null=True, blank=True)
    old_amount = models.DecimalField(
        _("原金额"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    new_amount = models.DecimalField(
        _("新金额"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    reason = models.TextField(_("原因"), blank=True)
    source = models.CharField(_("依据"), max_length=64, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["benefit_id", "id"]
        verbose_name = _("待遇变更")
        verbose_name_plural = _("待遇变更")

    def __str__(self) -> str:
        return f"{self.benefit_id} {self.kind} {self.from_month}"

    @property
    def actor_label(self) -> str:
        return _user_label(self.actor)


class PaymentRoll(models.Model):
    """One county's payment roll for one month (发放名册); totals are kept on the roll."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("待审核")
        APPROVED = "approved", _("已审核")

    county = models.ForeignKey(
        "core.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("区县")
    )
    month = models.DateField(_("发放月份"))
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    built_at = models.DateTimeField(_("生成时间"))
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("制表"),
    )
    approved_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核"),
    )
    #: whole yuan: the roll's total = in_force_total + adjustments_total
    total = models.DecimalField(_("合计"), max_digits=14, decimal_places=0, default=0)
    in_force_total = models.DecimalField(
        _("当月待遇合计"), max_digits=14, decimal_places=0, default=0
    )
    adjustments_total = models.DecimalField(
        _("调整合计"), max_digits=14, decimal_places=0, default=0
    )
    #: the decided amounts of the month before rounding (2 decimals)
    decided_total = models.DecimalField(
        _("决定金额合计"), max_digits=16, decimal_places=2, default=0
    )
    paid_count = models.PositiveIntegerField(_("发放笔数"), default=0)
    lines_count = models.PositiveIntegerField(_("行数"), default=0)
    starts = models.PositiveIntegerField(_("新增"), default=0)
    stops = models.PositiveIntegerField(_("停发"), default=0)
    gradual_exits = models.PositiveIntegerField(_("渐退"), default=0)
    adjustments = models.PositiveIntegerField(_("调整"), default=0)

    class Meta:
        ordering = ["-month", "county_id"]
        verbose_name = _("发放名册")
        verbose_name_plural = _("发放名册")
        constraints = [
            models.UniqueConstraint(fields=["county", "month"], name="one_roll_per_county_month")
        ]

    def __str__(self) -> str:
        return f"{self.county_id} {self.month:%Y-%m} ({self.status})"

    @property
    def rounding_difference(self):  # type: ignore[no-untyped-def]
        return self.in_force_total - self.decided_total

    @property
    def built_by_label(self) -> str:
        return _user_label(self.built_by)

    @property
    def approved_by_label(self) -> str:
        return _user_label(self.approved_by) if self.approved_at else ""


class PaymentRollLine(models.Model):
    """One line of a roll: a benefit's payment for the roll's month, a stop (amount 0), or an
    adjustment for an earlier month (``for_month``): 补发 (positive) or 追回 (negative).

    The payee's ID number is kept masked for the pages and, encrypted (a copy of the registry's
    ciphertext at build time), for the bank export only: a frozen roll exports what was approved.
    """

    class Kind(models.TextChoices):
        NORMAL = "normal", _("正常")
        START = "start", _("新增")
        STOP = "stop", _("停发")
        GRADUAL_EXIT = "gradual_exit", _("渐退")
        ADJUSTMENT = "adjustment", _("调整")

    roll = models.ForeignKey(PaymentRoll, on_delete=models.CASCADE, related_name="lines")
    seq = models.PositiveIntegerField(_("序号"))
    benefit = models.ForeignKey(Benefit, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    payee = models.ForeignKey(
        "registry.Person", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payee_name = models.CharField(_("收款人"), max_length=64, blank=True)
    payee_id_masked = models.CharField(_("身份证号"), max_length=24, blank=True)
    payee_id_enc = models.CharField(max_length=120, blank=True)
    region = models.CharField(_("区划代码"), max_length=12)
    item = models.CharField(_("项目"), max_length=24, choices=Item.choices)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    for_month = models.DateField(_("所属月份"))
    amount = models.DecimalField(_("金额"), max_digits=12, decimal_places=0)
    decided_amount = models.DecimalField(
        _("决定金额"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        ordering = ["roll_id", "seq"]
        verbose_name = _("名册明细")
        verbose_name_plural = _("名册明细")
        indexes = [
            models.Index(fields=["roll", "seq"], name="rollline_seq_idx"),
            models.Index(fields=["benefit", "for_month"], name="rollline_benefit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.roll_id}#{self.seq} {self.payee_name} {self.amount}"
