from __future__ import annotations

from django.urls import path

from discounts import settlement
from merchants import cashier

app_name = "cashier"
urlpatterns = [
    path("", cashier.till_page, name="till"),
    path("store/", cashier.choose_store, name="store"),
    path("identify/", cashier.identify, name="identify"),
    path("clear/", cashier.clear, name="clear"),
    path("redeem/", cashier.redeem, name="redeem"),
    path("redemptions/<int:pk>/", cashier.receipt, name="receipt"),
    path("redemptions/<int:pk>/void/", cashier.void, name="void"),
    path("statement/", settlement.statement_page, name="statement"),
]
