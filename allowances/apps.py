from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AllowancesConfig(AppConfig):
    name = "allowances"
    verbose_name = _("住院补贴")

    def ready(self):
        # The bank's answer to a credit file is read by this app, through the bank files' worker.
        from allowances.payouts import credit_results_process
        from allowances.todo import claims_waiting
        from banking.files import register_inbound_reader
        from banking.models import BankFile
        from members.todo import register_todo_section

        register_inbound_reader(BankFile.Kind.CREDIT_RESULT, credit_results_process)
        # The claims waiting for a staff decision, on the staff to-do page (members cannot import us).
        register_todo_section(claims_waiting)
