"""A co-funded offer from approval to the till, in Chromium on the demo province (issue 18): the
reviewer approves it choosing the fund that pays the union's share, the cashier redeems it and the
receipt shows the one saving split between the union and the merchant, and the fund's ledger shows
the share spent on that redemption — then given back when the cashier voids it."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from discounts import services
from discounts.models import Offer, Redemption
from funds.models import Fund
from members.models import Union
from merchants.models import Merchant
from tests.e2e.conftest import DESKTOP, TABLET, assert_page_basics, staff_sign_in, usable_every_day
from tests.e2e.test_cashier_journey import identify, open_till

pytestmark = pytest.mark.e2e

TITLE = "会员满100减30（工会与商家共担）"


def _pending_cofunded_offer(merchant_entry: dict) -> Offer:
    """What the merchant's manager drafts and submits on their own pages (tested elsewhere)."""
    merchant = Merchant.objects.get(pk=merchant_entry["id"])
    manager = get_user_model().objects.get(username=merchant_entry["username"])
    province = Union.objects.get(level=Union.Level.PROVINCE)
    offer = services.offer_create(
        merchant=merchant,
        created_by=manager,
        title=TITLE,
        kind=Offer.Kind.AMOUNT_OFF,
        amount_off=Decimal("30"),
        min_spend=Decimal("100"),
        funder=Offer.Funder.COFUNDED,
        union_share_percent=Decimal("50"),
        budget=Decimal("10000"),
        budget_owner=province,
        valid_from=timezone.localdate() - timedelta(days=1),
        valid_until=timezone.localdate() + timedelta(days=30),
    )
    return services.offer_submit(offer=offer, submitted_by=manager)


def test_a_cofunded_offer_is_approved_with_its_fund_and_paid_from_it_at_the_till(new_page, demo):
    merchant_entry, _offer = usable_every_day(demo)
    offer = _pending_cofunded_offer(merchant_entry)
    fund = Fund.objects.filter(union__level=Union.Level.PROVINCE).order_by("-year").first()
    spent_before = fund.spent
    admin = next(s for s in demo["staff"] if s["username"] == "province_admin")

    # The reviewer approves it on the offer's page: without a fund it is refused, with one it passes.
    staff = new_page(DESKTOP)
    change = f"/admin/discounts/offer/{offer.pk}/change/"
    staff_sign_in(staff, admin["username"], admin["password"], next_url=change)
    assert_page_basics(staff)
    workflow = staff.locator("#offer-workflow")
    workflow.get_by_role("button", name="审核通过").click()
    expect(staff.locator(".messagelist")).to_contain_text("请选择工会分担从哪一笔普惠资金支出")
    workflow = staff.locator("#offer-workflow")
    workflow.get_by_label("工会分担从哪一笔普惠资金支出（审核通过时必选）").select_option(str(fund.pk))
    workflow.get_by_role("button", name="审核通过").click()
    expect(staff.locator(".messagelist")).to_contain_text("优惠状态已更新为“已通过”")
    staff.locator("#offer-workflow").get_by_role("button", name="发布").click()
    expect(staff.locator(".messagelist")).to_contain_text("优惠状态已更新为“已发布”")
    assert Offer.objects.get(pk=offer.pk).fund_id == fund.pk

    # The cashier redeems it: the member saves 30; the union bears 15 of it, the merchant 15.
    member = next(m for m in demo["members"] if m["card_status"] == "active")
    till = new_page(TABLET)
    open_till(till, merchant_entry)
    identify(till, member["card_number"])
    found = till.get_by_role("region", name="2. 会员与可用优惠")
    usable = found.locator("article").filter(has=till.get_by_role("heading", name=TITLE, exact=True))
    usable.get_by_label("消费金额（元）").fill("120.00")
    usable.get_by_role("button", name="确认核销").click()
    till.wait_for_url(re.compile(r"/merchant/till/redemptions/\d+/$"))
    assert_page_basics(till)
    receipt = till.locator("dl.receipt-lines")
    expect(receipt).to_contain_text("¥30.00")
    expect(receipt).to_contain_text(re.compile(r"其中工会承担\s*¥15\.00"))
    expect(receipt).to_contain_text(re.compile(r"其中商家承担\s*¥15\.00"))
    redemption = Redemption.objects.get(pk=int(till.url.rstrip("/").rsplit("/", 1)[1]))
    assert redemption.fund_id == fund.pk
    assert Fund.objects.get(pk=fund.pk).spent == spent_before + Decimal("15.00")

    # The fund's page: the spend, named by the redemption.
    staff.goto(f"/staff/funds/{fund.pk}/")
    assert_page_basics(staff)
    ledger_row = staff.locator("table tr").filter(has_text=f"discounts.redemption:{redemption.pk}")
    expect(ledger_row).to_contain_text("15.00")
    expect(ledger_row).to_contain_text("支出")

    # Voided at the till the same day, from the receipt: the share goes back to the fund.
    till.get_by_label("撤销原因").fill("顾客取消")
    till.get_by_role("button", name="确认撤销").click()
    expect(till.get_by_role("status")).to_contain_text("已撤销")
    assert Fund.objects.get(pk=fund.pk).spent == spent_before
    staff.reload()
    given_back = staff.locator("table tr").filter(has_text=f"discounts.redemption:{redemption.pk}")
    expect(given_back).to_have_count(2)
    expect(given_back.first).to_contain_text("退回")
