"""POS API (v1): verify a card, redeem, read, list, void — the contract merchants integrate against. Views
are thin: input serializer → service → output serializer (discounts.api.serializers).

Longer than most modules because each operation carries its schema here (codes per status, headers,
examples): the contract is read next to the code that keeps it."""

from __future__ import annotations

import functools
import logging
import time
from datetime import datetime

import redis
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, throttling
from rest_framework.response import Response
from rest_framework.views import APIView

from discounts import idempotency
from discounts.api.common import (
    IDEMPOTENCY_KEY_RULES,
    IDEMPOTENCY_KEY_SCHEMA,
    RATE_LIMIT_HEADERS,
    REPLAYED_HEADER,
    TEST_NOW_HEADER,
    error_response,
    integer_id,
)
from discounts.api.serializers import (
    REDEMPTION_REQUEST,
    REFUSAL_CODES,
    VERIFY_REQUEST,
    RedemptionCreateSerializer,
    RedemptionCursorPagination,
    RedemptionFilter,
    RedemptionPageSerializer,
    RedemptionSerializer,
    VerifyRequestSerializer,
    VerifyResponseSerializer,
    VoidRequestSerializer,
    VoucherUseRequestSerializer,
    VoucherUseSerializer,
    redemption_answer,
)
from discounts.models import Redemption
from discounts.redemption import (
    MAX_ID,
    redemption_create,
    redemption_request,
    redemption_verify,
    redemption_void,
    redemptions_visible,
)
from discounts.vouchers import voucher_code_for_merchant, voucher_code_use
from merchants.apikeys import ApiKeyAuthentication, PosPrincipal
from portal.api import PAGE_PARAMETERS, Pagination
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


# --- Schema pieces --------------------------------------------------------------------------------

_AUTH_ERRORS = {
    401: error_response("Missing, unknown or revoked API key", ["unauthenticated"]),
    429: error_response("Too many requests for this key (see Retry-After)", ["rate_limited"]),
}
_CLOSED = "merchant_not_open"
_EXAMPLE_REDEMPTION = {
    "id": 1042,
    "offer": {"id": 7, "title": "观影立减 20 元"},
    "store": {"id": 3, "name": "万达店"},
    "card_number_masked": "6217 **** **** 1234",
    "member_name_masked": "张*丰",
    "units": 1,
    "amount": "100.00",
    "discount": "20.00",
    "payable": "80.00",
    "union_subsidy": "0.00",
    "status": "completed",
    "merchant_reference": "T7-20261206-0042",
    "created_at": "2026-12-06T14:03:11.201344+08:00",
    "voided_at": None,
}
_EXAMPLE_VOIDED = {
    **_EXAMPLE_REDEMPTION,
    "status": "voided",
    "voided_at": "2026-12-06T14:10:02.518003+08:00",
}


def _error_example(name: str, code: str, message: str, status: int, fields=None) -> OpenApiExample:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return OpenApiExample(name, value={"error": error}, response_only=True, status_codes=[str(status)])


def _invalid(serializer) -> ValidationFailed:
    fields = {
        name: [str(error) for error in (errors if isinstance(errors, list) else [errors])]
        for name, errors in serializer.errors.items()
    }
    message = fields.pop("non_field_errors", [_("提交的数据有误。")])[0]
    return ValidationFailed(message, fields=fields or None)


def _now(request) -> datetime | None:
    """The ``Test-Now`` a test key may send (discounts.sandbox), or None for the real now."""
    raw = request.headers.get(TEST_NOW_HEADER.name)
    if raw is None:
        return None
    if not request.auth.is_test:
        raise ValidationFailed(
            _("只有测试密钥（pk_test_…）可以使用 Test-Now 请求头。"),
            fields={TEST_NOW_HEADER.name: [_("正式密钥不能指定时间。")]},
        )
    try:
        moment = parse_datetime(raw.strip())
    except ValueError:
        moment = None
    if moment is None or timezone.is_naive(moment):
        raise ValidationFailed(
            _("Test-Now 的格式不正确。"),
            fields={
                TEST_NOW_HEADER.name: [_("应为带时区的 ISO 8601 时间，例如 2026-12-07T10:00:00+08:00。")]
            },
        )
    return moment


def _visible(request):
    principal = request.user
    return redemptions_visible(merchant=principal.merchant, store_id=principal.key.store_id).select_related(
        "offer", "store", "card", "member"
    )


