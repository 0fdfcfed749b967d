"""Forms of offers: the merchant portal's offer form and the pieces the admin's shares with it. They only
parse input; every rule is checked by discounts.services.offer_validate, whose messages land on the
fields."""

from __future__ import annotations

from decimal import Decimal

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


def zhe_to_percent_off(zhe: Decimal) -> Decimal:
    """折 as merchants say it → the percent taken off that the model and the redemption code keep.
    9.5 and 95 both mean 95折 (the member pays 95 %, 5 % off); 8 and 80 mean 8折 (20 % off)."""
    paid_in_tenths = zhe if zhe < 10 else zhe / 10
    return (Decimal(100) - paid_in_tenths * 10).quantize(Decimal("0.01"))


def percent_off_to_zhe(percent_off: Decimal) -> Decimal:
    """The stored percent off → 折 with one digit before the point: 5 → 9.5, 12 → 8.8, 20 → 8."""
    return ((Decimal(100) - Decimal(percent_off)) / 10).normalize()


class ZheField(forms.DecimalField):
    """The discount of a 折扣 offer, entered in 折 (9.5 or 95 for 95折); cleans to the percent off."""

    def __init__(self, **kwargs):
        super().__init__(
            label=_("折扣(折)"),
            required=False,
            min_value=Decimal("0.1"),
            max_digits=6,
            decimal_places=3,  # 8.75折 is 12.5 % off, kept to the cent of a percent like the model
            help_text=_("按“几折”填写：9.5 或 95 都表示95折，即会员付原价的95%。"),
            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            **kwargs,
        )

    def clean(self, value):
        zhe = super().clean(value)
        if zhe is None:
            return None
        if zhe >= 100 or zhe == 10:
            raise forms.ValidationError(
                _("请按“几折”填写 0.1 至 9.9（或 1 至 99），例如 9.5 或 95 都表示95折。")
            )
        return zhe_to_percent_off(zhe)


def zhe_initial(form) -> None:
    """A saved offer's percent off shown in 折 in ``form``'s ``discount_zhe``."""
    if form.instance.percent_off is not None and "discount_zhe" not in form.initial:
        form.initial["discount_zhe"] = percent_off_to_zhe(form.instance.percent_off)


class OfferFormMixin:
    """Shared by the merchant portal's offer form and the admin's: every rule is checked by
    offer_validate, whose messages land on the fields."""

    # a model field the form shows under another name (the merchant's 折 for percent_off)
    field_aliases: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:
            # The retired hospital allowance is not offered (see discounts.services.ALLOWANCE_RETIRED).
            self.fields["kind"].choices = [
                choice for choice in self.fields["kind"].choices if choice[0] != Offer.Kind.ALLOWANCE
            ]

    def clean(self):
        cleaned = super().clean()
        if "discount_zhe" in self.fields:
            cleaned["percent_off"] = cleaned.get("discount_zhe")  # what the services take
        return cleaned

    def _post_clean(self):
        opts = self._meta
        try:
            self.instance = construct_instance(self, self.instance, opts.fields, opts.exclude)
        except forms.ValidationError as error:
            self._update_errors(error)
            return
        if "discount_zhe" in self.fields:
            # 折 stands in for the percent off (ZheField cleans to it)
            self.instance.percent_off = self.cleaned_data.get("discount_zhe")
        stores = self.cleaned_data.get("stores")
        try:
            offer_validate(self.instance, stores=list(stores) if stores is not None else None)
        except ValidationFailed as error:
            # a field that did not even parse already says why; don't add a second, vaguer message
            for field, messages in (error.fields or {None: [error.message]}).items():
                field = self.field_aliases.get(field, field)
                if field in self.errors:
                    continue
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)


class OfferForm(OfferFormMixin, forms.ModelForm):
    """The merchant portal's offer form. The discount is entered in 折 (ZheField) and kept as the
    percent off; the page shows only the fields of the chosen kind (KIND_AMOUNT_FIELDS, by script)."""

    weekdays = weekdays_field()
    eligible_groups = eligible_groups_field()
    discount_zhe = ZheField()
    field_aliases = {"percent_off": "discount_zhe"}

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
        # 折 takes percent_off's place in the form (and its order)
        del self.fields["percent_off"]
        self.order_fields([("discount_zhe" if name == "percent_off" else name) for name in OFFER_FIELDS])
        zhe_initial(self)
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
