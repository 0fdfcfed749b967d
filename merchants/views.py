"""Merchant pages: the public partner application, and the merchant portal (sign-in, the merchant's
stores, users and POS API keys). Managers manage; cashiers only get the till. The portal's offer pages
and the till belong to discounts (discounts.views.merchant_offers, discounts.views.cashier)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from allowances.forms import add_claim_errors, bill_fen
from allowances.models import Claim
from allowances.services import Hospital, claim_open
from members.models import SANDBOX_UNION_PATH, Card
from members.tokens import normalize_card_input
from members.views import client_ip
from merchants import apikeys, pictures, selectors, services
from merchants.access import merchant_closed_reason, merchant_user_required
from merchants.forms import (
    ApiKeyForm,
    HospitalClaimForm,
    MerchantApplicationForm,
    MerchantLoginForm,
    MerchantUserForm,
    StoreForm,
    add_service_errors,
)
from merchants.models import ApiKey, Merchant, MerchantUser, Store
from portal.clock import local_day
from portal.confirm import ask_first
from portal.errors import ApplicationError, ValidationFailed
from portal.images import image_response

TILL_URL = "/merchant/till/"
MANAGER = MerchantUser.Role.MANAGER


# --- Public application ----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def apply(request):
    form = MerchantApplicationForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.merchant_apply(**form.cleaned_data, ip_address=client_ip(request))
        except ValidationFailed as error:
            add_service_errors(form, error)
        except ApplicationError as error:  # too many applications from this address
            form.add_error(None, error.message)
            status = error.status
        else:
            return redirect("merchants:apply_done")
    return render(request, "merchants/apply.html", {"form": form}, status=status)


def apply_done(request):
    return render(request, "merchants/apply_done.html")


# --- Sign-in --------------------------------------------------------------------------------------------


class MerchantLoginView(auth_views.LoginView):
    """Django's login view: it authenticates with the request, so django-axes counts failures."""

    template_name = "merchants/login.html"
    authentication_form = MerchantLoginForm
    redirect_authenticated_user = False
    next_page = reverse_lazy("merchants:home")

    def get_default_redirect_url(self):
        return str(reverse_lazy("merchants:home"))


class MerchantLogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("merchants:login")


# --- Portal home --------------------------------------------------------------------------------------


@never_cache
@merchant_user_required()
def home(request):
    """A cashier sees the till; a manager the merchant, its offers, stores, keys and users. The offers
    are discounts' part of the page: the template's ``merchant_offers`` tag (discounts.templatetags)."""
    merchant = request.merchant
    context = {
        "merchant": merchant,
        "membership": request.merchant_user,
        "till_url": TILL_URL,
        "contract_state": selectors.merchant_contract_state(merchant, local_day()),
    }
    if request.merchant_user.role != MANAGER:
        return render(request, "merchants/home_cashier.html", context)
    context.update(
        {
            "stores": list(selectors.merchant_stores(merchant)),
            "api_keys": list(selectors.merchant_api_keys(merchant)),
            "users": list(selectors.merchant_users(merchant)),
        }
    )
    return render(request, "merchants/home.html", context)


# --- Hospitals: allowance claims for the cards presented ------------------------------------------

HOSPITAL_CATEGORY = "health"


@merchant_user_required()
@require_http_methods(["GET", "POST"])
def hospital_claims(request):
    """A partner hospital (a signed merchant of the 医疗健康 category, open today) opens a hospital
    allowance claim for the union card presented at its counter; the member's union decides it
    (allowances.services). Its own claims are listed below, with where each stands."""
    merchant = request.merchant
    if merchant.category.code != HOSPITAL_CATEGORY:
        raise DjangoPermissionDenied
    closed = merchant_closed_reason(merchant)
    form = HospitalClaimForm(request.POST or None)
    if request.method == "POST" and closed is None and form.is_valid():
        data = form.cleaned_data
        card = (
            Card.objects.select_related("member")
            .filter(number=normalize_card_input(data["card_number"]), status__in=Card.LIVE_STATUSES)
            .exclude(member__union__path__startswith=SANDBOX_UNION_PATH)  # a test card is no member's
            .first()
        )
        if card is None:
            form.add_error("card_number", _("没有这张有效的工会会员卡，请核对卡号。"))
        else:
            try:
                claim_open(
                    actor=Hospital(user=request.user, name=merchant.name),
                    member=card.member,
                    hospital=merchant.name,
                    admitted_on=data["admitted_on"],
                    discharged_on=data["discharged_on"],
                    bill_fen=bill_fen(data),
                )
            except ValidationFailed as refused:
                add_claim_errors(form, refused)
            else:
                messages.success(request, _("住院补贴申请已提交，会员所在工会审核后发放到会员卡。"))
                return redirect("merchants:hospital_claims")
    claims = Claim.objects.filter(
        hospital=merchant.name, created_by__merchant_user__merchant=merchant
    ).order_by("-created_at")[:50]
    return render(
        request,
        "merchants/hospital_claims.html",
        {"form": form, "closed": closed, "claims": claims, "merchant": merchant},
    )


