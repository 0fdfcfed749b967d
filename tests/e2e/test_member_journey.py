"""A member on a phone: finds the cinema offer, signs in with a one-time code, shows the card and
reads back what a purchase saved."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from discounts.models import Redemption
from discounts.redemption import redemption_create
from merchants.models import Merchant
from tests.e2e.conftest import (
    PHONE,
    assert_page_basics,
    member_sign_in,
    switch_language_and_back,
    usable_every_day,
)

pytestmark = pytest.mark.e2e

CINEMA_OFFER = "周末会员10元观影"


def test_member_finds_the_cinema_offer_signs_in_shows_the_card_and_sees_the_purchase(
    new_page, demo, sms_outbox
):
    member = next(m for m in demo["members"] if m["card_status"] == "active")
    page = new_page(PHONE)

    # The offer list is the home page.
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("会员优惠")
    assert_page_basics(page)
    switch_language_and_back(page)

    # Filter: the 休闲娱乐 tab, then the city.
    page.get_by_role("navigation", name="商家分类").get_by_role("link", name="休闲娱乐").click()
    page.wait_for_url(re.compile(r"category=entertainment"))
    page.get_by_label("城市/区县").select_option(label="石家庄市")  # places, not unions
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"region=130100"))
    assert "category=entertainment" in page.url
    assert_page_basics(page)
    offers = page.locator("ul.offer-list > li")
    expect(offers.first).to_be_visible()
    assert all("休闲娱乐" in text for text in offers.all_inner_texts()), "an offer outside 休闲娱乐 is listed"

    # The cinema offer: its rules and what is left of today's quota.
    page.get_by_role("link", name=re.compile(CINEMA_OFFER)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(CINEMA_OFFER)
    assert_page_basics(page)
    rules = page.get_by_role("region", name="使用规则")
    expect(rules).to_contain_text("仅限周六、周日")
    expect(rules).to_contain_text("每日限量1500张")
    expect(rules).to_contain_text(re.compile(r"今日剩余\d+张"))
    expect(rules).to_contain_text("每人每日限2次")
    expect(page.get_by_text("星光国际影城（长安店）").first).to_be_visible()

    # "My card" asks for a sign-in: phone, then the code texted to it.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的卡").click()
    page.wait_for_url(re.compile(r"/me/sign-in/"))
    member_sign_in(page, member["phone"], sms_outbox)
    page.wait_for_url(re.compile(r"/me/card/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("我的会员卡")
    assert_page_basics(page)
    qr = page.locator("#card-qr svg")
    expect(qr).to_be_visible()
    # Read in the page in one step: the code is redrawn when its token is refreshed, and a size read
    # between the old drawing's removal and the new one's insertion would find no drawing at all.
    big_enough = page.wait_for_function(
        """() => {
            const drawing = document.querySelector("#card-qr svg");
            const box = drawing && drawing.getBoundingClientRect();
            return box && box.width >= 150 && box.height >= 150 && [box.width, box.height];
        }""",
        timeout=5000,
    )
    assert big_enough.json_value(), "the QR code is too small to scan"
    expect(page.locator(".card-number")).to_contain_text(member["card_number"][-4:])

    # A purchase at a partner merchant (what the till or a POS does), then the history.
    merchant_entry, offer = usable_every_day(demo)
    merchant = Merchant.objects.get(pk=merchant_entry["id"])
    redemption = redemption_create(
        merchant=merchant,
        store_id=merchant_entry["stores"][0]["id"],
        offer_id=offer.pk,
        card_number=member["card_number"],
        amount=Decimal("120.00"),
        idempotency_key="e2e-member-journey",
    )
    assert redemption.status == Redemption.Status.COMPLETED and redemption.discount > 0

    page.goto("/me/redemptions/")
    expect(page.get_by_role("heading", level=1)).to_have_text("我的优惠记录")
    assert_page_basics(page)
    entry = page.locator("article").filter(has=page.get_by_role("heading", name=offer.title, exact=True))
    expect(entry).to_contain_text(merchant.name)
    expect(entry).to_contain_text("¥120.00")
    expect(entry).to_contain_text(f"¥{redemption.discount + redemption.union_subsidy}")
    expect(page.locator("main")).to_contain_text(f"¥{redemption.discount + redemption.union_subsidy}")
