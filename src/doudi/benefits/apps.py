from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BenefitsConfig(AppConfig):
    name = "doudi.benefits"
    label = "benefits"
    verbose_name = _("待遇发放")
