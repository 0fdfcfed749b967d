"""The demo settlement: the cinema's month before last paid through a run, last month open for the
merchant, every identity of the reconciliation holding — and a second seeding changes nothing."""

from __future__ import annotations

import importlib
from io import StringIO

from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from discounts.statements import previous_month
from funds.selectors import fund_ledger_mismatches
from settlement.demo import seed_settlement
from settlement.models import PaymentRun, Statement
from settlement.reconciliation import reconcile

seed_categories = importlib.import_module("merchants.migrations.0003_seed_categories").seed_categories


def test_the_demo_has_a_paid_month_and_an_open_one_that_reconcile(db):
    # The categories come from a data migration, which an earlier transactional test's flush removed.
    seed_categories(apps, None)
    call_command("seed_demo", members=30, merchants=6, stdout=StringIO(), stderr=StringIO())

    open_month = previous_month(timezone.localdate().replace(day=1))
    paid_month = previous_month(open_month)
    statements = {s.month: s for s in Statement.objects.all()}
    assert statements[paid_month].status == "paid" and statements[paid_month].total > 0
    assert statements[open_month].status == "draft" and statements[open_month].adjustment_total > 0
    assert PaymentRun.objects.get().status == "closed"
    for month in (paid_month, open_month):
        assert reconcile(month=month, union_path="").balanced
    assert fund_ledger_mismatches() == []
    assert seed_settlement(seed=1) == 0
