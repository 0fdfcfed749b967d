"""Reads for city sites: which site a request is for, what its home page shows, and its offers with
the city's own first."""

from __future__ import annotations

from datetime import date, datetime

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from cities.models import Banner, CitySite, NewsPost
from discounts import selectors as offer_selectors
from discounts.models import Offer
from discounts.rules import local_day


def site_get_active(slug: str) -> CitySite | None:
    """The active site named ``slug`` (with its union), or None."""
    if not slug:
        return None
    return CitySite.objects.select_related("union").filter(slug=slug, is_active=True).first()


def site_list_active() -> QuerySet[CitySite]:
    return CitySite.objects.select_related("union").filter(is_active=True).order_by("union__code")


def banners_shown(site: CitySite, *, today: date | None = None) -> QuerySet[Banner]:
    """The banners on the home page today, in their order."""
    today = today or local_day()
    return (
        site.banners.filter(is_active=True)
        .filter(Q(starts_on__isnull=True) | Q(starts_on__lte=today))
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .order_by("order", "id")
    )


def news_published(site: CitySite, *, now: datetime | None = None) -> QuerySet[NewsPost]:
    """Published posts whose publication time has come, newest first."""
    now = now or timezone.now()
    return site.news.filter(status=NewsPost.Status.PUBLISHED, published_at__lte=now).order_by(
        "-published_at", "-id"
    )


def news_get_published(site: CitySite, post_id: int) -> NewsPost | None:
    return news_published(site).filter(pk=post_id).first()


def _ancestor_paths(path: str) -> list[str]:
    """ "P/C/" → ["P/", "P/C/"]: the node's own path and those of the unions above it."""
    codes = [code for code in path.split("/") if code]
    return ["".join(f"{code}/" for code in codes[: depth + 1]) for depth in range(len(codes))]


def city_offer_q(site: CitySite) -> Q:
    """The city's own offers: of a merchant in the city, or for the city's members only."""
    return site.union.subtree_q("merchant__region") | site.union.subtree_q("eligible_union")


def usable_by_city_q(site: CitySite) -> Q:
    """Offers some member of the city may use: open to everyone, to a union above the city (the
    province), or to the city or a part of it. Offers reserved for another city are left out."""
    path = site.union.path
    return (
        Q(eligible_union__isnull=True)
        | Q(eligible_union__path__in=_ancestor_paths(path))
        | site.union.subtree_q("eligible_union")
    )


def site_offers(
    site: CitySite, *, filters: offer_selectors.OfferFilters | None = None, now: datetime | None = None
) -> QuerySet[Offer]:
    """The offers a city site lists: the member offer list (``discounts.selectors.offer_list`` with
    the same filters) narrowed to what the city's members may use, the city's own first (each with
    ``own = 0``), then the province-wide ones; within each part, the offer list's own order. Still
    one query per page."""
    filters = filters or offer_selectors.OfferFilters()
    listed = offer_selectors.offer_list(filters=filters, now=now)
    return (
        listed.filter(usable_by_city_q(site))
        .annotate(
            own=Case(When(city_offer_q(site), then=Value(0)), default=Value(1), output_field=IntegerField())
        )
        .order_by("own", *listed.query.order_by)
    )
