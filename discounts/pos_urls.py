from __future__ import annotations

from django.urls import path

from discounts import pos_api

app_name = "pos"
urlpatterns = [
    path("cards/verify/", pos_api.CardVerifyView.as_view(), name="card_verify"),
    path("redemptions/", pos_api.RedemptionListCreateView.as_view(), name="redemptions"),
    path("redemptions/<int:pk>/void/", pos_api.RedemptionVoidView.as_view(), name="redemption_void"),
    path("me/redemptions/", pos_api.MemberRedemptionListView.as_view(), name="me_redemptions"),
]
