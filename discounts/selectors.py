"""Reads about offers: what members may browse, the filters of the list page and API, and the one
function that puts an offer's rules into plain words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import (
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from discounts import usability
from discounts.filters import (
    FILTER_PARAMS,
    KEYWORD_MAX_LENGTH,
    KEYWORD_MAX_TERMS,
    OfferFilterSet,
    keywords_normalize,
)
from discounts.models import (
    MemberOfferDayCounter,
    MemberOfferTotalCounter,
    Offer,
    OfferDayCounter,
    VoucherCode,
)
from discounts.rules import WEEKDAY_NAMES, local_day
from members.models import Card, Member, MemberGroup, Union
from merchants.models import Category, Merchant, Store
from portal.errors import NotFound, ValidationFailed

# --- Filters -----------------------------------------------------------------------------------------
# Read and applied by one django-filter FilterSet (discounts.filters.OfferFilterSet).


@dataclass(frozen=True)
class OfferFilters:
    """The offer list's filters as read: what the page shows back, its tabs and page links keep."""

    category: Category | None = None
    region: Union | None = None
    q: str = ""
    available_today: bool = False
    mine: bool = False
    near: tuple[float, float] | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    keep_empty: tuple[str, ...] = ()  # parameters links keep even when empty ("region=": 全省 chosen)

    @property
    def terms(self) -> list[str]:
        return self.q.split()[:KEYWORD_MAX_TERMS]

    def values(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in FILTER_PARAMS}

    def query_string(self, **overrides) -> str:
        """The filters as a query string (for tabs and pagination links), with ``overrides``."""
        params = {
            "category": self.category.code if self.category else "",
            "region": self.region.code if self.region else "",
            "q": self.q,
            "available_today": "1" if self.available_today else "",
            "mine": "1" if self.mine else "",
            "near": f"{self.near[0]:.6f},{self.near[1]:.6f}" if self.near else "",
        }
        params.update(overrides)
        return urlencode(
            {key: value for key, value in params.items() if value not in ("", None) or key in self.keep_empty}
        )


def offer_filters_parse(params: Mapping[str, str], *, strict: bool) -> OfferFilters:
    """Read the filters of the offer list from query parameters (``OfferFilterSet``'s form).

    ``strict`` (the API): unknown parameters and invalid values raise ValidationFailed (a 400).
    Otherwise (the page): invalid values are left out and reported in ``errors`` for a message."""
    errors: dict[str, list[str]] = {}
    if strict:
        for name in params:
            if name not in (*FILTER_PARAMS, "page", "page_size", "format"):
                errors.setdefault(name, []).append(_("未知的筛选条件。"))
    form = OfferFilterSet(data=params, queryset=Offer.objects.none()).form
    form.is_valid()
    for name in FILTER_PARAMS:
        errors.setdefault(name, []).extend(str(message) for message in form.errors.get(name, []))
    if len(keywords_normalize(params.get("q"))) > KEYWORD_MAX_LENGTH:
        errors["q"].append(_("关键词最多%(max)d个字。") % {"max": KEYWORD_MAX_LENGTH})
    errors = {name: messages for name, messages in errors.items() if messages}
    if strict and errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, fields=errors)
    cleaned = form.cleaned_data
    return OfferFilters(
        category=cleaned.get("category"),
        region=cleaned.get("region"),
        q=cleaned.get("q") or "",
        available_today=bool(cleaned.get("available_today")),
        mine=bool(cleaned.get("mine")),
        near=cleaned.get("near"),
        errors=errors,
    )


# --- Listing -----------------------------------------------------------------------------------------


def listed_offer_q(today: date) -> Q:
    """What members see: published, inside the validity dates, of a merchant open today (the one
    merchant-open rule, ``Merchant.open_q``) — never the integrators' sandbox (discounts.sandbox)."""
    return Q(
        status=Offer.Status.PUBLISHED,
        valid_from__lte=today,
        valid_until__gte=today,
        merchant__is_sandbox=False,
    ) & (Merchant.open_q(today, prefix="merchant__"))


def _used_today(today: date) -> Coalesce:
    used = OfferDayCounter.objects.filter(offer=OuterRef("pk"), day=today).values("used")[:1]
    return Coalesce(Subquery(used, output_field=IntegerField()), Value(0))


