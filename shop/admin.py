"""Products and orders in the staff admin: read-only for everybody, a superuser included — stock and
status change only through ``shop.services`` (the merchant's and the member's pages, the POS API, the
expiry task) — and scoped to the staff member's subtree by the merchant's region."""

from __future__ import annotations

from django.contrib import admin

from portal.admin import ReadOnlyScopedAdmin
from shop.models import Order, Product


@admin.register(Product)
class ProductAdmin(ReadOnlyScopedAdmin):
    scope_path_field = "merchant__region__path"
    list_display = (
        "id",
        "title",
        "merchant",
        "member_price",
        "market_price",
        "stock",
        "status",
        "valid_until",
    )
    list_filter = ("status",)
    list_select_related = ("merchant",)
    search_fields = ("=id", "title", "merchant__name")
    fields = (
        "merchant", "title", "description", "market_price", "member_price", "stock", "per_member_limit",
        "valid_from", "valid_until", "status", "created_at",
    )  # fmt: skip
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(ReadOnlyScopedAdmin):
    scope_path_field = "merchant__region__path"
    list_display = (
        "code",
        "product",
        "merchant",
        "quantity",
        "amount",
        "status",
        "reserved_at",
        "confirmed_at",
    )
    list_filter = ("status",)
    list_select_related = ("product", "merchant")
    search_fields = ("=code", "product__title", "merchant__name")
    fields = (
        "code", "product", "merchant", "member", "card", "quantity", "unit_price", "amount", "status",
        "reserved_at", "expires_at", "confirmed_at", "confirmed_by", "confirmed_api_key", "cancelled_at",
    )  # fmt: skip
    readonly_fields = fields
