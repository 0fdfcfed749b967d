"""POS API (v1): verify a card, redeem, void, list — the contract merchants integrate against. Views are
thin: input serializer → service → output serializer."""

from __future__ import annotations

import functools
import logging
import time
from datetime import date

import redis
from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, serializers, throttling
from rest_framework.response import Response
from rest_framework.views import APIView

from discounts import idempotency
from discounts.api.common import _IdName, _IdTitle, error_response
from discounts.models import Redemption
from discounts.redemption import (
    MAX_ID,
    redemption_create,
    redemption_request,
    redemption_verify,
    redemption_void,
    redemptions_visible,
)
from merchants.apikeys import ApiKeyAuthentication, PosPrincipal
from portal.api import Pagination
from portal.errors import NotFound, ValidationFailed
from portal.health import redis_client

logger = logging.getLogger(__name__)

# --- Authentication, permission, rate limit ----------------------------------------------------


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.apikeys.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`",
        }


class IsPosClient(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.user, PosPrincipal)


class RateLimited(exceptions.Throttled):
    default_detail = "请求过于频繁。"
    extra_detail_singular = extra_detail_plural = "请在 {wait} 秒后重试。"


_redis_down_until = 0.0
REDIS_RETRY_AFTER_FAILURE = 10.0  # seconds without trying Redis after it failed once


# One command per request: INCR, and on a window's first request the expiry too (atomic in Redis).
_COUNT_IN_WINDOW = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""


@functools.cache
def _counter_script(client: redis.Redis):
    return client.register_script(_COUNT_IN_WINDOW)


def rate_count(key: str, window_seconds: int) -> int | None:
    """Increment a fixed-window counter in Redis; None when Redis is unavailable.

    A redemption must never depend on Redis: when it is down the limit is not applied (fail open),
    and for a few seconds after a failure Redis is not even tried, so requests do not each wait for
    a connect timeout."""
    global _redis_down_until
    if time.monotonic() < _redis_down_until:
        return None
    try:
        return int(_counter_script(redis_client())(keys=[key], args=[window_seconds * 2]))
    except (redis.RedisError, OSError):
        _redis_down_until = time.monotonic() + REDIS_RETRY_AFTER_FAILURE
        logger.warning("POS rate limit not applied: Redis unavailable")
        return None


class PosKeyRateThrottle(throttling.BaseThrottle):
    """``settings.POS_RATE_LIMIT_PER_MINUTE`` requests per API key per clock minute."""

    window = 60

    def allow_request(self, request, view):
        limit = settings.POS_RATE_LIMIT_PER_MINUTE
        if not limit or not isinstance(request.user, PosPrincipal):
            return True
        now = time.time()
        slot = int(now // self.window)
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        count = rate_count(f"{prefix}:pos-rate:{request.user.key.pk}:{slot}", self.window)
        if count is None:  # Redis down: no limit applied, so none is announced
            return True
        reset = self.window - int(now % self.window)
        # The RateLimit-* headers of every POS answer (draft-ietf-httpapi-ratelimit-headers):
        # the limit of the window, what is left of it and the seconds until it starts anew.
        request._rate_limit = {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(limit - count, 0)),
            "RateLimit-Reset": str(reset),
        }
        if count <= limit:
            return True
        self._wait = reset
        return False

    def wait(self):
        return getattr(self, "_wait", None)


class PosView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsPosClient]
    throttle_classes = [PosKeyRateThrottle]

    def throttled(self, request, wait):
        raise RateLimited(wait)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        for header, value in getattr(request, "_rate_limit", {}).items():
            response[header] = value
        return response


# --- Serializers ---------------------------------------------------------------------------------


_AUTH_ERRORS = {
    401: error_response("Missing, unknown or revoked API key", ["unauthenticated"]),
    429: error_response("Too many requests for this key (see Retry-After)", ["rate_limited"]),
}


class CardIdentifySerializer(serializers.Serializer):
    card_number = serializers.CharField(
        required=False, max_length=40, help_text="卡号（与 member_token 二选一）"
    )
    member_token = serializers.CharField(
        required=False, max_length=500, help_text="会员卡页二维码中的短时令牌（与 card_number 二选一）"
    )

    def validate(self, attrs):
        if bool(attrs.get("card_number")) == bool(attrs.get("member_token")):
            raise serializers.ValidationError(
                {"card_number": [_("卡号与会员二维码必须且只能提供一项。")]}, code="invalid"
            )
        return attrs


class VerifyRequestSerializer(CardIdentifySerializer):
    store = serializers.IntegerField(
        required=False, allow_null=True, help_text="门店编号（密钥限定门店时可省略）"
    )


class VerifyOfferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    eligible = serializers.BooleanField()
    reason = serializers.CharField(required=False, help_text="不可用时的原因")
    reason_code = serializers.CharField(required=False, help_text="不可用原因的错误码（同核销拒绝码）")
    remaining_today = serializers.IntegerField(allow_null=True, help_text="今日剩余名额；null 表示不限量")


class VerifyResponseSerializer(serializers.Serializer):
    card_number_masked = serializers.CharField()
    member_name_masked = serializers.CharField()
    status = serializers.CharField(help_text="卡状态：issued、active、frozen、replaced、cancelled")
    offers = VerifyOfferSerializer(many=True)


class RedemptionCreateSerializer(CardIdentifySerializer):
    offer = serializers.IntegerField()
    store = serializers.IntegerField(
        required=False, allow_null=True, help_text="门店编号（密钥限定门店时可省略）"
    )
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, help_text="消费金额（元）"
    )
    units = serializers.IntegerField(min_value=1, max_value=1000, default=1)


class VoidRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class RedemptionSerializer(serializers.ModelSerializer):
    offer = _IdTitle()
    store = _IdName()
    card_number_masked = serializers.CharField(source="card.number_masked")
    member_name_masked = serializers.CharField(source="member.name_masked")

    class Meta:
        model = Redemption
        fields = [
            "id",
            "offer",
            "store",
            "card_number_masked",
            "member_name_masked",
            "units",
            "amount",
            "discount",
            "payable",
            "union_subsidy",
            "status",
            "created_at",
            "voided_at",
        ]
        read_only_fields = fields


_DATETIME = serializers.DateTimeField()


def _money(value) -> str:
    return f"{value:.2f}"


def redemption_body(redemption: Redemption) -> dict:
    """The redemption as RedemptionSerializer shows it, built directly (this is on the hot path of
    every redemption) from plain JSON types, so it can be stored for replays."""
    return {
        "id": redemption.pk,
        "offer": {"id": redemption.offer.pk, "title": redemption.offer.title},
        "store": {"id": redemption.store.pk, "name": redemption.store.name},
        "card_number_masked": redemption.card.number_masked,
        "member_name_masked": redemption.member.name_masked,
        "units": redemption.units,
        "amount": _money(redemption.amount),
        "discount": _money(redemption.discount),
        "payable": _money(redemption.payable),
        "union_subsidy": _money(redemption.union_subsidy),
        "status": redemption.status,
        "created_at": _DATETIME.to_representation(redemption.created_at),
        "voided_at": _DATETIME.to_representation(redemption.voided_at) if redemption.voided_at else None,
    }


def _invalid(serializer) -> ValidationFailed:
    fields = {
        name: [str(error) for error in (errors if isinstance(errors, list) else [errors])]
        for name, errors in serializer.errors.items()
    }
    message = fields.pop("non_field_errors", [_("提交的数据有误。")])[0]
    return ValidationFailed(message, fields=fields or None)


# --- Views ---------------------------------------------------------------------------------------


class CardVerifyView(PosView):
    @extend_schema(
        operation_id="pos_cards_verify",
        summary="Verify a card and list the offers the member can use now",
        tags=["POS"],
        request=VerifyRequestSerializer,
        responses={
            200: VerifyResponseSerializer,
            400: error_response("Invalid input", ["validation_error"]),
            **_AUTH_ERRORS,
            403: error_response("Store not allowed for this key", ["store_not_allowed"]),
            404: error_response("Unknown card, or an expired/forged member token", ["card_not_found"]),
        },
    )
    def post(self, request):
        serializer = VerifyRequestSerializer(data=request.data)
        if not serializer.is_valid():
            raise _invalid(serializer)
        data = serializer.validated_data
        principal = request.user
        result = redemption_verify(
            merchant=principal.merchant,
            card_number=data.get("card_number"),
            member_token=data.get("member_token"),
            store_id=data.get("store"),
            api_key=principal.key,
        )
        offers = []
        for check in result.offers:
            item = {"id": check.offer.pk, "title": check.offer.title, "eligible": check.eligible}
            if not check.eligible:
                item["reason"] = check.reason
                item["reason_code"] = check.reason_code
            item["remaining_today"] = check.remaining_today
            offers.append(item)
        return Response(
            {
                "card_number_masked": result.card.number_masked,
                "member_name_masked": result.member.name_masked,
                "status": result.card.status,
                "offers": offers,
            }
        )


_REFUSALS = [
    "card_inactive",
    "member_inactive",
    "offer_not_active",
    "not_eligible",
    "member_limit_reached",
    "quota_exhausted",
    "budget_exhausted",
    "request_in_progress",
]


class RedemptionListCreateView(PosView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="pos_redemptions_create",
        summary="Redeem an offer (idempotent)",
        tags=["POS"],
        parameters=[
            OpenApiParameter(
                idempotency.HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="1–255 printable ASCII characters. A retry with the same key and body within "
                "24 h returns the first response with header `Idempotent-Replayed: true`. Bodies are "
                'compared by meaning: `100`, `100.0` and `"100.00"` are one amount, a card number '
                "with or without spaces one card.",
            )
        ],
        request=RedemptionCreateSerializer,
        responses={
            201: RedemptionSerializer,
            400: error_response("Invalid input or missing Idempotency-Key", ["validation_error"]),
            **_AUTH_ERRORS,
            403: error_response(
                "Not this merchant's store or offer", ["store_not_allowed", "offer_not_yours"]
            ),
            404: error_response("Unknown offer or card", ["offer_not_found", "card_not_found"]),
            409: error_response("Refused by a rule, or the same key is still being processed", _REFUSALS),
            422: error_response(
                "Idempotency-Key already used with a different body", ["idempotency_key_reused"]
            ),
        },
    )
    def post(self, request):
        key = idempotency.clean_key(request.headers.get(idempotency.HEADER))
        body = request.data
        if not isinstance(body, dict):
            raise ValidationFailed(_("请求体必须是 JSON 对象。"))
        principal = request.user
        # A malformed body is refused before the key is claimed, so the corrected request can be
        # sent again with the same key.
        serializer = RedemptionCreateSerializer(data=body)
        if not serializer.is_valid():
            raise _invalid(serializer)
        data = serializer.validated_data

        def redeem(claim) -> tuple[int, dict]:
            answer = {}

            def answer_for(redemption: Redemption) -> dict:
                answer.update(redemption_body(redemption))
                return answer

            redemption = redemption_create(
                merchant=principal.merchant,
                store_id=data.get("store"),
                offer_id=data["offer"],
                card_number=data.get("card_number"),
                member_token=data.get("member_token"),
                amount=data["amount"],
                units=data["units"],
                idempotency_key=key,
                api_key=principal.key,
                claim=claim,
                answer_for=answer_for,
            )
            answer["id"] = redemption.pk
            return 201, answer

        # The redemption and its stored answer are one statement (see redemption_create). A retry
        # is recognised by what it asks for, however it spells it (redemption_request).
        request_meaning = redemption_request(
            offer=data["offer"],
            store=data.get("store"),
            amount=data["amount"],
            units=data["units"],
            card_number=data.get("card_number"),
            member_token=data.get("member_token"),
            api_key=principal.key,
        )
        outcome = idempotency.idempotent_call(
            merchant_id=principal.merchant.pk, key=key, body=request_meaning, handler=redeem
        )
        response = Response(outcome.body, status=outcome.status)
        if outcome.replayed:
            response[idempotency.REPLAY_HEADER] = "true"
        return response

    @extend_schema(
        operation_id="pos_redemptions_list",
        summary="The merchant's own redemptions, newest first",
        tags=["POS"],
        parameters=[
            OpenApiParameter("date", OpenApiTypes.DATE, description="Local day (Asia/Shanghai), YYYY-MM-DD"),
            OpenApiParameter("store", OpenApiTypes.INT, description="Store id"),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={
            200: RedemptionSerializer(many=True),
            400: error_response("Invalid filter", ["validation_error"]),
            **_AUTH_ERRORS,
        },
    )
    def get(self, request):
        principal = request.user
        queryset = redemptions_visible(
            merchant=principal.merchant, store_id=principal.key.store_id
        ).select_related("offer", "store", "card", "member")
        raw_day = request.query_params.get("date")
        if raw_day:
            try:
                queryset = queryset.filter(local_day=date.fromisoformat(raw_day))
            except ValueError:
                raise ValidationFailed(
                    _("日期格式应为 YYYY-MM-DD。"), fields={"date": [_("日期格式应为 YYYY-MM-DD。")]}
                ) from None
        raw_store = request.query_params.get("store")
        if raw_store:
            if not raw_store.isdigit() or int(raw_store) > MAX_ID:
                raise ValidationFailed(_("门店编号不正确。"), fields={"store": [_("请填写有效的门店编号。")]})
            queryset = queryset.filter(store_id=int(raw_store))
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset.order_by("-created_at", "-id"), request, view=self)
        return paginator.get_paginated_response(RedemptionSerializer(page, many=True).data)


class RedemptionVoidView(PosView):
    @extend_schema(
        operation_id="pos_redemptions_void",
        summary="Void a redemption of today, once",
        tags=["POS"],
        request=VoidRequestSerializer,
        responses={
            200: RedemptionSerializer,
            400: error_response("Invalid input", ["validation_error"]),
            **_AUTH_ERRORS,
            404: error_response(
                "Unknown redemption, another merchant's, or another store's for a pinned key", ["not_found"]
            ),
            409: error_response("Already voided, or not of today", ["already_voided", "void_window_closed"]),
        },
    )
    def post(self, request, pk: int):
        principal = request.user
        redemption = (
            redemptions_visible(merchant=principal.merchant, store_id=principal.key.store_id)
            .select_related("offer", "store", "card", "member")
            .filter(pk=pk)
            .first()
            if pk <= MAX_ID
            else None
        )
        if redemption is None:
            raise NotFound(_("未找到该核销记录。"))
        serializer = VoidRequestSerializer(data=request.data)
        if not serializer.is_valid():
            raise _invalid(serializer)
        redemption = redemption_void(
            redemption=redemption, reason=serializer.validated_data["reason"], api_key=request.user.key
        )
        return Response(redemption_body(redemption))
