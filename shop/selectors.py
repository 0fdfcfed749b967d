"""Reads of the shop: what members may see on sale, their own orders, a merchant's products and
orders, and a merchant's month of confirmed orders (its part of the monthly reconciliation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.db.models import Count, DecimalField, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from discounts.history import HistoryItem, HistorySection
from discounts.statements import next_month
from members.models import Member
from merchants.models import Merchant
from shop.models import Order, Product

HISTORY_ITEMS = 5
CODE_LENGTH = 12


def products_on_sale(now: datetime | None = None) -> QuerySet[Product]:
    """Published products inside their sale window, of merchants open today (sold out ones too: the
    page shows them as such)."""
    today = timezone.localdate(now)
    return (
        Product.objects.filter(status=Product.Status.PUBLISHED, valid_from__lte=today, valid_until__gte=today)
        .filter(Merchant.open_q(today, prefix="merchant__"))
        .select_related("merchant")
        .order_by("-created_at", "-id")
    )


def member_orders(member: Member) -> QuerySet[Order]:
    return (
        Order.objects.filter(member=member)
        .select_related("product", "merchant")
        .order_by("-reserved_at", "-id")
    )


def merchant_products(merchant: Merchant) -> QuerySet[Product]:
    return Product.objects.filter(merchant=merchant).order_by("-created_at", "-id")


def merchant_orders(merchant: Merchant) -> QuerySet[Order]:
    return (
        Order.objects.filter(merchant=merchant)
        .select_related("product", "member", "card")
        .order_by("-reserved_at", "-id")
    )


def clean_code(raw) -> str:
    """An order code as typed or scanned: spaces and dashes dropped, upper case."""
    if not isinstance(raw, str):
        return ""
    return "".join(raw.split()).replace("-", "").upper()


def merchant_order_by_code(merchant: Merchant, code: str) -> Order | None:
    """The merchant's order with this code; another merchant's is None, like an unknown one."""
    code = clean_code(code)
    if len(code) != CODE_LENGTH:
        return None
    return merchant_orders(merchant).filter(code=code).first()


@dataclass
class ShopMonth:
    month: date
    orders: QuerySet
    count: int
    quantity: int
    amount: Decimal
    saving: Decimal


def merchant_shop_month(*, merchant: Merchant, month: date) -> ShopMonth:
    """The merchant's orders confirmed in the local month, listed and totalled by the same filter."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(month, time.min, tzinfo=zone)
    end = datetime.combine(next_month(month), time.min, tzinfo=zone)
    orders = (
        merchant_orders(merchant)
        .filter(status=Order.Status.CONFIRMED, confirmed_at__gte=start, confirmed_at__lt=end)
        .order_by("confirmed_at", "id")
    )
    money = DecimalField(max_digits=14, decimal_places=2)
    totals = orders.aggregate(
        count=Count("id"),
        quantity=Coalesce(Sum("quantity"), 0),
        amount=Coalesce(Sum("amount"), Value(Decimal("0.00")), output_field=money),
    )
    saving = sum(((o.product.market_price - o.unit_price) * o.quantity for o in orders), Decimal("0.00"))
    return ShopMonth(month=month, orders=orders, saving=saving, **totals)


def history_section(member: Member) -> HistorySection | None:
    """The member's latest confirmed shop orders on their history page (registered in
    ShopConfig.ready): one query; no section for a member who has used none."""
    confirmed = list(
        member_orders(member)
        .filter(status=Order.Status.CONFIRMED)
        .order_by("-confirmed_at", "-id")[:HISTORY_ITEMS]
    )
    if not confirmed:
        return None
    items = [
        HistoryItem(
            title=f"{order.product.title} × {order.quantity}",
            detail=f"{order.merchant.name} · {timezone.localtime(order.confirmed_at):%Y-%m-%d %H:%M}",
            money=f"¥{order.amount}",
        )
        for order in confirmed
    ]
    return HistorySection(
        key="shop-orders",
        heading=_("网上购（已使用）"),
        items=items,
        more_url=reverse("shop:my_orders"),
        more_text=_("我的网上购订单"),
    )


def orders_for_export(member: Member) -> list[dict]:
    """The member's shop orders as their data export shows them (``members.people.member_data_export``)."""
    rows = (
        Order.objects.filter(member=member)
        .order_by("reserved_at", "id")
        .values(
            "reserved_at", "product__title", "merchant__name", "quantity", "amount", "status", "confirmed_at"
        )
    )
    return [
        {
            "at": row["reserved_at"].isoformat(),
            "product": row["product__title"],
            "merchant": row["merchant__name"],
            "quantity": row["quantity"],
            "amount": str(row["amount"]),
            "status": row["status"],
            "confirmed_at": row["confirmed_at"].isoformat() if row["confirmed_at"] else None,
        }
        for row in rows
    ]
