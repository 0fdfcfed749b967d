"""Admin of members' own requests, read-only: card applications and transfer requests are decided on
the staff to-do page (members.todo), through members.applications and members.transfers; here staff
look them up, decided ones included, within their subtree."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from members.models import CardApplication, TransferRequest
from portal.admin import ScopedAdminMixin
from portal.scoping import staff_union_path


class _ReadOnlyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_per_page = 50
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("会员"), ordering="member__name")
    def member_name(self, obj):
        return obj.member.name_masked


@admin.register(CardApplication)
class CardApplicationAdmin(_ReadOnlyAdmin):
    scope_path_field = "union__path"
    list_display = ("created_at", "member_name", "union", "bank", "status", "decided_at", "batch_id")
    list_filter = ("status", "bank")
    list_select_related = ("member", "union", "bank")
    search_fields = ("member__phone",)


@admin.register(TransferRequest)
class TransferRequestAdmin(_ReadOnlyAdmin):
    """Seen by the staff of the receiving union (who decide) and of the union the member left."""

    scope_path_field = "to_union__path"
    list_display = ("created_at", "member_name", "from_union", "to_union", "status", "decided_at")
    list_filter = ("status",)
    list_select_related = ("member", "from_union", "to_union")
    search_fields = ("member__phone",)

    def get_queryset(self, request):
        # Both sides of a transfer may look it up: the receiving union's subtree or the source's.
        queryset = admin.ModelAdmin.get_queryset(self, request)
        prefix = staff_union_path(request.user)
        if prefix is None:
            return queryset.none()
        if prefix == "":
            return queryset
        return queryset.filter(Q(to_union__path__startswith=prefix) | Q(from_union__path__startswith=prefix))
