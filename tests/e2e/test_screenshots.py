"""The main pages as people see them, on the device each is used on: the member offer list, an offer's
detail and "my card" on a phone, the cashier screen on a tablet, the staff dashboard on a desktop.

Every run renders each page and checks its basics. With PORTAL_SCREENSHOTS=1 (`make screenshots`)
it also writes the pictures the README shows into docs/screenshots/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from discounts.redemption import redemption_create
from members.models import Card
from merchants.models import Merchant
from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    TABLET,
    assert_page_basics,
    member_sign_in,
    merchant_sign_in,
    seeded_demo,
    staff_sign_in,
    usable_every_day,
)

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WRITE = os.environ.get("PORTAL_SCREENSHOTS", "") == "1"
CITY = "130100"  # 石家庄: the dashboard is the city operator's


def chinese_font_installed() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    found = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


def capture(page, name: str, full_page: bool = False) -> None:
    """Check the page's basics; write docs/screenshots/<name>.png when asked to."""
    page.evaluate("() => document.fonts.ready")
    assert_page_basics(page)
    if WRITE:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", animations="disabled", full_page=full_page)


@pytest.fixture
def demo(transactional_db):
    """A larger province than the journeys use, so the figures and lists look like the real thing:
    seeded once, so its members and cards have the demo's year of history (seeding more on top of a
    smaller demo would add them all on the last day of the trend)."""
    return seeded_demo("--members", "3000", "--merchants", "40", "--workplaces-per-county", "1")


def test_main_pages_render_on_their_devices(new_page, demo, sms_outbox):
    if WRITE:
        # Without a Chinese font Chromium draws every character as an empty box.
        assert chinese_font_installed(), "no Chinese font: `apt-get install fonts-noto-cjk`, then run again"
    member = next(m for m in demo["members"] if m["card_status"] == "active")
    merchant, offer = usable_every_day(demo)
    city_operator = next(s for s in demo["staff"] if s["union_code"] == CITY)

    # Member pages on a phone.
    page = new_page(PHONE)
    page.goto("/")
    expect(page.locator("ul.offer-list > li").first).to_be_visible()
    capture(page, "member-offer-list")
    page.get_by_role("link", name=re.compile("周末会员10元观影")).click()
    expect(page.get_by_role("heading", name="使用规则")).to_be_visible()
    capture(page, "member-offer-detail")
    page.goto("/me/card/")
    member_sign_in(page, member["phone"], sms_outbox)
    expect(page.locator("#card-qr svg")).to_be_visible()
    capture(page, "member-card")

    # The cashier screen on a tablet, with a member identified and the day's first sales listed.
    for number, customer in enumerate(demo["members"][1:3]):
        redemption_create(
            merchant=Merchant.objects.get(pk=merchant["id"]),
            store_id=merchant["stores"][0]["id"],
            offer_id=offer.pk,
            card_number=customer["card_number"],
            amount=Decimal("86.50") + 40 * number,
            idempotency_key=f"screenshot-{number}",
        )
    page = new_page(TABLET)
    merchant_sign_in(page, merchant["cashier_username"], merchant["cashier_password"])
    page.goto("/merchant/till/")
    store_choice = page.get_by_label("当前门店")
    if store_choice.count():
        store_choice.select_option(label=merchant["stores"][0]["name"])
        page.get_by_role("button", name="切换").click()
    page.get_by_label("卡号或会员二维码").fill(member["card_number"])
    page.get_by_role("button", name="查询会员").click()
    expect(page.get_by_role("button", name="确认核销").first).to_be_visible()
    capture(page, "cashier-till", full_page=True)

    # The merchant's offer form on a desktop: a discount typed in 折, spelled out, and the live preview
    # of the card members will see.
    page = new_page(DESKTOP)
    merchant_sign_in(page, merchant["username"], merchant["password"])
    page.goto("/merchant/offers/new/")
    page.get_by_label("标题").fill("会员观影95折")
    page.get_by_label("类型").select_option(label="折扣")
    page.get_by_label("折扣(折)").fill("95")
    expect(page.locator(".offer-preview .offer-headline")).to_have_text("9.5折")
    capture(page, "merchant-offer-form", full_page=True)

    # The staff dashboard on a desktop.
    assert Card.objects.exists()
    page = new_page(DESKTOP)
    staff_sign_in(page, city_operator["username"], city_operator["password"], next_url="/staff/")
    expect(page.locator("#trend-chart svg")).to_be_visible()
    expect(page.locator("#units-chart svg")).to_be_visible()
    capture(page, "staff-dashboard")
