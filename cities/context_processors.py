"""What every page needs to know about the site it belongs to: its name, colours, links and app
manifest. Templates of every app read these; no app below ``cities`` imports it."""

from __future__ import annotations

from django.conf import settings

from cities import links
from cities.theme import site_colours


def city_site(request) -> dict:
    site = getattr(request, "city_site", None)
    primary, accent = site_colours(site)
    context = {
        "city_site": site,
        "site_theme": {"primary": primary, "accent": accent, "custom": site is not None},
        "SITE_NAME": site.name if site is not None else settings.PORTAL_NAME,
        "site_manifest_url": links.manifest_url(request, site),
        "site_icon_url": links.icon_url(request, site, 192),
        "site_home_url": "/",
        "site_offers_url": "/",
        "site_logo_url": "",
    }
    if site is not None:
        context["site_home_url"] = links.site_url(request, site, "home")
        context["site_offers_url"] = links.site_url(request, site, "offers")
        context["site_logo_url"] = links.logo_url(request, site)
    return context
