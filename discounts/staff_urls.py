from __future__ import annotations

from django.urls import path

from discounts import settlement

app_name = "subsidies"
urlpatterns = [
    path("", settlement.subsidies_page, name="report"),
]
