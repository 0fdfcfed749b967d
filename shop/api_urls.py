from __future__ import annotations

from django.urls import path

from shop import api

# /api/v1/shop/: the till confirms a member's shop order with the merchant's POS key.
app_name = "shop_api"
urlpatterns = [
    path("orders/confirm/", api.ShopOrderConfirmView.as_view(), name="order_confirm"),
]