def _member_used(counters: QuerySet, member: Member) -> Coalesce:
    used = counters.filter(offer=OuterRef("pk"), member=member).values("used")[:1]
    return Coalesce(Subquery(used, output_field=IntegerField()), Value(0))


def member_card(member: Member | None) -> Card | None:
    """The member's active card (None: no member, or no active card)."""
    if member is None:
        return None
    return Card.objects.filter(member=member, status=Card.Status.ACTIVE).select_related("bank").first()


def member_city(member: Member | None) -> Union | None:
    """The city the member's union lies in (the second code of its path), for the list's default."""
    if member is None:
        return None
    codes = member.union.path.strip("/").split("/")
    if len(codes) < 2:
        return None
    return Union.objects.filter(code=codes[1], level=Union.Level.CITY).first()


def _usable_by(member: Member, card: Card | None, now: datetime):
    """``OfferFilterSet``'s "我能用": the ids of the offers in a queryset that the usability rule finds
    usable for this member now — their counters read by subqueries, so one query whatever the count."""
    today = now.date()

    def ids(queryset: QuerySet) -> list[int]:
        candidates = queryset.annotate(
            member_today=_member_used(MemberOfferDayCounter.objects.filter(day=today), member),
            member_total=_member_used(MemberOfferTotalCounter.objects.all(), member),
        )
        return [
            offer.pk
            for offer in candidates
            if usability.offer_usability(
                offer,
                now=now,
                member=member,
                card=card,
                usage=usability.Usage(
                    used_today=offer.used_today,
                    member_today=offer.member_today,
                    member_total=offer.member_total,
                ),
                rest_of_day=True,
            ).usable
        ]

    return ids


def offer_list(
    *,
    filters: OfferFilters,
    now: datetime | None = None,
    member: Member | None = None,
    card: Card | None = None,
) -> QuerySet[Offer]:
    """Listed offers matching ``filters``, each with ``used_today`` (and ``distance_km`` near a
    point). One query per page whatever its size: everything shown comes by joins and subqueries.
    "Available today" is the usability rule as a filter (``usability.usable_today_q``); "我能用"
    (``mine``) is the rule for the signed-in ``member`` with their ``card`` (one query more)."""
    now = timezone.localtime(now) if now else timezone.localtime()
    today = now.date()
    queryset = (
        Offer.objects.filter(listed_offer_q(today))
        .select_related("merchant", "merchant__category", "merchant__region", "eligible_union", "bank")
        .annotate(used_today=_used_today(today))
    )
    queryset = queryset.order_by(F("published_at").desc(nulls_last=True), "-id")  # "near" orders by distance
    mine = _usable_by(member, card, now) if member is not None else None
    return OfferFilterSet(queryset=queryset, now=now, mine=mine).filter_values(filters.values())


def offer_list_usability(
    offer: Offer, *, member: Member | None = None, card: Card | None = None, now: datetime | None = None
) -> usability.Usability:
    """The usability rule's answer for an offer of the list, query-free (``offer_list``'s joins and
    ``used_today``): still usable today for everyone, or — signed in — for this member with their card
    (the member's own counters are left to the offer's page)."""
    return usability.offer_usability(
        offer,
        now=now,
        member=member,
        card=card,
        usage=usability.Usage(used_today=getattr(offer, "used_today", 0) or 0),
        rest_of_day=True,
    )


def offer_get_listed(offer_id: int, *, today: date | None = None) -> Offer:
    """A listed offer with everything its detail page shows (stores prefetched), or NotFound."""
    today = today or local_day()
    open_stores = Store.objects.filter(is_active=True).select_related("region").order_by("id")
    offer = (
        Offer.objects.filter(listed_offer_q(today), pk=offer_id)
        .select_related("merchant", "merchant__category", "merchant__region", "eligible_union", "bank")
        .annotate(used_today=_used_today(today))
        .prefetch_related(
            Prefetch("stores", queryset=open_stores, to_attr="own_stores"),
            Prefetch("merchant__stores", queryset=open_stores, to_attr="open_stores"),
        )
        .first()
    )
    if offer is None:
        raise NotFound(_("优惠不存在或已下架。"), code="offer_not_found")
    return offer


