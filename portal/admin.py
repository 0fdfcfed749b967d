from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from portal.models import AuditEvent, User
from portal.scoping import scope_queryset, staff_union_path, union_model
from portal.users import ROLE_FIELDS, user_may_change_account, user_may_change_roles, user_roles_set


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


class ReadOnlyScopedAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """A union-scoped admin that only shows: its rows change through their services (funds, statements,
    shop orders…), never by a form, an action or a delete here."""

    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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

    def get_readonly_fields(self, request, obj=None):
        """Only a superuser changes what an account may do; everybody else sees it as text, and a
        field that is read-only is not in the form, so a forged POST of it is ignored."""
        fields = tuple(super().get_readonly_fields(request, obj))
        if not user_may_change_roles(request.user):
            fields += tuple(name for name in ROLE_FIELDS if name not in fields)
        return fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and not user_may_change_account(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        # The form has put the flags on ``obj``; the service sets them (and audits) after the save.
        form.role_changes = {
            name: form.cleaned_data.pop(name) for name in ROLE_FIELDS if name in form.cleaned_data
        }
        stored = User.objects.filter(pk=obj.pk).values("is_superuser", "is_staff").first() if change else None
        obj.is_superuser = bool(stored and stored["is_superuser"])
        obj.is_staff = bool(stored and stored["is_staff"])
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # groups and user_permissions left cleaned_data in save_model: save_m2m skips them.
        super().save_related(request, form, formsets, change)
        role_changes = getattr(form, "role_changes", None)
        if role_changes:
            user_roles_set(user=form.instance, actor=request.user, **role_changes)


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
