"""Statements over the POS API (v1), for the merchant's own key: the list, one statement with its
lines (JSON), and the same statement as a workbook. Another merchant's statement is a 404."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from discounts.api.common import error_response
from discounts.api.pos import PosView
from portal.api import Pagination
from portal.errors import NotFound
from portal.xlsx import xlsx_download
from settlement.exports import statement_lines, statement_workbook
from settlement.models import Statement
from settlement.selectors import statements_for_merchant

_AUTH_ERRORS = {
    401: error_response("Missing, unknown or revoked API key", ["unauthenticated"]),
    429: error_response("Too many requests for this key (see Retry-After)", ["rate_limited"]),
}
_NOT_FOUND = {
    404: error_response("No statement of this merchant with this id", ["statement_not_found", "not_found"])
}
_MONEY = {"max_digits": 14, "decimal_places": 2}


class StatementSerializer(serializers.ModelSerializer):
    month = serializers.DateField(format="%Y-%m", help_text="YYYY-MM (local month)")
    share_total = serializers.DecimalField(**_MONEY)
    adjustment_total = serializers.DecimalField(**_MONEY)
    total = serializers.DecimalField(**_MONEY)

    class Meta:
        model = Statement
        fields = [
            "id", "month", "status", "share_total", "adjustment_total", "total", "line_count",
            "confirmed_at", "approved_at", "paid_on", "bank_reference",
        ]  # fmt: skip


class StatementLineSerializer(serializers.Serializer):
    redemption = serializers.IntegerField(source="redemption_id")
    kind = serializers.ChoiceField(choices=["share", "adjustment"])
    offer = serializers.IntegerField(source="offer_id")
    local_day = serializers.DateField()
    amount = serializers.DecimalField(**_MONEY)


class StatementDetailSerializer(StatementSerializer):
    lines = StatementLineSerializer(many=True, source="api_lines")

    class Meta(StatementSerializer.Meta):
        fields = [*StatementSerializer.Meta.fields, "lines"]


def _statement(request, pk: int) -> Statement:
    statement = statements_for_merchant(request.user.merchant.pk).filter(pk=pk).first()
    if statement is None:
        raise NotFound(_("未找到该结算单。"), code="statement_not_found")
    return statement


STATEMENT = {
    "id": 31,
    "month": "2026-11",
    "status": "paid",
    "share_total": "315.00",
    "adjustment_total": "15.00",
    "total": "300.00",
    "line_count": 22,
    "confirmed_at": "2026-12-02T10:11:05+08:00",
    "approved_at": "2026-12-03T15:40:22+08:00",
    "paid_on": "2026-12-05",
    "bank_reference": "HB20261205000731",
}
LINES = [
    {"redemption": 10412, "kind": "share", "offer": 7, "local_day": "2026-11-08", "amount": "15.00"},
    {"redemption": 10233, "kind": "adjustment", "offer": 7, "local_day": "2026-10-31", "amount": "-15.00"},
]


class StatementListView(PosView):
    pagination_class = Pagination

    @extend_schema(
        operation_id="statements_list",
        examples=[
            OpenApiExample(
                "Statements",
                response_only=True,
                status_codes=["200"],
                value=STATEMENT,  # one item: the schema wraps it in the page
            )
        ],
        summary="The merchant's monthly settlement statements, newest month first",
        responses={200: StatementSerializer(many=True), **_AUTH_ERRORS},
    )
    def get(self, request):
        queryset = statements_for_merchant(request.user.merchant.pk).order_by("-month")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(StatementSerializer(page, many=True).data)


class StatementDetailView(PosView):
    @extend_schema(
        operation_id="statements_retrieve",
        examples=[
            OpenApiExample(
                "Statement", response_only=True, status_codes=["200"], value={**STATEMENT, "lines": LINES}
            )
        ],
        summary="One statement with its lines (union shares, and late voids as negative adjustments)",
        responses={200: StatementDetailSerializer, **_NOT_FOUND, **_AUTH_ERRORS},
    )
    def get(self, request, pk: int):
        statement = _statement(request, pk)
        statement.api_lines = list(statement_lines(statement))
        return Response(StatementDetailSerializer(statement).data)


class StatementWorkbookView(PosView):
    @extend_schema(
        operation_id="statements_xlsx",
        summary="One statement as an XLSX workbook",
        responses={
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): OpenApiResponse(
                OpenApiTypes.BINARY
            ),
            **_NOT_FOUND,
            **_AUTH_ERRORS,
        },
    )
    def get(self, request, pk: int):
        statement = _statement(request, pk)
        return xlsx_download(f"statement-{statement.month:%Y-%m}.xlsx", statement_workbook(statement))
