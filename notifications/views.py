"""Inbox pages: the member's (``/me/notifications/``, with the per-topic SMS/WeChat settings) and a
signed-in user's — union staff or merchant user (``/inbox/``). Each reads and marks only the notices of
the party signed in; another's notice is "not found"."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from notifications import selectors, services
from notifications.forms import PreferencesForm
from notifications.models import MEMBER_TOPICS, Topic
from notifications.recipients import Recipient, member_required

PAGE_SIZE = 20

MEMBER_URLS = {
    "inbox": "notifications:member_inbox",
    "mark_read": "notifications:member_mark_read",
    "mark_all_read": "notifications:member_mark_all_read",
    "preferences": "notifications:member_preferences",
}
USER_URLS = {
    "inbox": "notifications:user_inbox",
    "mark_read": "notifications:user_mark_read",
    "mark_all_read": "notifications:user_mark_all_read",
    "preferences": None,
}


def _user_recipient(request) -> Recipient:
    return Recipient.user(request.user.pk)


def _inbox(request, recipient: Recipient, urls: dict):
    page = Paginator(selectors.inbox(recipient=recipient), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {"page": page, "unread": selectors.unread_count(recipient=recipient), "urls": urls},
    )


def _mark_read(request, recipient: Recipient, notification_id: int, urls: dict):
    try:
        notice = services.notification_mark_read(recipient=recipient, notification_id=notification_id)
    except services.NotificationNotFound as exc:
        raise Http404(exc.message) from exc
    if request.POST.get("open") and notice.link:
        return redirect(notice.link)  # checked when the notice was written: a path here or https
    return redirect(urls["inbox"])


def _mark_all_read(request, recipient: Recipient, urls: dict):
    count = services.notification_mark_all_read(recipient=recipient)
    if count:
        messages.success(request, _("已将 %(count)s 条消息标为已读。") % {"count": count})
    return redirect(urls["inbox"])


# --- Member -------------------------------------------------------------------------------------------


@never_cache
@member_required
def member_inbox(request):
    return _inbox(request, request.recipient, MEMBER_URLS)


@require_POST
@member_required
def member_mark_read(request, notification_id: int):
    return _mark_read(request, request.recipient, notification_id, MEMBER_URLS)


@require_POST
@member_required
def member_mark_all_read(request):
    return _mark_all_read(request, request.recipient, MEMBER_URLS)


@never_cache
@require_http_methods(["GET", "POST"])
@member_required
def member_preferences(request):
    recipient = request.recipient
    form = PreferencesForm(
        request.POST or None, topics=MEMBER_TOPICS, current=selectors.preferences(recipient=recipient)
    )
    if request.method == "POST" and form.is_valid():
        services.preferences_set(recipient=recipient, choices=form.choices())
        messages.success(request, _("通知设置已保存。"))
        return redirect(MEMBER_URLS["preferences"])
    rows = [(Topic(topic).label, fields) for topic, fields in form.rows()]
    return render(
        request, "notifications/preferences.html", {"form": form, "rows": rows, "urls": MEMBER_URLS}
    )


# --- Staff and merchant users -------------------------------------------------------------------------


@never_cache
@login_required
def user_inbox(request):
    return _inbox(request, _user_recipient(request), USER_URLS)


@require_POST
@login_required
def user_mark_read(request, notification_id: int):
    return _mark_read(request, _user_recipient(request), notification_id, USER_URLS)


@require_POST
@login_required
def user_mark_all_read(request):
    return _mark_all_read(request, _user_recipient(request), USER_URLS)
