"""The POS API contract of DESIGN.md, request for request: every field, status and error code."""

from __future__ import annotations

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from discounts.models import IdempotencyRecord, Offer, OfferDayCounter, Redemption
from discounts.redemption import redemption_create
from members.models import Card, Member
from members.tokens import card_token_issue
from merchants.apikeys import api_key_revoke, forget_keys
from merchants.models import ApiKey
from portal.models import AuditEvent
from tests.factories import OfferFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/redemptions/"
VERIFY = "/api/v1/cards/verify/"


def redeem(client, shop, body, key="k-1", api_key=None, **extra):
    headers = shop.headers(api_key)
    if key is not None:
        headers["HTTP_IDEMPOTENCY_KEY"] = key
    return client.post(URL, body, format="json", **headers, **extra)


def body_for(shop, offer, card, **overrides):
    body = {"offer": offer.pk, "card_number": card.number, "store": shop.store.pk, "amount": "100.00"}
    body.update(overrides)
    return body


def error_code(response) -> str:
    return response.json()["error"]["code"]


# --- Redeem: success ----------------------------------------------------------------------------


def test_redeem_returns_201_with_the_contract_fields(api_client, shop, card, make_offer):
    offer = make_offer(
        title="周末观影", kind=Offer.Kind.FIXED_PRICE, fixed_price=Decimal("10"), percent_off=None
    )
    response = redeem(api_client, shop, body_for(shop, offer, card, amount="90", units=2))
    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == {
        "id", "offer", "store", "card_number_masked", "member_name_masked", "units", "amount",
        "discount", "payable", "union_subsidy", "status", "merchant_reference", "created_at",
        "voided_at",
    }  # fmt: skip
    assert data["offer"] == {"id": offer.pk, "title": "周末观影"}
    assert data["store"] == {"id": shop.store.pk, "name": "万达店"}
    assert data["card_number_masked"] == card.number[:4] + "*" * (len(card.number) - 8) + card.number[-4:]
    assert data["member_name_masked"] == "张**"
    assert data["units"] == 2
    assert (data["amount"], data["discount"], data["payable"], data["union_subsidy"]) == (
        "90.00",
        "70.00",
        "20.00",
        "0.00",
    )
    assert data["status"] == "completed" and data["voided_at"] is None
    assert Redemption.objects.get(pk=data["id"]).idempotency_key == "k-1"


def test_redeem_by_member_qr_token(api_client, shop, card, make_offer):
    offer = make_offer()
    body = {"offer": offer.pk, "member_token": card_token_issue(card_id=card.pk), "amount": "50"}
    response = redeem(api_client, shop, body, api_key=shop.pinned_key)
    assert response.status_code == 201, response.content
    assert response.json()["store"]["id"] == shop.store.pk
    assert response.json()["discount"] == "5.00"


def test_percent_discount_is_rounded_half_up_to_the_fen(api_client, shop, card, make_offer):
    offer = make_offer(percent_off=Decimal("12.5"))
    data = redeem(api_client, shop, body_for(shop, offer, card, amount="0.20")).json()
    assert (data["discount"], data["payable"]) == ("0.03", "0.17")  # 0.025 → 0.03


def test_union_allowance_is_a_subsidy_counted_against_the_budget(api_client, shop, card, make_offer, tree):
    offer = make_offer(
        kind=Offer.Kind.ALLOWANCE,
        percent_off=None,
        allowance_per_unit=Decimal("20"),
        funder=Offer.Funder.UNION,
        budget_owner=tree.C1,
        budget=Decimal("100"),
    )
    data = redeem(api_client, shop, body_for(shop, offer, card, amount="800", units=3)).json()
    assert (data["discount"], data["payable"], data["union_subsidy"]) == ("0.00", "800.00", "60.00")
    offer.refresh_from_db()
    assert offer.budget_used == Decimal("60.00")


# --- Authentication and rate limit ---------------------------------------------------------------


