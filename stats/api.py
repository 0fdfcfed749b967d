"""Staff statistics API: coverage rows of a union's subtree, with ranks (session auth, staff only)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from members.models import Union
from portal.errors import NotFound
from portal.scoping import staff_union_path
from stats.coverage import (
    VIEW_PERMISSION,
    coverage_rows,
    coverage_union_for,
    definitions_payload,
    latest_snapshot_day,
)


class IsCoverageStaff(BasePermission):
    message = _("只有工会工作人员可以查看统计数据。")

    def has_permission(self, request, view):
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and staff_union_path(user) is not None
            and user.has_perm(VIEW_PERMISSION)
        )


class CoverageQuerySerializer(serializers.Serializer):
    union = serializers.CharField(required=False, max_length=32, help_text="工会代码；默认为本人所属工会。")
    level = serializers.ChoiceField(
        required=False,
        choices=[Union.Level.CITY, Union.Level.COUNTY, Union.Level.WORKPLACE],
        help_text="返回该层级的全部单位；不填则返回直接下级单位。",
    )
    date = serializers.DateField(required=False, help_text="快照日期 YYYY-MM-DD；默认为最近一次快照。")


class CoverageRowSerializer(serializers.Serializer):
    code = serializers.CharField(source="union.code")
    name = serializers.CharField(source="union.name")
    level = serializers.CharField()
    members = serializers.IntegerField()
    cardholders = serializers.IntegerField()
    coverage = serializers.DecimalField(max_digits=7, decimal_places=4, help_text="持卡人数 ÷ 会员数，0–1。")
    rank_among_siblings = serializers.IntegerField(allow_null=True)
    rank_in_level = serializers.IntegerField(allow_null=True)
    workplace_unions = serializers.IntegerField(help_text="本单位范围内的基层工会数。")
    roster_unions = serializers.IntegerField(help_text="其中已导入会员名册的个数（会员数按名册计）。")
    reported_unions = serializers.IntegerField(help_text="其中尚无名册、会员数按上报人数计的个数。")
    card_data_unions = serializers.IntegerField(help_text="其中已上报办卡资料的个数。")
    reported_members = serializers.IntegerField(help_text="会员数中按上报人数计的部分。")


_ERROR = inline_serializer(
    name="CoverageError",
    fields={
        "error": inline_serializer(
            name="CoverageErrorBody",
            fields={"code": serializers.CharField(), "message": serializers.CharField()},
        )
    },
)


COVERAGE_EXAMPLE = {
    "date": "2026-12-05",
    "union": {"code": "1301", "name": "石家庄市总工会"},
    "definitions": [
        {"key": "members", "label": "会员数", "text": "本单位及全部下级工会中会籍状态为“在会”的会员人数；…"},
    ],
    "rows": [
        {
            "code": "130102",
            "name": "长安区总工会",
            "level": "county",
            "members": 48210,
            "cardholders": 9132,
            "coverage": "0.1894",
            "rank_among_siblings": 2,
            "rank_in_level": 17,
            "workplace_unions": 64,
            "roster_unions": 51,
            "reported_unions": 9,
            "card_data_unions": 58,
            "reported_members": 3120,
        }
    ],
}


class CoverageStatsView(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsCoverageStaff]

    @extend_schema(
        operation_id="stats_coverage",
        examples=[
            OpenApiExample("Coverage", response_only=True, status_codes=["200"], value=COVERAGE_EXAMPLE),
        ],
        summary="发卡覆盖面统计",
        description=(
            "Coverage rows of one snapshot day inside the caller's union subtree. members = active "
            "members of the subtree, a workplace union without a roster counted by its reported member "
            "count (roster_unions, reported_unions and reported_members say how each row was made); "
            "cardholders = those with a live card (issued or active); coverage = cardholders ÷ members "
            "(0 when there are no members). card_data_unions / workplace_unions and roster_unions / "
            "workplace_unions are the reporting rates. Unions outside the caller's subtree answer 404."
        ),
        parameters=[CoverageQuerySerializer],
        responses={
            200: inline_serializer(
                name="CoverageStats",
                fields={
                    "date": serializers.DateField(allow_null=True),
                    "union": inline_serializer(
                        name="CoverageUnion",
                        fields={"code": serializers.CharField(), "name": serializers.CharField()},
                    ),
                    "definitions": inline_serializer(
                        name="CoverageDefinition",
                        fields={
                            "key": serializers.CharField(),
                            "label": serializers.CharField(),
                            "text": serializers.CharField(),
                        },
                        many=True,
                    ),
                    "rows": CoverageRowSerializer(many=True),
                },
            ),
            400: _ERROR,
            401: _ERROR,
            403: _ERROR,
            404: _ERROR,
        },
        tags=["statistics"],
    )
    def get(self, request):
        query = CoverageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        union = coverage_union_for(user=request.user, code=params.get("union"))
        if union is None:
            raise NotFound(_("该工会不存在或不在您的管理范围内。"))
        day = params.get("date") or latest_snapshot_day(union=union)
        rows = coverage_rows(union=union, day=day, level=params.get("level")) if day else []
        return Response(
            {
                "date": day.isoformat() if day else None,
                "union": {"code": union.code, "name": union.name},
                "definitions": definitions_payload(),
                "rows": CoverageRowSerializer(rows, many=True).data,
            }
        )
