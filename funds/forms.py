"""Forms of the staff fund pages. They only read input; the services decide (scope, balances)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from funds.models import MONEY, Fund
from funds.services import MAX_AMOUNT, NOTE_LENGTH, YEARS
from members.models import Union
from portal.scoping import user_can_reach_union


class AmountField(forms.DecimalField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("金额（元）"))
        super().__init__(
            min_value=Decimal("0.01"),
            max_value=MAX_AMOUNT,
            max_digits=MONEY["max_digits"],
            decimal_places=MONEY["decimal_places"],
            **kwargs,
        )


class ConfirmedForm(forms.Form):
    """A form shown twice: filled in, then confirmed. The confirmation carries an operation id that the
    ledger keeps unique, so a confirmation submitted twice changes the fund once."""

    operation_id = forms.UUIDField(required=False, widget=forms.HiddenInput)

    @property
    def is_confirmation(self) -> bool:
        return self.is_bound and self.data.get("confirmed") == "1"

    def clean(self):
        cleaned = super().clean()
        if self.is_confirmation and not cleaned.get("operation_id"):
            raise forms.ValidationError(_("确认页面已失效，请重新填写。"))
        return cleaned


class FundOpenForm(forms.Form):
    union = forms.CharField(label=_("工会代码"), max_length=32)
    year = forms.IntegerField(label=_("年度"), min_value=YEARS[0], max_value=YEARS[1])
    name = forms.CharField(
        label=_("名称"), max_length=120, required=False, help_text=_("不填写则为“工会名称+年度+普惠资金”。")
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_union(self) -> Union:
        union = Union.objects.filter(code=self.cleaned_data["union"].strip()).first()
        if union is None or not user_can_reach_union(self.user, union):
            raise forms.ValidationError(_("该工会不存在或不在您的管理范围内。"))
        return union


class AddMoneyForm(ConfirmedForm):
    amount = AmountField()
    note = forms.CharField(
        label=_("说明"),
        max_length=NOTE_LENGTH,
        required=False,
        help_text=_("例如资金来源或文件号。"),
    )


class AllocateForm(ConfirmedForm):
    child = forms.ModelChoiceField(
        label=_("下级工会"),
        queryset=Union.objects.none(),
        help_text=_("该工会本年度还没有资金时，将同时为其开设。"),
    )
    amount = AmountField()
    note = forms.CharField(label=_("说明"), max_length=NOTE_LENGTH, required=False)

    def __init__(self, *args, fund: Fund, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["child"].queryset = Union.objects.filter(parent_id=fund.union_id).order_by("code")


class TransferForm(ConfirmedForm):
    to_fund = forms.ModelChoiceField(label=_("调入资金"), queryset=Fund.objects.none())
    amount = AmountField()
    reason = forms.CharField(label=_("调剂原因"), max_length=NOTE_LENGTH)

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_fund"].queryset = targets
        self.fields["to_fund"].label_from_instance = lambda fund: f"{fund.union.name} · {fund.name}"
