"""The members' shop pages (namespace ``shop``): /shop/ and /me/shop/. The manager's pages are in
merchant_urls.py (/merchant/shop/), the till's API in api_urls.py (/api/v1/shop/)."""

from __future__ import annotations

from django.urls import path

from shop import views

app_name = "shop"
urlpatterns = [
    path("shop/", views.product_list, name="product_list"),
    path("shop/<int:product_id>/", views.product_detail, name="product_detail"),
    path("shop/<int:product_id>/reserve/", views.product_reserve, name="reserve"),
    path("me/shop/", views.my_orders, name="my_orders"),
    path("me/shop/<int:order_id>/cancel/", views.order_cancel, name="order_cancel"),
]
