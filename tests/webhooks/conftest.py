"""Fixtures of the webhook tests: a merchant (county C1A) with a store, a POS key, a manager and a
cashier; a rival merchant with its own manager; an offer and a member's card; deliveries allowed to
loopback (the receiver runs on 127.0.0.1) with short waits."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.utils import translation

from members.models import Card
from merchants.apikeys import api_key_create
from merchants.models import MerchantUser
from tests.factories import (
    CardFactory,
    MemberFactory,
    MerchantFactory,
    MerchantUserFactory,
    OfferFactory,
    StoreFactory,
)
from webhooks import services

POS_REDEMPTIONS = "/api/v1/redemptions/"
TILL = "/merchant/till/"


@dataclass
class Shop:
    merchant: object
    store: object
    key: str
    manager: object
    cashier: object
    offer: object

    def headers(self, **extra) -> dict:
        return {"HTTP_AUTHORIZATION": f"Api-Key {self.key}", **extra}


@pytest.fixture(autouse=True)
def _loopback_and_short_waits(settings):
    settings.WEBHOOKS_ALLOW_LOOPBACK_HTTP = True
    settings.WEBHOOK_RETRY_SCHEDULE = (0.2, 0.2)
    settings.WEBHOOK_CONNECT_TIMEOUT = 1.0
    settings.WEBHOOK_READ_TIMEOUT = 1.0
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # A page served in English by an earlier test of this process leaves English active in the
    # thread; services called directly here speak the portal's language, as a worker does.
    with translation.override(settings.LANGUAGE_CODE):
        yield


def make_shop(region, name: str) -> Shop:
    merchant = MerchantFactory(region=region, name=name)
    store = StoreFactory(merchant=merchant, name=f"{name}店")
    _key, raw = api_key_create(merchant=merchant, name="收银台", created_by=None)
    manager = MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.MANAGER)
    cashier = MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.CASHIER, store=store)
    offer = OfferFactory(merchant=merchant, title=f"{name}会员价")
    return Shop(merchant, store, raw, manager, cashier, offer)


@pytest.fixture
def shop(tree) -> Shop:
    return make_shop(tree.C1A, "星光影城")


@pytest.fixture
def rival(tree) -> Shop:
    return make_shop(tree.C2A, "对面影城")


@pytest.fixture
def card(tree):
    return CardFactory(member=MemberFactory(union=tree.C1A1, name="张三丰"), status=Card.Status.ACTIVE)


def register(shop: Shop, url: str, events=None, **kwargs):
    """An endpoint of the shop made by its manager, with its secret."""
    return services.endpoint_create(
        merchant=shop.merchant,
        url=url,
        events=events or ["redemption.created", "redemption.voided", "statement.ready"],
        created_by=shop.manager.user,
        **kwargs,
    )


def pos_redeem(client, shop: Shop, card, key: str = "k-1", amount: str = "100.00"):
    body = {"offer": shop.offer.pk, "card_number": card.number, "store": shop.store.pk, "amount": amount}
    response = client.post(POS_REDEMPTIONS, body, format="json", **shop.headers(HTTP_IDEMPOTENCY_KEY=key))
    assert response.status_code == 201, response.content
    return response.json()


def pos_void(client, shop: Shop, redemption_id: int):
    response = client.post(
        f"{POS_REDEMPTIONS}{redemption_id}/void/", {"reason": "金额输错"}, format="json", **shop.headers()
    )
    assert response.status_code == 200, response.content
    return response.json()


def till_redeem(client, shop: Shop, card, amount: str = "80") -> int:
    """A redemption made by the shop's cashier on the cashier screen; returns its id."""
    client.force_login(shop.cashier.user)
    assert client.post(f"{TILL}identify/", {"card": card.number}).status_code == 302
    page = client.get(TILL).content.decode()
    nonce = re.search(r'name="nonce" value="([0-9a-f]{32})"', page).group(1)
    response = client.post(
        f"{TILL}redeem/", {"offer": shop.offer.pk, "amount": amount, "units": "1", "nonce": nonce}
    )
    assert response.status_code == 302, response.content
    return int(response.url.rstrip("/").rsplit("/", 1)[1])
