from __future__ import annotations

from django.urls import path

from discounts import history

app_name = "history"
urlpatterns = [
    path("redemptions/", history.history_page, name="redemptions"),
]
