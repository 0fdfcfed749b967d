"""Check that every fund's columns equal the sums of its ledger and that every allocation and
transfer has both its sides. Prints what disagrees and exits 1, or says all holds."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from funds.selectors import fund_ledger_mismatches


class Command(BaseCommand):
    help = "Check benefit funds against their ledger (columns = ledger sums; both sides of each pair)."

    def handle(self, *args, **options):
        mismatches = fund_ledger_mismatches()
        for m in mismatches:
            if m.column == "pair":
                self.stderr.write(f"operation {m.operation}: out {m.stored} / in {m.ledger}")
            else:
                self.stderr.write(f"fund {m.fund_id} {m.column}: stored {m.stored}, ledger {m.ledger}")
        if mismatches:
            raise CommandError(f"{len(mismatches)} mismatch(es) between funds and their ledger")
        self.stdout.write("funds and ledger agree")
