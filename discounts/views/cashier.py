"""The cashier screen (收银台) of the merchant portal, under /merchant/till/: identify the member by
card number or QR token, pick an offer the member can use today, enter amount and units, confirm, print
the receipt; void a mistake from today's list. Plain forms with POST/redirect/GET, so it works without
JavaScript.

Every action goes through discounts.redemption, the one service behind the POS API as well; the
screen lives here, with redemption, and reads the merchant side (its users, stores, the open rule)
from the merchants app below."""

from __future__ import annotations

import re
import time
import uuid

from django.contrib import messages
from django.db.models import Count, DecimalField, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from discounts import idempotency
from discounts.models import Offer, Redemption
from discounts.redemption import (
    MAX_ID,
    redemption_create,
    redemption_preview,
    redemption_request,
    redemption_verify,
    redemption_void,
    redemptions_visible,
)
from members.models import mask_card_number
from members.tokens import is_short_code, normalize_card_input
from merchants.access import merchant_user_required
from merchants.models import Store
from portal.clock import local_day
from portal.errors import ApplicationError

SESSION_CARD = "till_card"
SESSION_STORE = "till_store"
CARD_KEPT_SECONDS = 5 * 60  # the identified member stays on screen this long without a new scan
TODAY_LIST_SIZE = 50
_DIGITS = re.compile(r"^[\d\s-]+$")


def _stores(request) -> list[Store]:
    """The stores this user may redeem at: a cashier pinned to a store only there."""
    pinned = request.merchant_user.store
    if pinned is not None:
        return [pinned] if pinned.is_active else []
    return list(Store.objects.filter(merchant=request.merchant, is_active=True).order_by("id"))


def _current_store(request, stores: list[Store]) -> Store | None:
    wanted = request.session.get(SESSION_STORE)
    for store in stores:
        if store.pk == wanted:
            return store
    return stores[0] if len(stores) == 1 else None


def _identified_card_number(request) -> str | None:
    kept = request.session.get(SESSION_CARD)
    if (
        not kept
        or kept.get("merchant") != request.merchant.pk
        or time.time() - kept["at"] > CARD_KEPT_SECONDS
    ):
        request.session.pop(SESSION_CARD, None)
        return None
    return kept["number"]


def _split_card_input(raw: str) -> dict:
    """A scanner types the card number (16–19 digits), the short code of the member's card page
    (12 digits, typed or scanned from its barcode) or the QR token; full-width digits count."""
    digits = normalize_card_input(raw)
    if not digits:
        raise ApplicationError(_("请输入卡号或扫描会员二维码。"), code="validation_error")
    if is_short_code(digits):
        return {"member_token": digits}
    if _DIGITS.match(digits):
        return {"card_number": digits}
    return {"member_token": raw.strip()}


def _visible(request):
    """What this cashier may see and void: the one rule of every till (a pinned cashier: its store)."""
    return redemptions_visible(merchant=request.merchant, store_id=request.merchant_user.store_id)


def _today(request, stores: list[Store]):
    return _visible(request).filter(local_day=local_day(), store__in=[s.pk for s in stores])


def _today_redemptions(request, stores: list[Store]):
    return (
        _today(request, stores)
        .select_related("offer", "store", "card", "member")
        .order_by("-created_at", "-id")[:TODAY_LIST_SIZE]
    )


def _today_totals(request, stores: list[Store]) -> dict:
    """Today's completed redemptions at these stores, all of them (the list shows the newest 50)."""
    money = DecimalField(max_digits=14, decimal_places=2)
    zero = Value(0, output_field=money)
    return (
        _today(request, stores)
        .filter(status=Redemption.Status.COMPLETED)
        .aggregate(
            count=Count("id"),
            amount=Coalesce(Sum("amount"), zero, output_field=money),
            discount=Coalesce(Sum("discount"), zero, output_field=money),
            payable=Coalesce(Sum("payable"), zero, output_field=money),
        )
    )


@require_GET
@merchant_user_required(till=True)
def till_page(request):
    stores = _stores(request)
    store = _current_store(request, stores)
    verification = None
    number = _identified_card_number(request)
    if number and store is not None:
        try:
            verification = redemption_verify(merchant=request.merchant, card_number=number, store_id=store.pk)
        except ApplicationError as error:
            messages.error(request, error.message)
            request.session.pop(SESSION_CARD, None)
    return render(
        request,
        "discounts/cashier.html",
        {
            "stores": stores,
            "store": store,
            "pinned": request.merchant_user.store_id is not None,
            "verification": verification,
            "card_masked": mask_card_number(number) if number else "",
            "nonce": uuid.uuid4().hex,
            "today": _today_redemptions(request, stores),
            "totals": _today_totals(request, stores),
        },
    )


