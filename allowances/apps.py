from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllowancesConfig(AppConfig):
    name = "allowances"
    verbose_name = _("住院补贴")

    def ready(self):
        # The bank's answer to a credit file is read by this app, through the bank files' worker.
        from allowances.payouts import credit_results_process
        from banking.files import register_inbound_reader
        from banking.models import BankFile

        register_inbound_reader(BankFile.Kind.CREDIT_RESULT, credit_results_process)
