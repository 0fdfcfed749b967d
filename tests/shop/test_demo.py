"""The demo shop: two merchants' products with an order in every status, counters that agree with
the orders — and a second seeding changes nothing."""

from __future__ import annotations

import importlib
from io import StringIO

from django.apps import apps
from django.core.management import call_command
from django.db.models import Sum

from shop.demo import seed_shop
from shop.models import MemberProductCounter, Order, Product

seed_categories = importlib.import_module("merchants.migrations.0003_seed_categories").seed_categories


def test_the_demo_shop_has_every_order_status_and_is_idempotent(db):
    seed_categories(apps, None)
    call_command("seed_demo", members=30, merchants=6, stdout=StringIO(), stderr=StringIO())

    assert Product.objects.values("merchant").distinct().count() == 2
    for merchant_id in Product.objects.values_list("merchant", flat=True).distinct():
        statuses = set(Order.objects.filter(merchant_id=merchant_id).values_list("status", flat=True))
        assert statuses == set(Order.Status.values)
    for product in Product.objects.all():
        live = Order.objects.filter(product=product, status__in=["reserved", "confirmed"])
        taken = live.aggregate(n=Sum("quantity"))["n"] or 0
        held = MemberProductCounter.objects.filter(product=product).aggregate(n=Sum("reserved"))["n"] or 0
        assert taken == held
    orders = Order.objects.count()
    assert seed_shop(seed=1, members=[]) == 0
    assert Order.objects.count() == orders and Product.objects.count() == 6
