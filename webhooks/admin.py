"""Webhook endpoints in the staff admin: read-only (merchants manage their own in the merchant
portal), scoped by the merchant's region, and never with the secret.

Staff who may see merchants (``merchants.view_merchant``: reviewers, county, city and province staff)
see their endpoints: where a merchant's data goes is part of reviewing the merchant."""

from __future__ import annotations

from django.contrib import admin

from portal.admin import ScopedAdminMixin
from portal.scoping import staff_union_path
from webhooks.models import Endpoint

VIEW_PERMISSION = "merchants.view_merchant"


@admin.register(Endpoint)
class EndpointAdmin(ScopedAdminMixin, admin.ModelAdmin):
    scope_path_field = "merchant__region__path"
    list_display = ("url", "merchant", "events", "created_at", "disabled_at")
    list_filter = ("disabled_at",)
    list_select_related = ("merchant",)
    search_fields = ("url", "merchant__name")
    fields = ("merchant", "url", "description", "events", "created_by", "created_at", "disabled_at")
    readonly_fields = fields

    def has_module_permission(self, request):
        return staff_union_path(request.user) is not None and request.user.has_perm(VIEW_PERMISSION)

    def has_view_permission(self, request, obj=None):
        return staff_union_path(request.user) is not None and request.user.has_perm(VIEW_PERMISSION)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
