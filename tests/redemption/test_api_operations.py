"""What every API answer carries for operations: the request id (echoed or made, and on each log
record of the request), the rate-limit headers of the POS API, and the envelope for an address
without its trailing slash — never a redirect that a client would follow as a GET."""

from __future__ import annotations

import logging

import pytest

from portal.middleware import RequestIdFilter

pytestmark = pytest.mark.django_db

URL = "/api/v1/redemptions/"


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("method", ["get", "post"])
def test_an_api_address_without_its_slash_is_a_404_envelope_never_a_redirect(
    api_client, shop, settings, debug, method
):
    settings.DEBUG = debug
    response = getattr(api_client, method)(
        "/api/v1/redemptions", {}, format="json", **shop.headers(), HTTP_IDEMPOTENCY_KEY="k"
    )
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert "/api/v1/redemptions/" in error["message"]


def test_a_page_without_its_slash_is_still_redirected(client, settings):
    settings.DEBUG = False
    response = client.get("/me/card")
    assert response.status_code == 301
    assert response["Location"] == "/me/card/"


def test_every_answer_carries_a_request_id_and_a_sane_incoming_one_is_echoed(api_client, shop):
    made = api_client.get(URL, **shop.headers())
    assert len(made["X-Request-Id"]) == 32
    echoed = api_client.get(URL, **shop.headers(), HTTP_X_REQUEST_ID="till-7:2026-12-06:0042")
    assert echoed["X-Request-Id"] == "till-7:2026-12-06:0042"
    refused = api_client.get(URL, HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert refused.status_code == 401
    assert refused["X-Request-Id"] != "<script>alert(1)</script>"
    assert len(refused["X-Request-Id"]) == 32
    page = api_client.get("/healthz")
    assert page["X-Request-Id"]


def test_each_log_record_of_a_request_carries_its_id(api_client, shop, monkeypatch):
    seen = []

    class Collect(logging.Handler):
        def emit(self, record):
            seen.append(record)

    handler = Collect()
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("discounts.api.pos")
    logger.addHandler(handler)
    monkeypatch.setattr(logger, "level", logging.INFO)

    from discounts.api import pos

    original = pos.RedemptionListCreateView.get

    def logging_get(self, request):
        logger.info("listing redemptions")
        return original(self, request)

    monkeypatch.setattr(pos.RedemptionListCreateView, "get", logging_get)
    try:
        response = api_client.get(URL, **shop.headers(), HTTP_X_REQUEST_ID="req-12345678")
    finally:
        logger.removeHandler(handler)
    assert response.status_code == 200
    assert [record.request_id for record in seen] == ["req-12345678"]
    outside = logging.LogRecord("x", logging.INFO, "", 0, "outside", (), None)
    RequestIdFilter().filter(outside)
    assert outside.request_id is None


def test_pos_answers_carry_the_rate_limit_and_its_remainder(api_client, shop, settings):
    settings.POS_RATE_LIMIT_PER_MINUTE = 3
    answers = [api_client.get(URL, **shop.headers()) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a["RateLimit-Limit"] for a in answers] == ["3"] * 4
    assert [a["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(1 <= int(a["RateLimit-Reset"]) <= 60 for a in answers)
    assert answers[-1]["Retry-After"]
    # An unknown key gets no allowance to announce.
    assert "RateLimit-Limit" not in api_client.get(URL, HTTP_AUTHORIZATION="Api-Key pk_nope")


def test_a_request_still_in_flight_is_409_with_retry_after(api_client, shop, card, make_offer):
    from discounts.idempotency import request_hash
    from discounts.models import IdempotencyRecord
    from discounts.redemption import redemption_request

    body = {"offer": make_offer().pk, "card_number": card.number, "store": shop.store.pk, "amount": "10"}
    IdempotencyRecord.objects.create(
        merchant=shop.merchant, key="busy", request_hash=request_hash(redemption_request(**body))
    )
    response = api_client.post(URL, body, format="json", **shop.headers(), HTTP_IDEMPOTENCY_KEY="busy")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "request_in_progress"
    assert response["Retry-After"] == "1"


# --- Lookups and safe retries (issue 19 item 3) -------------------------------------------------------


def _redeem(api_client, shop, card, offer, key, **extra):
    body = {"offer": offer.pk, "card_number": card.number, "store": shop.store.pk, "amount": "100", **extra}
    return api_client.post(URL, body, format="json", **shop.headers(), HTTP_IDEMPOTENCY_KEY=key)


def test_a_redemption_is_read_by_its_id_by_its_own_merchant_only(api_client, shop, rival, card, make_offer):
    made = _redeem(api_client, shop, card, make_offer(), "d-1").json()
    mine = api_client.get(f"{URL}{made['id']}/", **shop.headers())
    assert mine.status_code == 200 and mine.json() == made
    theirs = api_client.get(f"{URL}{made['id']}/", **rival.headers())
    assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "not_found"
    other_store = api_client.get(f"{URL}{made['id']}/", **shop.headers(shop.pinned_key))
    assert other_store.status_code == 200  # the pinned key's store is the redemption's store
    assert api_client.get(f"{URL}{made['id']}/").status_code == 401


def test_a_lost_answer_is_found_by_key_or_merchant_reference(api_client, shop, rival, card, make_offer):
    offer = make_offer()
    made = _redeem(api_client, shop, card, offer, "lost-1", merchant_reference="R-0001").json()
    _redeem(api_client, shop, card, offer, "other-2")
    by_key = api_client.get(URL, {"idempotency_key": "lost-1"}, **shop.headers()).json()
    by_reference = api_client.get(URL, {"merchant_reference": "R-0001"}, **shop.headers()).json()
    assert [r["id"] for r in by_key["results"]] == [r["id"] for r in by_reference["results"]] == [made["id"]]
    assert by_reference["results"][0]["merchant_reference"] == "R-0001"
    # Another merchant finds nothing with the same key.
    assert api_client.get(URL, {"idempotency_key": "lost-1"}, **rival.headers()).json()["results"] == []


def test_a_merchant_reference_is_unique_per_merchant(api_client, shop, rival, card, make_offer):
    offer = make_offer()
    assert _redeem(api_client, shop, card, offer, "r-1", merchant_reference="R-7").status_code == 201
    again = _redeem(api_client, shop, card, offer, "r-2", merchant_reference="R-7")
    assert again.status_code == 409 and again.json()["error"]["code"] == "merchant_reference_used"
    bad = _redeem(api_client, shop, card, offer, "r-3", merchant_reference="has space")
    assert bad.status_code == 400 and "merchant_reference" in bad.json()["error"]["fields"]
    from tests.factories import OfferFactory

    theirs = OfferFactory(merchant=rival.merchant)
    body = {"offer": theirs.pk, "card_number": card.number, "store": rival.store.pk, "amount": "1"}
    body["merchant_reference"] = "R-7"
    answer = api_client.post(URL, body, format="json", **rival.headers(), HTTP_IDEMPOTENCY_KEY="r-1")
    assert answer.status_code == 201


@pytest.mark.parametrize("amount", ["-5", "", "1e3", "1.234", "abc"])
def test_an_amount_outside_the_schema_pattern_is_refused(api_client, shop, card, make_offer, amount):
    answer = _redeem(api_client, shop, card, make_offer(), f"amt-{amount}", amount=amount)
    assert answer.status_code == 400 and "amount" in answer.json()["error"]["fields"]


def test_the_list_filters_by_range_status_and_updated_since(api_client, shop, card, make_offer):
    import datetime

    from django.utils import timezone

    from discounts.models import Redemption

    offer = make_offer(per_member_daily_limit=None, per_member_total_limit=None, daily_quota=None)
    first = _redeem(api_client, shop, card, offer, "f-1").json()
    second = _redeem(api_client, shop, card, offer, "f-2").json()
    old = _redeem(api_client, shop, card, offer, "f-3").json()
    long_ago = timezone.now() - datetime.timedelta(days=40)
    Redemption.objects.filter(pk=old["id"]).update(
        local_day=timezone.localdate(long_ago), created_at=long_ago
    )
    marker = timezone.now()
    api_client.post(f"{URL}{first['id']}/void/", {"reason": "退"}, format="json", **shop.headers())

    def ids(**query):
        answer = api_client.get(URL, query, **shop.headers())
        assert answer.status_code == 200, answer.content
        return [r["id"] for r in answer.json()["results"]]

    today = timezone.localdate().isoformat()
    assert ids(date_from=today) == [second["id"], first["id"]]
    assert ids(date_to=timezone.localdate(long_ago).isoformat()) == [old["id"]]
    assert ids(status="voided") == [first["id"]]
    assert ids(status="completed", date_from=today) == [second["id"]]
    assert ids(updated_since=marker.isoformat()) == [first["id"]]
    bad = api_client.get(URL, {"status": "gone", "date_from": "yesterday"}, **shop.headers())
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"status", "date_from"}


def test_cursor_pages_walk_the_whole_list_without_a_count(api_client, shop, card, make_offer):
    offer = make_offer(per_member_daily_limit=None, per_member_total_limit=None, daily_quota=None)
    made = [_redeem(api_client, shop, card, offer, f"c-{i}").json()["id"] for i in range(5)]
    seen, query = [], {"cursor": "", "page_size": 2}
    while True:
        page = api_client.get(URL, query, **shop.headers()).json()
        assert "count" not in page
        seen += [r["id"] for r in page["results"]]
        if not page["next"]:
            break
        query = {"cursor": page["next"].split("cursor=")[1].split("&")[0], "page_size": 2}
    assert seen == sorted(made, reverse=True)
    numbered = api_client.get(URL, {"page": 2, "page_size": 2}, **shop.headers()).json()
    assert numbered["count"] == 5 and [r["id"] for r in numbered["results"]] == seen[2:4]
    bad = api_client.get(URL, {"cursor": "not-a-cursor"}, **shop.headers())
    assert bad.status_code == 400 and "cursor" in bad.json()["error"]["fields"]


def test_a_void_retried_with_its_key_answers_the_void_not_409(api_client, shop, card, make_offer):
    made = _redeem(api_client, shop, card, make_offer(), "v-0").json()
    void = f"{URL}{made['id']}/void/"
    headers = {**shop.headers(), "HTTP_IDEMPOTENCY_KEY": "void-1"}
    first = api_client.post(void, {"reason": "退票"}, format="json", **headers)
    assert first.status_code == 200 and first.json()["status"] == "voided"
    again = api_client.post(void, {"reason": "退票"}, format="json", **headers)
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    other_body = api_client.post(void, {"reason": "别的"}, format="json", **headers)
    assert other_body.status_code == 422
    without_key = api_client.post(void, {"reason": "退票"}, format="json", **shop.headers())
    assert without_key.status_code == 409 and without_key.json()["error"]["code"] == "already_voided"
    from discounts.models import OfferDayCounter

    assert OfferDayCounter.objects.get().used == 0  # released once, not twice
