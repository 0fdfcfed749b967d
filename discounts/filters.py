"""The filters of the member offer list — the home page, the city sites and the public API — as one
django-filter FilterSet: its form reads and checks the query parameters, its filters narrow the
listed offers. ``discounts.selectors.offer_filters_parse`` and ``offer_list`` are its two callers.

"Available today" is the usability rule as a filter (``discounts.usability.usable_today_q``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

import django_filters
from django import forms
from django.db.models import Exists, F, FloatField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import ASin, Cast, Cos, Least, Power, Radians, Sin, Sqrt
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from discounts.models import Offer, SearchSynonym
from discounts.usability import usable_today_q
from members.models import Union
from merchants.models import Category, Store

EARTH_RADIUS_KM = 6371.0
KEYWORD_MAX_LENGTH = 50
KEYWORD_MAX_TERMS = 5
FILTER_PARAMS = ("category", "region", "q", "available_today", "mine", "near")
TRUE_VALUES = {"1", "true", "yes", "on"}
FALSE_VALUES = {"", "0", "false", "no", "off"}


def distance_km_expression(lat: float, lng: float, prefix: str = ""):
    """Great-circle distance (haversine) from (lat, lng) to a store's coordinates, in SQL."""
    store_lat = Radians(Cast(f"{prefix}latitude", FloatField()))
    store_lng = Radians(Cast(f"{prefix}longitude", FloatField()))
    here_lat = Value(math.radians(lat), output_field=FloatField())
    here_lng = Value(math.radians(lng), output_field=FloatField())
    half_chord = Power(Sin((store_lat - here_lat) / 2), 2) + Cos(here_lat) * Cos(store_lat) * Power(
        Sin((store_lng - here_lng) / 2), 2
    )
    # Least(…, 1): rounding can push the term a hair above 1, where ASIN is undefined.
    return Value(2 * EARTH_RADIUS_KM) * ASin(Sqrt(Least(half_chord, Value(1.0))))


def nearest_store_km(lat: float, lng: float) -> Subquery:
    """Distance to the offer's nearest open store: its own stores, or all the merchant's if none."""
    offer_has_stores = Offer.stores.through.objects.filter(offer_id=OuterRef(OuterRef("pk")))
    stores = (
        Store.objects.filter(
            merchant_id=OuterRef("merchant_id"),
            is_active=True,
            latitude__isnull=False,
            longitude__isnull=False,
        )
        .filter(Q(offers=OuterRef("pk")) | ~Exists(offer_has_stores))
        .annotate(distance=distance_km_expression(lat, lng))
        .order_by("distance")
        .values("distance")[:1]
    )
    return Subquery(stores, output_field=FloatField())


def parse_near(value: str) -> tuple[float, float]:
    """``"lat,lng"`` in degrees → (lat, lng); ValueError with a Chinese message otherwise."""
    parts = value.split(",")
    if len(parts) != 2:
        raise ValueError(_("位置格式应为“纬度,经度”，例如 38.04,114.51。"))
    try:
        lat, lng = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(_("位置格式应为“纬度,经度”，例如 38.04,114.51。")) from None
    if not (math.isfinite(lat) and math.isfinite(lng)) or not -90 <= lat <= 90 or not -180 <= lng <= 180:
        raise ValueError(_("纬度须在 -90 到 90 之间，经度须在 -180 到 180 之间。"))
    return lat, lng


def keywords_normalize(value: str | None) -> str:
    return " ".join((value or "").split())


class KeywordField(forms.CharField):
    """Whitespace collapsed, cut at ``KEYWORD_MAX_LENGTH`` (the parser reports a longer one)."""

    def to_python(self, value):
        return keywords_normalize(value)[:KEYWORD_MAX_LENGTH]


class OnOffField(forms.Field):
    """1/true/yes/on, 0/false/no/off or nothing."""

    default_error_messages = {"invalid": gettext_lazy("“今日可用”只能是 1 或 0。")}

    def to_python(self, value):
        raw = (value or "").strip().lower()
        if raw in TRUE_VALUES:
            return True
        if raw in FALSE_VALUES:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class PointField(forms.Field):
    """``lat,lng`` → (lat, lng), or None when not given."""

    def to_python(self, value):
        raw = (value or "").strip()
        if not raw:
            return None
        try:
            return parse_near(raw)
        except ValueError as error:
            raise forms.ValidationError(str(error), code="invalid") from None


