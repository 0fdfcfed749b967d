"""The endpoint form of the merchant portal. It only collects the values: the rules are checked by
``webhooks.services.endpoint_create``, whose errors are shown on the fields they name."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.errors import ValidationFailed
from webhooks.addresses import URL_MAX
from webhooks.models import SUBSCRIBABLE_TYPES, EventType
from webhooks.services import DESCRIPTION_MAX

_LABELS = dict(EventType.choices)


class EndpointForm(forms.Form):
    url = forms.CharField(
        label=_("接收地址"),
        max_length=URL_MAX,
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "off", "class": "mono"}),
        help_text=_("贵方系统接收事件的 https 地址，例如 https://pos.example.com/hooks/union"),
    )
    events = forms.MultipleChoiceField(
        label=_("订阅事件"),
        choices=[(name.value, _LABELS[name]) for name in SUBSCRIBABLE_TYPES],
        widget=forms.CheckboxSelectMultiple,
        initial=[name.value for name in SUBSCRIBABLE_TYPES],
    )
    description = forms.CharField(label=_("备注"), max_length=DESCRIPTION_MAX, required=False)

    def add_service_errors(self, error: ValidationFailed) -> None:
        """Show a service's ValidationFailed on the form: per field where the form has it."""
        if not error.fields:
            self.add_error(None, error.message)
            return
        for field, messages in error.fields.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
