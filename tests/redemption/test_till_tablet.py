"""The till's helpers for a tablet: the payable preview (the redemption's own computation, for this
merchant's offers only), today's totals in one query, and a new scan replacing the customer on screen."""

from __future__ import annotations

from decimal import Decimal

import pytest

from discounts.models import Offer, Redemption
from discounts.redemption import redemption_create, redemption_void
from members.tokens import card_code_issue

pytestmark = pytest.mark.django_db

TILL = "/merchant/till/"
PREVIEW = f"{TILL}preview/"


def test_preview_gives_the_payable_of_the_redemption_rules(client, shop, make_offer):
    offer = make_offer(
        title="电影票", kind=Offer.Kind.FIXED_PRICE, percent_off=None, fixed_price=Decimal("10")
    )
    client.force_login(shop.cashier.user)
    answer = client.get(PREVIEW, {"offer": offer.pk, "amount": "４５", "units": "2"})
    assert answer.status_code == 200
    assert answer.json() == {"payable": "20.00", "discount": "25.00", "union_subsidy": "0.00"}
    bad = client.get(PREVIEW, {"offer": offer.pk, "amount": "1.234"})
    assert bad.status_code == 400 and "两位小数" in bad.json()["error"]


def test_preview_of_another_merchants_offer_is_404(client, shop, rival, make_offer):
    theirs = make_offer(merchant=rival.merchant)
    client.force_login(shop.cashier.user)
    assert client.get(PREVIEW, {"offer": theirs.pk, "amount": "10"}).status_code == 404
    assert client.get(PREVIEW, {"offer": "x", "amount": "10"}).status_code == 404


def test_today_totals_count_completed_redemptions_only(client, shop, card, make_offer):
    offer = make_offer()
    made = [
        redemption_create(
            merchant=shop.merchant,
            store_id=shop.store.pk,
            offer_id=offer.pk,
            card_number=card.number,
            amount=amount,
            idempotency_key=f"t-{amount}",
        )
        for amount in ("100", "50")
    ]
    redemption_void(redemption=made[1], reason="错收", voided_by=None)
    client.force_login(shop.cashier.user)
    page = client.get(TILL).content.decode()
    kept = Redemption.objects.get(pk=made[0].pk)
    assert "今日合计 1 笔" in page and f"¥{kept.amount}" in page and str(kept.payable) in page


def test_a_new_scan_replaces_the_customer_on_screen_even_when_not_found(client, shop, card, make_offer):
    make_offer(title="会员折扣")
    client.force_login(shop.cashier.user)
    client.post(f"{TILL}identify/", {"card": card_code_issue(card_id=card.pk)})
    assert "张**" in client.get(TILL).content.decode()
    client.post(f"{TILL}identify/", {"card": "6228880000000001"})
    assert "张**" not in client.get(TILL).content.decode()


def test_an_expired_number_code_is_named_as_such_at_the_till(client, shop, card, settings):
    settings.CARD_TOKEN_TTL_SECONDS = -1
    client.force_login(shop.cashier.user)
    client.post(f"{TILL}identify/", {"card": card_code_issue(card_id=card.pk)})
    assert "会员码无效或已过期" in client.get(TILL).content.decode()
    client.post(f"{TILL}identify/", {"card": ""})
    assert "请输入卡号" in client.get(TILL).content.decode()