@require_GET
def picture(request, merchant_id: int):
    """A merchant's picture, for the member pages (signed merchants) and the merchant's own users."""
    merchant = get_object_or_404(Merchant, pk=merchant_id)
    if not pictures.picture_visible(merchant, request.user):
        raise Http404
    return image_response(merchant.picture)


@merchant_user_required(role=MANAGER)
@require_POST
def picture_upload(request):
    """The merchant's picture, shown on its offers that have none of their own."""
    uploaded = request.FILES.get("picture")
    if uploaded is None:
        messages.error(request, _("请选择要上传的图片。"))
        return redirect("merchants:home")
    try:
        pictures.merchant_picture_set(merchant=request.merchant, uploaded=uploaded, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("商家图片已更换。"))
    return redirect("merchants:home")


# --- Stores ---------------------------------------------------------------------------------------------


def _store_values(form) -> dict:
    return {key: form.cleaned_data[key] for key in StoreForm.base_fields}


@merchant_user_required(role=MANAGER)
@require_http_methods(["GET", "POST"])
def store_create(request):
    form = StoreForm(request.POST or None, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        try:
            store = services.store_create(merchant=request.merchant, **_store_values(form))
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("门店“%(name)s”已添加。") % {"name": store.name})
            return redirect("merchants:home")
    return render(request, "merchants/form.html", {"form": form, "heading": _("添加门店")})


@merchant_user_required(role=MANAGER)
@require_http_methods(["GET", "POST"])
def store_edit(request, store_id: int):
    store = get_object_or_404(Store, pk=store_id, merchant=request.merchant)
    initial = {key: getattr(store, key) for key in StoreForm.base_fields}
    form = StoreForm(request.POST or None, initial=initial, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        try:
            services.store_update(store=store, **_store_values(form))
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("门店“%(name)s”已保存。") % {"name": store.name})
            return redirect("merchants:home")
    return render(
        request,
        "merchants/form.html",
        {"form": form, "heading": _("编辑门店：%(name)s") % {"name": store.name}},
    )


# --- Users ----------------------------------------------------------------------------------------------


@merchant_user_required(role=MANAGER)
@require_http_methods(["GET", "POST"])
def user_create(request):
    form = MerchantUserForm(request.POST or None, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.merchant_user_create(
                merchant=request.merchant, created_by=request.user, **form.cleaned_data
            )
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("账号“%(name)s”已创建，登录时请输入完整账号。") % {"name": membership.user.username},
            )
            return redirect("merchants:home")
    return render(request, "merchants/form.html", {"form": form, "heading": _("添加收银员或管理员")})


@merchant_user_required(role=MANAGER)
@require_POST
def user_set_active(request, membership_id: int):
    membership = get_object_or_404(
        MerchantUser.objects.select_related("user"), pk=membership_id, merchant=request.merchant
    )
    active = request.POST.get("active") == "1"
    if not active:
        page = ask_first(
            request,
            heading=_("停用账号"),
            consequence=_(
                "停用后，账号“%(name)s”立即不能再登录商家中心和收银台，已登录的也会被退出；之后可由店长重新启用。"
            )
            % {"name": membership.user.username},
            button=_("确认停用"),
            cancel_url=reverse("merchants:home"),
        )
        if page is not None:
            return page
    try:
        services.merchant_user_set_active(merchant_user=membership, is_active=active, changed_by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        text = _("账号“%(name)s”已启用。") if active else _("账号“%(name)s”已停用。")
        messages.success(request, text % {"name": membership.user.username})
    return redirect("merchants:home")


# --- POS API keys ---------------------------------------------------------------------------------------


@never_cache
@merchant_user_required(role=MANAGER)
@require_http_methods(["GET", "POST"])
def key_create(request):
    form = ApiKeyForm(request.POST or None, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        try:
            key, raw_key = apikeys.api_key_create(
                merchant=request.merchant,
                name=form.cleaned_data["name"],
                store=form.cleaned_data["store"],
                created_by=request.user,
            )
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            # Rendered, never redirected to: the full key exists only in this one response.
            return render(request, "merchants/key_created.html", {"key": key, "raw_key": raw_key})
    return render(request, "merchants/form.html", {"form": form, "heading": _("新建 POS API 密钥")})


@merchant_user_required(role=MANAGER)
@require_POST
def key_revoke(request, key_id: int):
    # Its own live keys, and the test keys its integrators hold (which belong to the sandbox).
    held = ApiKey.objects.filter(Q(merchant=request.merchant) | Q(sandbox_for=request.merchant))
    key = get_object_or_404(held, pk=key_id)
    back = "merchants:sandbox" if key.is_test else "merchants:home"
    page = ask_first(
        request,
        heading=_("吊销密钥"),
        consequence=_("吊销后，使用密钥 %(prefix)s… 的收银机立即不能再核销，且不能恢复；需要时请新建密钥。")
        % {"prefix": key.prefix},
        button=_("确认吊销"),
        cancel_url=reverse(back),
    )
    if page is not None:
        return page
    apikeys.api_key_revoke(key=key, revoked_by=request.user)
    messages.success(
        request, _("密钥 %(prefix)s… 已吊销，使用它的收银机将无法再核销。") % {"prefix": key.prefix}
    )
    return redirect(back)
