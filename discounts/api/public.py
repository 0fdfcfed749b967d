"""Public offer API: categories, the offer list with the same filters as the home page, and one
offer with today's remaining quota and its rules in plain words. Anyone may read it."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from discounts import selectors
from discounts.api.common import error_response
from discounts.models import Offer
from merchants.models import Category, Store
from merchants.selectors import category_list
from portal.api import PAGE_PARAMETERS, Pagination


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["code", "name", "name_en", "icon", "sort_order"]


class MerchantBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    category = serializers.CharField(source="category.code")
    category_name = serializers.CharField(source="category.name")
    region = serializers.CharField(source="region.name")


class OfferListSerializer(serializers.ModelSerializer):
    merchant = MerchantBriefSerializer()
    headline = serializers.SerializerMethodField()
    remaining_today = serializers.SerializerMethodField()
    distance_km = serializers.SerializerMethodField()
    eligible_union = serializers.SerializerMethodField()
    usable_today = serializers.SerializerMethodField()
    not_usable_words = serializers.SerializerMethodField()

    class Meta:
        model = Offer
        fields = [
            "id",
            "title",
            "kind",
            "headline",
            "channel",
            "funder",
            "merchant",
            "valid_from",
            "valid_until",
            "weekdays",
            "daily_quota",
            "remaining_today",
            "unit_label",
            "eligible_union",
            "eligible_groups",
            "distance_km",
            "usable_today",
            "not_usable_words",
        ]

    def get_headline(self, offer: Offer) -> str:
        return selectors.offer_headline(offer)

    def get_remaining_today(self, offer: Offer) -> int | None:
        return selectors.remaining_today(offer)

    def get_distance_km(self, offer: Offer) -> float | None:
        distance = getattr(offer, "distance_km", None)
        return None if distance is None else round(distance, 3)

    def get_usable_today(self, offer: Offer) -> bool:
        """Still usable today by anyone (the usability rule without a member)."""
        return selectors.offer_list_usability(offer).usable

    def get_not_usable_words(self, offer: Offer) -> str:
        """Why not, in the rule's member words ("仅周六、周日", "今日已抢光"); "" when usable."""
        return selectors.offer_list_usability(offer).words

    def get_eligible_union(self, offer: Offer) -> dict | None:
        if offer.eligible_union_id is None:
            return None
        return {"code": offer.eligible_union.code, "name": offer.eligible_union.name}


class StoreSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region.name")
    map_url = serializers.SerializerMethodField()

    class Meta:
        model = Store
        fields = ["id", "name", "address", "phone", "region", "latitude", "longitude", "map_url"]

    def get_map_url(self, store: Store) -> str:
        return selectors.store_map_url(store)


@extend_schema_field(
    {"type": "string", "nullable": True, "example": "11:00:00", "description": "北京时间，HH:MM:SS"}
)
class LocalTimeField(serializers.TimeField):
    """A time of day in Asia/Shanghai. Documented as plain text: OpenAPI's ``format: time`` means an
    RFC 3339 time with a zone offset, which a daily window does not have."""


class OfferDetailSerializer(OfferListSerializer):
    rules = serializers.SerializerMethodField()
    stores = serializers.SerializerMethodField()
    time_from = LocalTimeField(read_only=True, allow_null=True, label="每日开始时间")
    time_until = LocalTimeField(read_only=True, allow_null=True, label="每日结束时间")

    class Meta(OfferListSerializer.Meta):
        fields = [
            *OfferListSerializer.Meta.fields,
            "description",
            "percent_off",
            "amount_off",
            "min_spend",
            "fixed_price",
            "allowance_per_unit",
            "time_from",
            "time_until",
            "per_member_daily_limit",
            "per_member_total_limit",
            "rules",
            "stores",
        ]

    def get_rules(self, offer: Offer) -> list[str]:
        codes_left = self.context.get("codes_left")
        return selectors.offer_rules_in_words(
            offer, remaining=selectors.remaining_today(offer), codes_left=codes_left
        )

    @extend_schema_field(StoreSerializer(many=True))
    def get_stores(self, offer: Offer) -> list[dict]:
        return StoreSerializer(selectors.offer_stores(offer), many=True).data


_FILTER_PARAMETERS = [
    OpenApiParameter("category", OpenApiTypes.STR, description="分类代码，例如 entertainment"),
    OpenApiParameter("region", OpenApiTypes.STR, description="工会（地区）代码：该市或区县及其下级"),
    OpenApiParameter("q", OpenApiTypes.STR, description="关键词：优惠标题、说明、商家名称或分类（最多50字）"),
    OpenApiParameter("available_today", OpenApiTypes.BOOL, description="只看今日可用（1/0）"),
    OpenApiParameter(
        "mine", OpenApiTypes.BOOL, description="我能用（1/0）：无登录会员时同“今日可用”，登录会员按其卡判断"
    ),
    OpenApiParameter(
        "near", OpenApiTypes.STR, description="“纬度,经度”：按到最近门店的距离排序，例如 38.04,114.51"
    ),
]


