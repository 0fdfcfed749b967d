from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from portal.models import AuditEvent, User
from portal.scoping import scope_queryset, staff_union_path, union_model


class ScopedAdminMixin:
    """Admin classes whose rows belong to a union: staff see and change only their subtree.

    ``scope_path_field`` names the path of the owning union, e.g. ``"union__path"``. Foreign-key
    choices to unions are scoped too, so nobody can move a row out of their subtree."""

    scope_path_field = "union__path"

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user, self.scope_path_field)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        union = union_model()
        if db_field.related_model is union:
            kwargs["queryset"] = scope_queryset(union.objects.all(), request.user, "path")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_module_permission(self, request):
        return staff_union_path(request.user) is not None and super().has_module_permission(request)


@admin.register(User)
class UserAdmin(ScopedAdminMixin, DjangoUserAdmin):
    scope_path_field = "union__path"
    list_display = ("username", "first_name", "union", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_active", "groups")
    list_select_related = ("union",)
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (_("工会"), {"fields": ("union",)}),
    )
    autocomplete_fields = ("union",)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only for everybody: the audit log is append-only."""

    list_display = ("created_at", "actor_label", "action", "target_type", "target_label")
    list_filter = ("action", "target_type")
    search_fields = ("actor_label", "target_label", "target_id")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
