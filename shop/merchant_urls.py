from __future__ import annotations

from django.urls import path

from shop import views

# /merchant/shop/: the merchant manager's products, orders and month of confirmed orders.
app_name = "shop_merchant"
urlpatterns = [
    path("", views.merchant_home, name="home"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:product_id>/", views.product_edit, name="product_edit"),
    path("products/<int:product_id>/stock/", views.product_stock, name="product_stock"),
    path("orders/confirm/", views.order_confirm, name="order_confirm"),
]
