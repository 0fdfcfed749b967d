"""A member on 唐工惠 (Tangshan's site), on a phone: saves one of the city's offers, hears that its
quota was raised, buys a shop product at the member price, and finds it in their history once the
partner's till has confirmed it over the POS API — the city's look kept all the way."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from cities.models import CitySite
from discounts.models import Offer
from discounts.selectors import listed_offer_q
from discounts.services import offer_change_limits
from merchants.apikeys import api_key_create
from portal.clock import local_day
from shop.models import Order
from tests.e2e.conftest import PHONE, assert_page_basics, member_sign_in
from tests.e2e.test_city_sites import CITIES, header_colour
from tests.http import http_request

pytestmark = pytest.mark.e2e

TANGSHAN_BLUE = next(colour for slug, _name, colour, _phone in CITIES if slug == "tangshan")


def test_a_tangshan_member_saves_hears_buys_and_sees_it_confirmed(new_page, demo, sms_outbox, live_server):
    member = [m for m in demo["members"] if m["card_status"] == "active"][-1]
    tangshan = CitySite.objects.select_related("union").get(slug="tangshan").union
    offer = (
        Offer.objects.filter(listed_offer_q(local_day()), merchant__region__path__startswith=tangshan.path)
        .order_by("id")
        .first()
    )
    assert offer is not None, "the demo has no offer of Tangshan's own"
    page = new_page(PHONE)

    # On Tangshan's site, the member signs in; the city's look stays with the member pages.
    page.goto("/c/tangshan/")
    expect(page.get_by_role("heading", level=1)).to_have_text("唐工惠")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的卡").click()
    member_sign_in(page, member["phone"], sms_outbox)
    page.wait_for_url(re.compile(r"/me/card/$"))
    assert header_colour(page) == TANGSHAN_BLUE

    # One of the city's offers, saved.
    page.goto(f"/offers/{offer.pk}/")
    assert header_colour(page) == TANGSHAN_BLUE
    page.get_by_role("button", name="收藏优惠").click()
    expect(page.get_by_role("button", name="取消收藏")).to_be_visible()

    # The union raises the offer's daily quota (from a quota the offer has, or first gives it one).
    reviewer = get_user_model().objects.get(username="province_admin")
    if offer.daily_quota is None:
        offer_change_limits(offer=offer, changed_by=reviewer, daily_quota=100)
        offer.refresh_from_db()
    raised = offer.daily_quota + 100
    offer_change_limits(offer=offer, changed_by=reviewer, daily_quota=raised)

    # The member hears of it in the inbox.
    page.reload()
    inbox = page.locator("a.inbox-link")
    expect(inbox.locator(".badge")).to_be_visible()
    inbox.click()
    notice = page.get_by_text(re.compile(rf"您收藏的“{re.escape(offer.title)}”.*每日名额已增加到 {raised}"))
    expect(notice).to_be_visible()
    assert_page_basics(page)

    # The shop: a product at the member price, reserved.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="网上购").click()
    assert header_colour(page) == TANGSHAN_BLUE
    assert_page_basics(page)
    page.locator("main a[href^='/shop/']").first.click()
    price = page.locator(".figure").first.inner_text()
    expect(page.locator("s")).to_be_visible()  # the market price, struck through
    page.get_by_label("数量").fill("1")
    page.get_by_role("button", name="预订").click()
    page.wait_for_url(re.compile(r"/me/shop/$"))
    assert_page_basics(page)
    order_card = page.locator("article[data-role='order']").first
    expect(order_card).to_contain_text(price)
    expect(order_card).to_contain_text("待使用")
    code = order_card.locator(".order-code").inner_text()
    order = Order.objects.select_related("merchant", "product").get(code=code)
    assert f"¥{order.unit_price}" == price

    # The partner's till confirms it over the POS API.
    _key, raw_key = api_key_create(merchant=order.merchant, name="网店收银", created_by=None)
    status, _headers, body = http_request(
        f"{live_server.url}/api/v1/shop/orders/confirm/",
        json.dumps({"code": code}).encode(),
        {"Authorization": f"Api-Key {raw_key}", "Content-Type": "application/json"},
    )
    assert status == 200, body
    assert json.loads(body)["status"] == "confirmed"

    # The member sees it used, in the shop's orders and in the history.
    page.reload()
    expect(page.locator("article[data-role='order']").first).to_contain_text("已使用")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的优惠记录").click()
    section = page.locator("section[data-role='shop-orders']")
    expect(section).to_contain_text(order.product.title)
    expect(section).to_contain_text(f"¥{order.amount}")
    assert header_colour(page) == TANGSHAN_BLUE
    assert_page_basics(page)
