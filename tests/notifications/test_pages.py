"""The inbox pages, the member's settings and the header count, from each party's side: the member,
another member, a stranger, union staff and merchant users."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import selectors, services
from notifications.models import Channel, Delivery, Notification, NotificationPreference, Topic
from notifications.recipients import Recipient
from tests.notifications.conftest import as_member, of

pytestmark = pytest.mark.django_db


def notice_for(recipient: Recipient, key: str, *, title: str = "通知", link: str = "", minutes_ago: int = 0):
    notice = services.notify(
        recipient=recipient, topic=Topic.GENERAL, title=title, body=f"{title}的内容", dedup_key=key, link=link
    )
    if minutes_ago:
        Notification.objects.filter(pk=notice.pk).update(
            created_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
    return notice


def text(response) -> str:
    return response.content.decode()


# --- The member's inbox -----------------------------------------------------------------------------------


def test_member_sees_own_notices_unread_first_then_newest(member, other_member):
    read_new = notice_for(of(member), "a", title="已读新消息", minutes_ago=1)
    unread_old = notice_for(of(member), "b", title="未读旧消息", minutes_ago=60)
    unread_new = notice_for(of(member), "c", title="未读新消息", minutes_ago=2)
    services.notification_mark_read(recipient=of(member), notification_id=read_new.pk)
    notice_for(of(other_member), "d", title="别人的消息")

    page = text(as_member(member).get("/me/notifications/"))

    assert page.index(unread_new.title) < page.index(unread_old.title) < page.index(read_new.title)
    assert "别人的消息" not in page
    assert "2 条未读" in page


def test_member_marks_one_read_and_the_header_count_drops(member):
    first = notice_for(of(member), "a")
    notice_for(of(member), "b")
    client = as_member(member)
    assert 'class="inbox-link" href="/me/notifications/">消息 <span class="badge"' in text(
        client.get("/me/notifications/")
    )

    response = client.post(f"/me/notifications/{first.pk}/read/")

    assert response.status_code == 302 and response["Location"] == "/me/notifications/"
    first.refresh_from_db()
    assert first.read_at is not None
    assert selectors.unread_count(recipient=of(member)) == 1


def test_opening_a_notice_marks_it_read_and_goes_to_its_link(member):
    notice = notice_for(of(member), "a", link="/me/card/")
    response = as_member(member).post(f"/me/notifications/{notice.pk}/read/", {"open": "1"})
    assert response["Location"] == "/me/card/"
    notice.refresh_from_db()
    assert notice.read_at is not None


def test_mark_all_read_reads_only_my_notices(member, other_member):
    notice_for(of(member), "a")
    notice_for(of(member), "b")
    theirs = notice_for(of(other_member), "c")

    as_member(member).post("/me/notifications/read-all/")

    assert selectors.unread_count(recipient=of(member)) == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_another_member_cannot_read_or_mark_my_notice(member, other_member):
    mine = notice_for(of(member), "a", title="我的私人消息")
    intruder = as_member(other_member)

    assert intruder.post(f"/me/notifications/{mine.pk}/read/").status_code == 404
    assert intruder.post(f"/me/notifications/{mine.pk}/read/", {"open": "1"}).status_code == 404
    assert "我的私人消息" not in text(intruder.get("/me/notifications/"))
    mine.refresh_from_db()
    assert mine.read_at is None


def test_a_huge_or_unknown_id_is_not_found(member):
    client = as_member(member)
    assert client.post("/me/notifications/99999999999999999999/read/").status_code == 404
    assert client.post("/me/notifications/12345/read/").status_code == 404


def test_anonymous_visitors_are_sent_to_the_member_sign_in(member):
    from django.test import Client

    mine = notice_for(of(member), "a")
    client = Client()
    for response in (
        client.get("/me/notifications/"),
        client.post(f"/me/notifications/{mine.pk}/read/"),
        client.post("/me/notifications/read-all/"),
        client.get("/me/notifications/settings/"),
    ):
        assert response.status_code == 302 and response["Location"].startswith("/me/sign-in/")
    mine.refresh_from_db()
    assert mine.read_at is None


def test_marking_read_needs_a_post_with_the_csrf_token(member):
    notice = notice_for(of(member), "a")
    client = as_member(member)
    client.handler.enforce_csrf_checks = True
    assert client.get(f"/me/notifications/{notice.pk}/read/").status_code == 405
    assert client.post(f"/me/notifications/{notice.pk}/read/").status_code == 403
    notice.refresh_from_db()
    assert notice.read_at is None


def test_the_inbox_pages_through_many_notices(member):
    for index in range(25):
        notice_for(of(member), f"k{index}", title=f"第{index}条")
    client = as_member(member)
    assert "第1页，共2页" in text(client.get("/me/notifications/"))
    assert "第2页，共2页" in text(client.get("/me/notifications/?page=2"))


def test_the_inbox_runs_a_fixed_number_of_queries(member, django_assert_max_num_queries):
    client = as_member(member)
    for index in range(3):
        notice_for(of(member), f"a{index}")
    with django_assert_max_num_queries(12) as few:
        client.get("/me/notifications/")
    for index in range(15):
        notice_for(of(member), f"b{index}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/me/notifications/")


# --- The member's settings ----------------------------------------------------------------------------------


def test_member_switches_off_sms_for_one_topic_and_notify_respects_it(member):
    client = as_member(member)
    page = text(client.get("/me/notifications/settings/"))
    assert "会员卡制作完成" in page and "站内消息：始终接收" in page
    assert "发卡批次被退回" not in page  # a staff topic

    choices = {
        f"{topic}__{channel}": "on" for topic in ("card_ready", "claim_paid") for channel in ("sms", "wechat")
    }
    del choices["card_ready__sms"]
    response = client.post("/me/notifications/settings/", choices)

    assert response.status_code == 302
    assert (
        NotificationPreference.objects.get(recipient_id=member.pk, topic="card_ready", channel="sms").enabled
        is False
    )
    notice = services.notify(
        recipient=of(member),
        topic=Topic.CARD_READY,
        title="卡",
        body="好了",
        dedup_key="x",
        phone=member.phone,
    )
    assert Delivery.objects.get(notification=notice, channel=Channel.SMS).status == Delivery.Status.SKIPPED
    page = text(client.get("/me/notifications/settings/"))
    assert (
        'name="card_ready__sms" id="id_card_ready__sms"' in page
        and 'name="claim_paid__sms" id="id_claim_paid__sms" checked' in page
    )


def test_settings_are_per_member(member, other_member):
    services.preferences_set(recipient=of(member), choices={(Topic.CARD_READY, Channel.SMS): False})
    notice = services.notify(
        recipient=of(other_member),
        topic=Topic.CARD_READY,
        title="卡",
        body="好了",
        dedup_key="x",
        phone="13900000009",
    )
    assert Delivery.objects.get(notification=notice, channel=Channel.SMS).status == Delivery.Status.QUEUED


# --- Staff and merchant users -------------------------------------------------------------------------------


def test_staff_and_merchant_users_read_their_own_inbox(client, staff, merchant_user):
    notice_for(Recipient.user(staff.pk), "s", title="批次被退回")
    theirs = notice_for(Recipient.user(merchant_user.pk), "m", title="优惠已通过")

    client.force_login(staff)
    page = text(client.get("/inbox/"))
    assert "批次被退回" in page and "优惠已通过" not in page
    assert 'href="/inbox/">消息 <span class="badge"' in page
    assert client.post(f"/inbox/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None

    client.force_login(merchant_user)
    assert client.post(f"/inbox/{theirs.pk}/read/").status_code == 302
    theirs.refresh_from_db()
    assert theirs.read_at is not None


def test_a_member_session_does_not_open_a_users_inbox(member, staff):
    notice = notice_for(Recipient.user(staff.pk), "s")
    client = as_member(member)
    assert client.get("/inbox/")["Location"].startswith("/merchant/login/")
    assert client.post(f"/inbox/{notice.pk}/read/").status_code == 302
    notice.refresh_from_db()
    assert notice.read_at is None


def test_a_member_id_equal_to_a_user_id_opens_nothing_of_the_user(member, staff, client):
    """Members and users are numbered apart: the same number is another recipient."""
    user_notice = notice_for(Recipient.user(member.pk), "u", title="同号的用户消息")
    assert "同号的用户消息" not in text(as_member(member).get("/me/notifications/"))
    assert as_member(member).post(f"/me/notifications/{user_notice.pk}/read/").status_code == 404


def test_anonymous_pages_show_no_inbox_link(client, member):
    assert "inbox-link" not in text(client.get("/"))
