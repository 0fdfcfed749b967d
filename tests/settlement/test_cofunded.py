"""Co-funded offers: the discount splits into the merchant's and the union's shares, to the fen —
merchant + union == discount and payable + discount == amount, for every amount, unit count and share
(hypothesis); a redemption at the till records the union's share, which its month's statement owes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from discounts.models import Offer
from discounts.redemption import redemption_create
from discounts.rules import compute_amounts
from discounts.services import offer_validate
from portal.errors import ApplicationError
from settlement.services import statement_prepare
from tests.factories import OfferFactory

FEN = Decimal("0.01")
money = st.integers(0, 10_000_00).map(lambda fen: Decimal(fen) * FEN)
kinds = st.sampled_from(
    [
        (Offer.Kind.PERCENT_OFF, {"percent_off": Decimal("12.50")}),
        (Offer.Kind.AMOUNT_OFF, {"amount_off": Decimal("30.00")}),
        (Offer.Kind.FIXED_PRICE, {"fixed_price": Decimal("10.00")}),
    ]
)
shares = st.one_of(
    st.integers(1, 100_00).map(lambda fen: {"union_share_per_unit": Decimal(fen) * FEN}),
    st.integers(1, 100_00).map(lambda bp: {"union_share_percent": Decimal(bp) * FEN}),
)


@given(kind=kinds, share=shares, amount=money, units=st.integers(1, 9))
def test_the_shares_add_up_to_the_discount_to_the_fen(kind, share, amount, units):
    offer = Offer(kind=kind[0], funder=Offer.Funder.COFUNDED, **kind[1], **share)

    amounts = compute_amounts(offer, amount=amount, units=units)

    assert amounts.merchant_share + amounts.union_subsidy == amounts.discount
    assert amounts.payable + amounts.discount == amounts.amount
    assert Decimal("0.00") <= amounts.union_subsidy <= amounts.discount
    for value in (amounts.discount, amounts.union_subsidy, amounts.merchant_share, amounts.payable):
        assert value == value.quantize(FEN)


def test_the_cinemas_ticket_splits_its_saving_between_the_cinema_and_the_union():
    offer = Offer(
        kind=Offer.Kind.FIXED_PRICE,
        fixed_price=Decimal("10.00"),
        funder=Offer.Funder.COFUNDED,
        union_share_per_unit=Decimal("15.00"),
    )
    amounts = compute_amounts(offer, amount=Decimal("90.00"), units=2)
    assert (amounts.payable, amounts.discount, amounts.union_subsidy, amounts.merchant_share) == (
        Decimal("20.00"), Decimal("70.00"), Decimal("30.00"), Decimal("40.00"),
    )  # fmt: skip


@pytest.mark.django_db
def test_a_co_funded_offer_needs_one_way_of_sharing_a_budget_and_the_till(tree):
    offer = OfferFactory.build(
        merchant=OfferFactory().merchant,
        funder=Offer.Funder.COFUNDED,
        budget=Decimal("100"),
        budget_owner=tree.C1,
    )
    with pytest.raises(ApplicationError) as refused:
        offer_validate(offer)
    assert "union_share_percent" in refused.value.fields
    offer.union_share_percent = Decimal("40")
    offer_validate(offer)
    offer.channel = Offer.Channel.ONLINE
    with pytest.raises(ApplicationError) as refused:
        offer_validate(offer)
    assert "funder" in refused.value.fields


def test_a_redemption_at_the_till_records_the_unions_share_and_its_month_owes_it(setting):
    Offer.objects.filter(pk=setting.offer.pk).update(
        funder=Offer.Funder.COFUNDED,
        union_share_percent=Decimal("40"),
        budget=Decimal("1000"),
        budget_owner=setting.fund.union,
    )
    redemption = redemption_create(
        merchant=setting.merchant,
        store_id=setting.store.pk,
        offer_id=setting.offer.pk,
        card_number=setting.card.number,
        amount=Decimal("45.00"),
        idempotency_key="cofunded-1",
    )
    assert (redemption.discount, redemption.union_subsidy, redemption.payable) == (
        Decimal("35.00"), Decimal("14.00"), Decimal("10.00"),
    )  # fmt: skip
    statement = statement_prepare(
        merchant=setting.merchant, month=timezone.localdate().replace(day=1), actor=setting.preparer
    )
    assert statement.total == Decimal("14.00")