def test_missing_unknown_and_revoked_keys_are_401(api_client, shop, card, make_offer):
    offer = make_offer()
    body = body_for(shop, offer, card)
    missing = api_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="a")
    unknown = api_client.post(
        URL, body, format="json", HTTP_AUTHORIZATION="Api-Key pk_nope_secret", HTTP_IDEMPOTENCY_KEY="a"
    )
    api_key_revoke(key=ApiKey.objects.get(merchant=shop.merchant, store=None), revoked_by=None)
    revoked = redeem(api_client, shop, body)
    for response in (missing, unknown, revoked):
        assert response.status_code == 401
        assert error_code(response) == "unauthenticated"
    assert not Redemption.objects.exists()


def test_a_suspended_merchants_keys_stop_working_until_it_is_signed_again(api_client, shop, card, make_offer):
    from merchants.models import Merchant

    offer = make_offer()
    Merchant.objects.filter(pk=shop.merchant.pk).update(status=Merchant.Status.SUSPENDED)
    response = redeem(api_client, shop, body_for(shop, offer, card), key="s-1")
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"
    assert "暂停" in response.json()["error"]["message"]
    assert (
        api_client.post(VERIFY, {"card_number": card.number}, format="json", **shop.headers()).status_code
        == 401
    )
    assert not Redemption.objects.exists()
    Merchant.objects.filter(pk=shop.merchant.pk).update(status=Merchant.Status.APPROVED)
    forget_keys()  # as the merchant services do on every status change
    assert redeem(api_client, shop, body_for(shop, offer, card), key="s-2").status_code == 201


def test_a_key_revoked_elsewhere_is_refused_within_the_cache_period(
    api_client, shop, card, make_offer, settings
):
    """Each web process remembers a key for POS_KEY_CACHE_SECONDS: a revocation written by another
    process (here, straight to the table) is seen once that time has passed; one made through the
    service in this process is seen at once."""
    settings.POS_KEY_CACHE_SECONDS = 1
    offer = make_offer()
    assert redeem(api_client, shop, body_for(shop, offer, card), key="c-1").status_code == 201
    key = ApiKey.objects.get(merchant=shop.merchant, store=None)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert redeem(api_client, shop, body_for(shop, offer, card), key="c-2").status_code == 201
    time.sleep(1.1)
    assert redeem(api_client, shop, body_for(shop, offer, card), key="c-3").status_code == 401


def test_a_key_revoked_through_the_service_is_refused_at_once(api_client, shop, card, make_offer, settings):
    settings.POS_KEY_CACHE_SECONDS = 60
    offer = make_offer()
    assert redeem(api_client, shop, body_for(shop, offer, card), key="r-1").status_code == 201
    api_key_revoke(key=ApiKey.objects.get(merchant=shop.merchant, store=None), revoked_by=None)
    assert redeem(api_client, shop, body_for(shop, offer, card), key="r-2").status_code == 401


def test_verify_and_list_also_require_a_key(api_client):
    assert api_client.post(VERIFY, {}, format="json").status_code == 401
    assert api_client.get(URL).status_code == 401


