from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal import views

admin.site.site_header = settings.PORTAL_NAME
admin.site.site_title = settings.PORTAL_NAME
admin.site.index_title = _("工会工作台")

urlpatterns = [
    # discounts first: its module opens with the POS API, so every till's request is resolved before
    # anything else is tried. It also holds the merchant portal (merchants.urls and the portal's offer
    # pages share the namespace "merchants") and the till.
    path("", include("discounts.urls")),
    # Member sign-in, "my card" and the member API; the inboxes (the member's under /me/notifications/,
    # a signed-in user's under /inbox/, which notifications.urls holds) share the namespace
    # "notifications".
    path("", include("members.urls")),
    # Coverage statistics: their API and the staff dashboard under /staff/.
    path("", include("stats.urls")),
    path("staff/funds/", include("funds.urls")),
    path("staff/settlement/", include("settlement.urls")),
    path("merchant/settlement/", include("settlement.merchant_urls")),
    path("api/v1/statements/", include("settlement.api_urls")),
    # The partner banks' files: /bank/ (a bank's staff and the province), and the rejections to-do.
    path("", include("banking.urls")),
    path("", include("allowances.urls")),
    path("merchant/webhooks/", include("webhooks.urls")),
    # The members' shop: its member pages (/shop/, /me/shop/), the manager's /merchant/shop/ and the
    # till's /api/v1/shop/ (docs/shop.md).
    path("", include("shop.urls")),
    path("merchant/shop/", include("shop.merchant_urls")),
    path("api/v1/shop/", include("shop.api_urls")),
    # City sites under /c/<slug>/ (and on their own hosts, see cities.middleware); the member app's
    # manifest, service worker and offline page at the root.
    path("c/", include("cities.urls")),
    path("", include("cities.pwa_urls")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    # Any other address under /api/ answers the JSON error envelope, in development (DEBUG) too; one
    # without its trailing slash is answered before this (portal.middleware.ApiMissingSlashMiddleware).
    re_path(r"^api/.*/$", views.api_not_found, name="api-not-found"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler400 = "portal.views.bad_request"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"
