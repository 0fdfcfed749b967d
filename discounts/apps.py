from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DiscountsConfig(AppConfig):
    name = "discounts"
    verbose_name = _("优惠与核销")

    def ready(self):
        # Imported here, once every app's models are loaded (the usual place for start-up wiring).
        from discounts.history import redemptions_for_export, register_history_section
        from discounts.vouchers import history_codes_section
        from members.people import data_export_part_register

        # A member's data export holds their redemptions too (members does not import discounts).
        data_export_part_register("redemptions", redemptions_for_export)
        # The history page shows the codes of online offers the member claimed, used or not.
        register_history_section(history_codes_section)