def test_rate_limit_per_key_is_429_with_retry_after(api_client, shop, settings):
    settings.POS_RATE_LIMIT_PER_MINUTE = 3
    statuses = [api_client.get(URL, **shop.headers()).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api_client.get(URL, **shop.headers())
    assert error_code(response) == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 61
    # Another key of the same merchant has its own allowance.
    assert api_client.get(URL, **shop.headers(shop.pinned_key)).status_code == 200


def test_rate_counters_expire_after_their_window(api_client, shop, settings):
    from portal.health import redis_client

    settings.POS_RATE_LIMIT_PER_MINUTE = 100
    for _ in range(2):
        assert api_client.get(URL, **shop.headers()).status_code == 200
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    key_id = ApiKey.objects.get(prefix=shop.key.split("_")[1]).pk
    keys = list(redis_client().scan_iter(f"{prefix}:pos-rate:{key_id}:*"))
    assert len(keys) == 1
    assert int(redis_client().get(keys[0])) == 2
    assert 60 <= redis_client().ttl(keys[0]) <= 120


def test_redemption_works_when_redis_is_down(api_client, shop, card, make_offer, settings):
    from discounts.api import pos as pos_api

    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    pos_api._redis_down_until = 0.0
    try:
        response = redeem(api_client, shop, body_for(shop, make_offer(), card))
        assert response.status_code == 201
    finally:
        pos_api._redis_down_until = 0.0


# --- Validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "x" * 256, "clé-accentuée", "tab\there"])
def test_idempotency_key_must_be_1_to_255_printable_characters(api_client, shop, card, make_offer, key):
    response = redeem(api_client, shop, body_for(shop, make_offer(), card), key=key)
    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert not Redemption.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"amount": "-1"},
        {"amount": "abc"},
        {"amount": "1.001"},
        {"units": 0},
        {"units": "many"},
        {"offer": None},
        {"card_number": None},
        {"member_token": "token-and-card"},
        {"store": "x"},
    ],
)
def test_invalid_bodies_are_400_validation_error(api_client, shop, card, make_offer, change):
    body = {k: v for k, v in {**body_for(shop, make_offer(), card), **change}.items() if v is not None}
    response = redeem(api_client, shop, body)
    assert response.status_code == 400, response.content
    assert error_code(response) == "validation_error"
    assert "fields" in response.json()["error"]


def test_missing_store_with_an_unpinned_key_is_400(api_client, shop, card, make_offer):
    body = body_for(shop, make_offer(), card)
    del body["store"]
    response = redeem(api_client, shop, body)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["store"]


def test_malformed_json_is_400(api_client, shop):
    response = api_client.post(
        URL, data="{nope", content_type="application/json", HTTP_IDEMPOTENCY_KEY="m", **shop.headers()
    )
    assert response.status_code == 400
    assert error_code(response) == "validation_error"


# --- Refusals -------------------------------------------------------------------------------------


def test_pinned_key_cannot_redeem_for_another_store(api_client, shop, card, make_offer):
    body = body_for(shop, make_offer(), card, store=shop.other_store.pk)
    response = redeem(api_client, shop, body, api_key=shop.pinned_key)
    assert response.status_code == 403
    assert error_code(response) == "store_not_allowed"


def test_another_merchants_store_is_store_not_allowed(api_client, shop, rival, card, make_offer):
    response = redeem(api_client, shop, body_for(shop, make_offer(), card, store=rival.store.pk))
    assert response.status_code == 403
    assert error_code(response) == "store_not_allowed"


def test_another_merchants_offer_is_offer_not_yours(api_client, shop, rival, card):
    offer = OfferFactory(merchant=rival.merchant)
    response = redeem(api_client, shop, body_for(shop, offer, card))
    assert response.status_code == 403
    assert error_code(response) == "offer_not_yours"


def test_unknown_offer_is_404(api_client, shop, card):
    response = redeem(api_client, shop, {**body_for(shop, OfferFactory.build(pk=999999), card)})
    assert response.status_code == 404
    assert error_code(response) == "offer_not_found"


def test_unknown_card_and_expired_or_forged_token_are_card_not_found(
    api_client, shop, card, make_offer, settings
):
    offer = make_offer()
    unknown = redeem(api_client, shop, body_for(shop, offer, card, card_number="6228880000000001"), key="a")
    forged = redeem(
        api_client,
        shop,
        {"offer": offer.pk, "member_token": "1:forged:sig", "store": shop.store.pk, "amount": "1"},
        key="b",
    )
    settings.CARD_TOKEN_TTL_SECONDS = -1  # every token is already expired
    expired = redeem(
        api_client,
        shop,
        {
            "offer": offer.pk,
            "member_token": card_token_issue(card_id=card.pk),
            "store": shop.store.pk,
            "amount": "1",
        },
        key="c",
    )
    for response in (unknown, forged, expired):
        assert response.status_code == 404
        assert error_code(response) == "card_not_found"


@pytest.mark.parametrize("status", [Card.Status.FROZEN, Card.Status.ISSUED, Card.Status.CANCELLED])
def test_card_not_active_is_409_card_inactive(api_client, shop, card, make_offer, status):
    Card.objects.filter(pk=card.pk).update(status=status)
    response = redeem(api_client, shop, body_for(shop, make_offer(), card))
    assert response.status_code == 409
    assert error_code(response) == "card_inactive"
    if status == Card.Status.FROZEN:
        assert response.json()["error"]["message"] == "该卡已挂失。"


