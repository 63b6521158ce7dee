from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from doudi.core import idcard
from doudi.registry.models import DisabilityCategory, PersonStatus, Relation

_ID_ERRORS = {
    "length": _("位数不对，应为18位（或旧版15位）"),
    "characters": _("含有非法字符，只能是数字，最后一位可以是X"),
    "birth_date": _("出生日期不是有效日期（或晚于今天、早于1880年）"),
    "province": _("前两位不是有效的省级行政区划代码"),
    "checksum": _("校验位不正确，请核对是否录入有误"),
}


class IdNumberField(forms.CharField):
    """An ID number checked as the clerk types (checksum, date, province), kept as typed on error."""

    def clean(self, value: str) -> str:  # type: ignore[override]
        value = super().clean(value)
        if not value:
            return value
        result = idcard.validate(value)
        if not result.valid:
            raise forms.ValidationError(_ID_ERRORS.get(result.error or "", _("身份证号无效")))
        return result.normalized or ""


class SearchForm(forms.Form):
    q = forms.CharField(label=_("身份证号 / 姓名 / 拼音"), required=False, max_length=64)
    region = forms.CharField(label=_("区划"), required=False, max_length=12)
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=[("", _("全部"))] + PersonStatus.choices
    )


class HouseholdForm(forms.Form):
    region_code = forms.ChoiceField(label=_("居住村（社区）"))
    address = forms.CharField(label=_("住址"), max_length=200, required=False)

    def __init__(self, *args: object, villages: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["region_code"].choices = [("", _("请选择"))] + villages


class MemberForm(forms.Form):
    name = forms.CharField(label=_("姓名"), max_length=64)
    id_number = IdNumberField(label=_("身份证号"), max_length=24)
    relation = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices)
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    disability_category = forms.ChoiceField(
        label=_("残疾类别"), required=False, choices=[("", _("无"))] + DisabilityCategory.choices
    )
    disability_grade = forms.TypedChoiceField(
        label=_("残疾等级"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "—"), (1, _("一级")), (2, _("二级")), (3, _("三级")), (4, _("四级"))],
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("disability_category") and not data.get("disability_grade"):
            self.add_error("disability_grade", _("请选择残疾等级"))
        return data


MemberFormSet = forms.formset_factory(MemberForm, extra=0, min_num=1, validate_min=True, max_num=20)


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label=_("新状态"),
        choices=[c for c in PersonStatus.choices if c[0] != PersonStatus.PRESENT]
        + [(PersonStatus.PRESENT, PersonStatus.PRESENT.label)],
    )
    date = forms.DateField(label=_("发生日期"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("说明（依据）"), max_length=200, required=False)

    def clean_date(self) -> object:
        value = self.cleaned_data["date"]
        if value > timezone.localdate():
            raise forms.ValidationError(_("日期不能晚于今天"))
        return value
