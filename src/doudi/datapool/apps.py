from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DatapoolConfig(AppConfig):
    name = "doudi.datapool"
    label = "datapool"
    verbose_name = _("数据池")
