from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from members.models import PartnerBank


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


class UndoLostForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("我已找回此卡，确认解除挂失：卡将恢复使用"),
        error_messages={"required": _("请勾选确认后再解除挂失。")},
    )


class CardApplicationForm(forms.Form):
    bank = forms.ModelChoiceField(
        label=_("制卡银行"),
        queryset=None,
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择制卡银行。"), "invalid_choice": _("请选择制卡银行。")},
    )
    confirm = forms.BooleanField(
        label=_("以上姓名、身份证号、手机号和所在工会无误，同意提交给所在基层工会审核"),
        error_messages={"required": _("请核对信息并勾选确认。")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bank"].queryset = PartnerBank.objects.filter(is_active=True).order_by("name")


class TransferRequestForm(forms.Form):
    to_union = forms.CharField(
        label=_("新单位的基层工会代码"),
        max_length=32,
        help_text=_("请向新单位的工会索取工会代码。"),
        error_messages={"required": _("请填写新单位的基层工会代码。")},
    )
    note = forms.CharField(label=_("说明（可不填）"), max_length=200, required=False)
    confirm = forms.BooleanField(
        label=_("确认申请转会：新工会接收后，您的会籍转入新工会，会员卡不变"),
        error_messages={"required": _("请勾选确认后再提交。")},
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("原因（会员会看到）"),
        max_length=300,
        error_messages={"required": _("请填写原因。")},
    )
