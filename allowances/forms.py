from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.errors import ValidationFailed
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


def add_claim_errors(form: forms.Form, refused: ValidationFailed) -> None:
    """A refusal of ``claim_open`` shown on a claim form (the form's bill in yuan is its ``bill_fen``)."""
    for field, problems in (refused.fields or {None: [refused.message]}).items():
        name = "bill" if field == "bill_fen" else field
        for problem in problems:
            form.add_error(name if name in form.fields else None, problem)


def bill_fen(cleaned_data: dict) -> int:
    return int(cleaned_data["bill"] * 100)
