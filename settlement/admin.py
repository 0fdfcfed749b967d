"""Statements and payment runs in the staff admin: read-only for everybody, a superuser included —
they change only through ``settlement.services`` (the settlement pages) — and scoped to the staff
member's subtree."""

from __future__ import annotations

from django.contrib import admin

from portal.admin import ReadOnlyScopedAdmin
from settlement.models import PaymentRun, Statement


@admin.register(Statement)
class StatementAdmin(ReadOnlyScopedAdmin):
    scope_path_field = "merchant__region__path"
    list_display = (
        "id",
        "merchant",
        "month",
        "status",
        "share_total",
        "adjustment_total",
        "total",
        "paid_on",
    )
    list_filter = ("status", "month")
    list_select_related = ("merchant",)
    search_fields = ("=id", "merchant__name", "=bank_reference")
    fields = (
        "merchant", "month", "status", "share_total", "adjustment_total", "total", "line_count",
        "prepared_by", "prepared_at", "confirmed_by", "confirmed_at", "dispute_reason", "approved_by",
        "approved_at", "paid_on", "bank_reference",
    )  # fmt: skip
    readonly_fields = fields


@admin.register(PaymentRun)
class PaymentRunAdmin(ReadOnlyScopedAdmin):
    scope_path_field = "union__path"
    list_display = ("id", "union", "status", "line_count", "total", "created_at", "created_by", "approved_by")
    list_filter = ("status",)
    list_select_related = ("union", "created_by", "approved_by")
    fields = (
        "union",
        "status",
        "line_count",
        "total",
        "created_by",
        "created_at",
        "approved_by",
        "approved_at",
    )
    readonly_fields = fields
