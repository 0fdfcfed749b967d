"""Writes: emit a notice (:func:`notify`), read it, choose channels, send a delivery, purge old notices.

Every door — the domain apps, the pages, the member API, the tasks — calls these functions."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import selectors
from notifications.backends import (
    PermanentDeliveryError,
    SmsMessage,
    TransientDeliveryError,
    WechatMessage,
    get_sms_backend,
    get_wechat_backend,
    mask_openid,
    mask_phone,
)
from notifications.models import (
    EXTERNAL_CHANNELS,
    Channel,
    Delivery,
    Notification,
    NotificationPreference,
    Topic,
)
from notifications.recipients import Recipient
from portal.errors import NotFound, ValidationFailed
from portal.tasks_util import enqueue_now, enqueue_on_commit

logger = logging.getLogger(__name__)

TITLE_MAX = 120
BODY_MAX = 1000
DEDUP_KEY_MAX = 200
LINK_MAX = 500
# A worker holds a delivery this long while it sends (far above the HTTP timeouts); a worker that died
# meanwhile leaves it to the next claim once the lease is over.
CLAIM_LEASE = timedelta(minutes=5)
# The retry message of a delivery arrives this much after its wait is over, never before.
RETRY_SLACK_SECONDS = 1
RETRY_WAIT_MAX_SECONDS = 3600
# Beat sends again a queued delivery nobody has tried for this long (its task was lost).
STALLED_AFTER = timedelta(minutes=10)
PURGE_CHUNK = 5_000


class NotificationNotFound(NotFound):
    code = "not_found"
    default_message = _("未找到该消息。")


# --- Emitting a notice --------------------------------------------------------------------------------


def notify(
    *,
    recipient: Recipient,
    topic: Topic,
    title: str,
    body: str,
    dedup_key: str,
    link: str = "",
    phone: str = "",
    wechat_openid: str = "",
    params: Mapping[str, str] | None = None,
) -> Notification:
    """Record a notice for ``recipient`` and send it on every channel it may go by.

    ``dedup_key`` names the event ("offer-approved:42"); a second call with the same key for the same
    recipient — a retried task, a double click — returns the first notice and sends nothing. The inbox
    always receives the notice; SMS goes to ``phone`` and WeChat to ``wechat_openid`` unless the
    recipient opted out of ``topic`` on that channel (or no address is given, or WeChat has no template
    for the topic). The messages leave after the surrounding transaction commits, one task each."""
    _validate(topic=topic, title=title, body=body, dedup_key=dedup_key, link=link, params=params)
    now = timezone.now()
    with transaction.atomic():
        # get_or_create settles a race on the unique (recipient, dedup_key): the second writer waits
        # for the first, gets the IntegrityError and reads the first writer's notice.
        notice, created = Notification.objects.get_or_create(
            recipient_kind=recipient.kind,
            recipient_id=recipient.id,
            dedup_key=dedup_key,
            defaults={
                "topic": topic,
                "title": title,
                "body": body,
                "link": link,
                "params": dict(params or {}),
                "created_at": now,
            },
        )
        if not created:
            return notice
        opted_out = selectors.opted_out_channels(recipient=recipient, topic=topic)
        deliveries = [
            Delivery(notification=notice, channel=Channel.INBOX, status=Delivery.Status.SENT, sent_at=now)
        ]
        for channel, address in ((Channel.SMS, phone), (Channel.WECHAT, wechat_openid)):
            deliveries.append(_delivery_for(notice, channel, address.strip(), opted_out, now))
        Delivery.objects.bulk_create(deliveries)
        for delivery in deliveries:
            if delivery.status == Delivery.Status.QUEUED:
                enqueue_on_commit("notifications.tasks.deliver", delivery.pk)
    return notice


def _validate(*, topic, title, body, dedup_key, link, params) -> None:
    errors: dict[str, list[str]] = {}
    if topic not in Topic.values:
        errors["topic"] = [_("未知的通知主题。")]
    if not title.strip() or len(title) > TITLE_MAX:
        errors["title"] = [_("标题不能为空，且不超过%(max)s个字。") % {"max": TITLE_MAX}]
    if not body.strip() or len(body) > BODY_MAX:
        errors["body"] = [_("内容不能为空，且不超过%(max)s个字。") % {"max": BODY_MAX}]
    if not dedup_key.strip() or len(dedup_key) > DEDUP_KEY_MAX:
        errors["dedup_key"] = [_("去重键不能为空，且不超过%(max)s个字符。") % {"max": DEDUP_KEY_MAX}]
    if link and (len(link) > LINK_MAX or not is_safe_link(link)):
        errors["link"] = [_("链接须为站内路径（以 / 开头）或 https 地址。")]
    if params is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
        errors["params"] = [_("模板参数须为文字。")]
    if errors:
        raise ValidationFailed(fields=errors)


def is_safe_link(link: str) -> bool:
    """A path of this site or an https address: never ``javascript:``, never ``//other-host``."""
    if link.startswith("/"):
        return not link.startswith("//") and "\\" not in link
    return link.startswith("https://") and len(link) > len("https://")


