"""The merchant portal's offer pages (/merchant/offers/…): a manager drafts an offer, edits it while it
is a draft or was rejected, and submits it for the union's review; the staff record a claimed code of
an online offer as used (/merchant/vouchers/use/). Every rule is the offer and code services'."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from discounts.forms import OfferForm
from discounts.models import Offer
from discounts.pictures import offer_picture_set
from discounts.selectors import merchant_vouchers_used, offer_preview
from discounts.services import EDITABLE_STATUSES as OFFER_EDITABLE_STATUSES
from discounts.services import KIND_AMOUNT_FIELDS, OFFER_FIELDS, offer_create, offer_submit, offer_update
from discounts.vouchers import voucher_code_for_merchant, voucher_code_use
from merchants.access import merchant_user_required
from merchants.forms import add_service_errors
from merchants.models import MerchantUser
from portal.errors import ApplicationError, ValidationFailed

MANAGER = MerchantUser.Role.MANAGER


def _offer_values(form) -> dict:
    return {key: form.cleaned_data.get(key) for key in OFFER_FIELDS}


def _kind_fields() -> dict[str, list[str]]:
    """For the page's script: the amount fields each kind uses (the form's names: 折 for percent_off)."""
    names = {"percent_off": "discount_zhe"}
    return {
        kind: [names.get(field, field) for field in fields] for kind, fields in KIND_AMOUNT_FIELDS.items()
    }


def _render_form(request, form, heading: str, offer: Offer | None = None):
    context = {
        "form": form,
        "heading": heading,
        "offer": offer,
        "kind_fields": _kind_fields(),
        "preview": offer_preview(form.instance)
        if form.is_bound
        else (offer_preview(offer) if offer else None),
    }
    return render(request, "discounts/offer_form.html", context)


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
    return _render_form(request, form, _("新建优惠"))


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
    return _render_form(request, form, heading, offer)


@merchant_user_required(role=MANAGER)
@require_POST
def offer_preview_view(request):
    """The offer card members would see, for the form's live preview: the form as it stands, checked
    and read by the same code as the real thing, nothing saved."""
    form = OfferForm(request.POST, merchant=request.merchant)
    form.is_valid()
    return render(request, "discounts/_offer_preview.html", {"preview": offer_preview(form.instance)})


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


@merchant_user_required(role=MANAGER)
@require_POST
def offer_picture_view(request, offer_id: int):
    """The offer's own picture, while the offer may still be edited."""
    offer = get_object_or_404(
        Offer.objects.select_related("merchant"), pk=offer_id, merchant=request.merchant
    )
    uploaded = request.FILES.get("picture")
    if uploaded is None:
        messages.error(request, _("请选择要上传的图片。"))
    else:
        try:
            offer_picture_set(offer=offer, uploaded=uploaded, actor=request.user)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("优惠图片已更换。"))
    if offer.status in OFFER_EDITABLE_STATUSES:
        return redirect("merchants:offer_edit", offer.pk)
    return redirect("merchants:home")


# --- Codes of online offers: the partner reports one used -----------------------------------------


class VoucherUseForm(forms.Form):
    offer = forms.ModelChoiceField(label=gettext_lazy("线上优惠"), queryset=Offer.objects.none())
    code = forms.CharField(label=gettext_lazy("券码"), max_length=64)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offer"].queryset = merchant.offers.filter(channel=Offer.Channel.ONLINE).order_by("-id")


@merchant_user_required(till=True)
@require_http_methods(["GET", "POST"])
def voucher_use_view(request):
    """A member used a claimed code at the partner's own shop: whoever serves them records it here
    (or the shop's system through the POS API), and the member's history shows it."""
    initial = {"offer": request.GET.get("offer")} if request.GET.get("offer", "").isdigit() else None
    form = VoucherUseForm(request.POST or None, merchant=request.merchant, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            voucher = voucher_code_for_merchant(
                merchant=request.merchant,
                offer_id=form.cleaned_data["offer"].pk,
                code=form.cleaned_data["code"],
            )
        except ApplicationError as error:
            add_service_errors(form, error)
        else:
            first = voucher.used_at is None
            voucher = voucher_code_use(voucher=voucher, by_user=request.user)
            text = (
                _("券码 %(code)s 已登记使用（%(member)s）。")
                if first
                else _("券码 %(code)s 已于 %(when)s 登记过使用。")
            )
            messages.success(
                request,
                text
                % {
                    "code": voucher.code,
                    "member": voucher.member.name_masked,
                    "when": timezone.localtime(voucher.used_at).strftime("%Y-%m-%d %H:%M"),
                },
            )
            return redirect("merchants:voucher_use")
    context = {"form": form, "recent": merchant_vouchers_used(request.merchant)[:20]}
    return render(request, "discounts/voucher_use.html", context)
