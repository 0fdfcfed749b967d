"""Demo shop: products of two demo merchants and orders in every status, made through the services
(so the counters agree with the orders). Idempotent: merchants that already list products get none."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from members.models import Card
from merchants import demo as merchants_demo
from portal.errors import ApplicationError
from shop.models import Order, Product
from shop.services import RESERVATION_HOURS, order_cancel, order_confirm, order_reserve, orders_expire

# Two demo merchants after the cinema (index 0, which the walkthroughs use for offers).
SHOP_MERCHANTS = (1, 2)
PRODUCTS = [
    ("会员专享 5 升花生油", "一级压榨，每户限购两桶。", "89.00", "59.90", 200, 2),
    ("东北大米 10 公斤", "当季新米，到店自提。", "79.00", "55.00", 150, 3),
    ("家用洗衣液 3 公斤", "", "49.90", "29.90", 80, None),
]
# The statuses each merchant's first product gets orders in, one order each.
STATUSES = ("reserved", "confirmed", "cancelled", "expired")


def seed_shop(*, seed: int = 1, members: list[dict], log=print) -> int:
    """Products for the demo merchants SHOP_MERCHANTS and one order per status for each; returns how
    many orders were made. ``members``: the demo sign-ins (members.demo.seed_members)."""
    merchants = dict(merchants_demo.demo_merchants(seed=seed, count=max(SHOP_MERCHANTS) + 1))
    chosen = [merchants[index] for index in SHOP_MERCHANTS if index in merchants]
    missing = [m for m in chosen if not Product.objects.filter(merchant=m).exists()]
    if not missing:
        return 0
    numbers = [m["card_number"] for m in members if m.get("card_status") == "active"][: len(STATUSES)]
    cards = list(Card.objects.filter(number__in=numbers, status=Card.Status.ACTIVE).select_related("member"))
    today = timezone.localdate()
    now = timezone.now()
    made = 0
    with transaction.atomic():
        for merchant in missing:
            products = [
                Product.objects.create(
                    merchant=merchant,
                    title=title,
                    description=description,
                    market_price=Decimal(market),
                    member_price=Decimal(member),
                    stock=stock,
                    per_member_limit=limit,
                    valid_from=today - datetime.timedelta(days=30),
                    valid_until=today + datetime.timedelta(days=60),
                    status=Product.Status.PUBLISHED,
                )
                for title, description, market, member, stock, limit in PRODUCTS
            ]
            for card, status in zip(cards, STATUSES, strict=False):
                made += _order_in(status, product=products[0], card=card, now=now)
        orders_expire(now=now)
    log(f"shop: products for {len(missing)} merchants, {made} orders")
    return made


def _order_in(status: str, *, product: Product, card: Card, now) -> int:
    reserved_at = now - datetime.timedelta(hours=RESERVATION_HOURS + 1) if status == "expired" else now
    try:
        order = order_reserve(
            product_id=product.pk, member=card.member, card=card, quantity=1, now=reserved_at
        )
        if status == Order.Status.CONFIRMED:
            order_confirm(order=order, now=now)
        elif status == Order.Status.CANCELLED:
            order_cancel(order=order, member=card.member, now=now)
    except ApplicationError:
        return 0  # a member or merchant the rules refuse today: no order of theirs in the demo
    return 1
