"""The member's own redemption history in the member API: ``GET /api/v1/me/redemptions/`` with the
total saved (the page ``/me/redemptions/`` reads the same ``discounts.history``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from discounts import saved
from discounts.api.common import _IdName, _IdTitle, error_response
from discounts.history import member_redemptions, member_total_saved
from discounts.models import Redemption
from members.auth import IsMember, MemberSessionAuthentication, MemberTokenAuthentication


class MemberRedemptionSerializer(serializers.ModelSerializer):
    offer = _IdTitle()
    store = _IdName()
    merchant = _IdName()
    saved = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="会员节省的金额：优惠金额或工会补贴"
    )

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


class MemberRedemptionListView(generics.ListAPIView):
    authentication_classes = [MemberTokenAuthentication, MemberSessionAuthentication]
    permission_classes = [IsMember]
    serializer_class = MemberRedemptionSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no member signed in
            return Redemption.objects.none()
        return member_redemptions(self.request.user)

    @extend_schema(
        operation_id="me_redemptions_list",
        summary="The signed-in member's redemptions and total saved",
        tags=["Member"],
        responses={
            200: inline_serializer(
                "MemberRedemptionPage",
                {
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "total_saved": serializers.DecimalField(max_digits=14, decimal_places=2),
                    "results": MemberRedemptionSerializer(many=True),
                },
            ),
            401: error_response("Not signed in", ["unauthenticated"]),
        },
    )
    def get(self, request, *args, **kwargs):
        response = self.list(request, *args, **kwargs)
        total = member_total_saved(request.user)
        response.data["total_saved"] = f"{total:.2f}"
        return response


class MemberSavedView(APIView):
    """``GET /api/v1/me/saved/``: the signed-in member's saved offers and merchants."""

    authentication_classes = [MemberTokenAuthentication, MemberSessionAuthentication]
    permission_classes = [IsMember]

    @extend_schema(
        operation_id="me_saved_list",
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
    """``PUT`` saves a listed offer (201, or 200 when already saved); ``DELETE`` unsaves it (204)."""

    authentication_classes = [MemberTokenAuthentication, MemberSessionAuthentication]
    permission_classes = [IsMember]

    @extend_schema(
        operation_id="me_saved_offer_put",
        summary="Save an offer",
        tags=["Member"],
        request=None,
        responses={
            200: inline_serializer("SavedOfferResult", {"saved": serializers.BooleanField()}),
            401: error_response("Not signed in", ["unauthenticated"]),
            404: error_response("Not found", ["not_found"]),
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
            404: error_response("Not found", ["not_found"]),
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
        summary="Save a merchant",
        tags=["Member"],
        request=None,
        responses={
            200: inline_serializer("SavedMerchantResult", {"saved": serializers.BooleanField()}),
            401: error_response("Not signed in", ["unauthenticated"]),
            404: error_response("Not found", ["not_found"]),
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
            404: error_response("Not found", ["not_found"]),
        },
    )
    def delete(self, request, merchant_id: int):
        saved.merchant_unsave(member=request.user, merchant_id=merchant_id)
        return Response(status=204)
