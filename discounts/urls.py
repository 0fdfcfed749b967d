from django.urls import path

from discounts import views

app_name = "discounts"
urlpatterns = [
    path("", views.offer_list, name="offer_list"),
    path("offers/<int:offer_id>/", views.offer_detail, name="offer_detail"),
    path("offers/<int:offer_id>/claim/", views.offer_claim_code, name="offer_claim_code"),
]
