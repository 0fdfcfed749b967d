"""Redemptions in the staff admin: read-only (every change goes through the redemption service),
and scoped: staff see redemptions at stores in their region or by members of their subtree."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from discounts.models import Redemption
from discounts.redemption import redemption_void
from portal.errors import ApplicationError
from portal.scoping import staff_union_path

ADMIN_VOID_REASON = "平台管理员撤销"


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    list_display = (
        "id", "created_at", "merchant", "store", "offer", "member_masked", "units", "amount", "discount",
        "payable", "union_subsidy", "status",
    )  # fmt: skip
    list_filter = ("status", "funder", "local_day")
    list_select_related = ("merchant", "store", "offer", "member")
    search_fields = ("=id", "offer__title", "merchant__name", "card__number")
    date_hierarchy = "created_at"
    show_full_result_count = False
    fields = (
        "offer", "merchant", "store", "card", "member", "units", "amount", "discount", "payable",
        "union_subsidy", "funder", "local_day", "status", "idempotency_key", "api_key", "created_by",
        "created_at", "voided_at", "voided_by", "void_reason",
    )  # fmt: skip
    readonly_fields = fields
    actions = ["void_selected"]

    @admin.action(description=gettext_lazy("撤销所选核销（仅限当天）"), permissions=["void"])
    def void_selected(self, request, queryset):
        voided, refused = 0, []
        for redemption in queryset.filter(status=Redemption.Status.COMPLETED).order_by("pk"):
            try:
                redemption_void(redemption=redemption, reason=ADMIN_VOID_REASON, voided_by=request.user)
                voided += 1
            except ApplicationError as error:
                refused.append(f"#{redemption.pk}: {error.message}")
        if voided:
            self.message_user(request, _("已撤销 %(n)d 笔核销。") % {"n": voided}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    def has_void_permission(self, request):
        return request.user.has_perm("discounts.change_redemption")

    @admin.display(description="会员")
    def member_masked(self, obj):
        return obj.member.name_masked

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        prefix = staff_union_path(request.user)
        if prefix is None:
            return queryset.none()
        if prefix == "":
            return queryset
        return queryset.filter(
            Q(store__region__path__startswith=prefix) | Q(member__union__path__startswith=prefix)
        )

    def has_module_permission(self, request):
        return staff_union_path(request.user) is not None and super().has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
