"""No orphan pages: the merchant's monthly statement and till, the staff's subsidy report and every
sign-out are in the menus; error pages are the portal's own with a way back; pickers name places,
and the admin's region field is searched, not scrolled."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from members.models import Union
from merchants.models import MerchantUser
from portal.roles import Role
from tests.e2e.conftest import DESKTOP, PHONE, TABLET, assert_page_basics, merchant_sign_in, staff_sign_in
from tests.factories import MerchantFactory, MerchantUserFactory, UnionFactory, UserFactory

pytestmark = [pytest.mark.e2e]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def places(transactional_db):
    province = UnionFactory(code="130000", name="河北省总工会", level=Union.Level.PROVINCE)
    city = UnionFactory(code="130100", name="石家庄市总工会", level=Union.Level.CITY, parent=province)
    county = UnionFactory(code="130102", name="长安区总工会", level=Union.Level.COUNTY, parent=city)
    UnionFactory(code="130102001", name="长安区机械厂工会", level=Union.Level.WORKPLACE, parent=county)
    return {"province": province, "city": city, "county": county}


def test_the_merchants_menus_reach_the_statement_the_till_and_sign_out(new_page, places):
    manager = MerchantUserFactory(user__username="shop_manager", merchant__region=places["county"])
    page = new_page(TABLET)
    merchant_sign_in(page, "shop_manager", PASSWORD)
    nav = page.locator(".site-nav")
    nav.get_by_role("link", name="月度对账").click()
    page.wait_for_url(re.compile(r"/statement/"))
    assert_page_basics(page)
    page.locator(".site-nav").get_by_role("link", name="商家后台").click()
    page.locator(".site-nav").get_by_role("link", name="收银台").click()
    page.wait_for_url(re.compile(r"/till/|/cashier/"))
    page.locator(".site-nav").get_by_role("button", name="退出登录").click()
    page.goto("/merchant/")
    page.wait_for_url(re.compile(r"/merchant/login/"))
    assert manager.pk


def test_the_staff_menu_reaches_the_subsidy_report_and_sign_out(new_page, places, roles):
    user = UserFactory(username="city_operator", union=places["city"])
    user.groups.add(Role.CITY_OPERATOR.group())
    page = new_page(DESKTOP)
    staff_sign_in(page, "city_operator", PASSWORD, next_url="/staff/")
    nav = page.locator(".site-nav")
    expect(nav.get_by_role("link", name="覆盖面看板")).to_have_attribute("aria-current", "page")
    nav.get_by_role("link", name="工会补贴统计").click()
    page.wait_for_url(re.compile(r"/staff/subsidies/"))
    assert_page_basics(page)
    page.locator(".site-nav").get_by_role("button", name="退出登录").click()
    page.goto("/staff/")
    page.wait_for_url(re.compile(r"/admin/login/"))


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_missing_page_is_the_portals_own_with_a_way_back(new_page, live_server, places, device):
    MerchantUserFactory(user__username="shop_manager", merchant__region=places["county"])
    page = new_page(device)
    response = page.goto("/no-such-page/")
    assert response.status == 404
    assert_page_basics(page)
    expect(page.locator("h1")).to_have_text("页面不存在")
    expect(page.locator(".site-header")).to_be_visible()
    page.get_by_role("link", name="返回首页").click()
    page.wait_for_url(live_server.url + "/")
    # the way back leads to where the visitor works
    merchant_sign_in(page, "shop_manager", PASSWORD)
    page.goto("/merchant/no-such-page/")
    page.locator("main").get_by_role("link", name="商家中心").click()
    page.wait_for_url(re.compile(r"/merchant/$"))


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_server_failure_is_the_portals_own_page_with_a_way_back(new_page, live_server, settings, device):
    """An unexpected error answers 500 with the portal's page — no traceback, no technical words — and
    a way back home."""
    settings.ROOT_URLCONF = "tests.e2e.failing_urls"
    settings.DEBUG = False
    page = new_page(device)
    response = page.goto("/test-failure/")
    assert response.status == 500
    assert_page_basics(page)
    expect(page.locator("h1")).to_have_text("服务出错了")
    body = page.locator("body").inner_text()
    assert "RuntimeError" not in body and "Traceback" not in body
    page.get_by_role("link", name="返回首页").click()
    page.wait_for_url(live_server.url + "/")


def test_a_page_the_account_may_not_open_says_so_with_a_way_back(new_page, places):
    MerchantUserFactory(
        user__username="cashier_li", merchant__region=places["county"], role=MerchantUser.Role.CASHIER
    )
    page = new_page(PHONE)
    merchant_sign_in(page, "cashier_li", PASSWORD)
    response = page.goto("/merchant/offers/new/")
    assert response.status == 403
    assert_page_basics(page)
    expect(page.locator("h1")).to_have_text("没有权限")
    page.locator("main").get_by_role("link", name="商家中心").click()
    page.wait_for_url(re.compile(r"/merchant/$"))


def test_an_expired_form_says_so_in_the_portals_style(new_page, transactional_db):
    MerchantUserFactory(user__username="shop_manager")
    page = new_page(PHONE)
    page.goto("/merchant/login/")
    page.context.clear_cookies()  # the session ended elsewhere while the form stayed open
    page.get_by_label("用户名").fill("shop_manager")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("h1")).to_have_text("页面已过期")
    assert_page_basics(page)
    expect(page.get_by_role("link", name="返回首页")).to_be_visible()


def test_pickers_name_places_not_unions(new_page, places):
    page = new_page(PHONE)
    page.goto("/merchant/apply/")
    options = page.get_by_label("所在地区").locator("option").all_inner_texts()
    names = [option.strip() for option in options]
    assert "石家庄市" in names and "长安区" in names, names
    assert not any("工会" in name for name in names), names


def test_the_admins_region_field_is_searched(new_page, places):
    merchant = MerchantFactory(region=places["county"], name="长安影城")
    UserFactory(username="province_admin", is_superuser=True)
    page = new_page(DESKTOP)
    staff_sign_in(
        page, "province_admin", PASSWORD, next_url=f"/admin/merchants/merchant/{merchant.pk}/change/"
    )
    page.locator(".field-region .select2-selection").click()
    page.locator(".select2-search__field").fill("长安")
    results = page.locator(".select2-results__option")
    expect(results.filter(has_text="长安区总工会")).to_have_count(1)
    expect(results.filter(has_text="机械厂")).to_have_count(0)
