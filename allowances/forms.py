from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import DateInput


class StayForm(forms.Form):
    """A member's own claim for a stay in hospital (the rules are ``allowances.services.claim_open``'s)."""

    hospital = forms.CharField(label=_("医院"), max_length=100)
    admitted_on = forms.DateField(label=_("入院日期"), widget=DateInput())
    discharged_on = forms.DateField(label=_("出院日期"), widget=DateInput())
    bill = forms.DecimalField(
        label=_("医疗费用（元）"),
        min_value=Decimal("0.01"),
        max_digits=10,
        decimal_places=2,
        help_text=_("用会员卡支付的金额；工会将与银行的交易记录核对。"),
    )
