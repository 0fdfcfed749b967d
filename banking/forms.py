from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from banking.models import BankFile


class BankLoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码错误。"),
        "inactive": _("该账号已停用，请联系省总工会管理员。"),
    }


class BankFileUploadForm(forms.Form):
    bank = forms.ModelChoiceField(label=_("银行"), queryset=None, empty_label=None)
    kind = forms.ChoiceField(
        label=_("文件类型"),
        choices=[(kind.value, kind.label) for kind in BankFile.Kind if kind in BankFile.INBOUND],
    )
    file = forms.FileField(label=_("文件（CSV）"))

    def __init__(self, *args, banks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bank"].queryset = banks


class CardChangesExportForm(forms.Form):
    bank = forms.ModelChoiceField(label=_("银行"), queryset=None, empty_label=None)

    def __init__(self, *args, banks, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bank"].queryset = banks