def offer_stores(offer: Offer) -> list[Store]:
    """Where the offer can be used (needs offer_get_listed's prefetches)."""
    own = getattr(offer, "own_stores", None)
    if own is None:
        own = list(offer.stores.filter(is_active=True).select_related("region"))
    if own:
        return own
    merchant_stores = getattr(offer.merchant, "open_stores", None)
    if merchant_stores is None:
        merchant_stores = list(offer.merchant.stores.filter(is_active=True).select_related("region"))
    return merchant_stores


def remaining_today(offer: Offer) -> int | None:
    """Units left today (None: unlimited), by the usability rule's own figure
    (``usability.remaining_today``). Uses the ``used_today`` annotation when present."""
    if offer.daily_quota is None:
        return None
    used = getattr(offer, "used_today", None)
    if used is None:
        used = (
            OfferDayCounter.objects.filter(offer=offer, day=local_day())
            .values_list("used", flat=True)
            .first()
            or 0
        )
    return usability.remaining_today(offer, used)


def offer_usability_today(
    offer: Offer, member: Member | None, *, codes_left: int | None = None
) -> usability.Usability:
    """The usability rule's answer for the offer's page now: for everyone, or — signed in — for this
    member with their active card and their own counters (two small reads)."""
    now = timezone.localtime()
    used = getattr(offer, "used_today", None)
    usage = usability.Usage(used_today=used or 0, codes_left=codes_left)
    card = None
    if member is not None:
        card = Card.objects.filter(member=member, status=Card.Status.ACTIVE).first()
        counters = {
            "member_today": MemberOfferDayCounter.objects.filter(offer=offer, member=member, day=now.date()),
            "member_total": MemberOfferTotalCounter.objects.filter(offer=offer, member=member),
        }
        usage = usability.Usage(
            used_today=usage.used_today,
            codes_left=codes_left,
            **{name: rows.values_list("used", flat=True).first() or 0 for name, rows in counters.items()},
        )
        member = Member.objects.select_related("union").get(pk=member.pk)
    return usability.offer_usability(offer, now=now, member=member, card=card, usage=usage)


def member_voucher_codes(offer: Offer, member: Member | None) -> list[VoucherCode]:
    if member is None or offer.channel != Offer.Channel.ONLINE:
        return []
    return list(VoucherCode.objects.filter(offer=offer, member=member).order_by("claimed_at", "id"))


def merchant_vouchers_used(merchant: Merchant) -> QuerySet[VoucherCode]:
    """The merchant's codes reported used, newest first."""
    return (
        VoucherCode.objects.filter(offer__merchant=merchant, used_at__isnull=False)
        .select_related("offer", "member")
        .order_by("-used_at", "-id")
    )


def voucher_codes_left(offer: Offer) -> int:
    return VoucherCode.objects.filter(offer=offer, member__isnull=True).count()


def store_map_url(store: Store) -> str:
    """A link that opens the store in the phone's map app (Amap's URI API takes lng,lat)."""
    if store.latitude is None or store.longitude is None:
        return ""
    return "https://uri.amap.com/marker?" + urlencode(
        {"position": f"{store.longitude},{store.latitude}", "name": store.name, "src": "union-card"}
    )


# --- The rules in plain words ---------------------------------------------------------------------


def _amount(value: Decimal | None) -> str:
    """10.00 → 10, 8.50 → 8.5: prices read as people say them."""
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


def _weekdays_words(weekdays: list[int]) -> str:
    days = sorted(set(weekdays))
    if days == [1, 2, 3, 4, 5]:
        return _("仅限周一至周五")
    return _("仅限%(days)s") % {"days": _("、").join(_(WEEKDAY_NAMES[day - 1]) for day in days)}


def offer_headline(offer: Offer) -> str:
    """The benefit in a few characters: 10元/张, 满100减20, 8.8折, 工会补贴20元/天."""
    unit = offer.unit_label or _("份")
    if offer.kind == Offer.Kind.PERCENT_OFF and offer.percent_off is not None:
        return _("%(rate)s折") % {"rate": _amount((100 - Decimal(offer.percent_off)) / 10)}
    if offer.kind == Offer.Kind.AMOUNT_OFF and offer.amount_off is not None:
        if offer.min_spend:
            return _("满%(min)s减%(off)s") % {
                "min": _amount(offer.min_spend),
                "off": _amount(offer.amount_off),
            }
        return _("立减%(off)s元") % {"off": _amount(offer.amount_off)}
    if offer.kind == Offer.Kind.FIXED_PRICE and offer.fixed_price is not None:
        return _("会员价%(price)s元/%(unit)s") % {"price": _amount(offer.fixed_price), "unit": unit}
    if offer.kind == Offer.Kind.ALLOWANCE and offer.allowance_per_unit is not None:
        return _("工会补贴%(amount)s元/%(unit)s") % {
            "amount": _amount(offer.allowance_per_unit),
            "unit": unit,
        }
    return offer.get_kind_display()