def _redemption_or_404(request, pk: int) -> Redemption:
    redemption = _visible(request).filter(pk=pk).first() if pk <= MAX_ID else None
    if redemption is None:
        raise NotFound(_("未找到该核销记录。"))
    return redemption


# --- Views ---------------------------------------------------------------------------------------


class CardVerifyView(PosView):
    @extend_schema(
        operation_id="pos_cards_verify",
        summary="Verify a card and list the offers the member can use now",
        description="Send exactly one of `card_number` and `member_token` (the QR code of the member's "
        "card page). Nothing is reserved: `remaining_today` may change before the redemption.",
        tags=["POS"],
        request=VERIFY_REQUEST,
        parameters=[TEST_NOW_HEADER, *RATE_LIMIT_HEADERS],
        responses={
            200: VerifyResponseSerializer,
            400: error_response("Invalid input", ["validation_error"]),
            **_AUTH_ERRORS,
            403: error_response(
                "Store not allowed for this key, or the merchant is not open today",
                ["store_not_allowed", _CLOSED],
            ),
            404: error_response("Unknown card, or an expired/forged member token", ["card_not_found"]),
        },
        examples=[
            OpenApiExample(
                "By card number", request_only=True, value={"card_number": "6217 0000 0000 1234", "store": 3}
            ),
            OpenApiExample(
                "By member QR token", request_only=True, value={"member_token": "eyJjIjo0Mn0:1t…"}
            ),
            OpenApiExample(
                "Verified",
                response_only=True,
                status_codes=["200"],
                value={
                    "card_number_masked": "6217 **** **** 1234",
                    "member_name_masked": "张*丰",
                    "status": "active",
                    "offers": [
                        {"id": 7, "title": "观影立减 20 元", "eligible": True, "remaining_today": 38},
                        {
                            "id": 9,
                            "title": "困难职工专享",
                            "eligible": False,
                            "reason": "该优惠仅限特定群体会员使用。",
                            "reason_code": "not_eligible",
                            "remaining_today": None,
                        },
                    ],
                },
            ),
            _error_example(
                "Unknown card", "card_not_found", "未找到该会员卡，请核对卡号或请会员刷新二维码。", 404
            ),
        ],
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
            now=_now(request),
        )
        offers = []
        for check in result.offers:
            item = {"id": check.offer.pk, "title": check.offer.title, "eligible": check.eligible}
            if not check.eligible:
                item["reason"] = check.reason
                item["reason_code"] = check.reason_code
            item["remaining_today"] = check.remaining_today
            offers.append(item)
        answer = {
            "card_number_masked": result.card.number_masked,
            "member_name_masked": result.member.name_masked,
            "status": result.card.status,
            "offers": offers,
        }
        return Response(VerifyResponseSerializer(answer).data)


