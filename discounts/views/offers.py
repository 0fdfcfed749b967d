"""Member-facing offer pages: the list (the home page) and an offer's detail with its code claim."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from discounts import saved, selectors
from discounts.models import Offer
from discounts.pictures import offer_picture_visible
from discounts.vouchers import voucher_claim
from members.auth import current_member
from merchants.selectors import category_list, region_choices
from portal.errors import ApplicationError, NotFound
from portal.images import image_response

PAGE_SIZE = 20
MEMBER_SIGN_IN_URL = "/me/sign-in/"


@require_GET
def offer_list(request):
    filters = selectors.offer_filters_parse(request.GET, strict=False)
    for messages_of_field in filters.errors.values():
        for message in messages_of_field:
            messages.warning(request, message)
    member = current_member(request)
    card = selectors.member_card(member)
    if member is not None and "region" not in request.GET:
        # Signed in and no place chosen yet: the member's own city ("全省" is a choice, region=).
        filters = dataclasses.replace(filters, region=selectors.member_city(member) or filters.region)
    elif member is not None and filters.region is None:
        filters = dataclasses.replace(filters, keep_empty=("region",))  # tabs and pages stay on 全省
    now = timezone.localtime()
    paginator = Paginator(selectors.offer_list(filters=filters, now=now, member=member, card=card), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    items = []
    for offer in page.object_list:
        today = selectors.offer_list_usability(offer, member=member, card=card, now=now)
        items.append(
            {
                "offer": offer,
                "headline": selectors.offer_headline(offer),
                "remaining": selectors.remaining_today(offer),
                "distance_km": getattr(offer, "distance_km", None),
                "today": today,
                "ineligible": not today.usable and today.code == "not_eligible",
            }
        )
    regions = region_choices()
    return render(
        request,
        "discounts/offer_list.html",
        {
            "filters": filters,
            "member": member,
            "regions": regions,
            "page": page,
            "items": items,
            "groups": _by_merchant(items),
            "tabs": _category_tabs(filters),
            "page_links": {
                "previous": filters.query_string(page=page.previous_page_number())
                if page.has_previous()
                else "",
                "next": filters.query_string(page=page.next_page_number()) if page.has_next() else "",
            },
            "without_near": filters.query_string(near=""),
        },
    )


def _by_merchant(items: list[dict]) -> list[dict]:
    """The page's offers as one card per merchant (its variants listed inside), in the order the
    merchant's first offer comes."""
    groups: dict[int, dict] = {}
    for item in items:
        merchant = item["offer"].merchant
        groups.setdefault(merchant.pk, {"merchant": merchant, "items": []})["items"].append(item)
    return list(groups.values())


def _category_tabs(filters) -> list[dict]:
    """One tab per category (and 全部); each keeps the other filters and starts at page 1."""
    tabs = [{"label": _("全部"), "query": filters.query_string(category=""), "current": not filters.category}]
    for category in category_list():
        tabs.append(
            {
                "label": category.label,
                "query": filters.query_string(category=category.code),
                "current": filters.category is not None and filters.category.pk == category.pk,
            }
        )
    return tabs


@require_GET
def offer_detail(request, offer_id: int):
    try:
        offer = selectors.offer_get_listed(offer_id)
    except NotFound:
        raise Http404 from None
    member = current_member(request)
    remaining = selectors.remaining_today(offer)
    online = offer.channel == Offer.Channel.ONLINE
    codes_left = selectors.voucher_codes_left(offer) if online else None
    stores = [
        {"store": store, "map_url": selectors.store_map_url(store)} for store in selectors.offer_stores(offer)
    ]
    return render(
        request,
        "discounts/offer_detail.html",
        {
            "offer": offer,
            "headline": selectors.offer_headline(offer),
            "rules": selectors.offer_rules_in_words(offer, remaining=remaining, codes_left=codes_left),
            "remaining": remaining,
            "today": selectors.offer_usability_today(offer, member, codes_left=codes_left),
            "stores": stores,
            "member": member,
            "online": online,
            "codes_left": codes_left,
            "my_codes": selectors.member_voucher_codes(offer, member),
            "is_saved": saved.offer_is_saved(offer, member),
            "sign_in_url": f"{MEMBER_SIGN_IN_URL}?next={quote(request.get_full_path())}",
        },
    )


@require_POST
def offer_claim_code(request, offer_id: int):
    detail_url = reverse("discounts:offer_detail", args=[offer_id])
    member = current_member(request)
    if member is None:
        return redirect(f"{MEMBER_SIGN_IN_URL}?next={quote(detail_url)}")
    try:
        offer = selectors.offer_get_listed(offer_id)
    except NotFound:
        raise Http404 from None
    try:
        code = voucher_claim(offer=offer, member=member)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("领取成功，您的券码是 %(code)s。") % {"code": code.code})
    return redirect(detail_url)


@require_GET
def offer_picture(request, offer_id: int):
    """An offer's picture: public once members can see the offer, else only to its merchant's users."""
    offer = get_object_or_404(Offer, pk=offer_id)
    if not offer_picture_visible(offer, request.user):
        raise Http404
    return image_response(offer.picture)