def offer_preview(offer: Offer) -> dict:
    """The offer card members will see, for an offer being written or reviewed (maybe unsaved, maybe
    half filled in): headline, title, merchant and rules, each part only once it can be said."""
    headline = offer_headline(offer) if offer.kind in Offer.Kind.values else ""
    try:
        rules = offer_rules_in_words(offer)
    except (AttributeError, TypeError, ValueError):
        # a half-filled form (no dates yet, a bad amount): the rules wait until they can be read
        rules = [headline] if headline else []
    return {"offer": offer, "headline": headline, "rules": rules}


def offer_rules_in_words(
    offer: Offer, *, remaining: int | None = None, codes_left: int | None = None
) -> list[str]:
    """Every rule of the offer as short Chinese sentences, for the detail page and the API alike,
    e.g. ["满100减20", "仅限周六、周日，每日限量1500张，今日剩余312张", "每人每日限1次"]."""
    unit = offer.unit_label or _("份")
    lines = [offer_headline(offer)]
    if offer.kind == Offer.Kind.AMOUNT_OFF and not offer.min_spend:
        lines[0] = _("每笔立减%(off)s元") % {"off": _amount(offer.amount_off)}
    if offer.kind == Offer.Kind.PERCENT_OFF and offer.percent_off is not None:
        lines[0] = _("会员享%(rate)s折") % {"rate": _amount((100 - Decimal(offer.percent_off)) / 10)}

    when = []
    if offer.weekdays:
        when.append(_weekdays_words(offer.weekdays))
    if offer.time_from and offer.time_until:
        when.append(
            _("每日%(start)s至%(end)s")
            % {"start": offer.time_from.strftime("%H:%M"), "end": offer.time_until.strftime("%H:%M")}
        )
    if offer.daily_quota is not None:
        when.append(_("每日限量%(quota)d%(unit)s") % {"quota": offer.daily_quota, "unit": unit})
        if remaining is not None:
            when.append(_("今日剩余%(left)d%(unit)s") % {"left": remaining, "unit": unit})
    elif offer.channel == Offer.Channel.IN_STORE:
        when.append(_("每日不限量"))
    if when:
        lines.append("，".join(when))

    lines.append(
        _("有效期%(start)s至%(end)s")
        % {"start": offer.valid_from.strftime("%Y-%m-%d"), "end": offer.valid_until.strftime("%Y-%m-%d")}
    )

    if offer.channel == Offer.Channel.ONLINE:
        limit = offer.per_member_total_limit or 1
        text = _("线上领取券码，每人限领%(limit)d个") % {"limit": limit}
        if codes_left is not None:
            text += _("，剩余%(left)d个") % {"left": codes_left}
        lines.append(text)
    else:
        if offer.per_member_daily_limit:
            lines.append(_("每人每日限%(limit)d次") % {"limit": offer.per_member_daily_limit})
        if offer.per_member_total_limit:
            lines.append(_("每人累计限%(limit)d次") % {"limit": offer.per_member_total_limit})

    if offer.eligible_groups:
        labels = [
            str(MemberGroup(group).label) for group in offer.eligible_groups if group in MemberGroup.values
        ]
        lines.append(_("仅限%(groups)s") % {"groups": "、".join(labels)})
    if offer.eligible_union_id:
        lines.append(_("仅限%(union)s会员") % {"union": offer.eligible_union.name})

    if offer.funder == Offer.Funder.UNION:
        lines.append(_("由工会出资"))
    elif offer.funder == Offer.Funder.BANK and offer.bank_id:
        lines.append(_("由%(bank)s出资，须使用工会会员卡支付") % {"bank": offer.bank.name})
    return lines
