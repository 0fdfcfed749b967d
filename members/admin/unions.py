"""Admin of the union tree: staff see their subtree; only a province admin switches a union's settings."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

from members import unions
from members.models import Union
from portal.admin import ScopedAdminMixin


@admin.register(Union)
class UnionAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """The union tree, browsable by parent; staff see their own node and everything below it."""

    scope_path_field = "path"
    list_display = ("indented_name", "code", "level", "child_count")
    list_filter = ("level",)
    search_fields = ("name", "code")
    readonly_fields = ("path", "depth")
    list_per_page = 100
    autocomplete_fields = ("parent",)

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if request.GET.get("field_name") == "region":
            # the autocomplete of a merchant's or store's place: cities and counties only
            queryset = queryset.filter(level__in=[Union.Level.CITY, Union.Level.COUNTY])
        return queryset, may_have_duplicates

    def get_queryset(self, request):
        # an explicit order: with the GROUP BY of the count, the model's default ordering no longer applies
        return super().get_queryset(request).annotate(child_count=Count("children")).order_by("path")

    @admin.display(description="名称", ordering="path")
    def indented_name(self, obj):
        return "　" * obj.depth + obj.name

    @admin.display(description="下级数", ordering="child_count")
    def child_count(self, obj):
        return obj.child_count

    def get_readonly_fields(self, request, obj=None):
        # Codes and parents are fixed once created: the materialized paths below depend on them.
        fields = (*self.readonly_fields, "code", "parent") if obj else self.readonly_fields
        if not unions.may_set_single_person_approval(request.user):
            fields = (*fields, "single_person_approval")
        return fields

    def save_model(self, request, obj, form, change):
        # Self-approval is switched by its service only (province admins, audited): the row is saved
        # with the value it had, then the service changes it.
        wanted = form.cleaned_data.get("single_person_approval")
        if change:
            obj.single_person_approval = (
                Union.objects.filter(pk=obj.pk).values_list("single_person_approval", flat=True).get()
            )
        else:
            obj.path = Union.path_for(obj.code, obj.parent)
            obj.depth = obj.path.count("/") - 1
            obj.single_person_approval = False
        super().save_model(request, obj, form, change)
        if wanted is not None and wanted != obj.single_person_approval:
            unions.union_set_single_person_approval(union=obj, enabled=wanted, actor=request.user)
