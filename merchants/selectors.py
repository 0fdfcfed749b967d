"""Reads about merchants: who is listed to members, what the merchant portal shows."""

from __future__ import annotations

from datetime import date

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from members.models import Union
from merchants.models import ApiKey, Category, Merchant, MerchantUser, Store


def merchant_contract_state(merchant: Merchant, today: date) -> str:
    """A label for staff and the portal: the status, or 合同已到期 / 合同未开始 for signed merchants
    outside their contract (the merchant-open rule, ``Merchant.closed_by``)."""
    closed_by = merchant.closed_by(today)
    if closed_by == "contract_end":
        return _("合同已到期")
    if closed_by == "contract_start":
        return _("合同未开始")
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


def merchant_test_keys(merchant: Merchant) -> QuerySet[ApiKey]:
    """The test keys (``pk_test_…``) the merchant's integrators hold: they act on the sandbox."""
    return merchant.test_keys.select_related("store", "created_by").order_by("-created_at", "-id")


def merchant_users(merchant: Merchant) -> QuerySet[MerchantUser]:
    return merchant.users.select_related("user", "store").order_by("role", "user__username")
