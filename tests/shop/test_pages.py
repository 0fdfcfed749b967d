"""The shop's pages with Django's test client: a signed-in member reserves, sees and cancels their
orders; a stranger is sent to sign in; another member's order is not found; the merchant's manager
makes products and confirms orders by code; the month of confirmed orders and the member's history
show what was used."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from members.auth import SESSION_KEY
from shop.models import Order, Product
from shop.services import order_confirm, order_reserve

pytestmark = pytest.mark.django_db


def signed_in(member) -> Client:
    member.consent_at = timezone.now()
    member.save(update_fields=["consent_at"])
    client = Client()
    session = client.session
    session[SESSION_KEY] = member.pk
    session.save()
    client.cookies["sessionid"] = session.session_key
    return client


def manager_client(partner) -> Client:
    client = Client()
    client.force_login(partner.manager.user)
    return client


def test_the_list_shows_member_and_struck_market_price_of_what_is_on_sale(make_product):
    on_sale = make_product(title="会员米")
    make_product(title="草稿米", status=Product.Status.DRAFT)
    page = Client().get(reverse("shop:product_list")).content.decode()
    assert "会员米" in page and "草稿米" not in page
    assert "¥59.90" in page and "<s" in page and "¥89.00" in page
    detail = Client().get(reverse("shop:product_detail", args=[on_sale.pk]))
    assert detail.status_code == 200 and "登录后预订" in detail.content.decode()


def test_a_member_reserves_sees_the_code_and_cancels_after_being_asked(make_product, card):
    product = make_product(stock=5, per_member_limit=2)
    client = signed_in(card.member)
    response = client.post(reverse("shop:reserve", args=[product.pk]), {"quantity": "2"})
    assert response.status_code == 302 and response["Location"] == reverse("shop:my_orders")
    order = Order.objects.get()
    assert (order.member, order.card, order.quantity) == (card.member, card, 2)
    mine = client.get(reverse("shop:my_orders")).content.decode()
    assert order.code in mine and "待使用" in mine

    refused = client.post(reverse("shop:reserve", args=[product.pk]), {"quantity": "1"}, follow=True)
    assert "每人限购2件" in refused.content.decode()
    bad = client.post(reverse("shop:reserve", args=[product.pk]), {"quantity": "abc"}, follow=True)
    assert "请填写1到99之间的数量" in bad.content.decode()
    assert Order.objects.count() == 1

    cancel = reverse("shop:order_cancel", args=[order.pk])
    asked = client.post(cancel)
    assert asked.status_code == 200 and "确认取消" in asked.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.RESERVED
    done = client.post(cancel, {"confirmed": "1"})
    assert done.status_code == 302
    order.refresh_from_db()
    product.refresh_from_db()
    assert order.status == Order.Status.CANCELLED and product.stock == 5


def test_a_stranger_is_sent_to_sign_in_and_another_members_order_is_not_found(make_product, card, make_card):
    product = make_product()
    order = order_reserve(product_id=product.pk, member=card.member, card=card, quantity=1)
    for url in (reverse("shop:my_orders"),):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("members:sign_in"))
    response = Client().post(reverse("shop:reserve", args=[product.pk]), {"quantity": "1"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("members:sign_in"))
    other = signed_in(make_card().member)
    response = other.post(reverse("shop:order_cancel", args=[order.pk]), {"confirmed": "1"})
    assert response.status_code == 404
    assert order.code not in other.get(reverse("shop:my_orders")).content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.RESERVED


def test_the_manager_makes_a_product_and_adjusts_its_stock(partner):
    client = manager_client(partner)
    today = timezone.localdate()
    fields = {
        "title": "会员专享大米",
        "description": "10 公斤",
        "market_price": "80.00",
        "member_price": "60.00",
        "per_member_limit": "2",
        "valid_from": today.isoformat(),
        "valid_until": (today + datetime.timedelta(days=10)).isoformat(),
        "status": "published",
        "stock": "20",
    }
    response = client.post(reverse("shop_merchant:product_create"), fields)
    assert response.status_code == 302
    product = Product.objects.get(title="会员专享大米")
    assert (product.merchant, product.stock, product.member_price) == (partner.merchant, 20, Decimal("60.00"))

    too_dear = client.post(
        reverse("shop_merchant:product_create"), {**fields, "title": "贵", "member_price": "90"}
    )
    assert too_dear.status_code == 200 and "会员价须大于0且低于市场价" in too_dear.content.decode()

    # Editing never writes the stock; the stock form moves it by a guarded delta.
    edit = client.post(
        reverse("shop_merchant:product_edit", args=[product.pk]), {**fields, "title": "大米", "stock": "999"}
    )
    assert edit.status_code == 302
    product.refresh_from_db()
    assert (product.title, product.stock) == ("大米", 20)
    client.post(reverse("shop_merchant:product_stock", args=[product.pk]), {"delta": "-5"})
    product.refresh_from_db()
    assert product.stock == 15
    page = client.post(
        reverse("shop_merchant:product_stock", args=[product.pk]), {"delta": "-16"}, follow=True
    )
    assert "减少的数量超过了当前库存" in page.content.decode()
    product.refresh_from_db()
    assert product.stock == 15


def test_the_manager_confirms_by_code_and_the_month_and_history_show_it(make_product, card, partner, rival):
    product = make_product()
    order = order_reserve(product_id=product.pk, member=card.member, card=card, quantity=2)
    other = order_reserve(product_id=product.pk, member=card.member, card=card, quantity=1)

    # The rival's manager cannot see or confirm it.
    rival_client = Client()
    rival_client.force_login(rival.manager.user)
    refused = rival_client.post(reverse("shop_merchant:order_confirm"), {"code": order.code}, follow=True)
    assert "未找到该订单码" in refused.content.decode()
    assert rival_client.get(reverse("shop_merchant:product_edit", args=[product.pk])).status_code == 404

    client = manager_client(partner)
    home = client.get(reverse("shop_merchant:home")).content.decode()
    assert order.code in home and "确认已发货/已使用" in home
    response = client.post(reverse("shop_merchant:order_confirm"), {"code": order.code.lower()}, follow=True)
    assert f"订单 {order.code} 已确认" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED and order.confirmed_by == partner.manager.user
    other.refresh_from_db()
    assert other.status == Order.Status.RESERVED

    month = client.get(reverse("shop_merchant:home"), {"month": timezone.localdate().strftime("%Y-%m")})
    assert month.context["shop_month"].count == 1
    assert month.context["shop_month"].amount == Decimal("119.80")
    assert month.context["shop_month"].saving == Decimal("58.20")
    last_year = client.get(reverse("shop_merchant:home"), {"month": "2001-01"})
    assert last_year.context["shop_month"].count == 0

    # A cashier is no manager.
    cashier = Client()
    cashier.force_login(partner.cashier.user)
    assert cashier.get(reverse("shop_merchant:home")).status_code == 403

    history = signed_in(card.member).get(reverse("history:redemptions")).content.decode()
    assert 'data-role="shop-orders"' in history and "花生油 5 升 × 2" in history and "¥119.80" in history
    assert reverse("shop:my_orders") in history


def test_history_shows_no_shop_section_to_a_member_without_orders(card):
    history = signed_in(card.member).get(reverse("history:redemptions")).content.decode()
    assert 'data-role="shop-orders"' not in history


def test_a_confirmed_order_is_shown_as_used_to_the_member(make_product, card):
    order = order_reserve(product_id=make_product().pk, member=card.member, card=card, quantity=1)
    order_confirm(order=order)
    page = signed_in(card.member).get(reverse("shop:my_orders")).content.decode()
    assert "已使用" in page and reverse("shop:order_cancel", args=[order.pk]) not in page


def test_the_shop_pages_speak_english_too(make_product, card, partner):
    product = make_product(title="Peanut oil", per_member_limit=2)
    order = order_reserve(product_id=product.pk, member=card.member, card=card, quantity=1)
    member = signed_in(card.member)
    member.cookies["django_language"] = "en"
    listing = member.get(reverse("shop:product_list")).content.decode()
    detail = member.get(reverse("shop:product_detail", args=[product.pk])).content.decode()
    mine = member.get(reverse("shop:my_orders")).content.decode()
    assert "Online shop" in listing and "My shop orders" in listing
    assert "9 left" in detail and "Limit 2 per member" in detail and "Reserve" in detail
    assert order.code in mine and "Cancel order" in mine and "To collect" in mine
    manager = manager_client(partner)
    manager.cookies["django_language"] = "en"
    home = manager.get(reverse("shop_merchant:home")).content.decode()
    assert "Confirm handed over / used" in home and "Paid by members" in home


def test_the_members_data_export_carries_their_shop_orders_only(make_product, card, make_card):
    product = make_product(title="会员米")
    order_reserve(product_id=product.pk, member=card.member, card=card, quantity=2)
    other = make_card()
    order_reserve(product_id=product.pk, member=other.member, card=other, quantity=1)
    document = signed_in(card.member).get(reverse("members:data_export")).json()
    assert [(o["product"], o["quantity"], o["amount"], o["status"]) for o in document["shop_orders"]] == [
        ("会员米", 2, "119.80", "reserved")
    ]
