"""Staff manage city sites in the admin: a city's operators edit their own city's site, banners and
news; province admins create sites and edit all of them. Rows are scoped by the city union's path
(``portal.admin.ScopedAdminMixin``), and so are the choices of every foreign key, so a forged form
cannot reach another city's site."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cities.forms import BannerForm, CitySiteForm, NewsPostForm
from cities.models import Banner, CitySite, NewsPost
from members.models import Union
from portal.admin import ScopedAdminMixin
from portal.scoping import scope_queryset


class _SiteContentAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Banners and news: rows of the sites in the user's reach, and only those sites to choose."""

    scope_path_field = "site__union__path"
    list_select_related = ("site",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is CitySite:
            kwargs["queryset"] = scope_queryset(CitySite.objects.all(), request.user, "union__path")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(CitySite)
class CitySiteAdmin(ScopedAdminMixin, admin.ModelAdmin):
    form = CitySiteForm
    scope_path_field = "union__path"
    list_display = ("name", "slug", "union", "colours", "is_active")
    list_filter = ("is_active",)
    list_select_related = ("union",)
    search_fields = ("name", "slug", "union__name")
    fieldsets = (
        (None, {"fields": ("union", "slug", "name", "short_name", "is_active")}),
        (_("外观"), {"fields": ("logo", "primary_color", "accent_color")}),
        (
            _("微信公众号与服务"),
            {"fields": ("wechat_account", "wechat_qr", "service_phone", "service_hours", "service_address")},
        ),
    )

    @admin.display(description=_("配色"))
    def colours(self, obj):
        return format_html(
            '<span style="display:inline-block;width:1.2em;height:1.2em;background:{}"></span> '
            '<span style="display:inline-block;width:1.2em;height:1.2em;background:{}"></span>',
            obj.primary_color,
            obj.accent_color,
        )

    def get_readonly_fields(self, request, obj=None):
        # The union and the slug name the site in every address and scope check: fixed once created.
        return ("union", "slug") if obj is not None else ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "union":
            field.queryset = field.queryset.filter(level=Union.Level.CITY, city_site__isnull=True)
        return field

    def has_delete_permission(self, request, obj=None):
        return False  # a site is switched off (启用), never deleted with its news and banners


@admin.register(Banner)
class BannerAdmin(_SiteContentAdmin):
    form = BannerForm
    list_display = ("title", "site", "order", "starts_on", "ends_on", "is_active")
    list_filter = ("is_active",)
    search_fields = ("title",)


@admin.register(NewsPost)
class NewsPostAdmin(_SiteContentAdmin):
    form = NewsPostForm
    list_display = ("title", "site", "status", "published_at")
    list_filter = ("status",)
    search_fields = ("title",)
    date_hierarchy = "published_at"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
