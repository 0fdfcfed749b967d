from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = _("网上购")

    def ready(self):
        # The member's history page (discounts, below) shows the confirmed shop orders as a section.
        from discounts.history import register_history_section
        from shop.selectors import history_section

        register_history_section(history_section)