_OFFER_EXAMPLE = {
    "id": 42,
    "title": "会员观影 10 元一张",
    "kind": "fixed_price",
    "headline": "会员价10元/张",
    "channel": "in_store",
    "funder": "cofunded",
    "merchant": {
        "id": 7,
        "name": "石家庄万达影城",
        "category": "entertainment",
        "category_name": "休闲娱乐",
        "region": "长安区",
    },
    "valid_from": "2026-01-01",
    "valid_until": "2026-12-31",
    "weekdays": [6, 7],
    "daily_quota": 200,
    "remaining_today": 57,
    "unit_label": "张",
    "eligible_union": None,
    "eligible_groups": [],
    "distance_km": 1.284,
    "usable_today": True,
    "not_usable_words": "",
}

_OFFER_DETAIL_EXAMPLE = {
    **_OFFER_EXAMPLE,
    "description": "周末场次，每人每日限购两张。",
    "percent_off": None,
    "amount_off": None,
    "min_spend": None,
    "fixed_price": "10.00",
    "allowance_per_unit": None,
    "time_from": "10:00:00",
    "time_until": "22:00:00",
    "per_member_daily_limit": 2,
    "per_member_total_limit": None,
    "rules": ["仅周六、周日", "每日 10:00–22:00", "每人每日限 2 张", "今日剩余 57 张"],
    "stores": [
        {
            "id": 11,
            "name": "万达广场店",
            "address": "石家庄市长安区建设北大街 1 号",
            "phone": "0311-80000000",
            "region": "长安区",
            "latitude": "38.053100",
            "longitude": "114.521400",
            "map_url": (
                "https://uri.amap.com/marker?position=114.521400%2C38.053100"
                "&name=%E4%B8%87%E8%BE%BE%E5%B9%BF%E5%9C%BA%E5%BA%97&src=union-card"
            ),
        }
    ],
}


class PublicApiMixin:
    authentication_classes: list = []
    permission_classes = [AllowAny]
    filter_backends: list = []


@extend_schema(
    tags=["offers"],
    summary="商家分类",
    examples=[
        OpenApiExample(
            "Categories",
            response_only=True,
            # One item: the schema shows it as the list's element.
            value={
                "code": "entertainment",
                "name": "休闲娱乐",
                "name_en": "Entertainment",
                "icon": "film",
                "sort_order": 1,
            },
        )
    ],
)
class CategoryListView(PublicApiMixin, generics.ListAPIView):
    serializer_class = CategorySerializer
    pagination_class = None

    def get_queryset(self):
        return category_list()


@extend_schema(
    tags=["offers"],
    summary="优惠列表",
    parameters=[
        *_FILTER_PARAMETERS,
        *PAGE_PARAMETERS,
    ],
    responses={
        200: OfferListSerializer(many=True),
        400: error_response("Unknown or invalid filter", ["validation_error"]),
    },
    examples=[
        # One item: the schema shows it as the page's element.
        OpenApiExample("Offers", response_only=True, value=_OFFER_EXAMPLE),
        OpenApiExample(
            "Bad filter",
            response_only=True,
            status_codes=["400"],
            value={
                "error": {
                    "code": "validation_error",
                    "message": "筛选条件不正确。",
                    "fields": {"near": ["位置格式应为“纬度,经度”，例如 38.04,114.51。"]},
                }
            },
        ),
    ],
)
class OfferListView(PublicApiMixin, generics.ListAPIView):
    """Published offers in their validity window of in-contract merchants. Unknown or invalid
    filters are a 400 ``validation_error``; the query count does not grow with the page size."""

    serializer_class = OfferListSerializer
    pagination_class = Pagination

    def get_queryset(self):
        filters = selectors.offer_filters_parse(self.request.query_params, strict=True)
        return selectors.offer_list(filters=filters)


@extend_schema(
    tags=["offers"],
    summary="优惠详情",
    parameters=[
        OpenApiParameter(
            "offer_id", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, OpenApiParameter.PATH
        )
    ],
    responses={
        200: OfferDetailSerializer,
        404: error_response("Unknown, unpublished or ended offer", ["offer_not_found", "not_found"]),
    },
    examples=[
        OpenApiExample("Offer", response_only=True, value=_OFFER_DETAIL_EXAMPLE),
        OpenApiExample(
            "Not listed",
            response_only=True,
            status_codes=["404"],
            value={"error": {"code": "offer_not_found", "message": "优惠不存在或已下架。"}},
        ),
    ],
)
class OfferDetailView(PublicApiMixin, generics.RetrieveAPIView):
    serializer_class = OfferDetailSerializer
    lookup_url_kwarg = "offer_id"

    def get_object(self):
        return selectors.offer_get_listed(self.kwargs["offer_id"])

    def retrieve(self, request, *args, **kwargs):
        offer = self.get_object()
        codes_left = selectors.voucher_codes_left(offer) if offer.channel == Offer.Channel.ONLINE else None
        serializer = self.get_serializer(offer, context={"request": request, "codes_left": codes_left})
        return Response(serializer.data)
