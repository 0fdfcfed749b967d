"""The offers section of the merchant portal's home page.

The merchants app renders the page and knows nothing of offers (it sits below discounts): its template
loads this tag, which lists the merchant's offers with what a manager may do with each."""

from __future__ import annotations

from django import template

from discounts.services import EDITABLE_STATUSES

register = template.Library()


@register.inclusion_tag("discounts/_merchant_offers.html")
def merchant_offers(merchant) -> dict:
    return {
        "offers": list(merchant.offers.order_by("-created_at", "-id")),
        "editable_statuses": list(EDITABLE_STATUSES),
    }
