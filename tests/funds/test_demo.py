"""The demo funds: three levels for the current year, with allocations, money of their own and a few
transfers — made through the services, idempotent, and in agreement with their ledger."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from funds.demo import seed_funds
from funds.models import Fund, FundMovement
from funds.selectors import fund_ledger_mismatches
from members.demo import seed_unions
from members.models import Union

Kind = FundMovement.Kind


@pytest.fixture
def province(db):
    seed_unions(seed=1, workplaces_per_county=1)


def test_the_demo_opens_funds_at_three_levels_and_runs_once(province):
    opened = seed_funds(seed=1)

    year = timezone.localdate().year
    levels = set(Fund.objects.filter(year=year).values_list("union__level", flat=True))
    assert levels == {Union.Level.PROVINCE, Union.Level.CITY, Union.Level.COUNTY}
    assert opened == Fund.objects.count() > 12
    kinds = set(FundMovement.objects.values_list("kind", flat=True))
    assert {Kind.ADDED, Kind.ALLOCATED, Kind.RECEIVED, Kind.TRANSFER_OUT, Kind.TRANSFER_IN} <= kinds
    assert all(fund.left >= 0 for fund in Fund.objects.all())
    assert fund_ledger_mismatches() == []

    movements = FundMovement.objects.count()
    assert seed_funds(seed=1) == 0
    assert FundMovement.objects.count() == movements


def test_the_check_command_says_whether_funds_and_ledger_agree(province):
    seed_funds(seed=1)
    out = StringIO()

    call_command("funds_check", stdout=out)
    assert "agree" in out.getvalue()

    Fund.objects.filter(union__level=Union.Level.CITY).update(spent=1)
    with pytest.raises(CommandError, match="mismatch"):
        call_command("funds_check", stdout=StringIO(), stderr=StringIO())
