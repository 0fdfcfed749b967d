"""A member on a phone, in a real browser: signs in, sees the unread count in the header, opens a
notice, and switches one topic's text messages off."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from notifications import services
from notifications.models import NotificationPreference, Topic
from notifications.recipients import Recipient
from tests.e2e.conftest import PHONE, assert_page_basics, member_sign_in
from tests.factories import MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SCREENSHOT = os.environ.get("NOTIFICATIONS_SCREENSHOT")  # a path, to look at the page by hand


def test_member_reads_notices_on_a_phone_and_turns_off_a_topics_texts(new_page, sms_outbox, tree):
    member = MemberFactory(union=tree.C1A1, phone="13911112222")
    for key, title, link in (
        ("claim:1", "住院补贴已到账", "/me/redemptions/"),
        ("card:1", "会员卡已制作完成", ""),
    ):
        services.notify(
            recipient=Recipient.member(member.pk),
            topic=Topic.CLAIM_PAID if key.startswith("claim") else Topic.CARD_READY,
            title=title,
            body=f"{title}。详情请查看。",
            dedup_key=key,
            link=link,
        )
    page = new_page(PHONE)

    page.goto("/me/notifications/")
    member_sign_in(page, member.phone, sms_outbox)
    expect(page.get_by_role("heading", level=1)).to_have_text("我的消息")
    assert_page_basics(page)
    expect(page.locator("header .inbox-link")).to_contain_text("2")
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT, full_page=True)

    page.locator("article", has_text="住院补贴已到账").get_by_role("button", name="查看详情").click()
    page.wait_for_url("**/me/redemptions/")
    expect(page.locator("header .inbox-link")).to_contain_text("1")

    page.goto("/me/notifications/")
    page.get_by_role("link", name="通知设置").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("通知设置")
    assert_page_basics(page)
    page.get_by_role("checkbox", name="短信 · 会员卡制作完成").uncheck()
    page.get_by_role("button", name="保存设置").click()
    expect(page.locator(".messages")).to_contain_text("通知设置已保存")
    assert (
        NotificationPreference.objects.get(recipient_id=member.pk, topic="card_ready", channel="sms").enabled
        is False
    )
    expect(page.get_by_role("checkbox", name="短信 · 会员卡制作完成")).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="微信 · 会员卡制作完成")).to_be_checked()
