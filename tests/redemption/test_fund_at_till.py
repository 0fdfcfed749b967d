"""The union's share of a co-funded redemption is spent from the offer's fund at the till, in the
statement that records the redemption, and a void gives it back (issue 18): the fund never goes below
zero, whatever the interleaving, and its ledger names each redemption."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from discounts.models import OfferDayCounter, Redemption
from discounts.redemption import redemption_create, redemption_verify, redemption_void
from funds.models import Fund, FundMovement
from funds.selectors import fund_ledger_mismatches
from funds.services import Reference, fund_add_money, fund_allocate_to_union, fund_open
from portal.errors import ApplicationError
from tests.redemption.conftest import run_in_threads
from tests.redemption.test_concurrency import outcome

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fund(tree):
    fund = fund_open(union=tree.C1, year=timezone.localdate().year)
    fund_add_money(fund=fund, amount=Decimal("100.00"), actor=None)
    return fund


@pytest.fixture
def cofunded(make_offer, fund, tree):
    """满100减30, the union bearing half of each discount (15 yuan), from the city's fund."""
    return make_offer(
        kind="amount_off",
        percent_off=None,
        amount_off=Decimal("30.00"),
        min_spend=Decimal("100.00"),
        funder="cofunded",
        union_share_percent=Decimal("50"),
        budget_owner=tree.C1,
        budget=Decimal("100000.00"),
        fund=fund,
    )


def redeem(shop, offer, card, amount="120.00"):
    return redemption_create(
        merchant=shop.merchant,
        store_id=shop.store.pk,
        offer_id=offer.pk,
        card_number=card.number,
        amount=amount,
    )


def test_the_till_spends_the_union_share_and_a_void_gives_it_back(shop, card, cofunded, fund):
    redemption = redeem(shop, cofunded, card)

    assert (redemption.discount, redemption.union_subsidy, redemption.payable) == (
        Decimal("30.00"),
        Decimal("15.00"),
        Decimal("90.00"),
    )
    assert Redemption.objects.get(pk=redemption.pk).fund_id == fund.pk
    assert Fund.objects.get(pk=fund.pk).spent == Decimal("15.00")
    [spent] = FundMovement.objects.filter(fund=fund, kind="spent")
    assert (spent.amount, spent.reference_type, spent.reference_id) == (
        Decimal("15.00"),
        Reference.to(redemption).type,
        str(redemption.pk),
    )

    redemption_void(redemption=redemption, reason="顾客退票")

    assert Fund.objects.get(pk=fund.pk).spent == Decimal("0.00")
    [given_back] = FundMovement.objects.filter(fund=fund, kind="given_back")
    assert (given_back.amount, given_back.reference_id) == (Decimal("15.00"), str(redemption.pk))
    assert fund_ledger_mismatches() == []


def test_an_exhausted_fund_refuses_at_the_till_and_nothing_is_recorded(
    shop, card, make_card, cofunded, fund, tree
):
    for _ in range(6):
        redeem(shop, cofunded, make_card())  # 6 × 15 of 100: 10 left

    with pytest.raises(ApplicationError) as refused:
        redeem(shop, cofunded, card)

    assert refused.value.code == "budget_exhausted"
    assert Redemption.objects.filter(offer=cofunded).count() == 6
    assert OfferDayCounter.objects.get(offer=cofunded).used == 6  # the refused one took nothing
    assert Fund.objects.get(pk=fund.pk).spent == Decimal("90.00")

    # Once the city has given the last 10 yuan to a county, the fund has nothing left for any share:
    # the till asking first hears it from verify, which names the fund.
    fund_allocate_to_union(parent_fund=fund, child_union=tree.C1A, amount=Decimal("10.00"), actor=None)
    [check] = redemption_verify(merchant=shop.merchant, card_number=card.number).offers
    assert (check.eligible, check.reason_code, check.usability.reason) == (False, "budget_exhausted", "fund")

    # Over the POS API, in the envelope, with the contract's code.
    response = APIClient().post(
        "/api/v1/redemptions/",
        {"offer": cofunded.pk, "store": shop.store.pk, "card_number": card.number, "amount": "120.00"},
        format="json",
        **shop.headers(HTTP_IDEMPOTENCY_KEY="fund-empty-1"),
    )
    assert response.status_code in (409, 422) and response.json()["error"]["code"] == "budget_exhausted"


def test_racing_tills_never_overdraw_the_fund(shop, make_card, cofunded, fund):
    cards = [make_card() for _ in range(20)]

    outcomes = [outcome(r) for r in run_in_threads(20, lambda i: redeem(shop, cofunded, cards[i]))]

    # 100 yuan pays six shares of 15; the seventh would need 105.
    assert outcomes.count("ok") == 6 and outcomes.count("budget_exhausted") == 14
    spent_at_till = Redemption.objects.filter(fund=fund, status="completed").aggregate(
        s=Sum("union_subsidy")
    )["s"]
    left = Fund.objects.with_left().get(pk=fund.pk)
    assert (left.spent, spent_at_till, left.left_amount) == (
        Decimal("90.00"),
        Decimal("90.00"),
        Decimal("10.00"),
    )
    assert fund_ledger_mismatches() == []


def test_voids_racing_redemptions_keep_the_fund_equal_to_the_shares_standing(shop, make_card, cofunded, fund):
    cards = [make_card() for _ in range(12)]
    first = [redeem(shop, cofunded, cards[i]) for i in range(4)]  # 60 spent

    def work(index):
        if index < 4:
            return redemption_void(redemption=first[index], reason="撤销")
        return redeem(shop, cofunded, cards[index])

    run_in_threads(12, work)

    standing = Redemption.objects.filter(fund=fund, status="completed").aggregate(s=Sum("union_subsidy"))["s"]
    fund.refresh_from_db()
    assert fund.spent == standing <= Decimal("100.00")
    assert fund_ledger_mismatches() == []
