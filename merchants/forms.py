"""Forms of the merchant pages. They only parse input; the rules are in the services, whose errors are
put back on the fields. (The offer forms of the merchant portal are discounts' own: discounts.forms.)"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from members.models import Union
from merchants.access import merchant_closed_reason
from merchants.models import Category, MerchantUser, Store
from merchants.selectors import region_choices
from portal.errors import ValidationFailed
from portal.forms import DateInput


def add_service_errors(form: forms.Form, error: ValidationFailed) -> None:
    """Show a service's ValidationFailed on the form: per field where the form has it."""
    if not error.fields:
        form.add_error(None, error.message)
        return
    for field, messages in error.fields.items():
        for message in messages:
            form.add_error(field if field in form.fields else None, message)


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, union: Union) -> str:
        indent = "　" * max(union.depth - 1, 0)
        return f"{indent}{union.place_name}"


class MerchantApplicationForm(forms.Form):
    name = forms.CharField(label=_("商家名称"), max_length=120)
    category = forms.ModelChoiceField(label=_("经营类别"), queryset=Category.objects.all(), empty_label=None)
    region = RegionChoiceField(
        label=_("所在地区"),
        queryset=Union.objects.none(),
        help_text=_("选择商家所在的市或县（区），由当地工会审核。"),
    )
    licence_number = forms.CharField(
        label=_("统一社会信用代码"), max_length=18, required=False, help_text=_("18位，见营业执照。")
    )
    contact_name = forms.CharField(label=_("联系人"), max_length=60)
    contact_phone = forms.CharField(
        label=_("联系电话"), max_length=20, widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"})
    )
    contact_email = forms.EmailField(label=_("电子邮箱"), required=False)
    description = forms.CharField(
        label=_("商家简介与拟提供的会员优惠"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = region_choices()


class MerchantLoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("用户名或密码错误。"),
        "inactive": _("该账号已停用，请联系商家管理员。"),
    }

    def confirm_login_allowed(self, user):
        """A cashier has only the till, which is closed while the merchant is not open: say why
        at sign-in. Managers sign in to the portal, which shows the contract state."""
        super().confirm_login_allowed(user)
        try:
            membership = user.merchant_user
        except MerchantUser.DoesNotExist:
            return
        if membership.role != MerchantUser.Role.CASHIER:
            return
        reason = merchant_closed_reason(membership.merchant)
        if reason is not None:
            raise forms.ValidationError(
                gettext("%(reason)s，收银台暂不可用。") % {"reason": reason}, code="merchant_not_open"
            )


def _decimal(label, **kwargs):
    return forms.DecimalField(label=label, required=False, max_digits=9, decimal_places=6, **kwargs)


class StoreForm(forms.Form):
    name = forms.CharField(label=_("门店名称"), max_length=120)
    region = RegionChoiceField(label=_("所在区县"), queryset=Union.objects.none(), empty_label=None)
    address = forms.CharField(label=_("地址"), max_length=255)
    phone = forms.CharField(label=_("电话"), max_length=20, required=False)
    latitude = _decimal(_("纬度"), help_text=_("例如 38.042307；可在地图应用中查到。"))
    longitude = _decimal(_("经度"), help_text=_("例如 114.514862。"))
    is_active = forms.BooleanField(label=_("营业中"), required=False, initial=True)

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        region = merchant.region
        self.fields["region"].queryset = (
            Union.objects.subtree(region)
            .filter(level__in=[Union.Level.CITY, Union.Level.COUNTY])
            .order_by("path")
        )


class MerchantUserForm(forms.Form):
    username = forms.CharField(
        label=_("登录名"),
        max_length=120,
        help_text=_("账号会加上本商家前缀（如 m12-li），登录时请输入完整账号。"),
    )
    display_name = forms.CharField(label=_("姓名"), max_length=60, required=False)
    password = forms.CharField(
        label=_("初始密码"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少8位，不能全是数字。"),
    )
    role = forms.ChoiceField(
        label=_("角色"), choices=MerchantUser.Role.choices, initial=MerchantUser.Role.CASHIER
    )
    store = forms.ModelChoiceField(
        label=_("所属门店"), queryset=Store.objects.none(), required=False, empty_label=_("全部门店")
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = merchant.stores.order_by("id")


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("密钥名称"), max_length=80, help_text=_("例如：前台收银机1号。"))
    store = forms.ModelChoiceField(
        label=_("限定门店"),
        queryset=Store.objects.none(),
        required=False,
        empty_label=_("不限门店"),
        help_text=_("限定后，此密钥只能为该门店核销。"),
    )

    def __init__(self, *args, merchant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = merchant.stores.order_by("id")


class HospitalClaimForm(forms.Form):
    """A partner hospital opens an allowance claim for the union card presented at its counter."""

    card_number = forms.CharField(
        label=_("会员卡号"),
        max_length=40,
        help_text=_("刷卡或输入会员出示的工会会员卡号。"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    admitted_on = forms.DateField(label=_("入院日期"), widget=DateInput())
    discharged_on = forms.DateField(label=_("出院日期"), widget=DateInput())
    bill = forms.DecimalField(
        label=_("医疗费用（元）"), min_value=Decimal("0.01"), max_digits=10, decimal_places=2
    )
