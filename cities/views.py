"""City site pages (home, offers, news, about), their images, and the member app's manifest, service
worker and offline page."""

from __future__ import annotations

import hashlib
import json
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import get_template, render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_http_methods

from cities import images, links, selectors
from cities.middleware import COOKIE_NAME
from cities.models import CitySite
from cities.theme import site_colours
from discounts import selectors as offer_selectors
from merchants.selectors import category_list
from portal.images import IMAGE_MAX_AGE, image_response

HOME_OFFERS = 8
HOME_NEWS = 3
OFFERS_PAGE_SIZE = 20
NEWS_PAGE_SIZE = 10
# What the service worker keeps for the app to open without a connection: the look, the card page's
# script and the offline page. Personal pages are never in this list (see templates/cities/sw.js).
SHELL_STATIC = (
    "portal/portal.css",
    "members/members.css",
    "members/card.js",
    "discounts/offers.css",
    "cities/cities.css",
    "cities/pwa.js",
    "cities/icons/icon-192.png",
    "cities/icons/icon-512.png",
)


def site_page(view):
    """A page of the site the request is for. Under ``/c/<slug>/`` the slug must be that of the site
    the request resolved to (an unknown or switched-off site is a 404); on a city's own host the
    pages take no slug."""

    @wraps(view)
    def wrapper(request, *args, slug: str | None = None, **kwargs):
        site = getattr(request, "city_site", None)
        via = getattr(request, "city_site_via", None)
        if site is None or (slug is None and via != "host") or (slug is not None and slug != site.slug):
            raise Http404
        return view(request, site, *args, **kwargs)

    return wrapper


def _offer_items(offers) -> list[dict]:
    return [
        {
            "offer": offer,
            "headline": offer_selectors.offer_headline(offer),
            "remaining": offer_selectors.remaining_today(offer),
            "own": offer.own == 0,
        }
        for offer in offers
    ]


# --- Pages -------------------------------------------------------------------------------------------


@require_GET
@site_page
def home(request, site: CitySite):
    banners = [
        {"banner": banner, "image_url": links.banner_image_url(request, banner)}
        for banner in selectors.banners_shown(site)
    ]
    offers = selectors.site_offers(site)[:HOME_OFFERS]
    categories = [
        {"category": category, "url": f"{links.site_url(request, site, 'offers')}?category={category.code}"}
        for category in category_list()
    ]
    return render(
        request,
        "cities/home.html",
        {
            "site": site,
            "banners": banners,
            "news": list(selectors.news_published(site)[:HOME_NEWS]),
            "items": _offer_items(offers),
            "categories": categories,
        },
    )


