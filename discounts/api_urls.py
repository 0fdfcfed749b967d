from django.urls import path

from discounts import api

app_name = "offers_api"
urlpatterns = [
    path("categories/", api.CategoryListView.as_view(), name="category_list"),
    path("offers/", api.OfferListView.as_view(), name="offer_list"),
    path("offers/<int:offer_id>/", api.OfferDetailView.as_view(), name="offer_detail"),
]
