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
