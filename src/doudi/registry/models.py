"""Population registry: persons, households (共同生活的家庭成员), memberships and their history.

ID numbers and phone numbers are stored encrypted (``*_enc``); the ID number is found through its
blind index (``id_index``). The first six and last four characters of the ID number are kept in
clear (``id_prefix``, ``id_last4``) because every list shows exactly those (``370602********0012``).
History is kept, never overwritten: a person who moves ends one membership and starts another, a
death sets the status and adds an event, and every change appends a :class:`RegistryEvent`.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from doudi.core.models import Region, ResidenceType, User


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class PersonStatus(models.TextChoices):
    PRESENT = "present", _("在册")
    DEAD = "dead", _("死亡")
    MISSING = "missing", _("宣告失踪")
    PRISON = "prison", _("服刑")
    DRUG_REHAB = "drug_rehab", _("强制隔离戒毒")
    CLERGY_APART = "clergy_apart", _("宗教教职人员（分居）")
    MOVED_OUT = "moved_out", _("迁出本市")


class DisabilityCategory(models.TextChoices):
    VISUAL = "visual", _("视力")
    HEARING = "hearing", _("听力")
    SPEECH = "speech", _("言语")
    PHYSICAL = "physical", _("肢体")
    INTELLECTUAL = "intellectual", _("智力")
    MENTAL = "mental", _("精神")
    MULTIPLE = "multiple", _("多重")


class Relation(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    GRANDPARENT = "grandparent", _("祖父母")
    SIBLING = "sibling", _("兄弟姐妹")
    OTHER = "other", _("其他")


class Household(models.Model):
    """A household: the people who live together and are assessed together."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("有效")
        DISSOLVED = "dissolved", _("已注销")

    number = models.CharField(_("家庭编号"), max_length=32, unique=True)
    region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="households_resident",
        verbose_name=_("居住地"),
    )
    hukou_region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="households_registered",
        verbose_name=_("户籍地"),
    )
    residence_type = models.CharField(_("城乡"), max_length=8, choices=ResidenceType.choices)
    address = models.CharField(_("住址"), max_length=200, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    split_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="split_into",
        verbose_name=_("分户自"),
    )
    source = models.CharField(_("来源"), max_length=16, default="manual")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("家庭")
        verbose_name_plural = _("家庭")
        indexes = [
            models.Index(fields=["region"], name="hh_region_idx"),
            models.Index(fields=["hukou_region"], name="hh_hukou_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class Person(models.Model):
    id_enc = models.CharField(_("身份证号（密文）"), max_length=120)
    id_index = models.CharField(_("身份证号索引"), max_length=40, unique=True)
    id_prefix = models.CharField(_("身份证号前六位"), max_length=6)
    id_last4 = models.CharField(_("身份证号后四位"), max_length=4)
    name = models.CharField(_("姓名"), max_length=64, db_index=True)
    name_pinyin = models.CharField(_("姓名拼音"), max_length=128, db_index=True)
    name_initials = models.CharField(_("拼音首字母"), max_length=16, db_index=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    phone_enc = models.CharField(_("电话（密文）"), max_length=120, blank=True)
    status = models.CharField(
        _("状态"), max_length=16, choices=PersonStatus.choices, default=PersonStatus.PRESENT
    )
    death_date = models.DateField(_("死亡日期"), null=True, blank=True)
    hukou_region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="persons_registered",
        verbose_name=_("户籍地"),
    )
    residence_region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        related_name="persons_resident",
        verbose_name=_("居住地"),
    )
    residence_type = models.CharField(_("城乡"), max_length=8, choices=ResidenceType.choices)
    disability_category = models.CharField(
        _("残疾类别"), max_length=16, choices=DisabilityCategory.choices, blank=True
    )
    disability_grade = models.PositiveSmallIntegerField(_("残疾等级"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=16, default="manual")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("人员")
        verbose_name_plural = _("人员")
        indexes = [
            models.Index(fields=["residence_region"], name="person_res_idx"),
            models.Index(fields=["hukou_region"], name="person_hukou_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(disability_grade__isnull=True)
                | Q(disability_grade__gte=1, disability_grade__lte=4),
                name="person_disability_grade_1_4",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_id(self) -> str:
        return f"{self.id_prefix}********{self.id_last4}"


class Membership(models.Model):
    """A person's membership of a household over a period; the current one has no end date."""

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="memberships")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
    relation = models.CharField(_("与户主关系"), max_length=16, choices=Relation.choices)
    start_date = models.DateField(_("起始日期"))
    end_date = models.DateField(_("终止日期"), null=True, blank=True)
    end_reason = models.CharField(_("终止原因"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("家庭成员关系")
        verbose_name_plural = _("家庭成员关系")
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(end_date__isnull=True),
                name="one_current_household_per_person",
            ),
        ]
        indexes = [models.Index(fields=["household", "end_date"], name="member_hh_idx")]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.household_id} {self.relation} {self.start_date}–{self.end_date or ''}"


class RegistryEvent(models.Model):
    """History of the registry, appended by the services and never rewritten."""

    class Kind(models.TextChoices):
        REGISTERED = "registered", _("登记")
        JOINED = "joined", _("加入家庭")
        LEFT = "left", _("离开家庭")
        MOVED = "moved", _("迁移")
        DIED = "died", _("死亡")
        STATUS = "status", _("状态变更")
        SPLIT = "split", _("分户")
        HEAD_CHANGED = "head_changed", _("更换户主")
        CORRECTED = "corrected", _("信息更正")

    kind = models.CharField(_("事件"), max_length=16, choices=Kind.choices)
    date = models.DateField(_("发生日期"))
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    details = models.JSONField(_("详情"), default=dict, blank=True)
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("登记历史")
        verbose_name_plural = _("登记历史")

    def __str__(self) -> str:
        return f"{self.date} {self.kind}"


class PersonAssignment(models.Model):
    """A person placed in a user's personal care or follow-up (e.g. a caretaker's charge)."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="assignments")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="assignments")
    kind = models.CharField(_("类型"), max_length=16, default="care")
    start_date = models.DateField(_("起始日期"))
    end_date = models.DateField(_("终止日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("人员指派")
        verbose_name_plural = _("人员指派")

    def __str__(self) -> str:
        return f"{self.user_id} → {self.person_id} ({self.kind})"
