"""Fixtures of the settlement tests: a merchant of county C1A with a union-funded offer drawing on the
city's fund, a rival merchant of C2A, and staff around them: the county operator who prepares, a
colleague of the same county, two city operators (the fund's union), the sibling county's operator."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone

from discounts.models import Offer, Redemption
from funds.services import Reference, fund_add_money, fund_give_back, fund_open, fund_spend
from members.models import Card
from merchants.models import MerchantUser
from portal.roles import Role
from tests.factories import (
    CardFactory,
    MemberFactory,
    MerchantFactory,
    MerchantUserFactory,
    OfferFactory,
    StoreFactory,
)

_keys = itertools.count(1)


@dataclass
class Setting:
    merchant: object
    store: object
    offer: object
    card: object
    fund: object
    manager: object
    cashier: object
    rival_manager: object
    preparer: object
    approver: object
    colleague: object
    sibling: object
    city: object


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


@pytest.fixture
def setting(tree, make_staff) -> Setting:
    merchant = MerchantFactory(region=tree.C1A, name="星光影城")
    store = StoreFactory(merchant=merchant)
    fund = fund_open(union=tree.C1, year=timezone.localdate().year)
    fund_add_money(fund=fund, amount=Decimal("100000.00"), actor=None)
    offer = OfferFactory(
        merchant=merchant,
        kind=Offer.Kind.FIXED_PRICE,
        fixed_price=Decimal("10.00"),
        funder="union",
        fund=fund,
    )
    card = CardFactory(member=MemberFactory(union=tree.C1A1), status=Card.Status.ACTIVE)
    rival = MerchantFactory(region=tree.C2A, name="对面影城")
    return Setting(
        merchant=merchant,
        store=store,
        offer=offer,
        card=card,
        fund=fund,
        manager=MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.MANAGER),
        cashier=MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.CASHIER, store=store),
        rival_manager=MerchantUserFactory(merchant=rival, role=MerchantUser.Role.MANAGER),
        preparer=make_staff(tree.C1A),
        approver=make_staff(tree.C1, Role.CITY_OPERATOR),
        colleague=make_staff(tree.C1A),
        sibling=make_staff(tree.C1B),
        city=make_staff(tree.C1, Role.CITY_OPERATOR),
    )


@pytest.fixture
def redeemed(setting):
    """redeemed(day, share, voided_on=None) → a redemption of ``day`` whose union share is ``share``,
    voided on ``voided_on`` when given. Rows of past months are written directly: the till records
    only today's redemptions, and these tests are about what settlement makes of them. As at the
    till, the share is spent from the offer's fund and a void gives it back."""

    def make(day: date, share: str | Decimal = "20.00", voided_on: date | None = None, offer=None):
        share = Decimal(share)
        offer = offer or setting.offer
        redemption = Redemption.objects.create(
            offer=offer,
            merchant=setting.merchant,
            store=setting.store,
            card=setting.card,
            member=setting.card.member,
            amount=share + Decimal("10.00"),
            discount=share,
            payable=Decimal("10.00"),
            union_subsidy=share,
            fund_id=offer.fund_id,
            funder="union",
            local_day=day,
            idempotency_key=f"t-{next(_keys)}",
        )
        if offer.fund_id is not None:
            fund_spend(fund_id=offer.fund_id, amount=share, reference=Reference.to(redemption))
        if voided_on is not None:
            Redemption.objects.filter(pk=redemption.pk).update(
                status=Redemption.Status.VOIDED, voided_at=at(voided_on, 15), void_reason="测试"
            )
            if offer.fund_id is not None:
                fund_give_back(fund_id=offer.fund_id, amount=share, reference=Reference.to(redemption))
            redemption.refresh_from_db()
        return redemption

    return make
