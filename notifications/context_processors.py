"""The inbox link and unread count in every page header, computed only when a page shows it."""

from __future__ import annotations

from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from notifications import selectors
from notifications.recipients import Recipient, current_member_recipient


def _inboxes(request) -> list[dict]:
    found = []
    member = current_member_recipient(request)
    if member is not None:
        found.append(
            {"url": reverse("notifications:member_inbox"), "unread": selectors.unread_count(recipient=member)}
        )
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        recipient = Recipient.user(user.pk)
        found.append(
            {
                "url": reverse("notifications:user_inbox"),
                "unread": selectors.unread_count(recipient=recipient),
            }
        )
    return found


def inbox(request):
    return {"notification_inboxes": SimpleLazyObject(lambda: _inboxes(request))}
