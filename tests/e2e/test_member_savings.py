"""Savings up front (issue 16, item 5): "我的优惠记录" in the menu, "累计节省" on the card page, in
members' words; an allowance shown as an allowance, with how and when it is paid."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from discounts.models import Offer, Redemption
from discounts.redemption import redemption_create
from merchants.models import Merchant
from tests.e2e.conftest import PHONE, assert_page_basics, member_sign_in, usable_every_day

pytestmark = pytest.mark.e2e

HOSPITAL_ALLOWANCE = "会员住院补贴每天20元"


def _buy(merchant: Merchant, offer: Offer, card_number: str, amount: str, units: int, key: str) -> Redemption:
    store = merchant.stores.filter(is_active=True).order_by("id").first()
    return redemption_create(
        merchant=merchant,
        store_id=store.pk,
        offer_id=offer.pk,
        card_number=card_number,
        amount=Decimal(amount),
        units=units,
        idempotency_key=key,
    )


def test_the_member_finds_savings_and_allowances_in_plain_words(new_page, demo, sms_outbox):
    member = next(m for m in demo["members"] if m["card_status"] == "active")
    merchant_entry, offer = usable_every_day(demo)
    discount = _buy(
        Merchant.objects.get(pk=merchant_entry["id"]), offer, member["card_number"], "120.00", 1, "s-1"
    )
    allowance_offer = Offer.objects.select_related("merchant").get(title=HOSPITAL_ALLOWANCE)
    Offer.objects.filter(pk=allowance_offer.pk).update(status=Offer.Status.PUBLISHED)
    allowance = _buy(allowance_offer.merchant, allowance_offer, member["card_number"], "800.00", 2, "s-2")
    assert allowance.union_subsidy == Decimal("40.00") and allowance.discount == 0
    total = discount.discount + allowance.union_subsidy

    page = new_page(PHONE)
    page.goto("/me/sign-in/?next=/me/card/")
    member_sign_in(page, member["phone"], sms_outbox)
    page.wait_for_url(re.compile(r"/me/card/$"))

    # On the card page: what the card has saved so far, and the way to the record.
    savings = page.get_by_role("region", name="累计节省")
    expect(savings).to_contain_text(f"¥{total}")
    expect(savings).to_contain_text("共使用会员优惠 2 次")
    expect(savings).to_contain_text("其中工会补贴 ¥40.00")
    assert_page_basics(page)

    # In the menu, in members' words: no "核销" anywhere on the way.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的优惠记录").click()
    page.wait_for_url(re.compile(r"/me/redemptions/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("我的优惠记录")
    assert_page_basics(page)
    assert "核销" not in page.locator("body").inner_text()

    # The allowance: not "saved" at the till but an allowance, with how and when it is paid.
    entry = page.locator("article").filter(has=page.get_by_role("heading", name=HOSPITAL_ALLOWANCE))
    expect(entry).to_contain_text("工会补贴 ¥40.00")
    expect(entry).to_contain_text("实付 ¥800.00")
    expect(entry).to_contain_text("转入您的会员卡账户")
    expect(entry).to_contain_text("每月")
    expect(entry).not_to_contain_text("节省")
    discounted = page.locator("article").filter(has=page.get_by_role("heading", name=offer.title, exact=True))
    expect(discounted).to_contain_text(f"节省 ¥{discount.discount}")
