"""A till pinned to one store — a store-pinned POS key, a cashier pinned to a store — sees and voids
only that store's redemptions, whatever door it uses (one rule: discounts.redemption.redemptions_visible)."""

from __future__ import annotations

import pytest

from discounts.models import Redemption
from discounts.redemption import redemption_create

pytestmark = pytest.mark.django_db

LIST = "/api/v1/redemptions/"
TILL = "/merchant/till/"


@pytest.fixture
def two_stores(shop, make_card, make_offer):
    """One redemption at the pinned store, one at the merchant's other store."""
    offer = make_offer()

    def at(store, key):
        return redemption_create(
            merchant=shop.merchant,
            store_id=store.pk,
            offer_id=offer.pk,
            card_number=make_card().number,
            amount="10",
            idempotency_key=key,
        )

    return at(shop.store, "here"), at(shop.other_store, "there")


def test_a_store_pinned_key_lists_only_its_own_stores_redemptions(api_client, shop, two_stores):
    here, there = two_stores
    listed = api_client.get(LIST, **shop.headers(shop.pinned_key)).json()
    assert [row["id"] for row in listed["results"]] == [here.pk]
    asked = api_client.get(LIST, {"store": shop.other_store.pk}, **shop.headers(shop.pinned_key)).json()
    assert asked["count"] == 0
    everything = api_client.get(LIST, **shop.headers()).json()  # the unpinned key sees both
    assert {row["id"] for row in everything["results"]} == {here.pk, there.pk}


def test_a_store_pinned_key_cannot_void_another_stores_redemption(api_client, shop, two_stores):
    here, there = two_stores
    response = api_client.post(
        f"{LIST}{there.pk}/void/", {"reason": "不是本店的"}, format="json", **shop.headers(shop.pinned_key)
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert Redemption.objects.get(pk=there.pk).status == Redemption.Status.COMPLETED
    own = api_client.post(
        f"{LIST}{here.pk}/void/", {"reason": "收错了"}, format="json", **shop.headers(shop.pinned_key)
    )
    assert own.status_code == 200


def test_a_pinned_cashier_neither_sees_nor_voids_another_stores_redemption(client, shop, two_stores):
    here, there = two_stores
    client.force_login(shop.cashier.user)  # pinned to shop.store
    page = client.get(TILL).content.decode()
    assert f"{TILL}redemptions/{here.pk}/" in page and f"{TILL}redemptions/{there.pk}/" not in page
    assert client.get(f"{TILL}redemptions/{there.pk}/").status_code == 404
    assert client.post(f"{TILL}redemptions/{there.pk}/void/", {"reason": "x"}).status_code == 404
    assert Redemption.objects.get(pk=there.pk).status == Redemption.Status.COMPLETED
