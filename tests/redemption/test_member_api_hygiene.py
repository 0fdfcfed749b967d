"""Member API hygiene: sign-out revokes the bearer token, a member sees and ends their other sessions
(never another member's); a QR card token serves one completed redemption; an online offer's code
is claimed over the API through the one claim service."""

from __future__ import annotations

from decimal import Decimal

import pytest

from discounts import vouchers
from discounts.models import Offer, VoucherCode
from members.models import Card, MemberApiToken
from members.tokens import card_token_issue
from tests.factories import CardFactory, MemberFactory, OfferFactory
from tests.hardening.conftest import member_token

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def member(tree):
    return MemberFactory(union=tree.C1A1, name="李小龙")


def test_sign_out_revokes_the_token_in_use_at_once(api_client, member):
    token, other = member_token(member), member_token(member)
    assert api_client.post("/api/v1/auth/sign-out/", **bearer(token)).status_code == 204
    assert api_client.get("/api/v1/me/", **bearer(token)).status_code == 401
    assert api_client.get("/api/v1/me/", **bearer(other)).status_code == 200  # the other phone stays
    assert api_client.post("/api/v1/auth/sign-out/").status_code == 401


def test_a_member_lists_and_ends_their_other_sessions_but_never_anothers(api_client, member, tree):
    here, lost_phone = member_token(member), member_token(member)
    stranger = MemberFactory(union=tree.C1A2)
    strangers_token = member_token(stranger)
    sessions = api_client.get("/api/v1/me/sessions/", **bearer(here)).json()
    assert len(sessions) == 2 and [s["current"] for s in sessions].count(True) == 1
    current = next(s for s in sessions if s["current"])
    lost = next(s for s in sessions if not s["current"])
    assert (
        MemberApiToken.objects.get(pk=current["id"]).token_hash
        != MemberApiToken.objects.get(pk=lost["id"]).token_hash
    )

    strangers_id = MemberApiToken.objects.get(member=stranger).pk
    refused = api_client.post(f"/api/v1/me/sessions/{strangers_id}/end/", **bearer(here))
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "session_not_found"
    assert api_client.get("/api/v1/me/", **bearer(strangers_token)).status_code == 200

    assert api_client.post(f"/api/v1/me/sessions/{lost['id']}/end/", **bearer(here)).status_code == 204
    assert api_client.get("/api/v1/me/", **bearer(lost_phone)).status_code == 401
    assert [s["id"] for s in api_client.get("/api/v1/me/sessions/", **bearer(here)).json()] == [current["id"]]
    again = api_client.post(f"/api/v1/me/sessions/{lost['id']}/end/", **bearer(here))
    assert again.status_code == 404


def test_a_card_token_serves_one_completed_redemption(api_client, shop, make_offer, member):
    card = CardFactory(member=member, status=Card.Status.ACTIVE)
    offer = make_offer(per_member_daily_limit=None, per_member_total_limit=None, daily_quota=None)
    token = card_token_issue(card_id=card.pk)

    def redeem(key):
        body = {"offer": offer.pk, "member_token": token, "store": shop.store.pk, "amount": "50"}
        return api_client.post(
            "/api/v1/redemptions/", body, format="json", **shop.headers(), HTTP_IDEMPOTENCY_KEY=key
        )

    first = redeem("qr-1")
    assert first.status_code == 201
    assert redeem("qr-1").status_code == 201  # the same request retried is its replay, not a new use
    second = redeem("qr-2")
    assert second.status_code == 409 and second.json()["error"]["code"] == "card_token_used"
    # The card itself, by number, is still good; and a fresh token works.
    fresh = card_token_issue(card_id=card.pk)
    body = {"offer": offer.pk, "card_number": card.number, "store": shop.store.pk, "amount": "50"}
    by_number = api_client.post(
        "/api/v1/redemptions/", body, format="json", **shop.headers(), HTTP_IDEMPOTENCY_KEY="qr-3"
    )
    assert by_number.status_code == 201
    if fresh != token:  # tokens made in the same second may coincide
        body = {"offer": offer.pk, "member_token": fresh, "store": shop.store.pk, "amount": "50"}
        answer = api_client.post(
            "/api/v1/redemptions/", body, format="json", **shop.headers(), HTTP_IDEMPOTENCY_KEY="qr-4"
        )
        assert answer.status_code == 201


def test_a_voided_redemption_gives_its_card_token_back(api_client, shop, make_offer, member):
    card = CardFactory(member=member, status=Card.Status.ACTIVE)
    offer = make_offer(per_member_daily_limit=None, per_member_total_limit=None, daily_quota=None)
    token = card_token_issue(card_id=card.pk)
    body = {"offer": offer.pk, "member_token": token, "store": shop.store.pk, "amount": "50"}
    made = api_client.post(
        "/api/v1/redemptions/", body, format="json", **shop.headers(), HTTP_IDEMPOTENCY_KEY="v-1"
    )
    api_client.post(
        f"/api/v1/redemptions/{made.json()['id']}/void/", {"reason": "收错"}, format="json", **shop.headers()
    )
    again = api_client.post(
        "/api/v1/redemptions/", body, format="json", **shop.headers(), HTTP_IDEMPOTENCY_KEY="v-2"
    )
    assert again.status_code == 201


def online_offer(**fields):
    values = {
        "channel": Offer.Channel.ONLINE,
        "kind": Offer.Kind.AMOUNT_OFF,
        "percent_off": None,
        "amount_off": Decimal("30"),
        "min_spend": Decimal("199"),
        "per_member_total_limit": 1,
    }
    values.update(fields)
    return OfferFactory(**values)


def test_an_online_offers_code_is_claimed_over_the_api_through_the_claim_service(
    api_client, member, monkeypatch
):
    CardFactory(member=member, status=Card.Status.ACTIVE)
    offer = online_offer()
    vouchers.voucher_codes_add(offer=offer, codes=["CODE-A", "CODE-B"])
    calls = []
    claim = vouchers.voucher_claim

    def counted(**kwargs):
        calls.append(kwargs["offer"].pk)
        return claim(**kwargs)

    monkeypatch.setattr("discounts.api.member.voucher_claim", counted)
    url = f"/api/v1/offers/{offer.pk}/claim/"
    token = member_token(member)
    first = api_client.post(url, **bearer(token))
    assert first.status_code == 201, first.content
    assert first.json()["code"] in {"CODE-A", "CODE-B"} and first.json()["offer"]["id"] == offer.pk
    assert VoucherCode.objects.get(code=first.json()["code"]).member == member
    second = api_client.post(url, **bearer(token))
    assert second.status_code == 409 and second.json()["error"]["code"] == "member_limit_reached"
    assert calls == [offer.pk, offer.pk]
    assert api_client.post(url).status_code == 401
    in_store = OfferFactory()
    refused = api_client.post(f"/api/v1/offers/{in_store.pk}/claim/", **bearer(token))
    assert refused.status_code == 400
    assert api_client.post("/api/v1/offers/999999999/claim/", **bearer(token)).status_code == 404
