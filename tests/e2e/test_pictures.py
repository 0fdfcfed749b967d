"""A merchant's manager puts up the merchant's picture from a phone; the member's offer list then
shows it in place of the category's drawing (issue 16, item 6)."""

from __future__ import annotations

import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from merchants.models import Merchant
from merchants.pictures import merchant_picture_url
from tests.e2e.conftest import PHONE, assert_page_basics, merchant_sign_in, usable_every_day

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_a_merchant_uploads_its_picture_and_members_see_it(new_page, demo, tmp_path):
    entry, _offer = usable_every_day(demo)
    merchant = Merchant.objects.get(pk=entry["id"])
    Merchant.objects.filter(pk=merchant.pk).update(picture="")
    picture = tmp_path / "shopfront.jpg"
    Image.new("RGB", (1200, 900), (30, 120, 200)).save(picture, format="JPEG")

    member_page = new_page(PHONE)
    member_page.goto("/")
    group = member_page.locator("li.merchant-group").filter(has_text=merchant.name).first
    expect(group.locator("img.merchant-picture")).to_have_attribute(
        "src", re.compile(r"/static/merchants/pictures/")
    )

    page = new_page(PHONE)
    merchant_sign_in(page, entry["username"], entry["password"])
    page.get_by_label("上传新图片").set_input_files(str(picture))
    page.get_by_role("button", name="上传", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("商家图片已更换")
    assert_page_basics(page)

    merchant.refresh_from_db()
    assert merchant.picture
    member_page.reload()
    group = member_page.locator("li.merchant-group").filter(has_text=merchant.name).first
    picture = group.locator("img.merchant-picture")
    expect(picture).to_have_attribute("src", merchant_picture_url(merchant))
    assert picture.evaluate("img => img.complete && img.naturalWidth") == 960  # served, and drawn again
    assert_page_basics(member_page)