@require_GET
@site_page
def offers(request, site: CitySite):
    filters = offer_selectors.offer_filters_parse(request.GET, strict=False)
    for messages_of_field in filters.errors.values():
        for message in messages_of_field:
            messages.warning(request, message)
    page = Paginator(selectors.site_offers(site, filters=filters), OFFERS_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    tabs = [{"label": _("全部"), "query": filters.query_string(category=""), "current": not filters.category}]
    tabs += [
        {
            "label": category.label,
            "query": filters.query_string(category=category.code),
            "current": filters.category is not None and filters.category.pk == category.pk,
        }
        for category in category_list()
    ]
    return render(
        request,
        "cities/offers.html",
        {
            "site": site,
            "filters": filters,
            "page": page,
            "items": _offer_items(page.object_list),
            "tabs": tabs,
            "page_links": {
                "previous": filters.query_string(page=page.previous_page_number())
                if page.has_previous()
                else "",
                "next": filters.query_string(page=page.next_page_number()) if page.has_next() else "",
            },
        },
    )


@require_GET
@site_page
def news_list(request, site: CitySite):
    page = Paginator(selectors.news_published(site), NEWS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "cities/news_list.html", {"site": site, "page": page})


@require_GET
@site_page
def news_detail(request, site: CitySite, post_id: int):
    post = selectors.news_get_published(site, post_id)
    if post is None:
        raise Http404
    return render(request, "cities/news_detail.html", {"site": site, "post": post})


@require_GET
@site_page
def about(request, site: CitySite):
    return render(
        request, "cities/about.html", {"site": site, "wechat_qr_url": links.wechat_qr_url(request, site)}
    )


@require_http_methods(["GET", "POST"])
def chooser(request):
    """Every city's site, and the way back to the province site (which forgets the chosen city)."""
    if request.method == "POST":
        response = redirect("/")
        response.delete_cookie(COOKIE_NAME, samesite="Lax")
        return response
    sites = [
        {"site": site, "url": reverse("cities:home", args=[site.slug])}
        for site in selectors.site_list_active()
    ]
    return render(request, "cities/chooser.html", {"sites": sites})


# --- Images ------------------------------------------------------------------------------------------


def _image_response(field_file) -> FileResponse:
    return image_response(field_file)


@require_GET
@site_page
def logo(request, site: CitySite):
    return _image_response(site.logo)


@require_GET
@site_page
def wechat_qr(request, site: CitySite):
    return _image_response(site.wechat_qr)


@require_GET
@site_page
def banner_image(request, site: CitySite, banner_id: int):
    banner = site.banners.filter(pk=banner_id).first()
    if banner is None:
        raise Http404
    return _image_response(banner.image)


@require_GET
@site_page
def icon(request, site: CitySite, size: int):
    if size not in images.ICON_SIZES:
        raise Http404
    primary, _accent = site_colours(site)
    if site.logo and default_storage.exists(site.logo.name):
        with default_storage.open(site.logo.name, "rb") as logo_file:
            body = images.draw_icon(size, background=primary, logo_file=logo_file)
    else:
        body = images.draw_icon(size, background=primary)
    response = HttpResponse(body, content_type="image/png")
    response["Cache-Control"] = f"public, max-age={IMAGE_MAX_AGE}"
    return response


# --- The member app (PWA) ----------------------------------------------------------------------------


def _manifest_body(request, site: CitySite | None) -> dict:
    primary, _accent = site_colours(site)
    icons = []
    for size in images.ICON_SIZES:
        src = links.icon_url(request, site, size)
        for purpose in ("any", "maskable"):
            icons.append({"src": src, "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose})
    return {
        "id": f"/?site={site.slug}" if site is not None else "/",
        "name": site.name if site is not None else str(settings.PORTAL_NAME),
        "short_name": site.short_name if site is not None else _("工会会员卡"),
        "description": _("会员卡、优惠和消息，离线也能出示会员卡。"),
        "lang": "zh-CN",
        "dir": "ltr",
        "start_url": reverse("members:card"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": primary,
        "icons": icons,
    }


def _manifest_response(request, site: CitySite | None) -> HttpResponse:
    body = json.dumps(_manifest_body(request, site), ensure_ascii=False)
    response = HttpResponse(body, content_type="application/manifest+json; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def manifest(request):
    """The app manifest of the host's site: a city's on its own host, else the province's."""
    site = request.city_site if getattr(request, "city_site_via", None) == "host" else None
    return _manifest_response(request, site)


@require_GET
@site_page
def site_manifest(request, site: CitySite):
    return _manifest_response(request, site)


def _service_worker_context() -> dict:
    shell = [static(name) for name in SHELL_STATIC] + [reverse("pwa:offline")]
    source = get_template("cities/sw.js").template.source
    version = hashlib.sha256("\n".join([source, *shell]).encode()).hexdigest()[:16]
    return {
        "version": version,
        "shell": json.dumps(shell),
        "static_prefix": json.dumps(settings.STATIC_URL),
        "card_page": json.dumps(reverse("members:card")),
        "card_code": json.dumps(reverse("members:card") + "offline-code.json"),
        "offline_page": json.dumps(reverse("pwa:offline")),
        "no_fallback": json.dumps(["/admin/", "/merchant/", "/staff/", "/api/"]),
    }


@require_GET
@never_cache
def service_worker(request):
    """The service worker, served from the root so that its scope is the whole site."""
    body = render_to_string("cities/sw.js", _service_worker_context())
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
@cache_control(no_cache=True)
def offline(request):
    """What the app shows for a page it cannot reach without a connection. The service worker keeps a
    copy; it carries nobody's data (no inbox count, no messages)."""
    return render(
        request, "cities/offline.html", {"notification_inboxes": [], "member_inboxes": [], "messages": []}
    )
