"""Allowance claims in the staff admin: read-only — claims change only through
``allowances.services`` — and scoped to the staff member's subtree."""

from __future__ import annotations

from django.contrib import admin

from allowances.models import Claim
from portal.admin import ScopedAdminMixin


@admin.register(Claim)
class ClaimAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path_field = "union_path"
    actions = None
    list_display = (
        "id",
        "member",
        "hospital",
        "admitted_on",
        "discharged_on",
        "status",
        "days",
        "amount_fen",
    )
    list_filter = ("status",)
    list_select_related = ("member",)
    search_fields = ("=id", "hospital")
    fields = (
        "member", "union", "hospital", "admitted_on", "discharged_on", "bill_fen", "payment",
        "paid_otherwise", "status", "days", "amount_fen", "fund", "decision_note", "created_by",
        "created_at", "decided_by", "decided_at",
    )  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
