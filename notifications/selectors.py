"""Reads: a recipient's inbox, one notice, the unread count, the opt-outs."""

from __future__ import annotations

from django.db.models import F, QuerySet

from notifications.models import Notification, NotificationPreference, Topic
from notifications.recipients import Recipient

MAX_ID = 2**63 - 1  # ids are bigint: a larger number names no row (and must not reach the database)


def inbox(*, recipient: Recipient) -> QuerySet[Notification]:
    """The recipient's notices, unread first, then newest first (served by notification_inbox_idx)."""
    return Notification.objects.filter(recipient.q()).order_by(
        F("read_at").asc(nulls_first=True), "-created_at", "-id"
    )


def notification_of(*, recipient: Recipient, notification_id: int) -> Notification | None:
    """One notice of the recipient; None for another recipient's, as for one that does not exist."""
    if not 0 < notification_id <= MAX_ID:
        return None
    return Notification.objects.filter(recipient.q(), pk=notification_id).first()


def unread_count(*, recipient: Recipient) -> int:
    return Notification.objects.filter(recipient.q(), read_at__isnull=True).count()


def opted_out_channels(*, recipient: Recipient, topic: Topic | str) -> set[str]:
    return set(
        NotificationPreference.objects.filter(recipient.q(), topic=topic, enabled=False).values_list(
            "channel", flat=True
        )
    )


def preferences(*, recipient: Recipient) -> dict[tuple[str, str], bool]:
    """The recipient's saved choices by (topic, channel); a pair without a row is on."""
    return {
        (topic, channel): enabled
        for topic, channel, enabled in NotificationPreference.objects.filter(recipient.q()).values_list(
            "topic", "channel", "enabled"
        )
    }
