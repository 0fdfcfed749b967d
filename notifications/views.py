"""Inbox pages of a signed-in user — union staff or merchant user (``/inbox/``) — and the page helpers the
member's inbox (``/me/notifications/``, in the members app, which recognises members) is made of. Each
reads and marks only the notices of the party signed in; another's notice is "not found"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from notifications import selectors, services
from notifications.recipients import Recipient

PAGE_SIZE = 20

USER_URLS = {
    "inbox": "notifications:user_inbox",
    "mark_read": "notifications:user_mark_read",
    "mark_all_read": "notifications:user_mark_all_read",
    "preferences": None,
}


def _user_recipient(request) -> Recipient:
    return Recipient.user(request.user.pk)


def inbox_page(request, recipient: Recipient, urls: dict):
    """The recipient's inbox, a page at a time; ``urls`` names the page's own addresses."""
    page = Paginator(selectors.inbox(recipient=recipient), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {"page": page, "unread": selectors.unread_count(recipient=recipient), "urls": urls},
    )


def mark_read(request, recipient: Recipient, notification_id: int, urls: dict):
    try:
        notice = services.notification_mark_read(recipient=recipient, notification_id=notification_id)
    except services.NotificationNotFound as exc:
        raise Http404(exc.message) from exc
    if request.POST.get("open") and notice.link:
        return redirect(notice.link)  # checked when the notice was written: a path here or https
    return redirect(urls["inbox"])


def mark_all_read(request, recipient: Recipient, urls: dict):
    count = services.notification_mark_all_read(recipient=recipient)
    if count:
        messages.success(request, _("已将 %(count)s 条消息标为已读。") % {"count": count})
    return redirect(urls["inbox"])


# --- Staff and merchant users -------------------------------------------------------------------------


@never_cache
@login_required
def user_inbox(request):
    return inbox_page(request, _user_recipient(request), USER_URLS)


@require_POST
@login_required
def user_mark_read(request, notification_id: int):
    return mark_read(request, _user_recipient(request), notification_id, USER_URLS)


@require_POST
@login_required
def user_mark_all_read(request):
    return mark_all_read(request, _user_recipient(request), USER_URLS)
