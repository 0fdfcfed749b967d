from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiscountsConfig(AppConfig):
    name = "discounts"
    verbose_name = _("优惠与核销")

    def ready(self):
        import discounts.admin_redemptions  # noqa: F401