class KeywordFilter(django_filters.Filter):
    field_class = KeywordField


class OnOffFilter(django_filters.Filter):
    field_class = OnOffField


class PointFilter(django_filters.Filter):
    field_class = PointField


class CodeChoiceFilter(django_filters.ModelChoiceFilter):
    """A row named by its ``code``; an unknown code is the field's error."""

    def __init__(self, *args, missing: str, **kwargs):
        kwargs.setdefault("to_field_name", "code")
        kwargs.setdefault("error_messages", {"invalid_choice": missing})
        super().__init__(*args, **kwargs)


class OfferFilterSet(django_filters.FilterSet):
    category = CodeChoiceFilter(
        field_name="merchant__category", queryset=Category.objects.all(), missing=gettext_lazy("分类不存在。")
    )
    region = CodeChoiceFilter(
        queryset=Union.objects.all(), method="filter_region", missing=gettext_lazy("地区不存在。")
    )
    q = KeywordFilter(method="filter_keywords")
    available_today = OnOffFilter(method="filter_available_today")
    mine = OnOffFilter(method="filter_mine")
    near = PointFilter(method="filter_near")

    class Meta:
        model = Offer
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, now: datetime | None = None, mine=None, **kwargs):
        super().__init__(data, queryset, **kwargs)
        self.now = now
        # "我能用": a callable (queryset → the ids of its offers usable by the signed-in member), given
        # by ``discounts.selectors.offer_list``; without a member "mine" is "available today".
        self.mine = mine

    # --- one method per filter that is more than a lookup --------------------------------------

    def filter_region(self, queryset: QuerySet, name: str, region: Union | None) -> QuerySet:
        """Offers of a merchant in the region, or with an open store there."""
        if region is None:
            return queryset
        store_in_region = Store.objects.filter(
            region.subtree_q("region"), merchant_id=OuterRef("merchant_id"), is_active=True
        )
        return queryset.filter(region.subtree_q("merchant__region") | Q(Exists(store_in_region)))

    def filter_keywords(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Every term must match the offer's title, description, merchant or category — the term or
        one of its synonyms (``SearchSynonym``: 电影 finds 影城 and 观影), read in one query."""
        terms = (value or "").split()[:KEYWORD_MAX_TERMS]
        if not terms:
            return queryset
        groups = list(SearchSynonym.objects.filter(words__overlap=terms).values_list("words", flat=True))
        for term in terms:
            words = {term}.union(*(group for group in groups if term in group))
            match = Q()
            for word in sorted(words):
                match |= (
                    Q(title__icontains=word)
                    | Q(description__icontains=word)
                    | Q(merchant__name__icontains=word)
                    | Q(merchant__category__name__icontains=word)
                )
            queryset = queryset.filter(match)
        return queryset

    def filter_available_today(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(usable_today_q(self.now)) if value else queryset

    def filter_mine(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        """ "我能用": usable today for everyone (``usable_today_q``), then for the signed-in member by the
        usability rule itself (``offer_usability`` with their card and counters)."""
        if not value:
            return queryset
        queryset = queryset.filter(usable_today_q(self.now))
        return queryset if self.mine is None else queryset.filter(pk__in=self.mine(queryset))

    def filter_near(self, queryset: QuerySet, name: str, point: tuple[float, float] | None) -> QuerySet:
        if point is None:
            return queryset
        return queryset.annotate(distance_km=nearest_store_km(*point)).order_by(
            F("distance_km").asc(nulls_last=True), "-id"
        )

    # --- values already read --------------------------------------------------------------------

    def filter_values(self, values: Mapping[str, object]) -> QuerySet:
        """The queryset narrowed by values already read (``OfferFilters``), as ``filter_queryset``
        narrows it by the form's cleaned data: the same filters, without reading the parameters again."""
        queryset = self.queryset
        for name, value in values.items():
            queryset = self.filters[name].filter(queryset, value)
        return queryset