def _delivery_for(
    notice: Notification, channel: str, address: str, opted_out: set[str], now: datetime
) -> Delivery:
    masked = mask_phone(address) if channel == Channel.SMS else mask_openid(address)
    reason = ""
    if channel in opted_out:
        reason = _("接收人已关闭此类通知的该渠道。")
    elif not address:
        reason = _("没有接收地址。")
    elif channel == Channel.WECHAT and wechat_template(notice.topic) is None:
        reason = _("此主题未配置微信模板。")
    if reason:
        return Delivery(
            notification=notice,
            channel=channel,
            status=Delivery.Status.SKIPPED,
            last_error=reason,
            not_before=now,
        )
    return Delivery(
        notification=notice,
        channel=channel,
        status=Delivery.Status.QUEUED,
        address=address,
        address_masked=masked if address else "",
        not_before=now,
    )


def wechat_template(topic: str) -> dict | None:
    """``{"template_id": …, "data": {keyword: format}}`` of the topic in settings.WECHAT_TEMPLATES."""
    spec = settings.WECHAT_TEMPLATES.get(str(topic))
    if not isinstance(spec, dict) or not spec.get("template_id") or not isinstance(spec.get("data"), dict):
        return None
    return spec


# --- Reading --------------------------------------------------------------------------------------------


def notification_mark_read(*, recipient: Recipient, notification_id: int) -> Notification:
    """Mark one of the recipient's notices read (again is harmless: the first reading time stays).
    Another recipient's notice is "not found", exactly like one that does not exist."""
    notice = selectors.notification_of(recipient=recipient, notification_id=notification_id)
    if notice is None:
        raise NotificationNotFound()
    if notice.read_at is None:
        now = timezone.now()
        Notification.objects.filter(pk=notice.pk, read_at__isnull=True).update(read_at=now)
        notice.refresh_from_db(fields=["read_at"])
    return notice


def notification_mark_all_read(*, recipient: Recipient) -> int:
    """Mark every unread notice of the recipient read; returns how many."""
    return Notification.objects.filter(recipient.q(), read_at__isnull=True).update(read_at=timezone.now())


# --- Preferences ----------------------------------------------------------------------------------------


def preferences_set(*, recipient: Recipient, choices: Mapping[tuple[str, str], bool]) -> None:
    """Save the recipient's choice per (topic, channel); channels other than SMS and WeChat are refused
    (the inbox is always on)."""
    for topic, channel in choices:
        if topic not in Topic.values or channel not in EXTERNAL_CHANNELS:
            raise ValidationFailed(_("无法设置此通知渠道。"))
    with transaction.atomic():
        for (topic, channel), enabled in sorted(choices.items()):
            NotificationPreference.objects.update_or_create(
                recipient_kind=recipient.kind,
                recipient_id=recipient.id,
                topic=topic,
                channel=channel,
                defaults={"enabled": bool(enabled)},
            )


# --- Sending a delivery ---------------------------------------------------------------------------------


def delivery_attempt(*, delivery_id: int) -> float | None:
    """One attempt to send a queued SMS or WeChat delivery. Returns the seconds to wait before the
    next attempt when this one failed in a way that may pass, else None (sent, failed for good, or
    not ours to send: already final, held by another worker, or waiting for its next attempt).

    The claim is one guarded UPDATE that counts the attempt and takes a lease, so two workers given
    the same delivery (a redelivered task, a beat resend) never send it at the same time. The message
    leaves with no transaction open and no row locked."""
    now = timezone.now()
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=Delivery.Status.QUEUED, channel__in=EXTERNAL_CHANNELS, not_before__lte=now
    ).update(attempts=F("attempts") + 1, not_before=now + CLAIM_LEASE)
    if claimed != 1:
        return None
    delivery = Delivery.objects.select_related("notification").get(pk=delivery_id)
    try:
        message_id = _send(delivery)
    except TransientDeliveryError as exc:
        if delivery.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
            _finish(delivery, Delivery.Status.FAILED, error=str(exc))
            return None
        wait = retry_wait(delivery.attempts)
        Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.QUEUED).update(
            not_before=timezone.now() + timedelta(seconds=wait), last_error=str(exc)[:500]
        )
        logger.info(
            "delivery %s: attempt %s failed, next in %ss: %s", delivery.pk, delivery.attempts, wait, exc
        )
        return wait
    except PermanentDeliveryError as exc:
        _finish(delivery, Delivery.Status.FAILED, error=str(exc))
        return None
    _finish(delivery, Delivery.Status.SENT, message_id=message_id)
    return None


