from django.urls import path
from django.views.generic import RedirectView

from discounts import views

app_name = "discounts"
urlpatterns = [
    path("", views.offer_list, name="offer_list"),
    # The list lives at the home page; the address its detail pages suggest leads there too.
    path(
        "offers/",
        RedirectView.as_view(pattern_name="discounts:offer_list", query_string=True),
        name="offers_redirect",
    ),
    path("offers/<int:offer_id>/", views.offer_detail, name="offer_detail"),
    path("offers/<int:offer_id>/claim/", views.offer_claim_code, name="offer_claim_code"),
]