@require_GET
@merchant_user_required(till=True)
def preview(request):
    """What the member will pay for an amount, before the cashier confirms: the same computation as
    the redemption itself (discounts.rules.compute_amounts), for this merchant's offers only."""
    try:
        offer_id = int(request.GET.get("offer", ""))
    except ValueError:
        raise Http404 from None
    offer = (
        Offer.objects.filter(pk=offer_id, merchant=request.merchant).first() if offer_id <= MAX_ID else None
    )
    if offer is None:
        raise Http404
    try:
        amounts = redemption_preview(
            offer=offer, amount=request.GET.get("amount", ""), units=request.GET.get("units", "1") or "1"
        )
    except ApplicationError as error:
        return JsonResponse({"error": error.message}, status=400)
    return JsonResponse(
        {
            "payable": str(amounts.payable),
            "discount": str(amounts.discount),
            "union_subsidy": str(amounts.union_subsidy),
        }
    )


@require_POST
@merchant_user_required(till=True)
def choose_store(request):
    stores = _stores(request)
    try:
        wanted = int(request.POST.get("store", ""))
    except ValueError:
        wanted = None
    if wanted not in {s.pk for s in stores}:
        messages.error(request, _("不能在该门店收银。"))
    else:
        request.session[SESSION_STORE] = wanted
    return redirect("cashier:till")


@require_POST
@merchant_user_required(till=True)
def identify(request):
    stores = _stores(request)
    store = _current_store(request, stores)
    if store is None:
        messages.error(request, _("请先选择门店。"))
        return redirect("cashier:till")
    # A new scan starts a new customer: the one on screen goes, whether or not the new card is found.
    request.session.pop(SESSION_CARD, None)
    found: dict = {}
    try:
        found = _split_card_input(request.POST.get("card", ""))
        verification = redemption_verify(merchant=request.merchant, store_id=store.pk, **found)
    except ApplicationError as error:
        if error.code == "card_not_found" and is_short_code(found.get("member_token") or ""):
            messages.error(request, _("会员码无效或已过期，请会员刷新“我的卡”页面后重新出示。"))
        else:
            messages.error(request, error.message)
        return redirect("cashier:till")
    request.session[SESSION_CARD] = {
        "number": verification.card.number,
        "merchant": request.merchant.pk,
        "at": time.time(),
    }
    return redirect("cashier:till")


@require_POST
@merchant_user_required(till=True)
def clear(request):
    request.session.pop(SESSION_CARD, None)
    return redirect("cashier:till")


@require_POST
@merchant_user_required(till=True)
def redeem(request):
    stores = _stores(request)
    store = _current_store(request, stores)
    number = _identified_card_number(request)
    if store is None or number is None:
        messages.error(request, _("会员信息已过期，请重新刷卡或扫码。"))
        return redirect("cashier:till")
    nonce = request.POST.get("nonce", "")
    if not re.fullmatch(r"[0-9a-f]{32}", nonce):
        messages.error(request, _("表单已失效，请重新提交。"))
        return redirect("cashier:till")
    body = {
        "offer": request.POST.get("offer", ""),
        "store": store.pk,
        "card_number": number,
        "amount": request.POST.get("amount", "").strip(),
        "units": request.POST.get("units", "1").strip() or "1",
    }

    def handler(claim):
        redemption = redemption_create(
            merchant=request.merchant,
            store_id=store.pk,
            offer_id=body["offer"],
            card_number=number,
            amount=body["amount"],
            units=body["units"],
            idempotency_key=f"till-{nonce}",
            created_by=request.user,
            claim=claim,
            answer_for=lambda row: {"id": row.pk},
        )
        return 201, {"id": redemption.pk}

    # The form's one-time nonce is an idempotency key: a double tap or a resubmitted form gives the
    # same receipt instead of a second redemption.
    try:
        outcome = idempotency.idempotent_call(
            merchant_id=request.merchant.pk,
            key=f"till-{nonce}",
            body=redemption_request(**body),
            handler=handler,
        )
    except ApplicationError as error:
        if error.code == "idempotency_key_reused":  # the same form sent again with other values
            messages.error(request, _("这张表单已经提交过，请重新刷卡后再试。"))
        else:
            messages.error(request, error.message)
        return redirect("cashier:till")
    if outcome.status != 201:
        messages.error(request, outcome.body["error"]["message"])
        return redirect("cashier:till")
    request.session.pop(SESSION_CARD, None)
    if not outcome.replayed:
        messages.success(request, _("核销成功。"))
    return redirect("cashier:receipt", pk=outcome.body["id"])


def _own_redemption(request, pk: int) -> Redemption:
    if pk > MAX_ID:
        raise Http404
    redemption = (
        _visible(request)
        .select_related("offer", "store", "card", "member", "created_by", "voided_by")
        .filter(pk=pk)
        .first()
    )
    if redemption is None:
        raise Http404
    return redemption


@require_GET
@merchant_user_required(till=True)
def receipt(request, pk: int):
    redemption = _own_redemption(request, pk)
    can_void = redemption.status == Redemption.Status.COMPLETED and redemption.local_day == local_day()
    return render(request, "discounts/cashier_receipt.html", {"r": redemption, "can_void": can_void})


@require_POST
@merchant_user_required(till=True)
def void(request, pk: int):
    redemption = _own_redemption(request, pk)
    try:
        redemption_void(redemption=redemption, reason=request.POST.get("reason", ""), voided_by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("已撤销，名额与额度已退回。"))
    return redirect(reverse("cashier:receipt", args=[pk]))
