"""The merchant portal's offer pages (/merchant/offers/…): a manager drafts an offer, edits it while it
is a draft or was rejected, and submits it for the union's review. Every rule is the offer services'."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from discounts.forms import OfferForm
from discounts.models import Offer
from discounts.services import EDITABLE_STATUSES as OFFER_EDITABLE_STATUSES
from discounts.services import OFFER_FIELDS, offer_create, offer_submit, offer_update
from merchants.access import merchant_user_required
from merchants.forms import add_service_errors
from merchants.models import MerchantUser
from portal.errors import ApplicationError, ValidationFailed

MANAGER = MerchantUser.Role.MANAGER


def _offer_values(form) -> dict:
    return {key: form.cleaned_data.get(key) for key in OFFER_FIELDS}


@merchant_user_required(role=MANAGER)
@require_http_methods(["GET", "POST"])
def offer_new(request):
    form = OfferForm(request.POST or None, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        try:
            offer = offer_create(
                merchant=request.merchant,
                created_by=request.user,
                stores=form.cleaned_data["stores"],
                **_offer_values(form),
            )
        except ValidationFailed as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request, _("优惠“%(title)s”已保存为草稿，确认无误后请提交审核。") % {"title": offer.title}
            )
            return redirect("merchants:home")
    return render(request, "discounts/offer_form.html", {"form": form, "heading": _("新建优惠")})


@merchant_user_required(role=MANAGER)
@require_http_methods(["GET", "POST"])
def offer_edit(request, offer_id: int):
    offer = get_object_or_404(Offer, pk=offer_id, merchant=request.merchant)
    if offer.status not in OFFER_EDITABLE_STATUSES:
        messages.error(request, _("优惠已提交或已发布，不能再修改；如需调整请联系工会。"))
        return redirect("merchants:home")
    form = OfferForm(request.POST or None, instance=offer, merchant=request.merchant)
    if request.method == "POST" and form.is_valid():
        try:
            offer_update(
                offer=offer,
                updated_by=request.user,
                stores=form.cleaned_data["stores"],
                **_offer_values(form),
            )
        except ApplicationError as error:
            if isinstance(error, ValidationFailed):
                add_service_errors(form, error)
            else:
                messages.error(request, error.message)
        else:
            messages.success(request, _("优惠“%(title)s”已保存。") % {"title": offer.title})
            return redirect("merchants:home")
    heading = _("编辑优惠：%(title)s") % {"title": offer.title}
    return render(request, "discounts/offer_form.html", {"form": form, "heading": heading, "offer": offer})


@merchant_user_required(role=MANAGER)
@require_POST
def offer_submit_view(request, offer_id: int):
    offer = get_object_or_404(
        Offer.objects.select_related("merchant__region"), pk=offer_id, merchant=request.merchant
    )
    try:
        offer_submit(offer=offer, submitted_by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("优惠“%(title)s”已提交工会审核。") % {"title": offer.title})
    return redirect(reverse("merchants:home"))