def test_member_not_in_the_union_is_member_inactive(api_client, shop, card, make_offer):
    Member.objects.filter(pk=card.member_id).update(status=Member.Status.LEFT)
    response = redeem(api_client, shop, body_for(shop, make_offer(), card))
    assert response.status_code == 409
    assert error_code(response) == "member_inactive"


@pytest.mark.parametrize(
    "change",
    [
        lambda today: {"status": Offer.Status.PAUSED},
        lambda today: {"valid_from": today + datetime.timedelta(days=1)},  # not open yet
        lambda today: {"valid_until": today - datetime.timedelta(days=1)},  # ended yesterday
    ],
    ids=["paused", "not_yet_valid", "no_longer_valid"],
)
def test_offer_not_open_is_offer_not_active(api_client, shop, card, make_offer, change):
    offer = make_offer(**change(timezone.localdate()))
    response = redeem(api_client, shop, body_for(shop, offer, card))
    assert response.status_code == 409
    assert error_code(response) == "offer_not_active"


def test_outside_the_eligible_subtree_or_group_is_not_eligible(api_client, shop, card, make_offer, tree):
    elsewhere = redeem(api_client, shop, body_for(shop, make_offer(eligible_union=tree.C2), card), key="a")
    hardship = redeem(
        api_client, shop, body_for(shop, make_offer(eligible_groups=["hardship"]), card), key="b"
    )
    offer = make_offer()
    offer.stores.set([shop.other_store])
    wrong_store = redeem(api_client, shop, body_for(shop, offer, card), key="c")
    for response in (elsewhere, hardship, wrong_store):
        assert response.status_code == 409
        assert error_code(response) == "not_eligible"
    assert not Redemption.objects.exists()


def test_member_daily_limit_is_member_limit_reached(api_client, shop, card, make_offer):
    offer = make_offer(per_member_daily_limit=1)
    assert redeem(api_client, shop, body_for(shop, offer, card), key="a").status_code == 201
    response = redeem(api_client, shop, body_for(shop, offer, card), key="b")
    assert response.status_code == 409
    assert error_code(response) == "member_limit_reached"


def test_member_total_limit_is_member_limit_reached(api_client, shop, card, make_offer):
    offer = make_offer(per_member_total_limit=2)
    assert redeem(api_client, shop, body_for(shop, offer, card, units=2), key="a").status_code == 201
    response = redeem(api_client, shop, body_for(shop, offer, card), key="b")
    assert response.status_code == 409
    assert error_code(response) == "member_limit_reached"


def test_daily_quota_is_quota_exhausted_and_changes_nothing(api_client, shop, card, make_card, make_offer):
    offer = make_offer(daily_quota=3, per_member_daily_limit=5)
    assert redeem(api_client, shop, body_for(shop, offer, card, units=2), key="a").status_code == 201
    response = redeem(api_client, shop, body_for(shop, offer, make_card(), units=2), key="b")
    assert response.status_code == 409
    assert error_code(response) == "quota_exhausted"
    assert response.json()["error"]["message"] == "今日名额已用完。"
    assert OfferDayCounter.objects.get(offer=offer).used == 2
    assert Redemption.objects.count() == 1


def test_budget_is_budget_exhausted(api_client, shop, card, make_offer, tree):
    offer = make_offer(
        kind=Offer.Kind.ALLOWANCE,
        percent_off=None,
        allowance_per_unit=Decimal("20"),
        funder=Offer.Funder.UNION,
        budget_owner=tree.C1,
        budget=Decimal("50"),
    )
    assert redeem(api_client, shop, body_for(shop, offer, card, units=2), key="a").status_code == 201
    response = redeem(api_client, shop, body_for(shop, offer, card), key="b")
    assert response.status_code == 409
    assert error_code(response) == "budget_exhausted"
    offer.refresh_from_db()
    assert offer.budget_used == Decimal("40.00")


