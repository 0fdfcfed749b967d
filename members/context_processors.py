"""The signed-in member's inbox link and unread count in every page header, computed only when a page
shows it (a signed-in user's is notifications.context_processors.inbox)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from members.auth import current_member
from notifications import selectors
from notifications.recipients import Recipient


def _inboxes(request) -> list[dict]:
    member = current_member(request)
    if member is None:
        return []
    recipient = Recipient.member(member.pk)
    return [
        {"url": reverse("notifications:member_inbox"), "unread": selectors.unread_count(recipient=recipient)}
    ]


def member_inbox(request):
    return {"member_inboxes": SimpleLazyObject(lambda: _inboxes(request))}
