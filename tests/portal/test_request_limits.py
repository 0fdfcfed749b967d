"""Bodies the API refuses before any view reads them: JSON nested too deep, a body over the size limit.
Under /api/ the answer is the JSON error envelope; pages keep their HTML error page."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.http import http_request

pytestmark = pytest.mark.django_db

API = "/api/v1/auth/otp/request/"  # public: anybody can send it a body


def nested(levels: int) -> str:
    return '{"phone": ' + "[" * levels + "]" * levels + "}"


def oversized() -> str:
    return json.dumps({"phone": "13800000000", "pad": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})


@pytest.mark.parametrize("levels", [40, 1_000, 100_000])
def test_json_nested_too_deep_is_a_400_in_the_envelope(client, levels):
    response = client.post(API, nested(levels), content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "嵌套" in error["message"]


def test_json_nested_as_deep_as_an_honest_client_goes_is_parsed(client):
    response = client.post(API, json.dumps({"phone": [[["13800000000"]]]}), content_type="application/json")
    assert response.status_code == 400
    assert "phone" in response.json()["error"]["fields"]  # the serializer saw it: parsed, then refused


def test_a_body_over_the_size_limit_is_a_413_in_the_envelope_under_api(client):
    response = client.post(API, oversized(), content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "request_too_large"


def test_a_form_over_the_size_limit_on_a_page_keeps_the_html_error_page(client):
    response = client.post("/merchant/login/", {"username": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


def test_gunicorn_answers_deep_and_oversized_json_with_the_envelope(gunicorn_server):
    headers = {"Content-Type": "application/json"}
    status, _headers, body = http_request(gunicorn_server + API, nested(1_000).encode(), headers)
    assert status == 400, body[:500]
    assert json.loads(body)["error"]["code"] == "validation_error"

    # The answer comes from the declared length, before the body is read: the headers are enough (as
    # with a client that waits for "100 Continue"; one that sends the whole body regardless finds
    # the connection closed under it).
    server = urlsplit(gunicorn_server)
    connection = http.client.HTTPConnection(server.hostname, server.port, timeout=30)
    connection.putrequest("POST", API)
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/json"
    assert json.loads(response.read())["error"]["code"] == "request_too_large"
    connection.close()


def test_a_request_django_refuses_before_any_view_answers_the_envelope_under_api(client):
    response = client.get("/api/v1/offers/", HTTP_HOST="portal.evil.example")  # not in ALLOWED_HOSTS
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    page = client.get("/", HTTP_HOST="portal.evil.example")
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")
