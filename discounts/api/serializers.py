"""The shapes of the POS API: what a till sends (checked for shape only, with the caps the redemption
service itself uses, imported from it) and what it gets back (one serializer per answer, the stored
answer of a redemption included). Rules are the service's; the error envelope is portal.api's.

The request components come in two forms, by card number or by member token, so that the schema
says "exactly one of the two" with ``oneOf`` and a generated client offers one model per form."""

from __future__ import annotations

import re

import django_filters
from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from discounts.api.common import _IdName, _IdTitle
from discounts.models import Redemption
from discounts.redemption import (
    MAX_AMOUNT,
    MAX_CARD_NUMBER_INPUT,
    MAX_ID,
    MAX_MEMBER_TOKEN_INPUT,
    MAX_MERCHANT_REFERENCE,
    MAX_UNITS,
    MAX_VOID_REASON,
    MERCHANT_REFERENCE_RE,
)
from portal.api import Pagination
from portal.errors import ValidationFailed

# A sum of money as the API writes it and as the schema promises it: digits, at most two decimals,
# never negative, never empty. (A till may also send a JSON number; the schema shows the string form.)
AMOUNT_PATTERN = r"^[0-9]{1,10}(\.[0-9]{1,2})?$"
_AMOUNT_RE = re.compile(AMOUNT_PATTERN)


@extend_schema_field({"type": "string", "pattern": AMOUNT_PATTERN, "maxLength": 13, "example": "100.00"})
class MoneyField(serializers.DecimalField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_AMOUNT)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        # A string must be written as the schema says ("1e3" or "١٠٠" parse as numbers, yet no
        # client generated from the schema sends them); a JSON number is taken as it is.
        if isinstance(data, str) and not _AMOUNT_RE.match(data.strip()):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- What a till sends ------------------------------------------------------------------------------


def _card_number(**kwargs):
    return serializers.CharField(
        max_length=MAX_CARD_NUMBER_INPUT, help_text="卡号，8–19 位数字，可含空格或连字符", **kwargs
    )


def _member_token(**kwargs):
    return serializers.CharField(
        max_length=MAX_MEMBER_TOKEN_INPUT,
        help_text="会员卡页二维码中的短时令牌，或同时显示的 12 位数字码（条码内容）",
        **kwargs,
    )


def _store():
    return serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="门店编号（密钥限定门店时可省略；若填写须为该门店）",
    )


class _ByEither(serializers.Serializer):
    """What the views validate with: the card by number or by token, exactly one."""

    card_number = _card_number(required=False)
    member_token = _member_token(required=False)

    def validate(self, attrs):
        if bool(attrs.get("card_number")) == bool(attrs.get("member_token")):
            raise serializers.ValidationError(
                {"card_number": [_("卡号与会员二维码必须且只能提供一项。")]}, code="invalid"
            )
        return attrs


class _VerifyFields(serializers.Serializer):
    store = _store()


class VerifyByCardSerializer(_VerifyFields):
    card_number = _card_number()


class VerifyByTokenSerializer(_VerifyFields):
    member_token = _member_token()


class VerifyRequestSerializer(_ByEither, _VerifyFields):
    pass


class _RedemptionFields(serializers.Serializer):
    offer = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="优惠编号")
    store = _store()
    amount = MoneyField(help_text="消费金额（元），最多两位小数")
    units = serializers.IntegerField(min_value=1, max_value=MAX_UNITS, default=1, help_text="数量")
    merchant_reference = serializers.RegexField(
        MERCHANT_REFERENCE_RE,
        max_length=MAX_MERCHANT_REFERENCE,
        required=False,
        help_text="收银系统自己的单号（可选，同一商家内唯一）：丢失应答时可凭它查到这笔核销",
    )


class RedemptionByCardSerializer(_RedemptionFields):
    card_number = _card_number()


class RedemptionByTokenSerializer(_RedemptionFields):
    member_token = _member_token()


class RedemptionCreateSerializer(_ByEither, _RedemptionFields):
    pass


class VoidRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=MAX_VOID_REASON, help_text="撤销原因")


class VoucherUseRequestSerializer(serializers.Serializer):
    offer = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="券码所属线上优惠的 id")
    code = serializers.CharField(max_length=64, help_text="会员领取的券码")


class VoucherUseSerializer(serializers.Serializer):
    """A claimed code of an online offer, as the partner reported its use."""

    offer = _IdTitle()
    code = serializers.CharField()
    member_name_masked = serializers.CharField(source="member.name_masked")
    claimed_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField()


VERIFY_REQUEST = PolymorphicProxySerializer(
    component_name="CardVerify",
    serializers=[VerifyByCardSerializer, VerifyByTokenSerializer],
    resource_type_field_name=None,
)
REDEMPTION_REQUEST = PolymorphicProxySerializer(
    component_name="RedemptionCreate",
    serializers=[RedemptionByCardSerializer, RedemptionByTokenSerializer],
    resource_type_field_name=None,
)


# --- What a till gets back ------------------------------------------------------------------------

