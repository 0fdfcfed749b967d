"""The offer list fits the member, on a phone: what cannot be used today is greyed with the rule's own
words, a signed-in member starts in their own city, "我能用" keeps only what they can use now, and an
offer limited to other members is marked for them."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import expect

from discounts.models import OfferDayCounter
from members.models import Union
from tests.e2e.conftest import PHONE, assert_page_basics, member_sign_in
from tests.factories import CardFactory, MemberFactory, MerchantFactory, OfferFactory, UnionFactory

pytestmark = pytest.mark.e2e

WEEKDAY_NAMES = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]


@pytest.fixture
def province(transactional_db):
    """Two cities; a member of a workplace in the first; offers in both."""
    # The synonyms come from a data migration, which an earlier transactional test's flush removed.
    importlib.import_module("discounts.migrations.0012_seed_search_synonyms").seed_synonyms(apps, None)
    root = UnionFactory(code="930000", name="测试省总工会", level=Union.Level.PROVINCE)
    home = UnionFactory(code="930100", name="甲市总工会", level=Union.Level.CITY, parent=root)
    other = UnionFactory(code="930200", name="乙市总工会", level=Union.Level.CITY, parent=root)
    county = UnionFactory(code="930102", name="甲市一区总工会", level=Union.Level.COUNTY, parent=home)
    workplace = UnionFactory(
        code="930102001", name="甲市一厂工会", level=Union.Level.WORKPLACE, parent=county
    )
    member = MemberFactory(union=workplace, phone="13955550001")
    CardFactory(member=member)

    shop = MerchantFactory(name="甲市影城", region=county)
    far_shop = MerchantFactory(name="乙市影城", region=other)
    today = timezone.localdate().isoweekday()
    other_days = [day for day in range(1, 8) if day != today]
    offers = {
        "usable": OfferFactory(merchant=shop, title="天天可用观影"),
        "weekday": OfferFactory(merchant=shop, title="别的日子观影", weekdays=other_days),
        "sold_out": OfferFactory(merchant=shop, title="限量观影", daily_quota=1),
        "ineligible": OfferFactory(merchant=shop, title="乙市会员专享", eligible_union=other),
        "far": OfferFactory(merchant=far_shop, title="乙市观影"),
    }
    OfferDayCounter.objects.create(offer=offers["sold_out"], day=timezone.localdate(), used=1)
    days_words = "仅" + "、".join(WEEKDAY_NAMES[day - 1] for day in other_days)
    return {"member": member, "offers": offers, "days_words": days_words}


def _card(page, title: str):
    link = page.get_by_role("link", name=re.compile(title))
    return page.locator("ul.offer-list li.offer-item").filter(has=link)


def test_offers_not_usable_today_are_greyed_with_the_reason(new_page, province):
    page = new_page(PHONE)
    page.goto("/")
    assert_page_basics(page)

    weekday, sold_out = _card(page, "别的日子观影"), _card(page, "限量观影")
    usable = _card(page, "天天可用观影")
    expect(weekday).to_have_class(re.compile("offer-unusable"))
    expect(weekday).to_contain_text(province["days_words"])
    expect(sold_out).to_have_class(re.compile("offer-unusable"))
    expect(sold_out).to_contain_text("今日已抢光")
    expect(usable).not_to_have_class(re.compile("offer-unusable"))
    # Anonymous: nobody's union is judged, the other city's offers are listed too.
    expect(_card(page, "乙市观影")).to_have_count(1)
    expect(page.get_by_label("我能用")).to_have_count(0)


def test_variants_of_one_merchant_are_one_card(new_page, province):
    page = new_page(PHONE)
    page.goto("/")
    assert_page_basics(page)
    groups = page.locator("ul.offer-list > li")
    expect(groups).to_have_count(2)  # 甲市影城 and 乙市影城
    shop = groups.filter(has=page.get_by_role("heading", name="甲市影城"))
    expect(shop.locator("li.offer-item")).to_have_count(4)
    expect(shop).to_contain_text("4项优惠")


def test_signed_in_member_starts_in_their_city_and_filters_what_they_can_use(new_page, province, sms_outbox):
    page = new_page(PHONE)
    page.goto("/me/sign-in/?next=/")
    member_sign_in(page, province["member"].phone, sms_outbox)
    page.goto("/")
    assert_page_basics(page)

    # The member's own city is chosen; the other city's offers are not listed.
    expect(page.get_by_label("城市/区县")).to_have_value("930100")
    expect(_card(page, "乙市观影")).to_have_count(0)
    expect(_card(page, "天天可用观影")).to_have_count(1)
    # An offer for another union's members is marked for this member.
    expect(_card(page, "乙市会员专享")).to_contain_text("您不可用")
    expect(_card(page, "乙市会员专享")).to_contain_text("仅限乙市总工会会员")

    # "我能用": only what this member can use now.
    page.get_by_label("我能用").check()
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"mine=1"))
    titles = page.locator("ul.offer-list li.offer-item .offer-title").all_inner_texts()
    assert titles == ["天天可用观影"], titles

    # "全省" is still a choice.
    page.get_by_label("我能用").uncheck()
    page.get_by_label("城市/区县").select_option(value="")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"region=&|region=$"))
    expect(_card(page, "乙市观影")).to_have_count(1)


def test_search_for_a_word_finds_offers_that_say_a_synonym(new_page, province):
    page = new_page(PHONE)
    page.goto("/")
    page.get_by_label("搜索优惠或商家").fill("电影")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url(re.compile(r"q=%E7%94%B5%E5%BD%B1"))
    assert_page_basics(page)
    # No offer says 电影: they say 影城 and 观影.
    expect(_card(page, "天天可用观影")).to_have_count(1)
    expect(_card(page, "乙市观影")).to_have_count(1)
    expect(_card(page, "乙市会员专享")).to_have_count(1)  # its merchant is 甲市影城
