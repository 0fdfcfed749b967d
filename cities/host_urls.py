"""The addresses on a city's own host (``<slug>.<CITY_SITES_DOMAIN>``, set per request by
``cities.middleware``): the city's pages at the root, then every address of the portal as usual."""

from django.urls import include, path

from cities.urls import site_patterns
from portal import urls as portal_urls

urlpatterns = [
    path("", include((site_patterns, "city_host"))),
    *portal_urls.urlpatterns,
]

handler404 = portal_urls.handler404
handler500 = portal_urls.handler500
