from __future__ import annotations

import pytest
from django.core.management import call_command

from allowances.models import Claim, PayoutRun
from funds.selectors import fund_ledger_mismatches


@pytest.mark.django_db
def test_the_demo_has_claims_in_every_status_once():
    options = ("--members", "400", "--merchants", "0", "--workplaces-per-county", "1")
    call_command("seed_demo", *options)
    call_command("seed_demo", *options)

    assert set(Claim.objects.values_list("status", flat=True)) == set(Claim.Status.values)
    assert Claim.objects.filter(status=Claim.Status.OPEN, paid_otherwise=True).count() == 1
    assert Claim.objects.count() == 9
    runs = list(PayoutRun.objects.order_by("pk"))
    assert [run.status for run in runs] == [PayoutRun.Status.CLOSED, PayoutRun.Status.RELEASED]
    answered = sorted(runs[0].lines.values_list("status", flat=True))
    assert answered == ["credited", "credited", "failed", "failed"]
    assert fund_ledger_mismatches() == []
