from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("手机号"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "numeric"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("短信验证码"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]{6}"}
        ),
        error_messages={"min_length": _("验证码为6位数字。"), "max_length": _("验证码为6位数字。")},
    )


class ConsentForm(forms.Form):
    agree = forms.BooleanField(
        label=_("我已阅读并同意《个人信息处理规则》"),
        error_messages={"required": _("请勾选同意后继续。")},
    )


class ReportLostForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("确认挂失：挂失后此卡立即停止使用，需到工会办理补卡"),
        error_messages={"required": _("请勾选确认后再挂失。")},
    )
