"""A cashier on a tablet at the till: identify a member by card number, redeem an offer, print the
receipt, void it from today's list, and meet a card that was reported lost."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from discounts.models import Redemption
from members import cards
from members.models import Card
from tests.e2e.conftest import (
    TABLET,
    assert_page_basics,
    merchant_sign_in,
    switch_language_and_back,
    usable_every_day,
)

pytestmark = pytest.mark.e2e


def open_till(page, merchant: dict) -> None:
    """Sign in as the merchant's cashier and open the till at the merchant's first store."""
    merchant_sign_in(page, merchant["cashier_username"], merchant["cashier_password"])
    assert_page_basics(page)
    page.get_by_role("link", name="打开收银核销").click()
    page.wait_for_url(re.compile(r"/merchant/till/$"))
    store_choice = page.get_by_label("当前门店")
    if store_choice.count():  # a merchant with several stores picks where this till stands
        store_choice.select_option(label=merchant["stores"][0]["name"])
        page.get_by_role("button", name="切换").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("收银台")
    expect(page.get_by_label("卡号或会员二维码")).to_be_visible()


def identify(page, card_number: str) -> None:
    page.get_by_label("卡号或会员二维码").fill(card_number)
    with page.expect_navigation():
        page.get_by_role("button", name="查询会员").click()


def frozen_demo_card(demo: dict) -> str:
    """The demo member whose card was reported lost; one is frozen here if the demo has none."""
    for member in demo["members"]:
        if member["card_status"] == "frozen":
            return member["card_number"]
    card = Card.objects.get(number=demo["members"][-1]["card_number"])
    cards.card_freeze(card=card)
    return card.number


def test_cashier_redeems_prints_the_receipt_voids_it_and_meets_a_lost_card(new_page, demo):
    merchant, offer = usable_every_day(demo)
    member = next(m for m in demo["members"] if m["card_status"] == "active")
    page = new_page(TABLET)

    open_till(page, merchant)
    assert_page_basics(page)
    switch_language_and_back(page)

    # The member's card number: who they are (masked) and the offers they can use here today.
    identify(page, member["card_number"])
    found = page.get_by_role("region", name="2. 会员与可用优惠")
    expect(found).to_be_visible()
    expect(found).to_contain_text(member["card_number"][-4:])
    assert member["card_number"] not in found.inner_text(), "the full card number is shown at the till"
    assert member["name"] not in found.inner_text(), "the full name is shown at the till"
    assert_page_basics(page)
    usable = found.locator("article").filter(has=page.get_by_role("heading", name=offer.title, exact=True))
    expect(usable.get_by_role("button", name="确认核销")).to_be_visible()

    # Redeem it: 120 yuan, one unit.
    usable.get_by_label("消费金额（元）").fill("120.00")
    usable.get_by_role("button", name="确认核销").click()
    page.wait_for_url(re.compile(r"/merchant/till/redemptions/\d+/$"))
    redemption = Redemption.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    assert redemption.status == Redemption.Status.COMPLETED and redemption.amount == 120
    expect(page.get_by_role("heading", level=1)).to_have_text(f"核销凭证 #{redemption.pk}")
    expect(page.get_by_role("status")).to_contain_text("核销成功")
    receipt = page.locator(".receipt")
    expect(receipt).to_contain_text(offer.title)
    expect(receipt).to_contain_text("¥120.00")
    expect(receipt).to_contain_text(f"¥{redemption.payable}")
    expect(receipt).to_contain_text(f"¥{redemption.discount}")
    assert_page_basics(page)

    # Back at the till, today's list has it; void it from there.
    page.get_by_role("link", name="继续收银").click()
    today = page.get_by_role("region", name="今日核销")
    row = today.get_by_role("row").filter(has_text=offer.title)
    expect(row).to_have_count(1)
    row.get_by_role("link", name="查看/撤销").click()
    page.wait_for_url(re.compile(rf"/redemptions/{redemption.pk}/$"))
    page.get_by_label("撤销原因").fill("金额输错")
    page.get_by_role("button", name="确认撤销").click()
    expect(page.get_by_role("status")).to_contain_text("已撤销")
    expect(page.locator(".receipt")).to_contain_text("金额输错")
    expect(page.get_by_role("button", name="确认撤销")).to_have_count(0)
    redemption.refresh_from_db()
    assert redemption.status == Redemption.Status.VOIDED
    page.get_by_role("link", name="继续收银").click()
    expect(today.get_by_role("row").filter(has_text=offer.title)).to_contain_text("已撤销")

    # A card reported lost: refused in plain Chinese, nothing to redeem.
    identify(page, frozen_demo_card(demo))
    found = page.get_by_role("region", name="2. 会员与可用优惠")
    expect(found).to_contain_text("该卡已挂失")
    expect(found.get_by_role("button", name="确认核销")).to_have_count(0)
    assert_page_basics(page)
