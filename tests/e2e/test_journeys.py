"""Members' own journeys in a browser: a member without a card applies for one on a phone and the
workplace union approves it on the to-do page; a member asks to move to another county's workplace
union and that union accepts; a member who found a lost card undoes the report (and one whose
report is too old is told what to do instead)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from members.models import Card, CardApplication, Member, TransferRequest
from tests.e2e.conftest import DESKTOP, PHONE, assert_page_basics, member_sign_in, staff_sign_in

pytestmark = pytest.mark.e2e


def staff_login(demo: dict, username: str) -> tuple[str, str]:
    entry = next(s for s in demo["staff"] if s["username"] == username)
    return entry["username"], entry["password"]


def sign_in_to_card_page(page, phone: str, sms_outbox) -> None:
    page.goto("/me/card/")
    page.wait_for_url(re.compile(r"/me/sign-in/"))
    member_sign_in(page, phone, sms_outbox)
    page.wait_for_url(re.compile(r"/me/card/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("我的会员卡")


def test_a_member_applies_for_a_card_and_the_workplace_union_approves_it(new_page, demo, sms_outbox):
    phone = demo["journeys"]["no_card"]
    page = new_page(PHONE)
    sign_in_to_card_page(page, phone, sms_outbox)
    page.get_by_role("link", name="申请办卡").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申请办卡")
    assert_page_basics(page)
    expect(page.get_by_text("郑可申")).to_be_visible()  # the details to confirm
    page.get_by_role("button", name="提交申请").click()
    expect(page.get_by_text("请核对信息并勾选确认。")).to_be_visible()  # nothing sent unconfirmed
    page.get_by_label("河北银行").check()
    page.get_by_label(re.compile("同意提交给所在基层工会审核")).check()
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url(re.compile(r"/me/card/$"))
    expect(page.get_by_text("申请已提交，请等待所在基层工会审核。")).to_be_visible()
    expect(page.locator("[data-role=application-status]")).to_have_text("待工会审核")

    desk = new_page(DESKTOP)
    staff_sign_in(desk, *staff_login(demo, "workplace_operator"), next_url="/staff/todo/")
    expect(desk.get_by_role("heading", level=1)).to_have_text("待办事项")
    assert_page_basics(desk)
    application = CardApplication.objects.get(member__phone=phone)
    row = desk.locator(f"tr[data-application='{application.pk}']")
    expect(row).to_contain_text("郑*")
    row.get_by_role("button", name="通过").click()
    expect(desk.get_by_text("已通过办卡申请，将加入下一批制卡。")).to_be_visible()
    expect(desk.locator(f"tr[data-application='{application.pk}']")).to_have_count(0)

    page.reload()
    expect(page.locator("[data-role=application-status]")).to_have_text("已通过，待制卡")
    page.goto("/me/notifications/")
    expect(page.get_by_text("办卡申请已通过").first).to_be_visible()


def test_a_transfer_is_accepted_by_the_receiving_union_of_another_county(new_page, demo, sms_outbox):
    phone = demo["journeys"]["lost_undone"]  # a member of 长安区 with an active card
    page = new_page(PHONE)
    sign_in_to_card_page(page, phone, sms_outbox)
    page.get_by_role("link", name="申请转会").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("申请转会")
    assert_page_basics(page)
    page.get_by_label("新单位的基层工会代码").fill("130104001")
    page.get_by_label("说明（可不填）").fill("调入桥西区单位")
    page.get_by_label(re.compile("确认申请转会")).check()
    page.get_by_role("button", name="提交转会申请").click()
    expect(page.locator("[data-role=transfer-pending]")).to_be_visible()

    request = TransferRequest.objects.get(member__phone=phone, status="pending")
    # The member's own county does not receive it: the page lists transfers into its unions only.
    desk = new_page(DESKTOP)
    staff_sign_in(desk, *staff_login(demo, "changan_operator"), next_url="/staff/todo/")
    expect(desk.locator(f"tr[data-transfer='{request.pk}']")).to_have_count(0)

    receiving = new_page(DESKTOP)
    staff_sign_in(receiving, *staff_login(demo, "qiaoxi_operator"), next_url="/staff/todo/")
    row = receiving.locator(f"tr[data-transfer='{request.pk}']")
    expect(row).to_contain_text("调入桥西区单位")
    row.get_by_role("button", name="接收").click()
    expect(receiving.get_by_text("已接收转会，会员已转入。")).to_be_visible()

    member = Member.objects.select_related("union").get(phone=phone)
    assert member.union.code == "130104001"
    assert Card.objects.get(member=member, status__in=Card.LIVE_STATUSES).status == Card.Status.ACTIVE
    page.goto("/me/card/")
    expect(page.locator(".member-card")).to_contain_text(member.union.name)
    expect(page.locator("#card-qr svg")).to_be_visible()  # the card goes on working


def test_a_member_undoes_a_lost_card_report_and_a_late_one_is_told_what_to_do(new_page, demo, sms_outbox):
    phone = demo["journeys"]["lost_undoable"]
    page = new_page(PHONE)
    sign_in_to_card_page(page, phone, sms_outbox)
    expect(page.get_by_role("heading", name="找回了卡？")).to_be_visible()
    assert_page_basics(page)
    page.get_by_label(re.compile("确认解除挂失")).check()
    page.get_by_role("button", name="解除挂失").click()
    expect(page.get_by_text("已解除挂失，会员卡恢复使用。")).to_be_visible()
    expect(page.locator("#card-qr svg")).to_be_visible()
    assert Card.objects.get(member__phone=phone, status__in=Card.LIVE_STATUSES).status == Card.Status.ACTIVE

    late = new_page(PHONE)
    sign_in_to_card_page(late, demo["journeys"]["lost_too_old"], sms_outbox)
    expect(late.get_by_text(re.compile("挂失已超过7天，不能再解除"))).to_be_visible()
    expect(late.get_by_role("button", name="解除挂失")).to_have_count(0)
