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
