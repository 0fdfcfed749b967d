"""The member's own redemption history in the member API: ``GET /api/v1/me/redemptions/`` with the
total saved (the page ``/me/redemptions/`` reads the same ``discounts.history``); and claiming an
online offer's code, ``POST /api/v1/offers/{id}/claim/`` (the page's button calls the same service)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from discounts import saved
from discounts.api.common import _IdName, _IdTitle, error_response
from discounts.api.serializers import MoneyField
from discounts.history import member_redemptions, member_total_saved
from discounts.models import Redemption
from discounts.selectors import offer_get_listed
from discounts.vouchers import voucher_claim
from members.auth import IsMember, MemberSessionAuthentication, MemberTokenAuthentication
from portal.api import PAGE_PARAMETERS, Pagination


class MemberRedemptionSerializer(serializers.ModelSerializer):
    offer = _IdTitle()
    store = _IdName()
    merchant = _IdName()
    amount = MoneyField(read_only=True)
    discount = MoneyField(read_only=True)
    payable = MoneyField(read_only=True)
    union_subsidy = MoneyField(read_only=True)
    saved = MoneyField(read_only=True, help_text="会员节省的金额：优惠金额或工会补贴")

    class Meta:
        model = Redemption
        fields = [
            "id",
            "offer",
            "merchant",
            "store",
            "units",
            "amount",
            "discount",
            "payable",
            "union_subsidy",
            "saved",
            "status",
            "created_at",
            "voided_at",
        ]
        read_only_fields = fields


class MemberRedemptionPageSerializer(serializers.Serializer):
    """One page of the member's redemptions, with what the member saved in all of them."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    total_saved = MoneyField(help_text="全部未撤销核销累计节省的金额（元）")
    results = MemberRedemptionSerializer(many=True)


class MemberRedemptionListView(APIView):
    authentication_classes = [MemberTokenAuthentication, MemberSessionAuthentication]
    permission_classes = [IsMember]

    @extend_schema(
        operation_id="me_redemptions_list",
        summary="The signed-in member's redemptions and total saved",
        tags=["Member"],
        parameters=[
            *PAGE_PARAMETERS,
        ],
        responses={
            200: MemberRedemptionPageSerializer,
            401: error_response("Not signed in", ["unauthenticated"]),
        },
        examples=[
            OpenApiExample(
                "History",
                response_only=True,
                status_codes=["200"],
                value={
                    "count": 1,
                    "next": None,
                    "previous": None,
                    "total_saved": "20.00",
                    "results": [
                        {
                            "id": 1042,
                            "offer": {"id": 7, "title": "观影立减 20 元"},
                            "merchant": {"id": 2, "name": "星光影城"},
                            "store": {"id": 3, "name": "万达店"},
                            "units": 1,
                            "amount": "100.00",
                            "discount": "20.00",
                            "payable": "80.00",
                            "union_subsidy": "0.00",
                            "saved": "20.00",
                            "status": "completed",
                            "created_at": "2026-12-06T14:03:11.201344+08:00",
                            "voided_at": None,
                        }
                    ],
                },
            )
        ],
    )
    def get(self, request):
        paginator = Pagination()
        page = paginator.paginate_queryset(member_redemptions(request.user), request, view=self)
        response = paginator.get_paginated_response(MemberRedemptionSerializer(page, many=True).data)
        total = member_total_saved(request.user)
        response.data["total_saved"] = f"{total:.2f}"
        return response


# --- Claiming an online offer's code ----------------------------------------------------------------


class VoucherClaimOutput(serializers.Serializer):
    code = serializers.CharField(help_text="券码（在商家线上渠道使用）")
    offer = _IdTitle()
    claimed_at = serializers.DateTimeField()


class VoucherClaimView(APIView):
    """The member's "领取券码" of the offer page, over the API: the same service (``voucher_claim``),
    with its limits, quota and budget taken in one transaction."""

    authentication_classes = [MemberTokenAuthentication, MemberSessionAuthentication]
    permission_classes = [IsMember]

    @extend_schema(
        operation_id="me_voucher_claim",
        summary="Claim a one-time code of an online offer",
        tags=["Member"],
        request=None,
        parameters=[
            OpenApiParameter(
                "offer_id", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, OpenApiParameter.PATH
            )
        ],
        responses={
            201: VoucherClaimOutput,
            400: error_response("The offer is used in store: nothing to claim", ["validation_error"]),
            401: error_response("Not signed in", ["unauthenticated"]),
            404: error_response("Unknown, unpublished or ended offer", ["offer_not_found", "not_found"]),
            409: error_response(
                "Refused by a rule, or no code left",
                [
                    "offer_not_active",
                    "member_inactive",
                    "card_inactive",
                    "not_eligible",
                    "member_limit_reached",
                    "quota_exhausted",
                    "budget_exhausted",
                ],
            ),
        },
        examples=[
            OpenApiExample(
                "Claimed",
                response_only=True,
                status_codes=["201"],
                value={
                    "code": "K7Q2-9XMA",
                    "offer": {"id": 12, "title": "线上商城满 100 减 20"},
                    "claimed_at": "2026-12-06T09:12:44.118203+08:00",
                },
            )
        ],
    )
    def post(self, request, offer_id: int):
        offer = offer_get_listed(offer_id)
        voucher = voucher_claim(offer=offer, member=request.user)
        answer = {"code": voucher.code, "offer": offer, "claimed_at": voucher.claimed_at}
        return Response(VoucherClaimOutput(answer).data, status=201)


