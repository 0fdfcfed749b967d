"""Two city sites on a phone (375×812), each in its own colours and name: home with banners and the
city's own offers first, news, the WeChat and contact page; the member pages reached from a city keep
its look; the province site stays as it was. Then a city on its own host name."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from merchants.models import Category
from tests.e2e.conftest import PHONE, assert_page_basics

pytestmark = pytest.mark.e2e

PHONE_812 = {**PHONE, "viewport": {"width": 375, "height": 812}}
CITIES = [
    # slug, name, primary colour as computed, service phone
    ("tangshan", "唐工惠", "rgb(11, 92, 171)", "0315-12351"),
    ("shijiazhuang", "石家庄职工之家", "rgb(23, 128, 74)", "0311-12351"),
]
PROVINCE_RED = "rgb(200, 16, 46)"


def header_colour(page) -> str:
    return page.evaluate("() => getComputedStyle(document.querySelector('.site-header')).backgroundColor")


def assert_themed(page, name: str, colour: str) -> None:
    assert header_colour(page) == colour, page.url
    brand = page.locator("a.brand")
    expect(brand).to_contain_text(name)
    logo = brand.locator("img.brand-logo")
    expect(logo).to_be_visible()
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", logo.element_handle()), (
        "logo not loaded"
    )


@pytest.mark.parametrize(("slug", "name", "colour", "phone"), CITIES, ids=[c[0] for c in CITIES])
def test_a_city_site_on_a_phone(new_page, demo, slug, name, colour, phone):
    page = new_page(PHONE_812)

    # Home: the city's name, logo and colours, its banners, its own offers before the province's.
    page.goto(f"/c/{slug}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    assert_page_basics(page)
    assert_themed(page, name, colour)
    banners = page.locator("ul.banners img")
    expect(banners.first).to_be_visible()
    assert banners.count() == 2
    assert page.evaluate("img => img.naturalWidth > 0", banners.first.element_handle())
    expect(page.get_by_role("heading", name="特惠圈")).to_be_visible()
    expect(page.locator("ul.circle a").first).to_be_visible()
    assert page.locator("ul.circle a").count() == Category.objects.count()
    own = page.locator("ul.offer-list > li").evaluate_all("items => items.map(li => li.dataset.own === '1')")
    assert own and own[0], f"the first offer on {slug}'s home is not the city's own"
    assert own == sorted(own, reverse=True), f"a province-wide offer comes before a city one: {own}"
    expect(page.locator("ul.offer-list .badge.own").first).to_have_text("本市")

    # All its offers: the city's first again, one page after another.
    page.get_by_role("link", name="全部优惠").click()
    page.wait_for_url(re.compile(rf"/c/{slug}/offers/$"))
    assert_page_basics(page)
    assert_themed(page, name, colour)
    own = page.locator("ul.offer-list > li").evaluate_all("items => items.map(li => li.dataset.own === '1')")
    assert own and own == sorted(own, reverse=True)

    # News: the list, then a post.
    page.goto(f"/c/{slug}/")
    page.get_by_role("link", name="全部新闻").click()
    page.wait_for_url(re.compile(rf"/c/{slug}/news/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("工会新闻")
    assert_page_basics(page)
    posts = page.locator("ul.news-list a")
    expect(posts.first).to_be_visible()
    assert "（草稿）" not in " ".join(posts.all_inner_texts())
    title = posts.first.inner_text()
    posts.first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    assert_page_basics(page)
    assert_themed(page, name, colour)

    # WeChat and contacts.
    page.goto(f"/c/{slug}/")
    page.get_by_role("link", name="关注公众号与服务热线").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("关注与联系")
    assert_page_basics(page)
    qr = page.locator("figure.wechat-qr img")
    expect(qr).to_be_visible()
    assert page.evaluate("img => img.naturalWidth >= 200", qr.element_handle())
    expect(page.get_by_role("link", name=phone)).to_have_attribute("href", "tel:" + phone.replace("-", ""))

    # An offer, "my card" and sign-in keep the city's look.
    page.goto(f"/c/{slug}/")
    page.locator("ul.offer-list a.offer-link").first.click()
    page.wait_for_url(re.compile(r"/offers/\d+/$"))
    assert_page_basics(page)
    assert_themed(page, name, colour)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的卡").click()
    page.wait_for_url(re.compile(r"/me/sign-in/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("会员登录")
    assert_themed(page, name, colour)
    assert page.title().endswith(name)

    # Back to the province site: its own look again.
    page.goto("/c/")
    assert_page_basics(page)
    page.get_by_role("button", name="返回省总工会平台").click()
    page.wait_for_url(re.compile(r"/$"))
    assert header_colour(page) == PROVINCE_RED
    expect(page.locator("a.brand")).to_have_text("工会会员卡")


def test_the_two_cities_look_different_and_the_province_is_unchanged(new_page, demo):
    page = new_page(PHONE_812)
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("会员优惠")
    assert header_colour(page) == PROVINCE_RED
    expect(page.locator("a.brand")).to_have_text("工会会员卡")
    expect(page.locator("a.brand img")).to_have_count(0)
    colours = set()
    for slug, _name, _colour, _phone in CITIES:
        page.goto(f"/c/{slug}/")
        colours.add(header_colour(page))
        link = page.locator("ul.offer-list .offer-headline").first
        colours.add(page.evaluate("el => getComputedStyle(el).color", link.element_handle()))
    assert len(colours) == 4, colours  # two headers, two accent colours, all different


def test_a_city_on_its_own_host_name(new_page, demo, live_server, settings):
    settings.CITY_SITES_DOMAIN = "localhost"
    settings.ALLOWED_HOSTS = [".localhost", "127.0.0.1", "testserver"]
    port = live_server.url.rsplit(":", 1)[1]
    page = new_page(PHONE_812)
    page.goto(f"http://tangshan.localhost:{port}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("唐工惠")
    assert_page_basics(page)
    assert_themed(page, "唐工惠", CITIES[0][2])
    page.get_by_role("link", name="全部新闻").click()
    page.wait_for_url(f"http://tangshan.localhost:{port}/news/")
    assert_themed(page, "唐工惠", CITIES[0][2])
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的卡").click()
    page.wait_for_url(re.compile(r"tangshan\.localhost:\d+/me/sign-in/"))
    assert_themed(page, "唐工惠", CITIES[0][2])