def test_amount_below_minimum_spend_is_not_eligible(api_client, shop, card, make_offer):
    offer = make_offer(
        kind=Offer.Kind.AMOUNT_OFF, percent_off=None, amount_off=Decimal("20"), min_spend=Decimal("100")
    )
    response = redeem(api_client, shop, body_for(shop, offer, card, amount="99.99"))
    assert response.status_code == 409
    assert error_code(response) == "not_eligible"


# --- Idempotency ----------------------------------------------------------------------------------


def test_replay_returns_the_same_status_and_body_with_the_replayed_header(api_client, shop, card, make_offer):
    offer = make_offer()
    first = redeem(api_client, shop, body_for(shop, offer, card), key="same")
    second = redeem(api_client, shop, body_for(shop, offer, card), key="same")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Redemption.objects.count() == 1


def test_a_refusal_is_replayed_as_the_same_refusal(api_client, shop, card, make_offer):
    offer = make_offer(daily_quota=0)
    first = redeem(api_client, shop, body_for(shop, offer, card), key="q")
    Offer.objects.filter(pk=offer.pk).update(daily_quota=None)
    second = redeem(api_client, shop, body_for(shop, offer, card), key="q")
    assert first.status_code == second.status_code == 409
    assert second.json() == first.json()
    assert error_code(second) == "quota_exhausted"
    assert second["Idempotent-Replayed"] == "true"
    assert not Redemption.objects.exists()


def test_same_key_different_body_is_422(api_client, shop, card, make_offer):
    offer = make_offer()
    redeem(api_client, shop, body_for(shop, offer, card), key="k")
    response = redeem(api_client, shop, body_for(shop, offer, card, amount="99.00"), key="k")
    assert response.status_code == 422
    assert error_code(response) == "idempotency_key_reused"
    assert Redemption.objects.count() == 1


def test_same_key_in_flight_is_409_request_in_progress(api_client, shop, card, make_offer):
    from discounts.idempotency import request_hash
    from discounts.redemption import redemption_request

    body = body_for(shop, make_offer(), card)
    meaning = redemption_request(**body)  # what the key is compared by
    IdempotencyRecord.objects.create(merchant=shop.merchant, key="busy", request_hash=request_hash(meaning))
    response = redeem(api_client, shop, body, key="busy")
    assert response.status_code == 409
    assert error_code(response) == "request_in_progress"
    assert not Redemption.objects.exists()


def test_keys_are_per_merchant(api_client, shop, rival, card, make_offer):
    mine = redeem(api_client, shop, body_for(shop, make_offer(), card), key="shared")
    theirs_offer = OfferFactory(merchant=rival.merchant)
    theirs = redeem(
        api_client,
        rival,
        {"offer": theirs_offer.pk, "card_number": card.number, "store": rival.store.pk, "amount": "10"},
        key="shared",
    )
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs


def test_a_crashed_request_leaves_no_record_so_a_retry_proceeds(
    api_client, shop, card, make_offer, monkeypatch
):
    from discounts.api import pos as pos_api

    offer = make_offer()

    def explode(**kwargs):
        raise RuntimeError("worker lost the database")

    monkeypatch.setattr(pos_api, "redemption_create", explode)
    api_client.raise_request_exception = False
    assert redeem(api_client, shop, body_for(shop, offer, card), key="crash").status_code == 500
    assert not IdempotencyRecord.objects.filter(key="crash").exists()
    monkeypatch.setattr(pos_api, "redemption_create", redemption_create)
    assert redeem(api_client, shop, body_for(shop, offer, card), key="crash").status_code == 201


def test_a_record_abandoned_by_a_killed_process_is_taken_over_after_a_while(
    api_client, shop, card, make_offer
):
    from discounts.idempotency import STALE_AFTER, request_hash
    from discounts.redemption import redemption_request

    body = body_for(shop, make_offer(), card)
    record = IdempotencyRecord.objects.create(
        merchant=shop.merchant, key="old", request_hash=request_hash(redemption_request(**body))
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - STALE_AFTER * 2)
    response = redeem(api_client, shop, body, key="old")
    assert response.status_code == 201
    assert Redemption.objects.count() == 1


