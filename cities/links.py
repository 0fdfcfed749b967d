"""Addresses of a site's pages, whichever way the site was reached: ``/c/<slug>/news/`` through the
path, ``/news/`` on the city's own host."""

from __future__ import annotations

from django.templatetags.static import static
from django.urls import reverse

from cities.models import CitySite
from portal.images import versioned

PROVINCE_ICONS = {192: "cities/icons/icon-192.png", 512: "cities/icons/icon-512.png"}


def site_url(request, site: CitySite, name: str, *args) -> str:
    current = getattr(request, "city_site", None)
    if getattr(request, "city_site_via", None) == "host" and current is not None and current.pk == site.pk:
        return reverse(f"city_host:{name}", args=args)
    return reverse(f"cities:{name}", args=[site.slug, *args])


def logo_url(request, site: CitySite) -> str:
    if not site.logo:
        return ""
    return versioned(site_url(request, site, "logo"), site.logo)


def wechat_qr_url(request, site: CitySite) -> str:
    if not site.wechat_qr:
        return ""
    return versioned(site_url(request, site, "wechat_qr"), site.wechat_qr)


def banner_image_url(request, banner) -> str:
    return versioned(site_url(request, banner.site, "banner_image", banner.pk), banner.image)


def icon_url(request, site: CitySite | None, size: int) -> str:
    if site is None:
        return static(PROVINCE_ICONS[size])
    version = f"{int(site.updated_at.timestamp())}" if site.updated_at else "0"
    return f"{site_url(request, site, 'icon', size)}?v={version}"


def manifest_url(request, site: CitySite | None) -> str:
    if site is None or getattr(request, "city_site_via", None) == "host":
        return reverse("pwa:manifest")
    return site_url(request, site, "manifest")
