from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from discounts.rules import local_day
from members.models import Union
from tests.factories import MerchantFactory, OfferFactory, StoreFactory, UnionFactory


def seed_categories() -> None:
    """The categories come from a data migration; a transactional test elsewhere may have flushed
    them, so tests put them back with the migration's own function."""
    migration = importlib.import_module("merchants.migrations.0003_seed_categories")
    migration.seed_categories(apps, None)


@pytest.fixture(autouse=True)
def _categories(request):
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    seed_categories()


@pytest.fixture
def today():
    return local_day()


@pytest.fixture
def city(db):
    """Two cities of one province, with one county each: enough for region filters and scoping."""
    province = UnionFactory(code="130000", name="河北省总工会", level=Union.Level.PROVINCE)
    sjz = UnionFactory(code="130100", name="石家庄市总工会", level=Union.Level.CITY, parent=province)
    changan = UnionFactory(code="130102", name="长安区总工会", level=Union.Level.COUNTY, parent=sjz)
    tangshan = UnionFactory(code="130200", name="唐山市总工会", level=Union.Level.CITY, parent=province)
    lunan = UnionFactory(code="130202", name="路南区总工会", level=Union.Level.COUNTY, parent=tangshan)

    class Places:
        pass

    places = Places()
    places.province, places.sjz, places.changan, places.tangshan, places.lunan = (
        province,
        sjz,
        changan,
        tangshan,
        lunan,
    )
    return places


@pytest.fixture
def make_offer(city):
    """make_offer(region=..., **offer fields) → a published offer of a new merchant with one store."""

    def make(region=None, store_at=None, merchant=None, **fields):
        region = region or city.changan
        if merchant is None:
            merchant = MerchantFactory(region=region, **fields.pop("merchant_fields", {}))
            lat, lng = store_at or ("38.042000", "114.514000")
            StoreFactory(merchant=merchant, latitude=lat, longitude=lng)
        return OfferFactory(merchant=merchant, **fields)

    return make
