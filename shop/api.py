"""The shop over the POS API (v1): the till confirms a member's order by the code the member shows.
Another merchant's code is a 404, like an unknown one; confirming again answers the same order."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from discounts.api.common import RATE_LIMIT_HEADERS, error_response
from discounts.api.pos import PosView
from portal.errors import NotFound, ValidationFailed
from shop.models import Order
from shop.selectors import merchant_order_by_code
from shop.services import order_confirm

_AUTH_ERRORS = {
    401: error_response("Missing, unknown or revoked API key", ["unauthenticated"]),
    429: error_response("Too many requests for this key (see Retry-After)", ["rate_limited"]),
}
_MONEY = {"max_digits": 12, "decimal_places": 2}


class ShopOrderConfirmRequestSerializer(serializers.Serializer):
    code = serializers.CharField(
        max_length=40, help_text="The 12-character order code the member shows (spaces and dashes ignored)"
    )


class _ShopProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class ShopOrderSerializer(serializers.ModelSerializer):
    product = _ShopProductSerializer()
    member_name_masked = serializers.CharField(source="member.name_masked")
    card_number_masked = serializers.CharField(source="card.number_masked")
    unit_price = serializers.DecimalField(**_MONEY)
    amount = serializers.DecimalField(**_MONEY)

    class Meta:
        model = Order
        fields = [
            "code", "status", "product", "quantity", "unit_price", "amount", "member_name_masked",
            "card_number_masked", "reserved_at", "expires_at", "confirmed_at",
        ]  # fmt: skip


_EXAMPLE_ORDER = {
    "code": "K7QW3ZP9M2XA",
    "status": "confirmed",
    "product": {"id": 12, "title": "会员专享 5 升花生油"},
    "quantity": 2,
    "unit_price": "59.90",
    "amount": "119.80",
    "member_name_masked": "张*丰",
    "card_number_masked": "6217 **** **** 1234",
    "reserved_at": "2026-12-06T09:12:40+08:00",
    "expires_at": "2026-12-08T09:12:40+08:00",
    "confirmed_at": "2026-12-06T15:03:11+08:00",
}


def _error_example(name: str, code: str, message: str, status: int) -> OpenApiExample:
    return OpenApiExample(
        name,
        value={"error": {"code": code, "message": message}},
        response_only=True,
        status_codes=[str(status)],
    )


class ShopOrderConfirmView(PosView):
    @extend_schema(
        operation_id="pos_shop_orders_confirm",
        summary="Confirm a member's shop order by its code (idempotent)",
        description="The member shows the order code of a reservation made in the members' shop; the "
        "till confirms it when the goods are handed over. Confirming a confirmed order answers it again "
        "(200). A code of another merchant is 404 like an unknown one.",
        tags=["POS"],
        request=ShopOrderConfirmRequestSerializer,
        parameters=[*RATE_LIMIT_HEADERS],
        responses={
            200: ShopOrderSerializer,
            400: error_response("Invalid input", ["validation_error"]),
            **_AUTH_ERRORS,
            404: error_response("No order of this merchant with this code", ["order_not_found"]),
            409: error_response(
                "The order was cancelled or has expired", ["order_cancelled", "order_expired"]
            ),
        },
        examples=[
            OpenApiExample("By code", value={"code": "K7QW3ZP9M2XA"}, request_only=True),
            OpenApiExample("Confirmed", value=_EXAMPLE_ORDER, response_only=True, status_codes=["200"]),
            _error_example("Unknown code", "order_not_found", "未找到该订单。", 404),
            _error_example("Expired", "order_expired", "该订单已过期。", 409),
        ],
    )
    def post(self, request):
        serializer = ShopOrderConfirmRequestSerializer(data=request.data)
        if not isinstance(request.data, dict) or not serializer.is_valid():
            fields = {
                name: [str(error) for error in errors]
                for name, errors in (serializer.errors if isinstance(request.data, dict) else {}).items()
            }
            raise ValidationFailed(_("请提供订单码。"), fields=fields or None)
        principal = request.user
        order = merchant_order_by_code(principal.merchant, serializer.validated_data["code"])
        if order is None:
            raise NotFound(_("未找到该订单。"), code="order_not_found")
        order = order_confirm(order=order, api_key=principal.key)
        return Response(ShopOrderSerializer(order).data)
