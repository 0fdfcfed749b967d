"""Which site a request is for: a city's, by host name or path, or the province's.

``request.city_site`` is the CitySite (or None for the province site) and ``request.city_site_via``
says how it was found: ``"host"`` (``<slug>.<CITY_SITES_DOMAIN>``), ``"path"`` (``/c/<slug>/``) or
``"cookie"`` (a city chosen earlier through its path, remembered so that the member pages and offer
pages reached from it keep its look). Apps below ``cities`` never import it: they read the request,
and the templates read the context processor."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http.request import split_domain_port
from django.utils.cache import patch_vary_headers

from cities.models import SLUG_PATTERN
from cities.selectors import site_get_active

COOKIE_NAME = "city_site"
HOST_URLCONF = "cities.host_urls"
PATH_SLUG = re.compile(rf"^/c/({SLUG_PATTERN})/")
SLUG = re.compile(rf"^{SLUG_PATTERN}$")
# Doors with no page of a site: the APIs (the POS hot path above all), files, the staff admin.
UNTHEMED_PREFIXES = ("/api/", "/static/", "/admin/", "/healthz")
SIGN_OUT_VIEW = "members:sign_out"


def host_slug(request) -> str | None:
    """``tangshan`` for ``tangshan.<CITY_SITES_DOMAIN>[:port]``; None for any other host."""
    domain = settings.CITY_SITES_DOMAIN.strip(".").lower()
    if not domain:
        return None
    try:
        host = request.get_host()
    except DisallowedHost:
        return None  # answered with 400 by CommonMiddleware
    name, _port = split_domain_port(host)
    suffix = f".{domain}"
    if not name.endswith(suffix):
        return None
    label = name[: -len(suffix)]
    return label if SLUG.match(label) else None


class CitySiteMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.city_site = None
        request.city_site_via = None
        if not request.path.startswith(UNTHEMED_PREFIXES):
            self._resolve(request)
        response = self.get_response(request)
        if not request.path.startswith(UNTHEMED_PREFIXES):
            self._remember(request, response)
        self._clear_member_data_after_sign_out(request, response)
        return response

    def _resolve(self, request) -> None:
        slug = host_slug(request)
        if slug is not None:
            site = site_get_active(slug)
            if site is not None:
                request.city_site, request.city_site_via = site, "host"
                # The city's own pages sit at the root of its host; everything else is as usual.
                request.urlconf = HOST_URLCONF
                return
        if not settings.CITY_SITES_PATH_PREFIX:
            return
        match = PATH_SLUG.match(request.path)
        if match:
            site = site_get_active(match.group(1))
            if site is not None:
                request.city_site, request.city_site_via = site, "path"
            return  # an unknown or closed city's path: its view answers 404
        remembered = request.COOKIES.get(COOKIE_NAME, "")
        if SLUG.match(remembered):
            site = site_get_active(remembered)
            if site is not None:
                request.city_site, request.city_site_via = site, "cookie"

    def _remember(self, request, response) -> None:
        if not settings.CITY_SITES_PATH_PREFIX:
            return
        remembered = request.COOKIES.get(COOKIE_NAME)
        site = request.city_site
        via = request.city_site_via
        if via == "path" and response.status_code == 200 and remembered != site.slug:
            response.set_cookie(
                COOKIE_NAME,
                site.slug,
                max_age=settings.CITY_SITE_COOKIE_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        elif (
            remembered
            and via is None
            and not PATH_SLUG.match(request.path)
            and COOKIE_NAME not in response.cookies
        ):
            response.delete_cookie(COOKIE_NAME, samesite="Lax")  # the city's site was closed
        if response.get("Content-Type", "").startswith("text/html"):
            patch_vary_headers(response, ("Cookie",))  # the same address looks different per city

    def _clear_member_data_after_sign_out(self, request, response) -> None:
        """A member who signs out leaves nothing behind on the phone: the offline copy of the card
        page, its last code and the app's caches go (Clear-Site-Data; the card page's script also
        deletes them itself for browsers without it)."""
        match = getattr(request, "resolver_match", None)
        if request.method == "POST" and match is not None and match.view_name == SIGN_OUT_VIEW:
            response["Clear-Site-Data"] = '"cache", "storage"'
