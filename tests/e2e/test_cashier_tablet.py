"""The till on a tablet (issue 16, item 8): the scan field keeps the focus and the screen starts afresh
after each customer; the confirm button in view; the payable amount before confirming; full-width
digits accepted; today's totals; a sign-out; a quantity only for per-unit offers."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from discounts.models import Offer, Redemption
from discounts.rules import compute_amounts
from tests.e2e.conftest import TABLET, assert_page_basics, usable_every_day
from tests.e2e.test_cashier_journey import open_till

pytestmark = pytest.mark.e2e

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
FOUND = "2. 会员与可用优惠"


def test_the_till_keeps_the_scan_focus_shows_the_payable_and_totals(new_page, demo):
    merchant, offer = usable_every_day(demo)
    member = next(m for m in demo["members"] if m["card_status"] == "active")
    page = new_page(TABLET)
    open_till(page, merchant)
    scan = page.get_by_label("卡号或会员二维码")
    expect(scan).to_be_focused()
    page.get_by_role("heading", level=1).click()  # a tap on the page leaves the focus where it was
    expect(scan).to_be_focused()

    # A card number typed with a Chinese input method (full-width digits) is found.
    scan.fill(member["card_number"].translate(FULL_WIDTH))
    scan.press("Enter")
    found = page.get_by_role("region", name=FOUND)
    expect(found).to_contain_text(member["card_number"][-4:])
    assert_page_basics(page)
    expect(page.get_by_label("卡号或会员二维码")).to_be_focused()

    # A quantity only where the money depends on it (a price or an allowance per unit).
    articles = found.locator("article")
    titles = [articles.nth(i).locator("h3").inner_text() for i in range(articles.count())]
    offers = {o.title: o for o in Offer.objects.filter(merchant_id=merchant["id"], title__in=titles)}
    for index, title in enumerate(titles):
        article = articles.nth(index)
        if not article.get_by_role("button", name="确认核销").count():
            continue
        quantity = article.get_by_label(re.compile(r"^数量"))
        expect(quantity).to_have_count(1 if offers[title].is_per_unit else 0)

    # The confirm button is in view, and the payable amount is shown before it is pressed.
    usable = found.locator("article").filter(has=page.get_by_role("heading", name=offer.title, exact=True))
    confirm = usable.get_by_role("button", name="确认核销")
    expect(confirm).to_be_in_viewport()
    usable.get_by_label("消费金额（元）").fill("120.00")
    expected = compute_amounts(offer, amount=Decimal("120.00"), units=1)
    expect(usable.locator('[data-role="payable"]')).to_contain_text(f"会员应付 ¥{expected.payable}")
    expect(confirm).to_be_in_viewport()
    confirm.click()
    page.wait_for_url(re.compile(r"/merchant/till/redemptions/\d+/$"))

    # The receipt: the next customer can be scanned at once.
    expect(page.get_by_label("卡号或会员二维码")).to_be_focused()
    page.get_by_role("link", name="继续收银").click()
    expect(page.get_by_role("region", name=FOUND)).to_have_count(0)
    expect(page.get_by_label("卡号或会员二维码")).to_be_focused()

    # Today's list shows its totals (completed redemptions only).
    done = Redemption.objects.get(status=Redemption.Status.COMPLETED, offer=offer)
    totals = page.get_by_role("region", name="今日核销").locator('[data-role="today-totals"]')
    expect(totals).to_contain_text("今日合计 1 笔")
    expect(totals).to_contain_text(f"¥{done.amount}")
    expect(totals).to_contain_text(str(done.payable))

    # A customer who walks away: the screen starts afresh, ready to scan.
    page.get_by_label("卡号或会员二维码").fill(member["card_number"])
    page.get_by_label("卡号或会员二维码").press("Enter")
    expect(page.get_by_role("region", name=FOUND)).to_be_visible()
    page.get_by_role("button", name="换一位会员").click()
    expect(page.get_by_role("region", name=FOUND)).to_have_count(0)
    expect(page.get_by_label("卡号或会员二维码")).to_be_focused()

    # A card that is not found does not leave the previous customer on screen.
    page.get_by_label("卡号或会员二维码").fill(member["card_number"])
    page.get_by_label("卡号或会员二维码").press("Enter")
    expect(page.get_by_role("region", name=FOUND)).to_be_visible()
    page.get_by_label("卡号或会员二维码").fill("6228880000000001")
    page.get_by_label("卡号或会员二维码").press("Enter")
    expect(page.get_by_role("status")).to_be_visible()
    expect(page.get_by_role("region", name=FOUND)).to_have_count(0)

    # Signing out from the till's menu.
    page.get_by_role("navigation", name="主导航").get_by_role("button", name="退出登录").click()
    page.wait_for_url(re.compile(r"/merchant/login/"))