class MemberSavedView(APIView):
    """``GET /api/v1/me/saved/``: the signed-in member's saved offers and merchants."""

    authentication_classes = [MemberTokenAuthentication, MemberSessionAuthentication]
    permission_classes = [IsMember]

    @extend_schema(
        operation_id="me_saved_list",
        examples=[
            OpenApiExample(
                "Saved",
                response_only=True,
                status_codes=["200"],
                value={
                    "offers": [{"id": 7, "title": "观影立减 20 元", "merchant": "星光影城"}],
                    "merchants": [{"id": 2, "name": "星光影城"}],
                },
            )
        ],
        summary="The member's saved offers and merchants",
        tags=["Member"],
        responses={
            200: inline_serializer(
                "SavedItems",
                {
                    "offers": serializers.ListField(child=serializers.DictField()),
                    "merchants": serializers.ListField(child=serializers.DictField()),
                },
            ),
            401: error_response("Not signed in", ["unauthenticated"]),
        },
    )
    def get(self, request):
        member = request.user
        return Response(
            {
                "offers": [
                    {"id": s.offer_id, "title": s.offer.title, "merchant": s.offer.merchant.name}
                    for s in saved.member_saved_offers(member)
                ],
                "merchants": [
                    {"id": s.merchant_id, "name": s.merchant.name}
                    for s in saved.member_saved_merchants(member)
                ],
            }
        )


class MemberSavedOfferView(APIView):
    """``PUT`` saves a listed offer (200, saving it again changes nothing); ``DELETE`` unsaves it (204)."""

    authentication_classes = [MemberTokenAuthentication, MemberSessionAuthentication]
    permission_classes = [IsMember]

    @extend_schema(
        operation_id="me_saved_offer_put",
        examples=[
            OpenApiExample(
                "Saved", response_only=True, status_codes=["200"], value={"offer": 7, "saved": True}
            )
        ],
        summary="Save an offer",
        tags=["Member"],
        request=None,
        responses={
            200: inline_serializer(
                "SavedOfferResult", {"offer": serializers.IntegerField(), "saved": serializers.BooleanField()}
            ),
            401: error_response("Not signed in", ["unauthenticated"]),
            404: error_response("Unknown, unpublished or ended offer", ["offer_not_found", "not_found"]),
        },
    )
    def put(self, request, offer_id: int):
        saved.offer_save(member=request.user, offer_id=offer_id)
        return Response({"offer": offer_id, "saved": True})

    @extend_schema(
        operation_id="me_saved_offer_delete",
        summary="Unsave an offer",
        tags=["Member"],
        responses={
            204: None,
            401: error_response("Not signed in", ["unauthenticated"]),
            404: error_response("Unknown, unpublished or ended offer", ["offer_not_found", "not_found"]),
        },
    )
    def delete(self, request, offer_id: int):
        saved.offer_unsave(member=request.user, offer_id=offer_id)
        return Response(status=204)


class MemberSavedMerchantView(APIView):
    """``PUT`` saves a merchant with a listed offer; ``DELETE`` unsaves it (204)."""

    authentication_classes = [MemberTokenAuthentication, MemberSessionAuthentication]
    permission_classes = [IsMember]

    @extend_schema(
        operation_id="me_saved_merchant_put",
        examples=[
            OpenApiExample(
                "Saved", response_only=True, status_codes=["200"], value={"merchant": 2, "saved": True}
            )
        ],
        summary="Save a merchant",
        tags=["Member"],
        request=None,
        responses={
            200: inline_serializer(
                "SavedMerchantResult",
                {"merchant": serializers.IntegerField(), "saved": serializers.BooleanField()},
            ),
            401: error_response("Not signed in", ["unauthenticated"]),
            404: error_response(
                "Unknown merchant, or none of its offers is listed", ["merchant_not_found", "not_found"]
            ),
        },
    )
    def put(self, request, merchant_id: int):
        saved.merchant_save(member=request.user, merchant_id=merchant_id)
        return Response({"merchant": merchant_id, "saved": True})

    @extend_schema(
        operation_id="me_saved_merchant_delete",
        summary="Unsave a merchant",
        tags=["Member"],
        responses={
            204: None,
            401: error_response("Not signed in", ["unauthenticated"]),
            404: error_response(
                "Unknown merchant, or none of its offers is listed", ["merchant_not_found", "not_found"]
            ),
        },
    )
    def delete(self, request, merchant_id: int):
        saved.merchant_unsave(member=request.user, merchant_id=merchant_id)
        return Response(status=204)
