"""Forms of offers: the merchant portal's offer form and the pieces the admin's shares with it. They only
parse input; every rule is checked by discounts.services.offer_validate, whose messages land on the
fields."""

from __future__ import annotations

from django import forms
from django.forms.models import construct_instance
from django.utils.translation import gettext_lazy as _

from discounts.models import Offer
from discounts.rules import WEEKDAY_NAMES
from discounts.services import OFFER_FIELDS, offer_validate
from members.models import MemberGroup, PartnerBank, Union
from merchants.forms import RegionChoiceField
from portal.errors import ValidationFailed
from portal.forms import DateInput, TimeInput

WEEKDAY_CHOICES = [(index + 1, _(name)) for index, name in enumerate(WEEKDAY_NAMES)]
BUDGET_UNION_LEVELS = [Union.Level.PROVINCE, Union.Level.CITY, Union.Level.COUNTY]


def weekdays_field() -> forms.Field:
    return forms.TypedMultipleChoiceField(
        label=_("适用星期"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不选表示每天。"),
    )


def eligible_groups_field() -> forms.Field:
    return forms.MultipleChoiceField(
        label=_("适用群体"),
        choices=MemberGroup.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不选表示所有会员。"),
    )


class OfferFormMixin:
    """Shared by the merchant portal's offer form and the admin's: every rule is checked by
    offer_validate, whose messages land on the fields."""

    def _post_clean(self):
        opts = self._meta
        try:
            self.instance = construct_instance(self, self.instance, opts.fields, opts.exclude)
        except forms.ValidationError as error:
            self._update_errors(error)
            return
        stores = self.cleaned_data.get("stores")
        try:
            offer_validate(self.instance, stores=list(stores) if stores is not None else None)
        except ValidationFailed as error:
            # a field that did not even parse already says why; don't add a second, vaguer message
            for field, messages in (error.fields or {None: [error.message]}).items():
                if field in self.errors:
                    continue
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)


class OfferForm(OfferFormMixin, forms.ModelForm):
    weekdays = weekdays_field()
    eligible_groups = eligible_groups_field()

    class Meta:
        model = Offer
        fields = [*OFFER_FIELDS, "stores"]
        widgets = {
            "valid_from": DateInput,
            "valid_until": DateInput,
            "time_from": TimeInput,
            "time_until": TimeInput,
            "description": forms.Textarea(attrs={"rows": 3}),
            "stores": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.merchant = merchant
        self.fields["stores"].queryset = merchant.stores.order_by("id")
        unions = Union.objects.filter(level__in=BUDGET_UNION_LEVELS).order_by("path")
        for name in ("budget_owner", "eligible_union"):
            self.fields[name] = RegionChoiceField(
                label=self.fields[name].label,
                queryset=unions,
                required=False,
                help_text=self.fields[name].help_text,
            )
        self.fields["bank"].queryset = PartnerBank.objects.filter(is_active=True)
