"""The till confirms a member's shop order over the POS API: by code, once, the merchant's own only."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from shop.models import Order
from shop.services import order_cancel, order_reserve, orders_expire

pytestmark = pytest.mark.django_db

URL = "/api/v1/shop/orders/confirm/"


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    settings.POS_RATE_LIMIT_PER_MINUTE = 0


def reserve(product, card, quantity=1, **kwargs):
    return order_reserve(product_id=product.pk, member=card.member, card=card, quantity=quantity, **kwargs)


def post(partner, body):
    return APIClient().post(URL, body, format="json", **partner.headers())


def test_the_till_confirms_by_code_and_again_gets_the_same_answer(make_product, card, partner):
    order = reserve(make_product(), card, 2)
    spaced = f"{order.code[:4]} {order.code[4:8]}-{order.code[8:].lower()}"
    response = post(partner, {"code": spaced})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["code"] == order.code and body["status"] == "confirmed"
    assert (body["quantity"], body["amount"], body["unit_price"]) == (2, "119.80", "59.90")
    assert body["product"]["title"] == "花生油 5 升"
    assert body["member_name_masked"] == card.member.name_masked
    assert "*" in body["card_number_masked"] and card.number not in str(body)
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED and order.confirmed_api_key.merchant == partner.merchant
    again = post(partner, {"code": order.code})
    assert again.status_code == 200 and again.json() == body


def test_another_merchants_code_is_not_found_and_stays_reserved(make_product, card, rival):
    order = reserve(make_product(), card)
    response = post(rival, {"code": order.code})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "order_not_found"
    order.refresh_from_db()
    assert order.status == Order.Status.RESERVED


def test_cancelled_and_expired_orders_are_refused(make_product, card, partner):
    product = make_product(valid_from=timezone.localdate() - datetime.timedelta(days=5))
    cancelled = reserve(product, card)
    order_cancel(order=cancelled, member=card.member)
    response = post(partner, {"code": cancelled.code})
    assert response.status_code == 409 and response.json()["error"]["code"] == "order_cancelled"
    old = reserve(product, card, now=cancelled.reserved_at - datetime.timedelta(days=3))
    response = post(partner, {"code": old.code})
    assert response.status_code == 409 and response.json()["error"]["code"] == "order_expired"
    orders_expire()
    response = post(partner, {"code": old.code})
    assert response.status_code == 409 and response.json()["error"]["code"] == "order_expired"


@pytest.mark.parametrize("body", [{}, {"code": ""}, {"code": 12}, {"code": "x" * 41}, ["K7QW3ZP9M2XA"]])
def test_bad_bodies_get_a_clear_error(partner, body):
    response = post(partner, body)
    if body == {"code": 12}:  # a number is read as its digits: no such order
        assert response.status_code == 404
        return
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_without_a_key_nothing_is_confirmed(make_product, card):
    order = reserve(make_product(), card)
    response = APIClient().post(URL, {"code": order.code}, format="json")
    assert response.status_code == 401
    order.refresh_from_db()
    assert order.status == Order.Status.RESERVED
