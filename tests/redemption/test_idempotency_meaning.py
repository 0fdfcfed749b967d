"""An Idempotency-Key compares what a request means, not how it is written: a till that sends 100
the first time and "100.00" on its retry is retrying, not sending another request."""

from __future__ import annotations

import pytest

from discounts.models import Redemption

pytestmark = pytest.mark.django_db

URL = "/api/v1/redemptions/"


def redeem(client, shop, body, key):
    return client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **shop.headers())


@pytest.mark.parametrize("retry", [100, 100.0, "100.00", "100", "100.0"])
def test_the_same_amount_written_otherwise_replays(api_client, shop, card, make_offer, retry):
    offer = make_offer()
    body = {"offer": offer.pk, "card_number": card.number, "store": shop.store.pk}
    first = redeem(api_client, shop, {**body, "amount": "100.00"}, key="till-7")
    again = redeem(api_client, shop, {**body, "amount": retry}, key="till-7")
    assert first.status_code == 201, first.content
    assert again.status_code == 201, again.content
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Redemption.objects.count() == 1


def test_another_amount_is_another_request(api_client, shop, card, make_offer):
    offer = make_offer()
    body = {"offer": offer.pk, "card_number": card.number, "store": shop.store.pk}
    assert redeem(api_client, shop, {**body, "amount": 100}, key="till-8").status_code == 201
    response = redeem(api_client, shop, {**body, "amount": "100.01"}, key="till-8")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert Redemption.objects.count() == 1


def test_card_number_spacing_units_spelling_and_the_pinned_store_are_the_same_request(
    api_client, shop, card, make_offer
):
    offer = make_offer()
    spaced = " ".join(card.number[i : i + 4] for i in range(0, len(card.number), 4))
    first = api_client.post(
        URL,
        {"offer": offer.pk, "card_number": card.number, "amount": "20", "units": 1},
        format="json",
        HTTP_IDEMPOTENCY_KEY="pin-1",
        **shop.headers(shop.pinned_key),
    )
    again = api_client.post(
        URL,
        {"offer": str(offer.pk), "card_number": spaced, "store": shop.store.pk, "amount": 20, "units": "1"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="pin-1",
        **shop.headers(shop.pinned_key),
    )
    assert first.status_code == 201, first.content
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true", again.content
    assert Redemption.objects.count() == 1
