"""notify() and the delivery of its messages, from the emitting app's side."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
import redis
from django.db import connection
from django.utils import timezone

from notifications import selectors, services, tasks
from notifications.backends import sms as sms_backends
from notifications.backends import wechat as wechat_backends
from notifications.models import Channel, Delivery, Notification, NotificationPreference, Topic
from notifications.recipients import Recipient
from portal.errors import ValidationFailed
from tests.notifications.conftest import of

pytestmark = pytest.mark.django_db

OPENID = "oAbCdEfGhIjKlMnOpQrStUvWx"


def card_ready(member, **extra):
    values = {
        "recipient": of(member),
        "topic": Topic.CARD_READY,
        "title": "会员卡已制作完成",
        "body": "您的工会会员卡已制作完成，请到所在基层工会领取。",
        "dedup_key": "card-ready:1",
        "link": "/me/card/",
        "phone": member.phone,
        "wechat_openid": OPENID,
    }
    return services.notify(**{**values, **extra})


def deliveries(notice) -> dict[str, Delivery]:
    return {d.channel: d for d in Delivery.objects.filter(notification=notice)}


def queued_messages(settings) -> list[dict]:
    """The task messages waiting on this test's queue in Redis (the Celery broker)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    return [json.loads(raw) for raw in client.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1)]


# --- Recording ------------------------------------------------------------------------------------------


def test_notify_records_the_notice_in_the_inbox_and_queues_sms_and_wechat(member):
    notice = card_ready(member)

    assert selectors.inbox(recipient=of(member)).get() == notice
    found = deliveries(notice)
    assert found[Channel.INBOX].status == Delivery.Status.SENT
    assert found[Channel.SMS].status == Delivery.Status.QUEUED
    assert found[Channel.SMS].address == member.phone and found[Channel.SMS].address_masked == "139****5678"
    assert found[Channel.WECHAT].status == Delivery.Status.QUEUED


def test_the_same_event_notifies_once(member):
    first = card_ready(member)
    again = card_ready(member, title="另一个标题")

    assert again.pk == first.pk and again.title == "会员卡已制作完成"
    assert Notification.objects.count() == 1 and Delivery.objects.count() == 3


def test_the_same_key_for_another_recipient_is_another_notice(member, other_member):
    card_ready(member)
    card_ready(other_member, phone=other_member.phone)
    assert Notification.objects.count() == 2


def test_an_opted_out_channel_is_skipped_but_the_inbox_always_gets_the_notice(member):
    services.preferences_set(recipient=of(member), choices={(Topic.CARD_READY, Channel.SMS): False})

    found = deliveries(card_ready(member))

    assert found[Channel.INBOX].status == Delivery.Status.SENT
    assert found[Channel.SMS].status == Delivery.Status.SKIPPED and found[Channel.SMS].address == ""
    assert found[Channel.WECHAT].status == Delivery.Status.QUEUED


def test_opting_out_of_one_topic_leaves_the_others(member):
    services.preferences_set(recipient=of(member), choices={(Topic.CLAIM_PAID, Channel.SMS): False})
    assert deliveries(card_ready(member))[Channel.SMS].status == Delivery.Status.QUEUED


def test_the_inbox_cannot_be_switched_off(member):
    with pytest.raises(ValidationFailed):
        services.preferences_set(recipient=of(member), choices={(Topic.CARD_READY, Channel.INBOX): False})
    assert not NotificationPreference.objects.exists()


def test_no_address_and_no_wechat_template_skip_those_channels(member):
    found = deliveries(card_ready(member, topic=Topic.CLAIM_PAID, phone="", dedup_key="paid:1"))
    assert found[Channel.SMS].status == Delivery.Status.SKIPPED
    assert found[Channel.WECHAT].status == Delivery.Status.SKIPPED  # no template for claim_paid
    assert "模板" in found[Channel.WECHAT].last_error


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "长" * 121),
        ("body", " "),
        ("dedup_key", ""),
        ("link", "javascript:alert(1)"),
        ("link", "//evil.example.com/"),
        ("link", "http://plain.example.com/"),
        ("topic", "no_such_topic"),
    ],
)
def test_bad_input_is_refused_with_the_field_named_and_nothing_saved(member, field, value):
    with pytest.raises(ValidationFailed) as refused:
        card_ready(member, **{field: value})
    assert field in refused.value.fields
    assert not Notification.objects.exists()


def test_user_recipients_are_apart_from_members_with_the_same_id(member, staff):
    services.notify(
        recipient=Recipient.user(member.pk),
        topic=Topic.BATCH_REJECTED,
        title="发卡批次被退回",
        body="批次 12 被退回：缺少身份证号。",
        dedup_key="batch-rejected:12",
    )
    assert selectors.unread_count(recipient=of(member)) == 0
    assert selectors.unread_count(recipient=Recipient.user(member.pk)) == 1


# --- After commit ---------------------------------------------------------------------------------------


