"""The merchant's offer form in the browser: a saved offer keeps its dates when edited in Chinese, a
form that fails says so at the top, the discount is entered in 折 with the result spelled out, only the
fields of the chosen kind are shown, and a live preview shows the card members will see."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from discounts.models import Offer
from tests.e2e.conftest import DESKTOP, PHONE, assert_page_basics, merchant_sign_in, staff_sign_in
from tests.factories import MerchantUserFactory, OfferFactory, UserFactory

pytestmark = [pytest.mark.e2e]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def manager(transactional_db):
    return MerchantUserFactory(user__username="offer_manager")


def rejected_offer(manager, **fields) -> Offer:
    values = {
        "merchant": manager.merchant,
        "status": Offer.Status.REJECTED,
        "status_reason": "请写明适用门店",
        "valid_from": datetime.date(2026, 12, 3),
        "valid_until": datetime.date(2027, 3, 31),
        **fields,
    }
    return OfferFactory(**values)


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_editing_a_saved_offer_in_chinese_keeps_its_dates(new_page, manager, device):
    offer = rejected_offer(manager, time_from=datetime.time(9, 30), time_until=datetime.time(21, 0))
    page = new_page(device)
    merchant_sign_in(page, "offer_manager", PASSWORD)
    page.goto(f"/merchant/offers/{offer.pk}/")
    assert_page_basics(page)
    expect(page.get_by_label("开始日期")).to_have_value("2026-12-03")
    expect(page.get_by_label("结束日期")).to_have_value("2027-03-31")
    expect(page.locator("input[name=time_from]")).to_have_value("09:30")
    expect(page.locator("input[name=time_until]")).to_have_value("21:00")

    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url(re.compile(r"/merchant/$"))
    offer.refresh_from_db()
    assert (offer.valid_from, offer.valid_until) == (datetime.date(2026, 12, 3), datetime.date(2027, 3, 31))
    assert (offer.time_from, offer.time_until) == (datetime.time(9, 30), datetime.time(21, 0))


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_form_that_fails_says_so_at_the_top(new_page, manager, device):
    offer = rejected_offer(manager)
    page = new_page(device)
    merchant_sign_in(page, "offer_manager", PASSWORD)
    page.goto(f"/merchant/offers/{offer.pk}/")
    page.get_by_label("标题").fill("")
    page.get_by_label("结束日期").fill("2026-11-01")  # before the start
    page.get_by_role("button", name="保存草稿").click()

    summary = page.locator(".form-errors")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("请修正以下")
    expect(summary).to_contain_text("标题")
    expect(summary).to_be_in_viewport()
    # each entry leads to its field
    summary.get_by_role("link", name=re.compile("标题")).click()
    expect(page.get_by_label("标题")).to_be_focused()
    assert_page_basics(page)


def test_the_discount_is_entered_in_zhe_and_spelled_out(new_page, manager):
    page = new_page(DESKTOP)
    merchant_sign_in(page, "offer_manager", PASSWORD)
    page.goto("/merchant/offers/new/")
    page.get_by_label("标题").fill("全场95折")
    page.get_by_label("类型").select_option(label="折扣")
    # only the fields of the chosen kind
    expect(page.get_by_label("折扣(折)")).to_be_visible()
    expect(page.get_by_label("减免金额")).to_be_hidden()
    expect(page.get_by_label("特价(每份)")).to_be_hidden()
    page.get_by_label("折扣(折)").fill("95")
    expect(page.locator(".offer-form")).to_contain_text("会员付原价的95%")
    preview = page.locator(".offer-preview")
    expect(preview).to_contain_text("全场95折")
    expect(preview.locator(".offer-headline")).to_have_text("9.5折")
    page.get_by_label("开始日期").fill("2026-12-03")
    page.get_by_label("结束日期").fill("2027-03-31")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url(re.compile(r"/merchant/$"))
    offer = Offer.objects.get(title="全场95折")
    assert offer.percent_off == Decimal("5")  # the member pays 95 %: 5 % off

    page.goto(f"/merchant/offers/{offer.pk}/")
    expect(page.get_by_label("折扣(折)")).to_have_value("9.5")
    page.get_by_label("折扣(折)").fill("8.8")
    expect(page.locator(".offer-form")).to_contain_text("会员付原价的88%")
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url(re.compile(r"/merchant/$"))
    offer.refresh_from_db()
    assert offer.percent_off == Decimal("12")

    page.goto(f"/merchant/offers/{offer.pk}/")
    page.get_by_label("类型").select_option(label="满减")
    expect(page.get_by_label("减免金额")).to_be_visible()
    expect(page.get_by_label("折扣(折)")).to_be_hidden()


def test_the_reviewer_sees_each_offers_value_and_the_members_card(new_page, manager):
    offer = rejected_offer(
        manager, title="会员购物95折", status=Offer.Status.PENDING, percent_off=Decimal("5")
    )
    UserFactory(username="reviewer", is_superuser=True)
    page = new_page(DESKTOP)
    staff_sign_in(page, "reviewer", PASSWORD, next_url="/admin/discounts/offer/")
    row = page.locator("#result_list tr").filter(has_text="会员购物95折")
    expect(row).to_contain_text("9.5折")
    row.get_by_role("link", name="会员购物95折").click()
    preview = page.locator("#offer-preview")
    expect(preview.locator(".offer-headline")).to_have_text("9.5折")
    expect(preview).to_contain_text("会员享9.5折")
    expect(preview).to_contain_text(offer.merchant.name)
