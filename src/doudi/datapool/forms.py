from django import forms
from django.utils.translation import gettext_lazy as _

from doudi.datapool.catalog import load_catalog

MAX_UPLOAD = 512 * 1024 * 1024


class UploadForm(forms.Form):
    interface = forms.ChoiceField(label=_("接口"))
    file = forms.FileField(label=_("数据文件（CSV、Excel、JSON 行）"))

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["interface"].choices = [("", _("请选择"))] + [
            (i.code, f"{i.label} · {i.code}") for i in load_catalog()
        ]

    def clean_file(self):  # type: ignore[no-untyped-def]
        f = self.cleaned_data["file"]
        if f.size > MAX_UPLOAD:
            raise forms.ValidationError(_("文件超过 512 MB，请拆分后上传或使用命令行 doudi ingest"))
        return f
