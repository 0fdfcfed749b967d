"""The shop's forms: the merchant's product (a ModelForm without the stock, which moves only through
``product_stock_change``), the member's quantity, an order code typed or scanned at the counter."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from shop.models import Product
from shop.services import MAX_QUANTITY


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "title",
            "description",
            "market_price",
            "member_price",
            "per_member_limit",
            "valid_from",
            "valid_until",
            "status",
        ]
        widgets = {
            "valid_from": forms.DateInput(attrs={"type": "date"}),
            "valid_until": forms.DateInput(attrs={"type": "date"}),
        }


class ProductCreateForm(ProductForm):
    """A new product says how many there are."""

    class Meta(ProductForm.Meta):
        fields = [*ProductForm.Meta.fields, "stock"]


class StockChangeForm(forms.Form):
    delta = forms.IntegerField(
        label=_("调整库存"),
        min_value=-1_000_000,
        max_value=1_000_000,
        help_text=_("正数为补货，负数为减少；不能少于当前剩余数量。"),
    )


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(label=_("数量"), min_value=1, max_value=MAX_QUANTITY, initial=1)


class OrderCodeForm(forms.Form):
    code = forms.CharField(label=_("订单码"), max_length=40, help_text=_("输入或扫描会员出示的12位订单码。"))
