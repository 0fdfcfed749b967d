"""Member pages: sign-in with a one-time code, consent, "my card", the personal-data download and the
member's inbox with its notification settings (the notices are the notifications app's; the member is
recognised here, as on every member page)."""

from __future__ import annotations

import json
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from members import applications, cards, people, selectors, transfers
from members.auth import current_member, member_required, member_sign_in, member_sign_out
from members.forms import (
    CardApplicationForm,
    CodeForm,
    ConsentForm,
    PhoneForm,
    ReportLostForm,
    TransferRequestForm,
    UndoLostForm,
)
from members.models import Card, CardApplication, TransferRequest, mask_phone
from members.qr import card_codes
from members.sign_in import otp_request, otp_resend_wait, otp_verify
from notifications import selectors as notification_selectors
from notifications import services as notification_services
from notifications import views as notification_views
from notifications.forms import PreferencesForm
from notifications.models import MEMBER_TOPICS, Topic
from notifications.recipients import Recipient
from portal.errors import ApplicationError, NotFound

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
            "undo_lost_until": cards.card_lost_undo_deadline(card) if card else None,
            "undo_lost_form": UndoLostForm(),
            "application": None if card else selectors.member_open_application(member),
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


def _confirmed_card_action(request, form_class, action, done: str):
    """A member's own card, changed by ``action`` once the form's box is ticked; the outcome (or why
    not) as a message on the card page."""
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, form.errors["confirm"][0])
        return redirect("members:card")
    card = _own_live_card(request)
    if card is not None:
        try:
            action(card=card, actor=request.member)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
    return redirect("members:card")


@require_POST
@consent_required
def card_report_lost(request):
    return _confirmed_card_action(
        request, ReportLostForm, cards.card_freeze, _("会员卡已挂失并立即停用。请联系所在基层工会办理补卡。")
    )


@require_POST
@consent_required
def card_undo_lost(request):
    """解除挂失: the member found the card again within the window."""
    return _confirmed_card_action(
        request, UndoLostForm, cards.card_undo_lost, _("已解除挂失，会员卡恢复使用。")
    )


@never_cache
@require_http_methods(["GET", "POST"])
@consent_required
def card_apply(request):
    """Apply for a card: choose the bank, check the details the union holds, send it to the union."""
    member = request.member
    if selectors.member_live_card(member) is not None:
        messages.info(request, _("您已有一张有效会员卡，无需再申请。"))
        return redirect("members:card")
    latest = selectors.member_open_application(member)
    if latest is not None and latest.status in CardApplication.OPEN_STATUSES:
        return redirect("members:card")
    form = CardApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            applications.card_application_submit(member=member, bank=form.cleaned_data["bank"])
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("申请已提交，请等待所在基层工会审核。"))
            return redirect("members:card")
    return render(
        request,
        "members/card_apply.html",
        {"member": member, "phone_masked": mask_phone(member.phone), "form": form, "latest": latest},
    )


@require_POST
@consent_required
def card_application_withdraw(request, application_id: int):
    try:
        applications.card_application_withdraw(member=request.member, application_id=application_id)
    except NotFound as exc:  # another member's request: as if it did not exist
        raise Http404(exc.message) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("办卡申请已撤回。"))
    return redirect("members:card")


@require_POST
@consent_required
def transfer_request_withdraw(request, request_id: int):
    try:
        transfers.transfer_request_withdraw(member=request.member, request_id=request_id)
    except NotFound as exc:  # another member's request: as if it did not exist
        raise Http404(exc.message) from None
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("转会申请已撤回。"))
    return redirect("members:transfer_request")


@never_cache
@require_http_methods(["GET", "POST"])
@consent_required
def transfer_request(request):
    """Ask to move to another workplace union; the receiving union accepts or refuses."""
    member = request.member
    requests = selectors.member_transfer_requests(member)
    pending = next((r for r in requests if r.status == TransferRequest.Status.PENDING), None)
    form = TransferRequestForm(request.POST or None)
    if request.method == "POST" and pending is None and form.is_valid():
        try:
            to_union = transfers.transfer_destination(form.cleaned_data["to_union"])
            transfers.transfer_request_submit(
                member=member, to_union=to_union, note=form.cleaned_data["note"]
            )
        except ApplicationError as exc:
            for field, errors in (exc.fields or {None: [exc.message]}).items():
                form.add_error(field if field in form.fields else None, errors[0])
        else:
            messages.success(request, _("转会申请已提交，请等待新工会接收。"))
            return redirect("members:transfer_request")
    return render(
        request,
        "members/transfer.html",
        {"member": member, "form": form, "pending": pending, "requests": requests},
    )


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
