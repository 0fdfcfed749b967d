"""Signing in by text message (issue 16, item 7): one text per send, a resend button that counts down
and keeps the phone, an unregistered phone told (by text, to its holder only) to contact its union,
and a member session that lasts 30 days while staff keep theirs."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PHONE, assert_page_basics, member_sign_in, staff_sign_in

pytestmark = pytest.mark.e2e

RESEND_SECONDS = 3  # the resend interval here (60 s and growing in production)
UNREGISTERED = "13700000999"
DAY = 24 * 60 * 60


def _session_cookie_lifetime(page) -> float:
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    return cookie["expires"] - time.time()


def _screen_after_asking_a_code(page, phone: str) -> str:
    page.goto("/me/sign-in/")
    page.get_by_label("手机号").fill(phone)
    page.get_by_role("button", name="获取验证码").dblclick()  # a double tap: still one text
    expect(page.get_by_label("短信验证码")).to_be_visible()
    return page.locator("main").inner_text()


def test_one_text_per_send_a_resend_countdown_and_the_phone_kept(new_page, demo, sms_outbox, settings):
    settings.OTP_RESEND_INTERVALS = (RESEND_SECONDS,) * 5
    member = next(m for m in demo["members"] if m["card_status"] == "active")
    page = new_page(PHONE)

    _screen_after_asking_a_code(page, member["phone"])
    assert_page_basics(page)
    assert [m.phone for m in sms_outbox] == [member["phone"]], "not exactly one text for one send"

    # The resend button counts down, then sends again to the same phone without asking for it.
    resend = page.get_by_role("button", name=re.compile("重新获取"))
    expect(resend).to_be_disabled()
    expect(resend).to_have_text(re.compile(r"^\d+ 秒后可重新获取$"))
    expect(resend).to_be_enabled(timeout=(RESEND_SECONDS + 3) * 1000)
    expect(resend).to_have_text("重新获取验证码")
    resend.click()
    expect(page.get_by_label("短信验证码")).to_be_visible()
    assert [m.phone for m in sms_outbox] == [member["phone"]] * 2
    expect(page.get_by_role("button", name=re.compile("秒后可重新获取"))).to_be_disabled()

    # Changing the number starts from the phone typed before.
    page.get_by_role("link", name="更换手机号").click()
    expect(page.get_by_label("手机号")).to_have_value(member["phone"])

    # Signed in with the newest code: the member stays signed in for 30 days.
    page.goto("/me/card/")
    sms_outbox.clear()
    settings.OTP_RESEND_INTERVALS = (0,) * 5
    member_sign_in(page, member["phone"], sms_outbox)
    page.wait_for_url(re.compile(r"/me/card/$"))
    assert 29 * DAY < _session_cookie_lifetime(page) <= 30 * DAY + 60


def test_an_unregistered_phone_is_told_by_text_and_strangers_learn_nothing(new_page, demo, sms_outbox):
    member = next(m for m in demo["members"] if m["card_status"] == "active")
    registered_screen = _screen_after_asking_a_code(new_page(PHONE), member["phone"])
    unregistered_screen = _screen_after_asking_a_code(new_page(PHONE), UNREGISTERED)

    # The screens differ only in the masked phone: nothing says whether a phone is registered.
    masked = f"{member['phone'][:3]}****{member['phone'][-4:]}"
    assert unregistered_screen.replace("137****0999", masked) == registered_screen
    assert "联系所在单位工会" in unregistered_screen
    # The phone's holder gets one text that says what to do; no code.
    notice = [m for m in sms_outbox if m.phone == UNREGISTERED]
    assert len(notice) == 1 and "联系所在单位工会" in notice[0].text
    assert not re.search(r"\d{6}", notice[0].text)


def test_staff_keep_their_own_session_age(new_page, demo):
    person = demo["staff"][0]
    page = new_page()
    staff_sign_in(page, person["username"], person["password"])
    assert _session_cookie_lifetime(page) <= 12 * 60 * 60 + 60
