"""A merchant is open on a day when it is signed (approved) and the day is inside its contract
(local Asia/Shanghai day; a missing date is open-ended). One definition, and every door holds it: the
POS key, the cashier screen and its sign-in, verify and redeem, and the member listings."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from discounts.models import Redemption
from discounts.redemption import redemption_create, redemption_verify
from merchants.access import MerchantClosed
from merchants.models import Merchant
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db

VERIFY = "/api/v1/cards/verify/"
REDEEM = "/api/v1/redemptions/"
TILL = "/merchant/till/"
DAY = datetime.timedelta(days=1)


def contract(window: str) -> dict:
    today = timezone.localdate()
    return {
        "ended_yesterday": {"contract_start": today - 400 * DAY, "contract_end": today - DAY},
        "starts_tomorrow": {"contract_start": today + DAY, "contract_end": today + 365 * DAY},
    }[window]


WINDOWS = ["ended_yesterday", "starts_tomorrow"]


# --- The rule itself -----------------------------------------------------------------------------


def test_open_on_is_one_definition_for_querysets_and_instances(tree):
    day = datetime.date(2026, 6, 15)
    cases = {
        "open": MerchantFactory(contract_start=day - DAY, contract_end=day + DAY),
        "first day": MerchantFactory(contract_start=day, contract_end=day + DAY),
        "last day": MerchantFactory(contract_start=day - DAY, contract_end=day),
        "open-ended": MerchantFactory(contract_start=None, contract_end=None),
        "no end": MerchantFactory(contract_start=day - DAY, contract_end=None),
        "ended": MerchantFactory(contract_start=day - 10 * DAY, contract_end=day - DAY),
        "not started": MerchantFactory(contract_start=day + DAY, contract_end=day + 10 * DAY),
        "suspended": MerchantFactory(status=Merchant.Status.SUSPENDED, contract_start=None),
        "applied": MerchantFactory(status=Merchant.Status.APPLIED, contract_start=None),
    }
    opened = set(Merchant.objects.open_on(day).values_list("pk", flat=True))
    assert {name for name, merchant in cases.items() if merchant.pk in opened} == {
        "open",
        "first day",
        "last day",
        "open-ended",
        "no end",
    }
    for merchant in cases.values():
        assert merchant.is_open_on(day) == (merchant.pk in opened)
    assert cases["ended"].closed_by(day) == "contract_end"
    assert cases["not started"].closed_by(day) == "contract_start"
    assert cases["suspended"].closed_by(day) == "status"


# --- POS keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize("window", WINDOWS)
def test_a_key_of_a_merchant_out_of_contract_gets_401_on_verify_and_redeem(
    api_client, shop, card, make_offer, window
):
    offer = make_offer()
    Merchant.objects.filter(pk=shop.merchant.pk).update(**contract(window))
    for key in (shop.key, shop.pinned_key):
        verify = api_client.post(VERIFY, {"card_number": card.number}, format="json", **shop.headers(key))
        redeem = api_client.post(
            REDEEM,
            {"offer": offer.pk, "card_number": card.number, "store": shop.store.pk, "amount": "10"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"{window}-{key[-4:]}",
            **shop.headers(key),
        )
        for response in (verify, redeem):
            assert response.status_code == 401, response.content
            error = response.json()["error"]
            assert error["code"] == "unauthenticated"
            assert "合同" in error["message"]
    assert not Redemption.objects.exists()


def test_a_contract_ending_today_still_redeems_today(api_client, shop, card, make_offer):
    offer = make_offer()
    today = timezone.localdate()
    Merchant.objects.filter(pk=shop.merchant.pk).update(contract_start=today, contract_end=today)
    response = api_client.post(
        REDEEM,
        {"offer": offer.pk, "card_number": card.number, "store": shop.store.pk, "amount": "10"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="last-day",
        **shop.headers(),
    )
    assert response.status_code == 201, response.content


def test_the_key_lookup_reads_the_contract_without_another_query(
    api_client, shop, card, make_offer, django_assert_num_queries
):
    """The redemption hot path: the idempotency claim, the rows, the recording statement (in a
    savepoint, and its release, inside the test's transaction). The key, with its merchant and store,
    was read by the first request in one query and is remembered (POS_KEY_CACHE_SECONDS)."""
    offer = make_offer()
    body = {"offer": offer.pk, "card_number": card.number, "store": shop.store.pk, "amount": "10"}
    api_client.get(REDEEM, **shop.headers())  # last_used_at is written at most once a minute
    with django_assert_num_queries(5):
        response = api_client.post(REDEEM, body, format="json", HTTP_IDEMPOTENCY_KEY="q-1", **shop.headers())
    assert response.status_code == 201


# --- The services behind every door --------------------------------------------------------------


@pytest.mark.parametrize("window", WINDOWS)
def test_verify_and_redeem_refuse_a_merchant_out_of_contract(shop, card, make_offer, window):
    offer = make_offer()
    Merchant.objects.filter(pk=shop.merchant.pk).update(**contract(window))
    shop.merchant.refresh_from_db()
    with pytest.raises(MerchantClosed):
        redemption_verify(merchant=shop.merchant, card_number=card.number, store_id=shop.store.pk)
    with pytest.raises(MerchantClosed):
        redemption_create(
            merchant=shop.merchant,
            store_id=shop.store.pk,
            offer_id=offer.pk,
            card_number=card.number,
            amount="10",
        )
    assert not Redemption.objects.exists()


# --- The cashier screen and its sign-in ----------------------------------------------------------


@pytest.mark.parametrize("window", WINDOWS)
def test_the_cashier_screen_refuses_a_merchant_out_of_contract(client, shop, card, make_offer, window):
    offer = make_offer()
    client.force_login(shop.cashier.user)
    Merchant.objects.filter(pk=shop.merchant.pk).update(**contract(window))
    page = client.get(TILL)
    assert page.status_code == 403
    assert "合同" in page.content.decode()
    assert client.post(f"{TILL}identify/", {"card": card.number}).status_code == 403
    redeem = client.post(f"{TILL}redeem/", {"offer": offer.pk, "amount": "10", "nonce": "a" * 32})
    assert redeem.status_code == 403
    assert not Redemption.objects.exists()


@pytest.mark.parametrize("window", WINDOWS)
def test_a_cashier_of_a_merchant_out_of_contract_cannot_sign_in(client, shop, window):
    Merchant.objects.filter(pk=shop.merchant.pk).update(**contract(window))
    response = client.post(
        "/merchant/login/", {"username": shop.cashier.user.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 200
    assert "合同" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_manager_still_signs_in_and_sees_why_the_till_is_closed(client, shop):
    Merchant.objects.filter(pk=shop.merchant.pk).update(**contract("ended_yesterday"))
    response = client.post(
        "/merchant/login/", {"username": shop.manager.user.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302
    assert "合同已到期" in client.get("/merchant/").content.decode()
    assert client.get(TILL).status_code == 403


# --- Member listings -----------------------------------------------------------------------------


@pytest.mark.parametrize("window", WINDOWS)
def test_listings_hide_a_merchant_out_of_contract(client, api_client, shop, make_offer, window):
    offer = make_offer(title="合同外的优惠")
    Merchant.objects.filter(pk=shop.merchant.pk).update(**contract(window))
    assert "合同外的优惠" not in client.get("/").content.decode()
    assert client.get(f"/offers/{offer.pk}/").status_code == 404
    assert api_client.get("/api/v1/offers/").json()["count"] == 0
    assert api_client.get(f"/api/v1/offers/{offer.pk}/").status_code == 404