def retry_wait(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: the base doubled after each failure, at most an hour."""
    return min(settings.NOTIFICATION_RETRY_BACKOFF_SECONDS * 2 ** (attempts - 1), RETRY_WAIT_MAX_SECONDS)


def _send(delivery: Delivery) -> str:
    notice = delivery.notification
    reference = f"notice-{notice.pk}-{delivery.channel}"
    if delivery.channel == Channel.SMS:
        text = f"{notice.title}：{notice.body}"
        return get_sms_backend().send(SmsMessage(phone=delivery.address, text=text, reference=reference))
    spec = wechat_template(notice.topic)
    if spec is None:
        raise PermanentDeliveryError("no WeChat template for this topic any more")
    values = {
        "title": notice.title,
        "body": notice.body,
        "created_at": timezone.localtime(notice.created_at).strftime("%Y-%m-%d %H:%M"),
        **notice.params,
    }
    try:
        data = {key: str(fmt).format_map(values) for key, fmt in spec["data"].items()}
    except (KeyError, IndexError, ValueError) as exc:
        raise PermanentDeliveryError(
            f"WeChat template of {notice.topic} needs a value the notice lacks: {exc}"
        ) from exc
    message = WechatMessage(
        openid=delivery.address,
        template_id=spec["template_id"],
        data=data,
        url=absolute_link(notice.link),
        reference=reference,
    )
    return get_wechat_backend().send(message)


def absolute_link(link: str) -> str:
    """The notice's link as WeChat needs it (absolute), or "" when the site's address is not set."""
    if not link or link.startswith("https://"):
        return link
    base = settings.NOTIFICATIONS_LINK_BASE_URL.rstrip("/")
    return f"{base}{link}" if base else ""


def _finish(delivery: Delivery, status: str, *, error: str = "", message_id: str = "") -> None:
    """Record the final outcome; the address is dropped, only its masked form stays."""
    changed = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.QUEUED).update(
        status=status,
        sent_at=timezone.now() if status == Delivery.Status.SENT else None,
        last_error=error[:500],
        provider_message_id=message_id[:100],
        address="",
    )
    if changed != 1:
        logger.warning("delivery %s was no longer queued when its outcome (%s) came", delivery.pk, status)
    elif status == Delivery.Status.FAILED:
        logger.warning(
            "delivery %s (%s to %s) failed after %s attempts: %s",
            delivery.pk,
            delivery.channel,
            delivery.address_masked,
            delivery.attempts,
            error,
        )


def deliveries_resend_stalled(*, older_than: timedelta = STALLED_AFTER) -> int:
    """Queue again every delivery still waiting well after it was due: its task was never sent (the
    broker was down at commit) or was lost. A delivery being sent holds a lease and is not picked."""
    cutoff = timezone.now() - older_than
    ids = list(
        Delivery.objects.filter(status=Delivery.Status.QUEUED, not_before__lt=cutoff)
        .order_by("not_before")
        .values_list("pk", flat=True)[:PURGE_CHUNK]
    )
    for delivery_id in ids:
        enqueue_now("notifications.tasks.deliver", delivery_id)
    return len(ids)


# --- Retention ------------------------------------------------------------------------------------------


def notifications_purge_read(*, older_than: timedelta | None = None) -> int:
    """Delete read notices created more than ``older_than`` (NOTIFICATION_RETENTION) ago, with their
    deliveries, in chunks; unread notices stay. Returns how many notices were deleted."""
    cutoff = timezone.now() - (older_than if older_than is not None else settings.NOTIFICATION_RETENTION)
    deleted = 0
    while True:
        ids = list(
            Notification.objects.filter(read_at__isnull=False, created_at__lt=cutoff).values_list(
                "pk", flat=True
            )[:PURGE_CHUNK]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            Delivery.objects.filter(notification_id__in=ids).delete()
            _total, per_model = Notification.objects.filter(pk__in=ids).delete()
        deleted += per_model.get(Notification._meta.label, 0)
