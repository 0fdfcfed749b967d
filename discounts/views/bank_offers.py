"""A partner bank's own offers (funded by that bank), for its staff and the province: read only.

Which banks a user sees is the bank exchange's one rule (``banking.access``, through its pages'
``bank_access``); the offers are those whose funder is one of those banks."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from banking.views import bank_access
from discounts.models import Offer

OFFERS_PER_PAGE = 50


@require_GET
@bank_access
def bank_offer_list(request):
    offers = (
        Offer.objects.filter(funder=Offer.Funder.BANK, bank__in=request.banks)
        .select_related("merchant", "bank")
        .order_by("-valid_from", "-pk")
    )
    page = Paginator(offers, OFFERS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "discounts/bank_offers.html", {"page": page})
