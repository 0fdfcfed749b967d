"""The member card at the till (issue 16, item 4): besides the QR code, a 12-digit code and its barcode
that refresh with it and that the till accepts; the full card number on request; the lost-card button
away from the codes; the union's contact for a frozen card."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from members import cards
from members.models import Card, Member, Union
from members.selectors import union_contact
from tests.e2e.conftest import PHONE, TABLET, assert_page_basics, member_sign_in, usable_every_day
from tests.e2e.test_cashier_journey import identify, open_till

pytestmark = pytest.mark.e2e

CODE_WINDOW_SECONDS = 8  # the codes' lifetime here (90 s in production): the page refreshes them every 5 s


def _short_code(page) -> str:
    return re.sub(r"\s", "", page.locator('[data-role="short-code"]').inner_text())


def test_the_card_shows_a_short_code_and_barcode_the_till_accepts(new_page, demo, sms_outbox, settings):
    settings.CARD_TOKEN_TTL_SECONDS = CODE_WINDOW_SECONDS
    merchant, offer = usable_every_day(demo)
    member = next(m for m in demo["members"] if m["card_status"] == "active")
    page = new_page(PHONE)
    page.goto("/me/sign-in/?next=/me/card/")
    member_sign_in(page, member["phone"], sms_outbox)
    page.wait_for_url(re.compile(r"/me/card/$"))
    assert_page_basics(page)

    # The card number is masked and says how long it is; the whole number only on request.
    number = member["card_number"]
    card_box = page.locator(".member-card")
    expect(card_box).to_contain_text(number[:4] + "*" * (len(number) - 8) + number[-4:])
    assert number not in page.content(), "the card page (kept for offline use) holds the full number"
    page.get_by_role("link", name=f"显示完整卡号（共 {len(number)} 位）").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("完整卡号")
    assert_page_basics(page)
    expect(page.locator('[data-role="card-number"]')).to_have_text(
        " ".join(number[i : i + 4] for i in range(0, len(number), 4))
    )
    page.get_by_role("link", name="返回我的会员卡").click()
    page.wait_for_url(re.compile(r"/me/card/$"))

    # A 12-digit code and its barcode, large enough to scan, beside the QR code.
    expect(page.locator('[data-role="short-code"]')).to_have_text(re.compile(r"^\d{4} \d{4} \d{4}$"))
    barcode = page.locator('[data-role="barcode"] svg')
    expect(barcode).to_be_visible()
    # Measured in the page, waiting out a refresh that redraws the codes (and its layout) meanwhile.
    page.wait_for_function(
        """() => {
            const svg = document.querySelector('[data-role="barcode"] svg');
            return svg !== null && svg.getBoundingClientRect().width >= 250;  // wide enough to scan
        }""",
        timeout=5000,
    )

    # Refreshed with the QR code: a new code appears before the old one's window ends.
    first = _short_code(page)
    expect(page.locator('[data-role="short-code"]')).not_to_have_text(
        re.compile(" ".join([first[0:4], first[4:8], first[8:12]])), timeout=CODE_WINDOW_SECONDS * 1000
    )
    code = _short_code(page)
    assert re.fullmatch(r"\d{12}", code) and code != first

    # The lost-card button is in its own box, below and apart from the codes.
    expect(card_box.get_by_role("button", name="立即挂失")).to_have_count(0)
    lost = page.locator("#card-lost").get_by_role("button", name="立即挂失")
    expect(lost).to_be_attached()
    qr = page.locator("#card-qr").bounding_box()
    gap = lost.bounding_box()["y"] - (qr["y"] + qr["height"])
    assert gap >= 150, f"the lost-card button is {gap}px below the QR code"

    # At the till, the cashier types the code: the member is found, as with the card number.
    till = new_page(TABLET)
    open_till(till, merchant)
    code = _short_code(page)
    identify(till, f"{code[:4]} {code[4:8]} {code[8:]}")
    found = till.get_by_role("region", name="2. 会员与可用优惠")
    expect(found).to_contain_text(number[-4:])
    usable = found.locator("article").filter(has=till.get_by_role("heading", name=offer.title, exact=True))
    expect(usable.get_by_role("button", name="确认核销")).to_be_visible()

    # A frozen card: no codes, and whom to call for a new card (the nearest union with a contact desk).
    card = Card.objects.get(number=number)
    cards.card_freeze(card=card)
    page.reload()
    expect(page.locator('[data-role="short-code"]')).to_have_count(0)
    workplace = Member.objects.select_related("union").get(pk=card.member_id).union
    assert not workplace.contact_phone, "the demo's workplace unions have no contact desk of their own"
    desk = union_contact(workplace)
    assert desk is not None and desk.level != Union.Level.WORKPLACE
    contact = page.locator('[data-role="union-contact"]')
    expect(contact).to_contain_text(desk.name)
    expect(contact).to_contain_text(desk.contact_phone)
    expect(contact).to_contain_text(desk.contact_address)
    assert_page_basics(page)
