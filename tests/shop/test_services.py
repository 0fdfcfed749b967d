"""The shop's rules, one at a time: what a reservation takes, what each refusal leaves untouched, and
how confirm, cancel and expiry end an order exactly once."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from members.models import Card, Member
from merchants.models import Merchant
from portal.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from portal.models import AuditEvent
from shop.models import MemberProductCounter, Order, Product
from shop.services import (
    RESERVATION_HOURS,
    order_cancel,
    order_confirm,
    order_reserve,
    orders_expire,
    product_save,
    product_stock_change,
)
from tests.factories import CardFactory

pytestmark = pytest.mark.django_db


def reserve(product, card, quantity=1, **kwargs):
    return order_reserve(product_id=product.pk, member=card.member, card=card, quantity=quantity, **kwargs)


def held(product, member) -> int:
    counter = MemberProductCounter.objects.filter(product=product, member=member).first()
    return counter.reserved if counter else 0


def stock(product) -> int:
    product.refresh_from_db()
    return product.stock


def refused(call) -> ApplicationError:
    with pytest.raises(ApplicationError) as raised:
        call()
    return raised.value


def test_a_reservation_takes_stock_and_the_members_limit_at_the_member_price(make_product, card):
    product = make_product(stock=10, per_member_limit=3)
    now = timezone.now()
    order = reserve(product, card, 2, now=now)
    assert order.status == Order.Status.RESERVED
    assert (order.quantity, order.unit_price, order.amount) == (2, Decimal("59.90"), Decimal("119.80"))
    assert order.merchant_id == product.merchant_id and order.card == card
    assert len(order.code) == 12 and order.code.isalnum() and order.code.isupper()
    assert order.expires_at == now + datetime.timedelta(hours=RESERVATION_HOURS)
    assert stock(product) == 8
    assert held(product, card.member) == 2
    event = AuditEvent.objects.get(action=AuditEvent.Action.SHOP_ORDER_CHANGED)
    assert event.data["event"] == "reserved" and event.union_path == product.merchant.region.path
    # A later price change leaves the order at the price it was made at.
    Product.objects.filter(pk=product.pk).update(member_price=Decimal("49.90"))
    order.refresh_from_db()
    assert order.unit_price == Decimal("59.90")


def test_more_than_the_stock_is_refused_and_takes_nothing(make_product, card):
    product = make_product(stock=2)
    error = refused(lambda: reserve(product, card, 3))
    assert isinstance(error, Conflict) and error.code == "out_of_stock"
    assert stock(product) == 2 and held(product, card.member) == 0 and not Order.objects.exists()
    reserve(product, card, 2)
    assert stock(product) == 0
    assert refused(lambda: reserve(product, card, 1)).code == "out_of_stock"


def test_over_the_members_limit_is_refused_and_gives_the_stock_back(make_product, card, make_card):
    product = make_product(stock=10, per_member_limit=2)
    assert refused(lambda: reserve(product, card, 3)).code == "member_limit_reached"
    reserve(product, card, 2)
    error = refused(lambda: reserve(product, card, 1))
    assert error.code == "member_limit_reached" and "2" in error.message
    # The stock the refused reservation took first went back with its transaction.
    assert stock(product) == 8 and held(product, card.member) == 2
    assert Order.objects.count() == 1
    # The limit is per member: another member still may.
    other = make_card()
    reserve(product, other, 2)
    assert stock(product) == 6


def test_a_product_not_on_sale_is_refused(make_product, card):
    today = timezone.localdate()
    cases = [
        make_product(status=Product.Status.DRAFT),
        make_product(status=Product.Status.ENDED),
        make_product(valid_from=today + datetime.timedelta(days=1)),
        make_product(
            valid_from=today - datetime.timedelta(days=9), valid_until=today - datetime.timedelta(days=1)
        ),
    ]
    for product in cases:
        assert refused(lambda p=product: reserve(p, card)).code == "product_not_on_sale"
        assert stock(product) == 10
    assert refused(
        lambda: order_reserve(product_id=999999, member=card.member, card=card, quantity=1)
    ).code == ("product_not_found")


def test_card_and_member_are_judged_by_the_one_usability_rule(make_product, card, partner):
    product = make_product()
    card.status = Card.Status.FROZEN
    card.save()
    error = refused(lambda: reserve(product, card))
    assert error.code == "card_inactive" and error.message == "该卡已挂失。"
    card.status = Card.Status.ACTIVE
    card.save()
    Member.objects.filter(pk=card.member_id).update(status=Member.Status.LEFT)
    card.member.refresh_from_db()
    assert refused(lambda: reserve(product, card)).code == "member_inactive"
    Member.objects.filter(pk=card.member_id).update(status=Member.Status.ACTIVE)
    card.member.refresh_from_db()
    assert (
        refused(lambda: order_reserve(product_id=product.pk, member=card.member, card=None, quantity=1)).code
        == "card_required"
    )
    stranger = CardFactory()
    assert isinstance(
        refused(lambda: order_reserve(product_id=product.pk, member=card.member, card=stranger, quantity=1)),
        ValidationFailed,
    )
    Merchant.objects.filter(pk=partner.merchant.pk).update(status=Merchant.Status.SUSPENDED)
    assert refused(lambda: reserve(product, card)).code == "merchant_not_open"
    assert stock(product) == 10 and not Order.objects.exists()


@pytest.mark.parametrize("quantity", [0, -1, 100, "2", True])
def test_a_bad_quantity_is_refused(make_product, card, quantity):
    product = make_product()
    error = refused(lambda: reserve(product, card, quantity))
    assert isinstance(error, ValidationFailed) and error.fields == {"quantity": ["数量无效。"]}
    assert stock(product) == 10


def test_confirm_is_idempotent_and_refuses_what_has_ended(make_product, card, partner):
    product = make_product()
    order = reserve(product, card)
    confirmed = order_confirm(order=order, by_user=partner.manager.user)
    assert confirmed.status == Order.Status.CONFIRMED and confirmed.confirmed_by == partner.manager.user
    first_at = confirmed.confirmed_at
    again = order_confirm(order=order, by_user=partner.manager.user)
    assert again.status == Order.Status.CONFIRMED and again.confirmed_at == first_at
    assert AuditEvent.objects.filter(data__event="confirmed").count() == 1
    # Confirmed is a use: it keeps the stock and the limit.
    assert stock(product) == 9 and held(product, card.member) == 1

    cancelled = reserve(product, card)
    order_cancel(order=cancelled, member=card.member)
    assert refused(lambda: order_confirm(order=cancelled)).code == "order_cancelled"

    late = reserve(product, card)
    after = late.expires_at + datetime.timedelta(seconds=1)
    assert refused(lambda: order_confirm(order=late, now=after)).code == "order_expired"
    late.refresh_from_db()
    assert late.status == Order.Status.RESERVED  # the sweep expires it and gives back
    orders_expire(now=after)
    assert refused(lambda: order_confirm(order=late)).code == "order_expired"


def test_the_member_cancels_once_and_gets_stock_and_limit_back_once(make_product, card, make_card):
    product = make_product(stock=5, per_member_limit=2)
    order = reserve(product, card, 2)
    assert refused(lambda: order_cancel(order=order, member=make_card().member)).code == "order_not_found"
    order_cancel(order=order, member=card.member)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and order.cancelled_at is not None
    assert stock(product) == 5 and held(product, card.member) == 0
    again = order_cancel(order=order, member=card.member)
    assert again.status == Order.Status.CANCELLED
    assert stock(product) == 5 and held(product, card.member) == 0
    # The limit given back may be taken again.
    confirmed = reserve(product, card, 2)
    order_confirm(order=confirmed)
    error = refused(lambda: order_cancel(order=confirmed, member=card.member))
    assert isinstance(error, Conflict) and error.code == "order_confirmed"
    assert isinstance(refused(lambda: order_cancel(order=confirmed, member=make_card().member)), NotFound)


def test_expiry_ends_overdue_reservations_once_and_gives_back(make_product, card, make_card):
    product = make_product(
        stock=10, per_member_limit=5, valid_from=timezone.localdate() - datetime.timedelta(days=5)
    )
    now = timezone.now()
    overdue = reserve(product, card, 3, now=now - datetime.timedelta(hours=RESERVATION_HOURS + 1))
    fresh = reserve(product, make_card(), 1, now=now)
    kept = reserve(product, card, 1, now=now - datetime.timedelta(hours=RESERVATION_HOURS + 2))
    order_confirm(order=kept, now=now - datetime.timedelta(hours=RESERVATION_HOURS + 1))
    assert stock(product) == 5
    assert orders_expire(now=now) == 1
    overdue.refresh_from_db()
    fresh.refresh_from_db()
    kept.refresh_from_db()
    assert overdue.status == Order.Status.EXPIRED
    assert fresh.status == Order.Status.RESERVED and kept.status == Order.Status.CONFIRMED
    assert stock(product) == 8 and held(product, card.member) == 1
    assert orders_expire(now=now) == 0
    assert stock(product) == 8 and held(product, card.member) == 1
    assert AuditEvent.objects.filter(data__event="expired").count() == 1


def test_stock_moves_by_a_guarded_delta_and_products_are_validated(make_product, partner):
    product = make_product(stock=3)
    product_stock_change(product=product, delta=7, by_user=partner.manager.user)
    assert stock(product) == 10
    error = refused(lambda: product_stock_change(product=product, delta=-11, by_user=partner.manager.user))
    assert error.code == "out_of_stock" and stock(product) == 10
    product_stock_change(product=product, delta=-10, by_user=partner.manager.user)
    assert stock(product) == 0

    today = timezone.localdate()
    bad = Product(
        title="贵了",
        market_price=Decimal("10.00"),
        member_price=Decimal("10.00"),
        stock=1,
        valid_from=today,
        valid_until=today,
    )
    error = refused(
        lambda: product_save(product=bad, merchant=partner.merchant, by_user=partner.manager.user)
    )
    assert isinstance(error, ValidationFailed) and "会员价" in error.message
    assert not Product.objects.filter(title="贵了").exists()


def test_saving_a_product_never_writes_the_stock_read_earlier(make_product, card, partner):
    product = make_product(stock=10)
    stale = Product.objects.get(pk=product.pk)
    reserve(product, card, 4)  # meanwhile a member reserves
    stale.title = "花生油 5 升（新包装）"
    product_save(product=stale, merchant=partner.merchant, by_user=partner.manager.user)
    product.refresh_from_db()
    assert product.title == "花生油 5 升（新包装）" and product.stock == 6


def test_the_beat_task_expires_overdue_orders(make_product, card):
    from django.conf import settings

    from shop.tasks import expire_orders

    product = make_product(stock=4, valid_from=timezone.localdate() - datetime.timedelta(days=5))
    reserve(product, card, 2, now=timezone.now() - datetime.timedelta(hours=RESERVATION_HOURS + 1))
    schedule = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "shop.tasks.expire_orders" in schedule
    assert expire_orders.apply().get() == 1
    assert stock(product) == 4 and Order.objects.get().status == Order.Status.EXPIRED
