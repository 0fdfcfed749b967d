"""Fixtures of the redemption tests: a merchant with two stores and POS keys, members with cards."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from django.db import connection

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


@dataclass
class Shop:
    merchant: object
    store: object
    other_store: object
    key: str
    pinned_key: str
    manager: object
    cashier: object

    def headers(self, key: str | None = None, **extra) -> dict:
        return {"HTTP_AUTHORIZATION": f"Api-Key {key or self.key}", **extra}


@pytest.fixture
def shop(tree):
    merchant = MerchantFactory(region=tree.C1A, name="星光影城")
    store = StoreFactory(merchant=merchant, name="万达店")
    other_store = StoreFactory(merchant=merchant, name="北国店")
    _key, raw = api_key_create(merchant=merchant, name="收银台", created_by=None)
    _pinned, pinned_raw = api_key_create(merchant=merchant, name="万达店POS", created_by=None, store=store)
    manager = MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.MANAGER)
    cashier = MerchantUserFactory(merchant=merchant, role=MerchantUser.Role.CASHIER, store=store)
    return Shop(merchant, store, other_store, raw, pinned_raw, manager, cashier)


@pytest.fixture
def rival(tree):
    """Another merchant, with its own store and key: the outsider of ownership tests."""
    merchant = MerchantFactory(region=tree.C2A, name="对面影城")
    store = StoreFactory(merchant=merchant)
    _key, raw = api_key_create(merchant=merchant, name="POS", created_by=None)
    return Shop(merchant, store, store, raw, raw, None, None)


@pytest.fixture
def card(tree):
    return CardFactory(member=MemberFactory(union=tree.C1A1, name="张三丰"), status=Card.Status.ACTIVE)


@pytest.fixture
def make_card(tree):
    def make(union=None, **member):
        return CardFactory(member=MemberFactory(union=union or tree.C1A1, **member))

    return make


@pytest.fixture
def make_offer(shop):
    def make(**kwargs):
        kwargs.setdefault("merchant", shop.merchant)
        return OfferFactory(**kwargs)

    return make


def run_in_threads(count: int, target, *, barrier_timeout: float = 30) -> list:
    """Run ``target(i)`` in ``count`` threads that start together; each thread has its own database
    connection (Django's are per thread) and closes it at the end. Returns the results in order."""
    barrier = threading.Barrier(count, timeout=barrier_timeout)
    results: list = [None] * count

    def work(index: int) -> None:
        try:
            barrier.wait()
            results[index] = target(index)
        except BaseException as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results
