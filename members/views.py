"""Member pages: sign-in with a one-time code, consent, "my card", the personal-data download and the
member's inbox with its notification settings (the notices are the notifications app's; the member is
recognised here, as on every member page)."""

from __future__ import annotations

import json
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from members import cards, people, selectors
from members.auth import current_member, member_required, member_sign_in, member_sign_out
from members.forms import CodeForm, ConsentForm, PhoneForm, ReportLostForm
from members.models import Card
from members.qr import card_codes
from members.sign_in import otp_request, otp_resend_wait, otp_verify
from notifications import selectors as notification_selectors
from notifications import services as notification_services
from notifications import views as notification_views
from notifications.forms import PreferencesForm
from notifications.models import MEMBER_TOPICS, Topic
from notifications.recipients import Recipient
from portal.errors import ApplicationError

SESSION_PHONE = "otp_phone"
SESSION_NEXT = "sign_in_next"


def client_ip(request) -> str | None:
    # The proxy in front of the portal sets REMOTE_ADDR to the client's address (see the deployment).
    return request.META.get("REMOTE_ADDR") or None


def consent_required(view):
    """Member pages that show personal data need the member's consent to the rules first."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.member.consent_at is None:
            return redirect(_consent_url(request.get_full_path()))
        return view(request, *args, **kwargs)

    return member_required(wrapper)


def _consent_url(next_url: str) -> str:
    return f"{reverse('members:consent')}?{urlencode({'next': next_url})}"


def _safe_next(request, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(value, {request.get_host()}, request.is_secure()):
        return value
    return "/me/card/"


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request):
    if request.method == "GET" and "next" in request.GET:
        request.session[SESSION_NEXT] = _safe_next(request, request.GET["next"])
    if current_member(request) is not None and request.method == "GET":
        return redirect(request.session.get(SESSION_NEXT, "/me/card/"))
    # Back from the code step ("更换手机号"), the phone typed before is still there.
    form = PhoneForm(request.POST or None, initial={"phone": request.session.get(SESSION_PHONE, "")})
    if request.method == "POST" and form.is_valid():
        try:
            otp_request(phone=form.cleaned_data["phone"], ip_address=client_ip(request))
        except ApplicationError as exc:
            form.add_error("phone", exc.message)
        else:
            request.session[SESSION_PHONE] = people.checked_phone(form.cleaned_data["phone"])
            messages.success(request, _("如该手机号已登记为会员，验证码已发送，5分钟内有效。"))
            return redirect("members:sign_in_code")
    return render(request, "members/sign_in.html", {"form": form, "step": "phone"})


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_code(request):
    phone = request.session.get(SESSION_PHONE)
    if not phone:
        return redirect("members:sign_in")
    if request.method == "POST" and "resend" in request.POST:
        # The phone of the first step, kept in the session: resending never asks for it again.
        try:
            otp_request(phone=phone, ip_address=client_ip(request))
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("如该手机号已登记为会员，验证码已发送，5分钟内有效。"))
        return redirect("members:sign_in_code")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = otp_verify(phone=phone, code=form.cleaned_data["code"], ip_address=client_ip(request))
        except ApplicationError as exc:
            form.add_error("code", exc.message)
        else:
            next_url = request.session.get(SESSION_NEXT, "/me/card/")
            member_sign_in(request, member)
            if member.consent_at is None:
                return redirect(_consent_url(next_url))
            return redirect(_safe_next(request, next_url))
    masked = f"{phone[:3]}****{phone[-4:]}"
    wait = otp_resend_wait(phone=phone, now=timezone.now())
    return render(
        request,
        "members/sign_in.html",
        {
            "form": form,
            "step": "code",
            "phone_masked": masked,
            "resend_wait": max(int(wait.total_seconds() + 0.999), 0),
        },
    )


@never_cache
@member_required
@require_http_methods(["GET", "POST"])
def consent(request):
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        people.member_record_consent(member=request.member)
        return redirect(next_url)
    return render(request, "members/consent.html", {"form": form, "next": next_url, "member": request.member})


@never_cache
@consent_required
def my_card(request):
    member = request.member
    card = selectors.member_live_card(member)
    codes = None
    if card is not None and card.status == Card.Status.ACTIVE:
        codes = card_codes(card.pk)
    contact = None
    if card is not None and card.status == Card.Status.FROZEN:
        contact = selectors.union_contact(member.union)
    return render(
        request,
        "members/card.html",
        {
            "member": member,
            "card": card,
            "codes": codes,
            "contact": contact,
            "lost_form": ReportLostForm(),
        },
    )


@never_cache
@consent_required
def card_number(request):
    """The full card number, on its own page: the card page (kept by the app for offline use) shows
    it masked only."""
    card = selectors.member_live_card(request.member)
    if card is None:
        return redirect("members:card")
    return render(request, "members/card_number.html", {"card": card})


def _own_live_card(request) -> Card | None:
    card = selectors.member_live_card(request.member)
    if card is None:
        messages.error(request, _("您还没有有效的会员卡。"))
    return card


@require_POST
@consent_required
def card_activate(request):
    card = _own_live_card(request)
    if card is not None:
        try:
            cards.card_activate(card=card, actor=request.member)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("会员卡已激活，可以在签约商家出示使用。"))
    return redirect("members:card")


@require_POST
@consent_required
def card_report_lost(request):
    form = ReportLostForm(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["confirm"][0])
        return redirect("members:card")
    card = _own_live_card(request)
    if card is not None:
        try:
            cards.card_freeze(card=card, actor=request.member)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("会员卡已挂失并立即停用。请联系所在基层工会办理补卡。"))
    return redirect("members:card")


@never_cache
@consent_required
def data_export(request):
    document = people.member_data_export(member=request.member)
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


@require_POST
def sign_out(request):
    member_sign_out(request)
    request.session.pop(SESSION_PHONE, None)
    messages.success(request, _("您已退出登录。"))
    return redirect("members:sign_in")


# --- The member's inbox -----------------------------------------------------------------------------------

INBOX_URLS = {
    "inbox": "notifications:member_inbox",
    "mark_read": "notifications:member_mark_read",
    "mark_all_read": "notifications:member_mark_all_read",
    "preferences": "notifications:member_preferences",
}


def _recipient(request) -> Recipient:
    return Recipient.member(request.member.pk)


@never_cache
@member_required
def inbox(request):
    return notification_views.inbox_page(request, _recipient(request), INBOX_URLS)


@require_POST
@member_required
def inbox_mark_read(request, notification_id: int):
    return notification_views.mark_read(request, _recipient(request), notification_id, INBOX_URLS)


@require_POST
@member_required
def inbox_mark_all_read(request):
    return notification_views.mark_all_read(request, _recipient(request), INBOX_URLS)


@never_cache
@require_http_methods(["GET", "POST"])
@member_required
def inbox_preferences(request):
    """Per topic a member receives, whether to send it by SMS and by WeChat too (the inbox is always on)."""
    recipient = _recipient(request)
    form = PreferencesForm(
        request.POST or None,
        topics=MEMBER_TOPICS,
        current=notification_selectors.preferences(recipient=recipient),
    )
    if request.method == "POST" and form.is_valid():
        notification_services.preferences_set(recipient=recipient, choices=form.choices())
        messages.success(request, _("通知设置已保存。"))
        return redirect(INBOX_URLS["preferences"])
    rows = [(Topic(topic).label, fields) for topic, fields in form.rows()]
    return render(request, "notifications/preferences.html", {"form": form, "rows": rows, "urls": INBOX_URLS})