def test_a_request_whose_claim_a_takeover_completed_first_records_nothing_and_replays_it(
    shop, card, make_offer
):
    from discounts import idempotency

    offer = make_offer()

    def handler(claim):
        # The takeover of a stale claim answered first (see STALE_AFTER); this attempt must not commit.
        IdempotencyRecord.objects.filter(pk=claim.record_id).update(
            state=IdempotencyRecord.State.COMPLETED, response_status=201, response_body={"id": 999}
        )
        redemption_create(
            merchant=shop.merchant,
            store_id=shop.store.pk,
            offer_id=offer.pk,
            card_number=card.number,
            amount="10",
            claim=claim,
            answer_for=lambda row: {"id": row.pk},
        )
        return 201, {}

    outcome = idempotency.idempotent_call(
        merchant_id=shop.merchant.pk, key="race", body={"n": 1}, handler=handler
    )
    assert (outcome.status, outcome.body, outcome.replayed) == (201, {"id": 999}, True)
    assert not Redemption.objects.exists()
    assert not OfferDayCounter.objects.filter(used__gt=0).exists()


@pytest.mark.django_db(transaction=True)
def test_the_till_is_answered_only_after_the_committed_redemption_is_flushed(
    api_client, shop, card, make_offer, monkeypatch
):
    from discounts import redemption as service

    offer = make_offer()
    seen = []
    flush = service._await_durable

    def watched_flush():
        # By now the redemption and its stored answer have committed: another connection sees them.
        def look():
            seen.append(
                (
                    Redemption.objects.filter(idempotency_key="durable").count(),
                    IdempotencyRecord.objects.filter(key="durable", state="completed").count(),
                )
            )
            connections.close_all()

        other = threading.Thread(target=look)
        other.start()
        other.join()
        flush()

    monkeypatch.setattr(service, "_await_durable", watched_flush)
    response = redeem(api_client, shop, body_for(shop, offer, card), key="durable")
    assert response.status_code == 201
    assert seen == [(1, 1)]


def test_purge_task_forgets_keys_older_than_the_retention(shop, settings):
    from discounts.tasks import purge_idempotency_records

    old = IdempotencyRecord.objects.create(merchant=shop.merchant, key="old", request_hash="x")
    fresh = IdempotencyRecord.objects.create(merchant=shop.merchant, key="fresh", request_hash="x")
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - settings.IDEMPOTENCY_RETENTION - datetime.timedelta(minutes=1)
    )
    assert purge_idempotency_records() == 1
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [fresh.pk]


# --- Verify ---------------------------------------------------------------------------------------


def test_verify_lists_offers_with_eligibility_and_remaining_quota(api_client, shop, card, make_offer, tree):
    open_offer = make_offer(title="电影票", daily_quota=10)
    make_offer(title="不限量", daily_quota=None)
    elsewhere = make_offer(title="外市专享", eligible_union=tree.C2)
    make_offer(title="草稿", status=Offer.Status.DRAFT)
    OfferDayCounter.objects.create(offer=open_offer, day=timezone.localdate(), used=4)
    response = api_client.post(VERIFY, {"card_number": card.number}, format="json", **shop.headers())
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["card_number_masked"] == card.number_masked
    assert data["member_name_masked"] == "张**"
    assert data["status"] == "active"
    offers = {item["title"]: item for item in data["offers"]}
    assert set(offers) == {"电影票", "不限量", "外市专享"}
    assert offers["电影票"] == {
        "id": open_offer.pk,
        "title": "电影票",
        "eligible": True,
        "remaining_today": 6,
    }
    assert offers["不限量"]["remaining_today"] is None
    assert offers["外市专享"]["eligible"] is False
    assert offers["外市专享"]["reason_code"] == "not_eligible"
    assert offers["外市专享"]["id"] == elsewhere.pk
    assert offers["外市专享"]["reason"]


