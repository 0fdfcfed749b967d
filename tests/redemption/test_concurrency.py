"""The invariants of DESIGN.md under real concurrency: threads, each with its own PostgreSQL
connection and transaction, started together on a barrier."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from discounts.models import (
    MemberOfferDayCounter,
    MemberOfferTotalCounter,
    Offer,
    OfferDayCounter,
    Redemption,
)
from discounts.redemption import redemption_create, redemption_void
from portal.errors import ApplicationError
from tests.redemption.conftest import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def outcome(result) -> str:
    if isinstance(result, Redemption):
        return "ok"
    if isinstance(result, ApplicationError):
        return result.code
    raise result  # an unexpected error fails the test with its traceback


def live_units(offer) -> int:
    return (
        Redemption.objects.filter(offer=offer, status=Redemption.Status.COMPLETED).aggregate(n=Sum("units"))[
            "n"
        ]
        or 0
    )


def test_fifty_clients_racing_for_the_last_ten_units_get_exactly_ten(shop, make_card, make_offer):
    offer = make_offer(daily_quota=1500)
    OfferDayCounter.objects.create(offer=offer, day=timezone.localdate(), used=1490)
    cards = [make_card() for _ in range(50)]

    def attempt(index):
        return redemption_create(
            merchant=shop.merchant,
            store_id=shop.store.pk,
            offer_id=offer.pk,
            card_number=cards[index].number,
            amount="30.00",
        )

    outcomes = [outcome(r) for r in run_in_threads(50, attempt)]
    assert outcomes.count("ok") == 10
    assert outcomes.count("quota_exhausted") == 40
    assert OfferDayCounter.objects.get(offer=offer).used == 1500
    assert Redemption.objects.filter(offer=offer).count() == 10


def test_same_idempotency_key_sent_concurrently_through_the_api_creates_one_redemption(
    shop, card, make_offer
):
    offer = make_offer()
    body = {"offer": offer.pk, "card_number": card.number, "store": shop.store.pk, "amount": "88.00"}

    def send(index):
        client = APIClient()
        response = client.post(
            "/api/v1/redemptions/", body, format="json", HTTP_IDEMPOTENCY_KEY="till-7-0001", **shop.headers()
        )
        return response.status_code, response.json(), response.get("Idempotent-Replayed")

    results = run_in_threads(16, send)
    assert Redemption.objects.filter(merchant=shop.merchant).count() == 1
    created = Redemption.objects.get()
    for status, data, _replayed in results:
        assert (status, data.get("id")) in {(201, created.pk), (409, None)}
        if status == 409:
            assert data["error"]["code"] == "request_in_progress"
    assert sum(1 for status, _data, replayed in results if status == 201 and not replayed) == 1
    # After the race every retry replays the one answer.
    client = APIClient()
    again = client.post(
        "/api/v1/redemptions/", body, format="json", HTTP_IDEMPOTENCY_KEY="till-7-0001", **shop.headers()
    )
    assert again.status_code == 201 and again.json()["id"] == created.pk
    assert again["Idempotent-Replayed"] == "true"


def test_a_member_racing_two_stores_cannot_pass_the_per_member_limits(shop, card, make_offer):
    offer = make_offer(per_member_daily_limit=2, per_member_total_limit=3)
    stores = [shop.store.pk, shop.other_store.pk]

    def attempt(index):
        return redemption_create(
            merchant=shop.merchant,
            store_id=stores[index % 2],
            offer_id=offer.pk,
            card_number=card.number,
            amount="10",
        )

    outcomes = [outcome(r) for r in run_in_threads(20, attempt)]
    assert outcomes.count("ok") == 2
    assert outcomes.count("member_limit_reached") == 18
    assert MemberOfferDayCounter.objects.get(offer=offer, member=card.member).used == 2
    assert MemberOfferTotalCounter.objects.get(offer=offer, member=card.member).used == 2


def test_budget_is_never_exceeded(shop, make_card, make_offer, tree):
    offer = make_offer(
        kind=Offer.Kind.ALLOWANCE,
        percent_off=None,
        allowance_per_unit=Decimal("20.00"),
        funder=Offer.Funder.UNION,
        budget_owner=tree.C1,
        budget=Decimal("200.00"),
    )
    cards = [make_card() for _ in range(30)]

    def attempt(index):
        return redemption_create(
            merchant=shop.merchant,
            store_id=shop.store.pk,
            offer_id=offer.pk,
            card_number=cards[index].number,
            amount="500",
            units=1 + index % 2,
        )

    outcomes = [outcome(r) for r in run_in_threads(30, attempt)]
    assert set(outcomes) <= {"ok", "budget_exhausted"}
    offer.refresh_from_db()
    subsidies = Redemption.objects.filter(offer=offer).aggregate(s=Sum("union_subsidy"))["s"]
    assert offer.budget_used == subsidies <= offer.budget
    assert offer.budget_used >= offer.budget - Decimal("20.00")  # refused only when really full


def test_voids_racing_redemptions_keep_every_total_right(shop, make_card, make_offer, tree):
    offer = make_offer(
        daily_quota=6,
        kind=Offer.Kind.ALLOWANCE,
        percent_off=None,
        allowance_per_unit=Decimal("10.00"),
        funder=Offer.Funder.UNION,
        budget_owner=tree.C1,
        budget=Decimal("1000.00"),
    )
    first = [
        redemption_create(
            merchant=shop.merchant,
            store_id=shop.store.pk,
            offer_id=offer.pk,
            card_number=make_card().number,
            amount="10",
        )
        for _ in range(6)
    ]
    cards = [make_card() for _ in range(14)]

    def attempt(index):
        if index < 6:
            return redemption_void(redemption=first[index], reason="退单")
        return redemption_create(
            merchant=shop.merchant,
            store_id=shop.store.pk,
            offer_id=offer.pk,
            card_number=cards[index - 6].number,
            amount="10",
        )

    outcomes = [outcome(r) for r in run_in_threads(20, attempt)]
    assert set(outcomes) <= {"ok", "quota_exhausted"}
    assert outcomes[:6] == ["ok"] * 6
    offer.refresh_from_db()
    units = live_units(offer)
    assert units <= 6
    assert OfferDayCounter.objects.get(offer=offer).used == units
    live = Redemption.objects.filter(offer=offer, status=Redemption.Status.COMPLETED)
    assert offer.budget_used == (live.aggregate(s=Sum("union_subsidy"))["s"] or 0)
    # Every redemption that succeeded after a void is one more live one.
    assert units == outcomes[6:].count("ok")


def test_concurrent_voids_of_one_redemption_release_once(shop, card, make_offer):
    offer = make_offer(daily_quota=5, per_member_total_limit=5)
    redemption = redemption_create(
        merchant=shop.merchant, store_id=shop.store.pk, offer_id=offer.pk, card_number=card.number, amount="5"
    )

    def attempt(index):
        return redemption_void(redemption=Redemption.objects.get(pk=redemption.pk), reason="重复")

    outcomes = [outcome(r) for r in run_in_threads(10, attempt)]
    assert outcomes.count("ok") == 1
    assert outcomes.count("already_voided") == 9
    assert OfferDayCounter.objects.get(offer=offer).used == 0
    assert MemberOfferTotalCounter.objects.get(offer=offer, member=card.member).used == 0


def test_mixed_load_on_several_offers_never_deadlocks(shop, make_card, make_offer):
    offers = [make_offer(daily_quota=8, per_member_daily_limit=2) for _ in range(3)]
    cards = [make_card() for _ in range(6)]

    def attempt(index):
        return redemption_create(
            merchant=shop.merchant,
            store_id=shop.store.pk,
            offer_id=offers[index % 3].pk,
            card_number=cards[index % 6].number,
            amount="10",
        )

    outcomes = [outcome(r) for r in run_in_threads(36, attempt)]
    assert set(outcomes) <= {"ok", "quota_exhausted", "member_limit_reached"}
    for offer in offers:
        assert live_units(offer) == OfferDayCounter.objects.get(offer=offer).used <= 8
