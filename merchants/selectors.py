"""Reads about merchants: who is listed to members, what the merchant portal shows."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from members.models import Union
from merchants.models import ApiKey, Category, Merchant, MerchantUser, Store


def merchant_in_contract_q(today: date, prefix: str = "") -> Q:
    """Approved and inside the contract dates: a contract past its end date counts as expired."""
    return (
        Q(**{f"{prefix}status": Merchant.Status.APPROVED})
        & (Q(**{f"{prefix}contract_start__isnull": True}) | Q(**{f"{prefix}contract_start__lte": today}))
        & (Q(**{f"{prefix}contract_end__isnull": True}) | Q(**{f"{prefix}contract_end__gte": today}))
    )


def merchant_contract_state(merchant: Merchant, today: date) -> str:
    """A label for staff and the portal: the status, or 合同已到期 / 合同未开始 for approved ones."""
    if merchant.status != Merchant.Status.APPROVED:
        return merchant.get_status_display()
    if merchant.contract_end and merchant.contract_end < today:
        return "合同已到期"
    if merchant.contract_start and merchant.contract_start > today:
        return "合同未开始"
    return merchant.get_status_display()


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("sort_order", "id")


def region_choices() -> QuerySet[Union]:
    """Cities and counties in tree order: where a merchant applies, and what members filter offers
    by (the provincial organs union's groups count as counties)."""
    return Union.objects.filter(level__in=[Union.Level.CITY, Union.Level.COUNTY]).order_by("path")


def merchant_stores(merchant: Merchant) -> QuerySet[Store]:
    return merchant.stores.select_related("region").order_by("id")


def merchant_api_keys(merchant: Merchant) -> QuerySet[ApiKey]:
    return merchant.api_keys.select_related("store", "created_by").order_by("-created_at", "-id")


def merchant_users(merchant: Merchant) -> QuerySet[MerchantUser]:
    return merchant.users.select_related("user", "store").order_by("role", "user__username")
