"""Each language complete: the main pages of members, merchants and staff read in English with no
Chinese left but the data itself and the switch back (简体中文), and in Chinese with no English words
left but names that are English everywhere (API, POS); Chinese forms put the Chinese colon after labels."""

from __future__ import annotations

import re

import pytest

from discounts.models import Offer
from members.models import Union
from tests.e2e.conftest import DESKTOP, merchant_sign_in, staff_sign_in
from tests.factories import MerchantUserFactory, OfferFactory, UnionFactory, UserFactory

pytestmark = [pytest.mark.e2e]

PASSWORD = "correct-horse-battery"
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3001-\u303f]+")  # not U+3000, a space
ENGLISH_WORD = re.compile(r"\b[A-Za-z][a-z]{2,}\b")
# English in the Chinese pages on purpose: names of standards, the switch to English, demo log-ins.
ENGLISH_ALLOWED = {"English", "Excel", "Swagger"}

MEMBER_PAGES = ["/", "/merchant/login/", "/merchant/apply/", "/me/sign-in/"]
MERCHANT_PAGES = ["/merchant/", "/merchant/offers/new/", "/merchant/statement/"]
STAFF_PAGES = ["/staff/", "/staff/subsidies/", "/admin/", "/admin/discounts/offer/"]


@pytest.fixture
def world(transactional_db, roles):
    from portal.roles import Role

    province = UnionFactory(code="130000", name="河北省总工会", name_en="Hebei", level=Union.Level.PROVINCE)
    city = UnionFactory(
        code="130100", name="石家庄市总工会", name_en="Shijiazhuang", level=Union.Level.CITY, parent=province
    )
    county = UnionFactory(
        code="130102", name="长安区总工会", name_en="Chang'an District", level=Union.Level.COUNTY, parent=city
    )
    manager = MerchantUserFactory(
        user__username="shop_manager", merchant__region=county, merchant__name="Cinema Star"
    )
    offer = OfferFactory(merchant=manager.merchant, title="Movie night", status=Offer.Status.PUBLISHED)
    staff = UserFactory(username="city_operator", union=city)
    staff.groups.add(Role.CITY_OPERATOR.group())
    return {
        "offer": offer,
        "data": [province.name, city.name, county.name, "休闲娱乐", "Cinema Star", "Movie night"],
    }


def visible_text(page) -> str:
    return page.evaluate(
        """() => { const clone = document.body.cloneNode(true);
            clone.querySelectorAll('script, style, template, [hidden]').forEach(el => el.remove());
            return clone.innerText; }"""
    )


def leftovers(page, language: str, data: list[str]) -> list[str]:
    text = visible_text(page)
    for value in [*data, "简体中文"]:
        text = text.replace(value, "")
    if language == "en":
        return CJK.findall(text)
    return [word for word in ENGLISH_WORD.findall(text) if word not in ENGLISH_ALLOWED]


def walk(page, paths: list[str], language: str, data: list[str]) -> dict[str, list[str]]:
    found = {}
    for path in paths:
        page.goto(path)
        page.wait_for_load_state()
        left = leftovers(page, language, data)
        if left:
            found[path] = sorted(set(left))
    return found


def choose(page, language: str) -> None:
    page.goto("/")
    name = "English" if language == "en" else "简体中文"
    button = page.locator("form.lang-switch").get_by_role("button", name=name)
    if button.count():
        button.click()
        page.wait_for_load_state()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_main_pages_have_nothing_left_in_the_other_language(new_page, world, language):
    data = world["data"]
    page = new_page(DESKTOP, locale="en-US" if language == "en" else "zh-CN")
    choose(page, language)
    found = walk(page, [*MEMBER_PAGES, f"/offers/{world['offer'].pk}/"], language, data)

    merchant_sign_in(page, "shop_manager", PASSWORD) if language != "en" else _merchant_sign_in_en(page)
    found |= walk(page, MERCHANT_PAGES, language, data)

    staff = new_page(DESKTOP, locale="en-US" if language == "en" else "zh-CN")
    choose(staff, language)
    _staff_sign_in(staff, language)
    found |= walk(staff, STAFF_PAGES, language, data)
    assert found == {}, f"left in the other language ({language}): {found}"


def _merchant_sign_in_en(page) -> None:
    page.goto("/merchant/login/")
    page.get_by_label("Username").fill("shop_manager")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/merchant/$"))


def _staff_sign_in(page, language: str) -> None:
    if language != "en":
        staff_sign_in(page, "city_operator", PASSWORD, next_url="/staff/")
        return
    page.goto("/admin/login/?next=/staff/")
    page.locator("input[name=username]").fill("city_operator")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("input[type=submit], button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/staff/$"))


def test_chinese_forms_put_the_chinese_colon_after_labels(new_page, world):
    page = new_page(DESKTOP)
    merchant_sign_in(page, "shop_manager", PASSWORD)
    page.goto("/merchant/offers/new/")
    assert page.locator("label[for=id_title]").inner_text().strip() == "标题："
    choose(page, "en")
    page.goto("/merchant/offers/new/")
    assert page.locator("label[for=id_title]").inner_text().strip() == "Title:"
