"""The shop's counters under real concurrency: threads, each with its own PostgreSQL connection and
transaction, started together on a barrier (tests.redemption.conftest.run_in_threads)."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Sum
from django.utils import timezone

from portal.errors import ApplicationError
from shop.models import MemberProductCounter, Order
from shop.services import RESERVATION_HOURS, order_cancel, order_reserve, orders_expire
from tests.redemption.conftest import run_in_threads

pytestmark = pytest.mark.django_db(transaction=True)


def outcome(result) -> str:
    if isinstance(result, Order):
        return "ok"
    if isinstance(result, ApplicationError):
        return result.code
    raise result  # an unexpected error fails the test with its traceback


def live_quantity(product) -> int:
    live = Order.objects.filter(product=product, status__in=[Order.Status.RESERVED, Order.Status.CONFIRMED])
    return live.aggregate(n=Sum("quantity"))["n"] or 0


def test_twenty_members_racing_for_seven_units_get_exactly_seven(make_product, make_card):
    product = make_product(stock=7)
    cards = [make_card() for _ in range(20)]

    def attempt(index):
        card = cards[index]
        return order_reserve(product_id=product.pk, member=card.member, card=card, quantity=1)

    outcomes = [outcome(r) for r in run_in_threads(20, attempt)]
    assert outcomes.count("ok") == 7
    assert outcomes.count("out_of_stock") == 13
    product.refresh_from_db()
    assert product.stock == 0
    assert live_quantity(product) == 7


def test_one_member_racing_against_their_own_limit_gets_only_the_limit(make_product, card):
    product = make_product(stock=100, per_member_limit=3)

    def attempt(index):
        return order_reserve(product_id=product.pk, member=card.member, card=card, quantity=1)

    outcomes = [outcome(r) for r in run_in_threads(12, attempt)]
    assert outcomes.count("ok") == 3
    assert outcomes.count("member_limit_reached") == 9
    product.refresh_from_db()
    # The refused ones took stock first and gave it back with their transaction.
    assert product.stock == 97
    assert MemberProductCounter.objects.get(product=product, member=card.member).reserved == 3
    assert live_quantity(product) == 3


def test_two_expiries_at_once_expire_and_give_back_each_order_once(make_product, make_card):
    product = make_product(stock=10, valid_from=timezone.localdate() - datetime.timedelta(days=5))
    past = timezone.now() - datetime.timedelta(hours=RESERVATION_HOURS + 1)
    cards = [make_card() for _ in range(4)]
    for card in cards:
        order_reserve(product_id=product.pk, member=card.member, card=card, quantity=2, now=past)
    product.refresh_from_db()
    assert product.stock == 2

    counts = run_in_threads(2, lambda index: orders_expire())
    assert all(isinstance(count, int) for count in counts), counts
    assert sum(counts) == 4  # each order expired by exactly one of the two runs
    product.refresh_from_db()
    assert product.stock == 10
    assert set(MemberProductCounter.objects.values_list("reserved", flat=True)) == {0}
    assert Order.objects.filter(status=Order.Status.EXPIRED).count() == 4


def test_a_cancel_racing_an_expiry_gives_back_once(make_product, card):
    product = make_product(stock=5, valid_from=timezone.localdate() - datetime.timedelta(days=5))
    past = timezone.now() - datetime.timedelta(hours=RESERVATION_HOURS + 1)
    order = order_reserve(product_id=product.pk, member=card.member, card=card, quantity=3, now=past)

    def attempt(index):
        if index == 0:
            return orders_expire()
        return order_cancel(order=Order.objects.get(pk=order.pk), member=card.member)

    results = run_in_threads(2, attempt)
    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status in (Order.Status.EXPIRED, Order.Status.CANCELLED)
    if order.status == Order.Status.EXPIRED:
        assert results[0] == 1 and isinstance(results[1], ApplicationError)
    else:
        assert results[0] == 0
    assert product.stock == 5
    assert MemberProductCounter.objects.get(product=product, member=card.member).reserved == 0
