from __future__ import annotations

import re

import pytest

from members import sms
from members.auth import hash_token
from members.models import Card, MemberApiToken
from members.tokens import card_token_card_id
from tests.factories import CardFactory, MemberFactory

pytestmark = pytest.mark.django_db

PHONE = "13812345678"


@pytest.fixture
def member(tree):
    return MemberFactory(union=tree.C1A1, phone=PHONE, name="李小龙", groups=["hardship"])


def sign_in(api_client) -> str:
    assert api_client.post("/api/v1/auth/otp/request/", {"phone": PHONE}, format="json").status_code == 200
    code = re.search(r"\d{6}", sms.outbox[-1].text).group()
    response = api_client.post("/api/v1/auth/otp/verify/", {"phone": PHONE, "code": code}, format="json")
    assert response.status_code == 200
    return response.json()["token"]


def test_otp_verify_returns_a_hashed_bearer_token(api_client, member):
    token = sign_in(api_client)
    record = MemberApiToken.objects.get()
    assert record.token_hash == hash_token(token) and record.member == member


def test_me_returns_masked_data(api_client, member):
    card = CardFactory(member=member)
    token = sign_in(api_client)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = api_client.get("/api/v1/me/").json()
    assert body["name_masked"] == "李**" and body["phone_masked"] == "138****5678"
    assert body["id_number_masked"] == member.id_number_masked
    assert body["card"]["number_masked"] == card.number_masked and body["groups"] == ["hardship"]
    assert card.number not in str(body)


def test_card_token_is_fresh_and_verifiable(api_client, member):
    card = CardFactory(member=member, status=Card.Status.ACTIVE)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api_client)}")
    body = api_client.get("/api/v1/me/card-token/").json()
    assert card_token_card_id(body["token"]) == card.pk
    assert body["expires_in"] == 90 and body["card_number_masked"] == card.number_masked
    assert body["qr_svg"].startswith("<svg")


@pytest.mark.parametrize(
    ("status", "code", "http"), [("issued", "card_inactive", 409), ("frozen", "card_inactive", 409)]
)
def test_card_token_refused_for_a_card_not_in_use(api_client, member, status, code, http):
    CardFactory(member=member, status=status)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api_client)}")
    response = api_client.get("/api/v1/me/card-token/")
    assert response.status_code == http and response.json()["error"]["code"] == code


def test_card_token_without_a_card_is_404(api_client, member):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(api_client)}")
    response = api_client.get("/api/v1/me/card-token/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "card_not_found"


def test_me_without_or_with_a_bad_token_is_401_in_the_envelope(api_client, member):
    assert api_client.get("/api/v1/me/").json()["error"]["code"] == "unauthenticated"
    api_client.credentials(HTTP_AUTHORIZATION="Bearer nope")
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated"


def test_otp_errors_are_in_the_envelope(api_client, member, settings):
    bad = api_client.post("/api/v1/auth/otp/request/", {"phone": "123"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"
    assert "phone" in bad.json()["error"]["fields"]
    api_client.post("/api/v1/auth/otp/request/", {"phone": PHONE}, format="json")
    limited = api_client.post("/api/v1/auth/otp/request/", {"phone": PHONE}, format="json")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    wrong = api_client.post("/api/v1/auth/otp/verify/", {"phone": PHONE, "code": "99999x"}, format="json")
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "otp_invalid"


def test_revoked_or_other_members_token_gives_nothing(api_client, member, tree):
    token = sign_in(api_client)
    MemberApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get("/api/v1/me/").status_code == 401
    other = MemberFactory(union=tree.C1A1)
    assert other.pk != member.pk


def test_member_session_from_the_pages_works_for_the_card_token(client, member):
    CardFactory(member=member, status=Card.Status.ACTIVE)
    client.post("/me/sign-in/", {"phone": PHONE})
    client.post("/me/sign-in/code/", {"code": re.search(r"\d{6}", sms.outbox[-1].text).group()})
    assert client.get("/api/v1/me/card-token/").status_code == 200


def test_schema_documents_the_member_endpoints(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/auth/otp/request/",
        "/api/v1/auth/otp/verify/",
        "/api/v1/me/",
        "/api/v1/me/card-token/",
    ):
        assert path in schema["paths"], path
    assert "CardTokenOutput" in str(schema["paths"]["/api/v1/me/card-token/"])
    assert set(schema["components"]["schemas"]["CardTokenOutput"]["properties"]) >= {
        "token",
        "expires_in",
        "card_number_masked",
    }