REFUSAL_CODES = [
    "card_inactive",
    "member_inactive",
    "offer_not_active",
    "not_eligible",
    "member_limit_reached",
    "quota_exhausted",
    "budget_exhausted",
]


class VerifyOfferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    eligible = serializers.BooleanField()
    reason = serializers.CharField(required=False, help_text="不可用时的原因")
    reason_code = serializers.ChoiceField(
        choices=REFUSAL_CODES, required=False, help_text="不可用原因的错误码（同核销拒绝码）"
    )
    remaining_today = serializers.IntegerField(allow_null=True, help_text="今日剩余名额；null 表示不限量")


class VerifyResponseSerializer(serializers.Serializer):
    card_number_masked = serializers.CharField()
    member_name_masked = serializers.CharField()
    status = serializers.CharField(help_text="卡状态：issued、active、frozen、replaced、cancelled")
    offers = VerifyOfferSerializer(many=True)


def _label(field: str) -> str:
    return Redemption._meta.get_field(field).verbose_name


class RedemptionSerializer(serializers.Serializer):
    """A redemption as every POS answer shows it — the first answer, its stored replay, the list, the
    detail and the void all come from here."""

    # Declared rather than read off the model: the answer is built for every redemption, and a
    # ModelSerializer builds its fields from the model anew for each instance.
    id = serializers.IntegerField(read_only=True)
    offer = _IdTitle()
    store = _IdName()
    card_number_masked = serializers.CharField(source="card.number_masked")
    member_name_masked = serializers.CharField(source="member.name_masked")
    units = serializers.IntegerField(read_only=True, label=_label("units"))
    amount = MoneyField(read_only=True)
    discount = MoneyField(read_only=True)
    payable = MoneyField(read_only=True)
    union_subsidy = MoneyField(read_only=True)
    status = serializers.ChoiceField(
        choices=Redemption.Status.choices, read_only=True, label=_label("status")
    )
    merchant_reference = serializers.CharField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True, label=_label("created_at"))
    voided_at = serializers.DateTimeField(read_only=True, allow_null=True, label=_label("voided_at"))

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["merchant_reference"] = data["merchant_reference"] or None
        return data


# One serializer whose fields are bound once: to_representation keeps nothing between calls, so every
# answer can use it (binding the fields is most of what a new serializer instance costs).
_ANSWER = RedemptionSerializer()


def redemption_answer(redemption: Redemption) -> dict:
    """The JSON answer for one redemption: plain types, so it can be stored for replays."""
    return dict(_ANSWER.to_representation(redemption))


class RedemptionPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(required=False, help_text="总条数（按页码翻页时给出；按游标翻页时省略）")
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RedemptionSerializer(many=True)


# --- Listing --------------------------------------------------------------------------------------


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class _IdFilter(django_filters.NumberFilter):
    pass


@extend_schema_field({"type": "string", "enum": list(Redemption.Status.values)})
class _StatusFilter(django_filters.ChoiceFilter):
    pass


class RedemptionFilter(django_filters.FilterSet):
    """The POS list's filters. Every value is checked for shape; an unknown store or key simply
    matches nothing (the list starts from the redemptions the key may see)."""

    date = django_filters.DateFilter(field_name="local_day", help_text="本地日期（北京时间），YYYY-MM-DD")
    date_from = django_filters.DateFilter(
        field_name="local_day", lookup_expr="gte", help_text="起始日期（含）"
    )
    date_to = django_filters.DateFilter(field_name="local_day", lookup_expr="lte", help_text="截止日期（含）")
    store = _IdFilter(field_name="store_id", min_value=1, max_value=MAX_ID, help_text="门店编号")
    status = _StatusFilter(choices=Redemption.Status.choices, help_text="completed 或 voided")
    updated_since = django_filters.IsoDateTimeFilter(
        method="filter_updated_since", help_text="只列出此时刻之后创建或撤销的记录（ISO 8601）"
    )
    idempotency_key = django_filters.CharFilter(max_length=255, help_text="按核销时的 Idempotency-Key 查找")
    merchant_reference = django_filters.CharFilter(
        max_length=MAX_MERCHANT_REFERENCE, help_text="按收银系统单号查找"
    )

    class Meta:
        model = Redemption
        fields = []

    def filter_updated_since(self, queryset, name, value):
        return queryset.filter(Q(created_at__gte=value) | Q(voided_at__gte=value))


class RedemptionCursorPagination(CursorPagination):
    """For merchants with many redemptions: stable pages however many rows arrive meanwhile, and no
    count of the whole list. Asked for with a ``cursor`` parameter (empty for the first page)."""

    ordering = ("-created_at", "-id")
    page_size = Pagination.page_size
    page_size_query_param = Pagination.page_size_query_param
    max_page_size = Pagination.max_page_size

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:  # DRF's answer to a cursor it did not write: a malformed parameter, 400
            raise ValidationFailed(
                _("翻页游标无效。"), fields={"cursor": [_("请使用上一页 next 中的游标。")]}
            ) from None