class RedemptionListCreateView(PosView):
    @extend_schema(
        operation_id="pos_redemptions_create",
        summary="Redeem an offer (idempotent)",
        description="Send exactly one of `card_number` and `member_token`. " + IDEMPOTENCY_KEY_RULES,
        tags=["POS"],
        parameters=[
            OpenApiParameter(
                idempotency.HEADER,
                IDEMPOTENCY_KEY_SCHEMA,
                OpenApiParameter.HEADER,
                required=True,
                description=IDEMPOTENCY_KEY_RULES,
            ),
            TEST_NOW_HEADER,
            *RATE_LIMIT_HEADERS,
            REPLAYED_HEADER,
        ],
        request=REDEMPTION_REQUEST,
        responses={
            201: RedemptionSerializer,
            400: error_response("Invalid input or missing Idempotency-Key", ["validation_error"]),
            **_AUTH_ERRORS,
            403: error_response(
                "Not this merchant's store or offer, or the merchant is not open today",
                ["store_not_allowed", "offer_not_yours", _CLOSED],
            ),
            404: error_response("Unknown offer or card", ["offer_not_found", "card_not_found"]),
            409: error_response(
                "Refused by a rule, the member's QR token already used for a redemption, the merchant "
                "reference already used, or the same key still being processed (see Retry-After)",
                [*REFUSAL_CODES, "card_token_used", "merchant_reference_used", "request_in_progress"],
            ),
            422: error_response(
                "Idempotency-Key already used with a different body", ["idempotency_key_reused"]
            ),
        },
        examples=[
            OpenApiExample(
                "By card number",
                value={
                    "offer": 7,
                    "card_number": "6217000000001234",
                    "store": 3,
                    "amount": "100.00",
                    "merchant_reference": "T7-20261206-0042",
                },
                request_only=True,
            ),
            OpenApiExample(
                "By member QR token, two units",
                value={"offer": 7, "member_token": "eyJjIjo0Mn0:1t…", "amount": "90", "units": 2},
                request_only=True,
            ),
            OpenApiExample("Redeemed", value=_EXAMPLE_REDEMPTION, response_only=True, status_codes=["201"]),
            _error_example("Quota used up", "quota_exhausted", "今日名额已用完。", 409),
            _error_example(
                "Key reused", "idempotency_key_reused", "该 Idempotency-Key 已用于另一个不同的请求。", 422
            ),
        ],
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
        reference = data.get("merchant_reference", "")
        now = _now(request)

        def redeem(claim) -> tuple[int, dict]:
            answer = {}

            def answer_for(redemption: Redemption) -> dict:
                answer.update(redemption_answer(redemption))
                return answer

            redemption = redemption_create(
                merchant=principal.merchant,
                store_id=data.get("store"),
                offer_id=data["offer"],
                card_number=data.get("card_number"),
                member_token=data.get("member_token"),
                amount=data["amount"],
                units=data["units"],
                merchant_reference=reference,
                idempotency_key=key,
                api_key=principal.key,
                claim=claim,
                answer_for=answer_for,
                now=now,
            )
            # The stored answer got its id from the database in the recording statement.
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
            merchant_reference=reference,
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
        description="Filters combine. Page numbers (`page`, `page_size`) as in v1; for large merchants "
        "send `cursor` (empty for the first page) and follow `next`: cursor pages stay stable while "
        "new redemptions arrive and carry no `count`. A key pinned to a store sees that store's only. "
        "A till that lost an answer finds its redemption by `idempotency_key` or `merchant_reference`.",
        tags=["POS"],
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter(
                "cursor",
                {"type": "string", "maxLength": 200},
                description="Cursor paging: empty for the first page, then the `cursor` of `next`",
            ),
            *RATE_LIMIT_HEADERS,
        ],
        filters=True,
        responses={
            200: RedemptionPageSerializer,
            400: error_response("Invalid filter or cursor", ["validation_error"]),
            **_AUTH_ERRORS,
        },
        examples=[
            OpenApiExample(
                "One page",
                response_only=True,
                status_codes=["200"],
                value={
                    "count": 1,
                    "next": None,
                    "previous": None,
                    "results": [_EXAMPLE_REDEMPTION],
                },
            )
        ],
    )
    def get(self, request):
        filters = RedemptionFilter(request.query_params, queryset=_visible(request))
        if not filters.is_valid():
            fields = {name: [str(e) for e in errors] for name, errors in filters.errors.items()}
            raise ValidationFailed(_("筛选条件不正确。"), fields=fields)
        queryset = filters.qs.order_by("-created_at", "-id")
        paginator = RedemptionCursorPagination() if "cursor" in request.query_params else Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(RedemptionSerializer(page, many=True).data)

    # For the schema: the list's filters come from this FilterSet.
    filterset_class = RedemptionFilter
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        return Redemption.objects.none()


class RedemptionDetailView(PosView):
    @extend_schema(
        operation_id="pos_redemptions_retrieve",
        summary="One of the merchant's redemptions",
        tags=["POS"],
        parameters=[integer_id("id", "Redemption id"), *RATE_LIMIT_HEADERS],
        responses={
            200: RedemptionSerializer,
            **_AUTH_ERRORS,
            404: error_response(
                "Unknown redemption, another merchant's, or another store's for a pinned key", ["not_found"]
            ),
        },
        examples=[
            OpenApiExample("Found", value=_EXAMPLE_REDEMPTION, response_only=True, status_codes=["200"])
        ],
    )
    def get(self, request, pk: int):
        return Response(redemption_answer(_redemption_or_404(request, pk)))


