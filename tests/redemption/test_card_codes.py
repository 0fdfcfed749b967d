"""The short code of the member's card page (12 digits, also a barcode): resolved by the one function
that resolves QR tokens, so the POS API takes it as member_token, typed with spaces or in full-width
digits; refused once its window has passed, like the QR token."""

from __future__ import annotations

from datetime import timedelta

import pytest

from members.models import CardCode
from members.tokens import card_code_issue, card_token_card_id, normalize_card_input
from tests.redemption.test_pos_api import VERIFY, error_code, redeem

pytestmark = pytest.mark.django_db

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def test_a_fresh_code_names_its_card_typed_in_any_form(card):
    code = card_code_issue(card_id=card.pk)
    assert len(code) == 12 and code.isdigit()
    for typed in (code, f"{code[:4]} {code[4:8]} {code[8:]}", code.translate(FULL_WIDTH), f" {code}-"):
        assert card_token_card_id(typed) == card.pk, typed


def test_an_expired_or_unknown_code_names_no_card(card):
    code = card_code_issue(card_id=card.pk)
    CardCode.objects.filter(code=code).update(
        expires_at=CardCode.objects.get(code=code).expires_at - timedelta(hours=1)
    )
    assert card_token_card_id(code) is None
    assert card_token_card_id("000000000000" if code != "000000000000" else "111111111111") is None


def test_each_refresh_drops_the_cards_expired_codes(card, settings):
    settings.CARD_TOKEN_TTL_SECONDS = -1
    card_code_issue(card_id=card.pk)
    card_code_issue(card_id=card.pk)
    assert CardCode.objects.filter(card=card).count() == 1


def test_normaliser_turns_full_width_digits_and_separators_into_plain_digits():
    assert normalize_card_input("６２２８　８８00-1234 5678") == "6228880012345678"


def test_the_pos_api_verifies_and_redeems_by_short_code(api_client, shop, card, make_offer):
    offer = make_offer()
    code = card_code_issue(card_id=card.pk)
    verified = api_client.post(
        VERIFY,
        {"member_token": code.translate(FULL_WIDTH), "store": shop.store.pk},
        format="json",
        **shop.headers(),
    )
    assert verified.status_code == 200, verified.content
    assert verified.json()["card_number_masked"] == card.number_masked
    response = redeem(
        api_client, shop, {"offer": offer.pk, "member_token": code, "amount": "50"}, api_key=shop.pinned_key
    )
    assert response.status_code == 201, response.content


def test_the_pos_api_refuses_an_expired_short_code(api_client, shop, card, make_offer, settings):
    offer = make_offer()
    settings.CARD_TOKEN_TTL_SECONDS = -1
    code = card_code_issue(card_id=card.pk)
    response = redeem(
        api_client, shop, {"offer": offer.pk, "member_token": code, "store": shop.store.pk, "amount": "1"}
    )
    assert response.status_code == 404 and error_code(response) == "card_not_found"
