from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = _("网上购")

    def ready(self):
        # The member's history page (discounts, below) shows the confirmed shop orders as a section.
        from discounts.history import register_history_section
        from members.people import data_export_part_register
        from shop.selectors import history_section, orders_for_export

        register_history_section(history_section)
        # The member's shop orders are their data too: their download carries them.
        data_export_part_register("shop_orders", orders_for_export)
