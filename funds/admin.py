"""Funds and their ledger in the staff admin: read-only for everybody — money moves only through
``funds.services`` (the staff fund pages) — and scoped to the staff member's subtree."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from funds.models import MONEY_COLUMNS, Fund, FundMovement
from portal.admin import ReadOnlyScopedAdmin


@admin.register(Fund)
class FundAdmin(ReadOnlyScopedAdmin):
    scope_path_field = "union__path"
    list_display = ("name", "union", "year", *MONEY_COLUMNS, "left_amount")
    list_filter = ("year", "union__level")
    list_select_related = ("union",)
    search_fields = ("name", "union__name", "=union__code")
    fields = ("union", "year", "name", *MONEY_COLUMNS, "left_amount", "created_at", "created_by")
    readonly_fields = fields

    @admin.display(description=_("可用余额"))
    def left_amount(self, obj: Fund):
        return obj.left


@admin.register(FundMovement)
class FundMovementAdmin(ReadOnlyScopedAdmin):
    scope_path_field = "fund__union__path"
    list_display = ("id", "created_at", "fund", "kind", "amount", "reference", "actor_label", "note")
    list_filter = ("kind",)
    list_select_related = ("fund",)
    search_fields = ("=id", "=reference_id", "=operation_id", "fund__name")
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = (
        "fund", "kind", "amount", "reference_type", "reference_id", "operation_id", "note", "actor",
        "actor_label", "created_at",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description=_("关联对象"))
    def reference(self, obj: FundMovement) -> str:
        return obj.reference