def test_verify_a_frozen_card_shows_its_status_and_no_usable_offer(api_client, shop, card, make_offer):
    make_offer()
    Card.objects.filter(pk=card.pk).update(status=Card.Status.FROZEN)
    data = api_client.post(VERIFY, {"card_number": card.number}, format="json", **shop.headers()).json()
    assert data["status"] == "frozen"
    assert [item["reason"] for item in data["offers"]] == ["该卡已挂失。"]


def test_verify_by_token_and_refusals(api_client, shop, rival, card):
    token = card_token_issue(card_id=card.pk)
    ok = api_client.post(VERIFY, {"member_token": token}, format="json", **shop.headers())
    assert ok.status_code == 200
    unknown = api_client.post(VERIFY, {"card_number": "6228880000000001"}, format="json", **shop.headers())
    assert (unknown.status_code, error_code(unknown)) == (404, "card_not_found")
    both = api_client.post(
        VERIFY, {"card_number": card.number, "member_token": token}, format="json", **shop.headers()
    )
    assert (both.status_code, error_code(both)) == (400, "validation_error")
    foreign = api_client.post(
        VERIFY, {"card_number": card.number, "store": rival.store.pk}, format="json", **shop.headers()
    )
    assert (foreign.status_code, error_code(foreign)) == (403, "store_not_allowed")


# --- Void -----------------------------------------------------------------------------------------


