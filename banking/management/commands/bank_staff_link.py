"""Link a user to a partner bank as its staff:

manage.py bank_staff_link USERNAME BANK_CODE --by SUPERUSER
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from banking.staff import bank_staff_link
from members.models import PartnerBank
from portal.errors import ApplicationError


class Command(BaseCommand):
    help = "Make a user the staff of a partner bank (audited; the acting user must be a superuser)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("bank_code")
        parser.add_argument("--by", required=True, help="the superuser who makes the change")

    def handle(self, *args, username, bank_code, by, **options):
        users = get_user_model().objects
        user = users.filter(username=username).first()
        actor = users.filter(username=by).first()
        bank = PartnerBank.objects.filter(code=bank_code).first()
        if user is None or actor is None or bank is None:
            raise CommandError("unknown user, acting user or bank code")
        try:
            bank_staff_link(user=user, bank=bank, actor=actor)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"{username} now works for {bank.code}")
