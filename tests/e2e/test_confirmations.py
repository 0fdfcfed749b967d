"""Irreversible acts ask first and say what will happen: in a dialog with scripts, on a page of its
own without; cancelling changes nothing (portal/confirm.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from discounts.models import Offer
from members.models import Card
from merchants.apikeys import api_key_create
from merchants.models import MerchantUser
from tests.e2e.conftest import DESKTOP, PHONE, assert_page_basics, merchant_sign_in, staff_sign_in
from tests.factories import CardFactory, MerchantUserFactory, OfferFactory, UserFactory

pytestmark = [pytest.mark.e2e]

PASSWORD = "correct-horse-battery"
NO_SCRIPTS = {**DESKTOP, "java_script_enabled": False}


@pytest.fixture
def manager(transactional_db):
    return MerchantUserFactory(user__username="shop_manager")


@pytest.fixture
def superuser(transactional_db):
    return UserFactory(username="province_admin", is_superuser=True)


def test_revoking_a_pos_key_asks_in_a_dialog_and_says_what_happens(new_page, manager):
    key, _raw = api_key_create(merchant=manager.merchant, name="一号收银机", created_by=manager.user)
    page = new_page(PHONE)
    merchant_sign_in(page, "shop_manager", PASSWORD)
    page.get_by_role("button", name="吊销").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"使用密钥 {key.prefix}… 的收银机立即不能再核销")
    expect(dialog.get_by_role("button", name="取消")).to_be_focused()
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_have_count(0)
    key.refresh_from_db()
    assert key.revoked_at is None

    page.get_by_role("button", name="吊销").click()
    page.get_by_role("dialog").get_by_role("button", name="确认吊销").click()
    expect(page.locator(".messages")).to_contain_text("已吊销")
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_deactivating_a_cashier_asks_on_a_page_without_scripts(new_page, manager):
    cashier = MerchantUserFactory(
        merchant=manager.merchant, user__username="cashier_li", role=MerchantUser.Role.CASHIER
    )
    page = new_page(NO_SCRIPTS)
    merchant_sign_in(page, "shop_manager", PASSWORD)
    page.locator("li").filter(has_text="cashier_li").get_by_role("button", name="停用").click()
    expect(page.locator("h1")).to_contain_text("请确认")
    expect(page.locator("main")).to_contain_text("账号“cashier_li”立即不能再登录")
    assert_page_basics(page)
    page.get_by_role("link", name="取消").click()
    page.wait_for_url(re.compile(r"/merchant/$"))
    cashier.user.refresh_from_db()
    assert cashier.user.is_active

    page.locator("li").filter(has_text="cashier_li").get_by_role("button", name="停用").click()
    page.get_by_role("button", name="确认停用").click()
    page.wait_for_url(re.compile(r"/merchant/$"))
    cashier.user.refresh_from_db()
    assert not cashier.user.is_active


@pytest.mark.parametrize("device", [DESKTOP, NO_SCRIPTS], ids=["dialog", "no-scripts"])
def test_ending_an_offer_asks_first(new_page, superuser, device):
    offer = OfferFactory(title="周末观影10元", status=Offer.Status.PUBLISHED)
    page = new_page(device)
    staff_sign_in(page, "province_admin", PASSWORD, next_url=f"/admin/discounts/offer/{offer.pk}/change/")
    page.get_by_role("button", name="结束", exact=True).click()
    if device is NO_SCRIPTS:
        expect(page.locator("#content")).to_contain_text("优惠“周末观影10元”立即从会员的优惠列表中下架")
        page.get_by_role("button", name="确认结束").click()
    else:
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("优惠“周末观影10元”立即从会员的优惠列表中下架")
        dialog.get_by_role("button", name="确认结束").click()
    expect(page.locator(".messagelist")).to_contain_text("已结束")
    offer.refresh_from_db()
    assert offer.status == Offer.Status.ENDED


def test_replacing_a_card_asks_first(new_page, superuser):
    card = CardFactory()
    page = new_page(DESKTOP)
    staff_sign_in(page, "province_admin", PASSWORD, next_url="/admin/members/card/")
    page.locator("#result_list tr").filter(has_text=card.number).locator("input.action-select").check()
    page.locator("select[name=action]").select_option("replace_cards")
    page.locator("button[name=index]").click()
    expect(page.locator("#content")).to_contain_text("所选的 1 张卡立即注销")
    page.get_by_role("link", name="取消").click()
    card.refresh_from_db()
    assert card.status == Card.Status.ACTIVE

    page.locator("#result_list tr").filter(has_text=card.number).locator("input.action-select").check()
    page.locator("select[name=action]").select_option("replace_cards")
    page.locator("button[name=index]").click()
    page.get_by_role("button", name="确认补换").click()
    expect(page.locator(".messagelist")).to_contain_text("补换新卡")
    card.refresh_from_db()
    assert card.status != Card.Status.ACTIVE
    assert Card.objects.filter(member=card.member).count() == 2