def test_void_releases_units_limits_and_budget(api_client, shop, card, make_offer, tree):
    offer = make_offer(
        kind=Offer.Kind.ALLOWANCE,
        percent_off=None,
        allowance_per_unit=Decimal("20"),
        funder=Offer.Funder.UNION,
        budget=Decimal("40"),
        daily_quota=2,
        per_member_daily_limit=2,
        per_member_total_limit=2,
    )
    created = redeem(api_client, shop, body_for(shop, offer, card, units=2), key="a").json()
    response = api_client.post(
        f"{URL}{created['id']}/void/", {"reason": "收银员误操作"}, format="json", **shop.headers()
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "voided"
    assert response.json()["voided_at"]
    offer.refresh_from_db()
    assert offer.budget_used == 0
    assert OfferDayCounter.objects.get(offer=offer).used == 0
    event = AuditEvent.objects.get(action=AuditEvent.Action.REDEMPTION_VOIDED)
    assert event.target_id == str(created["id"]) and event.data["reason"] == "收银员误操作"
    # Everything released: the member can use all of it again.
    assert redeem(api_client, shop, body_for(shop, offer, card, units=2), key="b").status_code == 201


def test_void_twice_is_already_voided(api_client, shop, card, make_offer):
    created = redeem(api_client, shop, body_for(shop, make_offer(), card)).json()
    url = f"{URL}{created['id']}/void/"
    assert api_client.post(url, {"reason": "x"}, format="json", **shop.headers()).status_code == 200
    again = api_client.post(url, {"reason": "x"}, format="json", **shop.headers())
    assert (again.status_code, error_code(again)) == (409, "already_voided")


def test_void_of_another_day_is_void_window_closed(api_client, shop, card, make_offer):
    created = redeem(api_client, shop, body_for(shop, make_offer(), card)).json()
    Redemption.objects.filter(pk=created["id"]).update(local_day=timezone.localdate() - datetime.timedelta(1))
    response = api_client.post(
        f"{URL}{created['id']}/void/", {"reason": "x"}, format="json", **shop.headers()
    )
    assert (response.status_code, error_code(response)) == (409, "void_window_closed")


def test_void_of_another_merchants_redemption_is_404(api_client, shop, rival, card, make_offer):
    created = redeem(api_client, shop, body_for(shop, make_offer(), card)).json()
    response = api_client.post(
        f"{URL}{created['id']}/void/", {"reason": "x"}, format="json", **rival.headers()
    )
    assert (response.status_code, error_code(response)) == (404, "not_found")
    assert Redemption.objects.get(pk=created["id"]).status == "completed"


def test_void_needs_a_reason(api_client, shop, card, make_offer):
    created = redeem(api_client, shop, body_for(shop, make_offer(), card)).json()
    response = api_client.post(f"{URL}{created['id']}/void/", {}, format="json", **shop.headers())
    assert (response.status_code, error_code(response)) == (400, "validation_error")


# --- List -----------------------------------------------------------------------------------------


def test_list_shows_only_the_merchants_own_filtered_by_date_and_store(
    api_client, shop, rival, card, make_card, make_offer
):
    offer = make_offer()
    mine = redeem(api_client, shop, body_for(shop, offer, card), key="a").json()
    other_store = redeem(
        api_client, shop, body_for(shop, offer, make_card(), store=shop.other_store.pk), key="b"
    ).json()
    theirs_offer = OfferFactory(merchant=rival.merchant)
    redeem(
        api_client,
        rival,
        {"offer": theirs_offer.pk, "card_number": card.number, "store": rival.store.pk, "amount": "1"},
    )
    today = timezone.localdate().isoformat()
    everything = api_client.get(URL, **shop.headers()).json()
    assert {row["id"] for row in everything["results"]} == {mine["id"], other_store["id"]}
    assert everything["count"] == 2
    by_store = api_client.get(URL, {"date": today, "store": shop.store.pk}, **shop.headers()).json()
    assert [row["id"] for row in by_store["results"]] == [mine["id"]]
    assert by_store["results"][0] == mine
    yesterday = (timezone.localdate() - datetime.timedelta(1)).isoformat()
    assert api_client.get(URL, {"date": yesterday}, **shop.headers()).json()["count"] == 0
    bad = api_client.get(URL, {"date": "2026-13-01"}, **shop.headers())
    assert (bad.status_code, error_code(bad)) == (400, "validation_error")


def test_list_uses_a_bounded_number_of_queries(
    api_client, shop, make_card, make_offer, django_assert_num_queries
):
    offer = make_offer()
    for index in range(8):
        redemption_create(
            merchant=shop.merchant, store_id=shop.store.pk, offer_id=offer.pk, card_number=make_card().number,
            amount="10", idempotency_key=f"n{index}",
        )  # fmt: skip
    api_client.get(URL, **shop.headers())  # reads the key (remembered) and writes its last_used_at
    # count, page
    with django_assert_num_queries(2):
        response = api_client.get(URL, **shop.headers())
    assert response.json()["count"] == 8


def test_openapi_schema_documents_the_pos_endpoints(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    assert {"/api/v1/cards/verify/", "/api/v1/redemptions/", "/api/v1/redemptions/{id}/void/"} <= set(paths)
    create = paths["/api/v1/redemptions/"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "422", "429"} <= set(create["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in create["parameters"])
    assert "ApiKeyAuth" in schema["components"]["securitySchemes"]


def test_a_malformed_body_does_not_use_up_the_key(api_client, shop, card, make_offer):
    offer = make_offer()
    bad = redeem(api_client, shop, body_for(shop, offer, card, amount="-5"), key="fix-me")
    assert bad.status_code == 400
    good = redeem(api_client, shop, body_for(shop, offer, card), key="fix-me")
    assert good.status_code == 201


def test_ids_beyond_bigint_are_refused_cleanly(api_client, shop, card, make_offer):
    # The schema bounds ids to bigint; beyond it the shape check refuses them, naming the field.
    huge = 2**70
    offer = make_offer()
    answer = redeem(api_client, shop, {**body_for(shop, offer, card), "offer": huge}, key="a")
    assert error_code(answer) == "validation_error" and "offer" in answer.json()["error"]["fields"]
    answer = redeem(api_client, shop, body_for(shop, offer, card, store=huge), key="b")
    assert error_code(answer) == "validation_error" and "store" in answer.json()["error"]["fields"]
    verify = api_client.post(
        VERIFY, {"card_number": card.number, "store": huge}, format="json", **shop.headers()
    )
    assert error_code(verify) == "validation_error"
    assert api_client.get(URL, {"store": str(huge)}, **shop.headers()).status_code == 400
    assert (
        api_client.post(f"{URL}{huge}/void/", {"reason": "x"}, format="json", **shop.headers()).status_code
        == 404
    )
