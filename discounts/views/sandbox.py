"""The merchant portal's sandbox page (/merchant/sandbox/): the test cards and offers an integrator
tries the POS API with, the merchant's test keys, and a form for a new one (discounts.sandbox)."""

from __future__ import annotations

from django import forms
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from discounts import sandbox
from merchants.access import merchant_user_required
from merchants.models import MerchantUser
from merchants.selectors import merchant_test_keys


class TestKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("密钥名称"),
        max_length=80,
        help_text=gettext_lazy("例如：收银系统厂商联调。"),
    )


@never_cache
@merchant_user_required(role=MerchantUser.Role.MANAGER)
@require_http_methods(["GET", "POST"])
def sandbox_page(request):
    form = TestKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key, raw_key = sandbox.sandbox_key_create(
            merchant=request.merchant, name=form.cleaned_data["name"], created_by=request.user
        )
        # Rendered, never redirected to: the full key exists only in this one response.
        return render(request, "merchants/key_created.html", {"key": key, "raw_key": raw_key, "test": True})
    merchant = sandbox.sandbox_merchant()
    offers = list(merchant.offers.order_by("id")) if merchant else []
    context = {
        "form": form,
        "heading": _("接口测试（沙箱）"),
        "cards": sandbox.CARDS,
        "offers": offers,
        "test_keys": list(merchant_test_keys(request.merchant)),
    }
    return render(request, "discounts/merchant_sandbox.html", context)