def test_tasks_are_queued_only_after_the_transaction_commits(
    member, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notice = card_ready(member)
        assert queued_messages(settings) == []

    assert len(callbacks) == 2  # SMS and WeChat; the inbox needs no task
    for callback in callbacks:
        callback()
    messages = queued_messages(settings)
    assert sorted(m["headers"]["task"] for m in messages) == ["notifications.tasks.deliver"] * 2
    sent_ids = sorted(int(m["headers"]["argsrepr"].strip("(),")) for m in messages)
    assert sent_ids == sorted(d.pk for d in Delivery.objects.filter(notification=notice, status="queued"))


def test_a_duplicate_queues_no_task(member, django_capture_on_commit_callbacks):
    card_ready(member)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        card_ready(member)
    assert callbacks == []


@pytest.mark.django_db(transaction=True)
def test_parallel_notices_of_one_event_make_one_notice(tree):
    from tests.factories import MemberFactory

    member = MemberFactory(union=tree.C1A1)
    barrier = threading.Barrier(4)
    errors = []

    def emit():
        try:
            barrier.wait()
            card_ready(member)
        except Exception as exc:  # pragma: no cover - shown by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=emit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Notification.objects.count() == 1 and Delivery.objects.count() == 3


# --- Sending --------------------------------------------------------------------------------------------


def test_an_attempt_sends_the_sms_and_forgets_the_address(member):
    sms = deliveries(card_ready(member))[Channel.SMS]

    assert services.delivery_attempt(delivery_id=sms.pk) is None

    sms.refresh_from_db()
    assert sms.status == Delivery.Status.SENT and sms.sent_at and sms.attempts == 1
    assert sms.address == "" and sms.address_masked == "139****5678"
    [message] = sms_backends.outbox
    assert message.phone == member.phone and message.text.startswith("会员卡已制作完成：")
    assert message.reference == f"notice-{sms.notification_id}-sms"


def test_a_sent_delivery_is_not_sent_again(member):
    sms = deliveries(card_ready(member))[Channel.SMS]
    services.delivery_attempt(delivery_id=sms.pk)
    services.delivery_attempt(delivery_id=sms.pk)
    assert len(sms_backends.outbox) == 1


def test_a_delivery_held_by_another_worker_is_left_alone(member):
    sms = deliveries(card_ready(member))[Channel.SMS]
    Delivery.objects.filter(pk=sms.pk).update(not_before=timezone.now() + services.CLAIM_LEASE)
    assert services.delivery_attempt(delivery_id=sms.pk) is None
    assert sms_backends.outbox == []


def test_the_wechat_message_fills_the_topic_template(member):
    wechat = deliveries(card_ready(member))[Channel.WECHAT]
    services.delivery_attempt(delivery_id=wechat.pk)

    [message] = wechat_backends.outbox
    assert message.openid == OPENID and message.template_id == "TPL-CARD"
    assert message.data["thing1"] == "会员卡已制作完成" and message.data["thing3"].startswith(
        "您的工会会员卡"
    )
    assert message.url == "https://portal.example.org/me/card/"


def test_a_template_asking_for_a_missing_value_fails_the_wechat_delivery(member, settings):
    settings.WECHAT_TEMPLATES = {"card_ready": {"template_id": "T", "data": {"amount1": "{amount}"}}}
    wechat = deliveries(card_ready(member))[Channel.WECHAT]
    services.delivery_attempt(delivery_id=wechat.pk)
    wechat.refresh_from_db()
    assert wechat.status == Delivery.Status.FAILED and "amount" in wechat.last_error


def test_params_fill_the_template(member, settings):
    settings.WECHAT_TEMPLATES = {"card_ready": {"template_id": "T", "data": {"amount1": "{amount}元"}}}
    wechat = deliveries(card_ready(member, params={"amount": "20.00"}))[Channel.WECHAT]
    services.delivery_attempt(delivery_id=wechat.pk)
    assert wechat_backends.outbox[0].data == {"amount1": "20.00元"}


def test_a_lost_task_is_queued_again_by_beat(member, settings):
    sms = deliveries(card_ready(member))[Channel.SMS]
    Delivery.objects.filter(pk=sms.pk).update(not_before=timezone.now() - timedelta(minutes=30))

    assert tasks.resend_stalled_deliveries.apply().get() == 1
    [message] = queued_messages(settings)
    assert message["headers"]["task"] == "notifications.tasks.deliver"
    assert str(sms.pk) in message["headers"]["argsrepr"]


# --- Retention ------------------------------------------------------------------------------------------


def test_beat_deletes_read_notices_past_retention_and_keeps_the_rest(member, settings):
    settings.NOTIFICATION_RETENTION = timedelta(days=180)
    old = timezone.now() - timedelta(days=181)
    old_read = card_ready(member, dedup_key="a")
    old_unread = card_ready(member, dedup_key="b")
    recent_read = card_ready(member, dedup_key="c")
    Notification.objects.filter(pk__in=[old_read.pk, old_unread.pk]).update(created_at=old)
    Notification.objects.filter(pk__in=[old_read.pk, recent_read.pk]).update(read_at=timezone.now())

    assert tasks.purge_read_notifications.apply().get() == 1

    assert set(Notification.objects.values_list("pk", flat=True)) == {old_unread.pk, recent_read.pk}
    assert not Delivery.objects.filter(notification_id=old_read.pk).exists()
