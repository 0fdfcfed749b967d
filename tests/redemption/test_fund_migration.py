"""Migration discounts 0015 moves the books kept before (statements committed at approval and spent
at payment) onto the till's: every standing union share spent on its redemption's reference, what the
statements committed released and what they spent given back — every identity holds afterwards."""

from __future__ import annotations

import importlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from discounts.models import Redemption
from funds.models import Fund
from funds.selectors import fund_ledger_mismatches
from funds.services import Reference, fund_add_money, fund_commit, fund_open, fund_spend
from tests.factories import CardFactory, OfferFactory, StoreFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module("discounts.migrations.0015_redemption_fund_taken_at_till")


def _recorded(offer, card, share: str, status: str = "completed") -> Redemption:
    """A redemption as the former till recorded it: a union share, no fund named."""
    share = Decimal(share)
    return Redemption.objects.create(
        offer=offer,
        merchant=offer.merchant,
        store=StoreFactory(merchant=offer.merchant),
        card=card,
        member=card.member,
        amount=share + 10,
        discount=share,
        payable=Decimal("10.00"),
        union_subsidy=share,
        funder="union",
        local_day=timezone.localdate(),
        status=status,
    )


def test_the_books_kept_by_statements_move_onto_the_redemptions(tree):
    fund = fund_open(union=tree.C1, year=timezone.localdate().year)
    fund_add_money(fund=fund, amount=Decimal("100.00"), actor=None)
    offer = OfferFactory(funder="union", fund=fund)
    card = CardFactory()
    approved = _recorded(offer, card, "20.00")  # on an approved statement: committed
    paid = _recorded(offer, card, "10.00")  # on a paid statement: spent
    voided = _recorded(offer, card, "7.00", status="voided")
    fund_commit(fund_id=fund.pk, amount=Decimal("20.00"), reference=Reference("settlement.statement", "1"))
    fund_spend(fund_id=fund.pk, amount=Decimal("10.00"), reference=Reference("settlement.statement", "2"))

    migration.move_the_books(None, SimpleNamespace(connection=connection))

    fund = Fund.objects.get(pk=fund.pk)
    assert (fund.committed, fund.spent) == (Decimal("0.00"), Decimal("30.00"))
    assert dict(Redemption.objects.values_list("pk", "fund_id")) == {
        approved.pk: fund.pk,
        paid.pk: fund.pk,
        voided.pk: fund.pk,
    }
    spent = fund.movements.filter(kind="spent", reference_type="discounts.redemption")
    assert sorted(spent.values_list("reference_id", "amount")) == sorted(
        [(str(approved.pk), Decimal("20.00")), (str(paid.pk), Decimal("10.00"))]
    )
    assert fund_ledger_mismatches() == []
