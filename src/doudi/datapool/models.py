"""The data pool's ledger: every file received, the store files it produced (the manifest), the
rows it quarantined, the links waiting for a clerk, and what each town has been shown."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doudi.core.models import Region, User
from doudi.registry.models import Person


class IngestFile(models.Model):
    """One file (or one API push) received for one interface: the ledger row."""

    class Status(models.TextChoices):
        PROCESSING = "processing", _("处理中")
        COMMITTED = "committed", _("已入库")
        DUPLICATE = "duplicate", _("重复文件")
        FAILED = "failed", _("无法读取")

    class Source(models.TextChoices):
        UPLOAD = "upload", _("页面上传")
        CLI = "cli", _("命令行")
        API = "api", _("接口推送")

    interface = models.CharField(_("接口"), max_length=64, db_index=True)
    file_name = models.CharField(_("文件名"), max_length=255)
    sha256 = models.CharField(_("文件指纹"), max_length=64, db_index=True)
    size = models.BigIntegerField(_("字节数"), default=0)
    source = models.CharField(_("来源"), max_length=16, choices=Source.choices)
    uploaded_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("上传人"),
    )
    received_at = models.DateTimeField(_("接收时间"), auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PROCESSING
    )
    format = models.CharField(_("格式"), max_length=8, blank=True)
    encoding = models.CharField(_("编码"), max_length=16, blank=True)
    rows = models.IntegerField(_("数据行"), default=0)
    accepted = models.IntegerField(_("接收"), default=0)
    quarantined = models.IntegerField(_("隔离"), default=0)
    duplicates = models.IntegerField(_("重复"), default=0)
    superseded = models.IntegerField(_("更正"), default=0)
    linked = models.IntegerField(_("已匹配"), default=0)
    unlinked = models.IntegerField(_("未匹配"), default=0)
    review = models.IntegerField(_("待确认"), default=0)
    invalid_ids = models.IntegerField(_("身份证号无效"), default=0)
    skipped_blank = models.IntegerField(_("空行"), default=0)
    skipped_total = models.IntegerField(_("合计行"), default=0)
    seconds = models.FloatField(_("耗时（秒）"), default=0)
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("接收文件")
        verbose_name_plural = _("接收文件")
        constraints = [
            models.UniqueConstraint(
                fields=["interface", "sha256"],
                condition=Q(status="committed"),
                name="one_commit_per_file",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.interface} {self.file_name}"

    def summary(self) -> dict[str, object]:
        return {
            "interface": self.interface,
            "file": self.file_name,
            "rows": self.rows,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "duplicates": self.duplicates,
            "linked": self.linked,
            "unlinked": self.unlinked,
            "review": self.review,
            "superseded": self.superseded,
            "invalid_ids": self.invalid_ids,
            "status": self.status,
            "ingest_id": self.pk,
            "seconds": round(self.seconds, 3),
        }


class StoreFile(models.Model):
    """The manifest: a Parquet file of the store, visible to views once this row commits."""

    ingest = models.ForeignKey(IngestFile, on_delete=models.PROTECT, related_name="store_files")
    interface = models.CharField(max_length=64, db_index=True)
    period = models.CharField(max_length=16)
    path = models.CharField(max_length=300, unique=True)
    rows = models.IntegerField()

    def __str__(self) -> str:
        return self.path


class QuarantineRow(models.Model):
    """A row that failed validation, kept with its reason so the department can fix and resend.
    The row's cells are stored encrypted (they hold ID numbers)."""

    ingest = models.ForeignKey(IngestFile, on_delete=models.PROTECT, related_name="quarantine")
    line = models.IntegerField(_("行号"))
    reason = models.CharField(_("原因"), max_length=300)
    data_enc = models.TextField()

    class Meta:
        ordering = ["ingest", "line"]

    def __str__(self) -> str:
        return f"{self.ingest_id}:{self.line}"


class LinkReview(models.Model):
    """A row matched to a registry person with a middling probability: a clerk confirms or rejects."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待确认")
        CONFIRMED = "confirmed", _("已确认")
        REJECTED = "rejected", _("已否定")

    ingest = models.ForeignKey(IngestFile, on_delete=models.PROTECT, related_name="reviews")
    interface = models.CharField(max_length=64)
    record_key = models.CharField(max_length=40)
    line = models.IntegerField()
    name = models.CharField(max_length=64)
    id_masked = models.CharField(max_length=32, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    candidate = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    probability = models.FloatField()
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "-probability", "id"]
        indexes = [models.Index(fields=["status", "region"], name="review_status_region")]

    def __str__(self) -> str:
        return f"{self.interface}:{self.record_key} → {self.candidate_id}"


class LinkOverride(models.Model):
    """A clerk's decision on which person a pool record is about (or that it is nobody)."""

    interface = models.CharField(max_length=64)
    record_key = models.CharField(max_length=40)
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["interface", "record_key"], name="one_override_per_record"
            )
        ]

    def __str__(self) -> str:
        return f"{self.interface}:{self.record_key}"


class ReturnReceipt(models.Model):
    """Up to which ingest a town has been shown an interface's facts about its people (数据返还)."""

    town = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    interface = models.CharField(max_length=64)
    up_to_ingest = models.BigIntegerField(default=0)
    items = models.IntegerField(default=0)
    viewed_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, related_name="+")
    viewed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["town", "interface"], name="one_receipt_per_town_interface"
            )
        ]

    def __str__(self) -> str:
        return f"{self.town_id} {self.interface} ≤{self.up_to_ingest}"
