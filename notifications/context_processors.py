"""The inbox link and unread count of a signed-in user (staff, merchant user) in every page header,
computed only when a page shows it. The member's is members.context_processors.member_inbox."""

from __future__ import annotations

from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from notifications import selectors
from notifications.recipients import Recipient


def _inboxes(request) -> list[dict]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    recipient = Recipient.user(user.pk)
    return [
        {"url": reverse("notifications:user_inbox"), "unread": selectors.unread_count(recipient=recipient)}
    ]


def inbox(request):
    return {"notification_inboxes": SimpleLazyObject(lambda: _inboxes(request))}
