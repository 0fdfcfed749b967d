"""Fixtures of the shop tests: a partner merchant with a manager and a POS key, a rival merchant,
members with active cards, and products made to measure."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from members.models import Card
from merchants.apikeys import api_key_create
from merchants.models import MerchantUser
from shop.models import Product
from tests.factories import CardFactory, MemberFactory, MerchantFactory, MerchantUserFactory


@dataclass
class Partner:
    merchant: object
    manager: object
    cashier: object
    key: str

    def headers(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Api-Key {self.key}"}


def _partner(region, name) -> Partner:
    merchant = MerchantFactory(region=region, name=name)
    manager = MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.MANAGER)
    cashier = MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.CASHIER)
    _key, raw = api_key_create(merchant=merchant, name="收银台", created_by=None)
    return Partner(merchant, manager, cashier, raw)


@pytest.fixture
def partner(tree):
    return _partner(tree.C1A, "惠民超市")


@pytest.fixture
def rival(tree):
    return _partner(tree.C2A, "对面超市")


@pytest.fixture
def make_product(partner):
    def make(**kwargs):
        today = timezone.localdate()
        values = {
            "merchant": partner.merchant,
            "title": "花生油 5 升",
            "market_price": Decimal("89.00"),
            "member_price": Decimal("59.90"),
            "stock": 10,
            "per_member_limit": None,
            "valid_from": today - datetime.timedelta(days=1),
            "valid_until": today + datetime.timedelta(days=30),
            "status": Product.Status.PUBLISHED,
        }
        values.update(kwargs)
        return Product.objects.create(**values)

    return make


@pytest.fixture
def card(tree):
    return CardFactory(member=MemberFactory(union=tree.C1A1, name="张三丰"), status=Card.Status.ACTIVE)


@pytest.fixture
def make_card(tree):
    def make(**member):
        return CardFactory(member=MemberFactory(union=tree.C1A1, **member), status=Card.Status.ACTIVE)

    return make
