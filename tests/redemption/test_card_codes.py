"""The short code of the member's card page (12 digits, also a barcode): resolved by the one function
that resolves QR tokens, so the POS API takes it as member_token, typed with spaces or in full-width
digits; refused once its window has passed, like the QR token."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from discounts.redemption import redemption_request
from members import tasks
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


def test_the_hourly_purge_forgets_expired_codes_only(card, make_card):
    live = card_code_issue(card_id=card.pk)
    other = make_card()
    stale = card_code_issue(card_id=other.pk)
    CardCode.objects.filter(code=stale).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.purge_one_time_codes() >= 1
    assert list(CardCode.objects.values_list("code", flat=True)) == [live]


def test_a_code_typed_two_ways_is_one_request_for_its_idempotency_key():
    code = "123456789012"
    spaced = redemption_request(offer=1, store=1, amount="10", member_token="1234 5678 9012")
    full_width = redemption_request(offer=1, store=1, amount="10", member_token=code.translate(FULL_WIDTH))
    assert spaced == full_width == redemption_request(offer=1, store=1, amount="10", member_token=code)
