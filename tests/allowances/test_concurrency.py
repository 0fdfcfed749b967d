"""Two approvals of the same member's claims racing for the last days of the year: real parallel
transactions, each on its own connection; the yearly cap holds."""

from __future__ import annotations

import datetime
import time

import pytest
from django.db.models import Sum

from allowances import services
from allowances.models import Claim
from portal.errors import ApplicationError
from tests.allowances.conftest import open_claim
from tests.redemption.conftest import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def test_racing_approvals_never_exceed_the_days_of_the_year(people, member, fund, monkeypatch):
    computed = services.allowance_for

    def slow_allowance_for(claim):
        # Widen the window between reading the days used and committing the money, so that an
        # approval not serialised on the member would read the same days used as its rival.
        result = computed(claim)
        time.sleep(0.3)
        return result

    monkeypatch.setattr(services, "allowance_for", slow_allowance_for)
    first = open_claim(people, member, days=30, bill_fen=900_000, start=datetime.date(2026, 1, 5))
    services.claim_mark_paid_otherwise(actor=people.opener, claim=first)
    services.claim_approve(actor=people.approver, claim=first)
    racing = []
    for month in (3, 4, 5, 6):
        claim = open_claim(people, member, days=20, bill_fen=900_000, start=datetime.date(2026, month, 1))
        services.claim_mark_paid_otherwise(actor=people.opener, claim=claim)
        racing.append(claim)

    def approve(index):
        try:
            services.claim_approve(actor=people.approver, claim=racing[index])
        except ApplicationError as refused:
            return refused.code
        return "ok"

    outcomes = run_in_threads(4, approve)

    approved_days = Claim.objects.filter(member=member, status=Claim.Status.APPROVED).aggregate(
        d=Sum("days")
    )["d"]
    assert approved_days == services.MAX_DAYS_PER_YEAR
    assert outcomes.count("ok") == 2  # 20 + 10 days, then the year is used up
    assert outcomes.count("claim_year_cap_reached") == 2