class RedemptionVoidView(PosView):
    @extend_schema(
        operation_id="pos_redemptions_void",
        summary="Void a redemption of today, once",
        description="With an `Idempotency-Key` (recommended), a retry of the same void gets the void "
        "again with `Idempotent-Replayed: true` instead of 409 `already_voided`. " + IDEMPOTENCY_KEY_RULES,
        tags=["POS"],
        parameters=[
            integer_id("id", "Redemption id"),
            OpenApiParameter(
                idempotency.HEADER,
                IDEMPOTENCY_KEY_SCHEMA,
                OpenApiParameter.HEADER,
                required=False,
                description="Optional here; same rules as for a redemption.",
            ),
            TEST_NOW_HEADER,
            *RATE_LIMIT_HEADERS,
            REPLAYED_HEADER,
        ],
        request=VoidRequestSerializer,
        responses={
            200: RedemptionSerializer,
            400: error_response("Invalid input", ["validation_error"]),
            **_AUTH_ERRORS,
            404: error_response(
                "Unknown redemption, another merchant's, or another store's for a pinned key", ["not_found"]
            ),
            409: error_response(
                "Already voided, not of today, or the same key still being processed",
                ["already_voided", "void_window_closed", "counter_out_of_step", "request_in_progress"],
            ),
            422: error_response(
                "Idempotency-Key already used with a different body", ["idempotency_key_reused"]
            ),
        },
        examples=[
            OpenApiExample("Void", value={"reason": "顾客退票"}, request_only=True),
            OpenApiExample("Voided", value=_EXAMPLE_VOIDED, response_only=True, status_codes=["200"]),
            _error_example("Not of today", "void_window_closed", "只能撤销当天的核销。", 409),
        ],
    )
    def post(self, request, pk: int):
        principal = request.user
        redemption = _redemption_or_404(request, pk)
        serializer = VoidRequestSerializer(data=request.data)
        if not serializer.is_valid():
            raise _invalid(serializer)
        reason = serializer.validated_data["reason"]
        now = _now(request)
        raw_key = request.headers.get(idempotency.HEADER)
        if raw_key is None:
            redemption = redemption_void(redemption=redemption, reason=reason, api_key=principal.key, now=now)
            return Response(redemption_answer(redemption))

        key = idempotency.clean_key(raw_key)

        def void(claim) -> tuple[int, dict]:
            # The void and its stored answer commit together, so a retry finds either both or neither.
            with transaction.atomic():
                voided = redemption_void(redemption=redemption, reason=reason, api_key=principal.key, now=now)
                answer = redemption_answer(voided)
                idempotency.claim_answer(claim, 200, answer)
            return 200, answer

        outcome = idempotency.idempotent_call(
            merchant_id=principal.merchant.pk,
            key=key,
            body={"void": redemption.pk, "reason": reason.strip()},
            handler=void,
        )
        response = Response(outcome.body, status=outcome.status)
        if outcome.replayed:
            response[idempotency.REPLAY_HEADER] = "true"
        return response


_EXAMPLE_VOUCHER_USED = {
    "offer": {"id": 31, "title": "线上商城满100减20"},
    "code": "K7QW3ZP9M2XA",
    "member_name_masked": "张*丰",
    "claimed_at": "2026-12-05T20:14:03.118210+08:00",
    "used_at": "2026-12-06T10:02:45.902311+08:00",
}


class VoucherUseView(PosView):
    @extend_schema(
        operation_id="pos_vouchers_use",
        summary="Report that a member used a code of an online offer",
        description="The partner's shop reports the use of a code a member claimed, so the member's "
        "history and the monthly statement show it. Reporting the same code again answers the first "
        "report (same `used_at`): safe to retry.",
        tags=["POS"],
        parameters=RATE_LIMIT_HEADERS,
        request=VoucherUseRequestSerializer,
        responses={
            200: VoucherUseSerializer,
            400: error_response("Invalid input", ["validation_error"]),
            **_AUTH_ERRORS,
            404: error_response(
                "No claimed code of that online offer of this merchant (unknown, unclaimed, or another "
                "merchant's)",
                ["code_not_found"],
            ),
        },
        examples=[
            OpenApiExample("Use", value={"offer": 31, "code": "K7QW3ZP9M2XA"}, request_only=True),
            OpenApiExample("Used", value=_EXAMPLE_VOUCHER_USED, response_only=True, status_codes=["200"]),
            _error_example("Unknown code", "code_not_found", "没有这个已领取的券码，请核对优惠和券码。", 404),
        ],
    )
    def post(self, request):
        serializer = VoucherUseRequestSerializer(data=request.data)
        if not serializer.is_valid():
            raise _invalid(serializer)
        data = serializer.validated_data
        principal = request.user
        voucher = voucher_code_for_merchant(
            merchant=principal.merchant, offer_id=data["offer"], code=data["code"]
        )
        voucher = voucher_code_use(voucher=voucher, api_key=principal.key)
        return Response(VoucherUseSerializer(voucher).data)
