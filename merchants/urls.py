"""The merchant portal's pages (under /merchant/), namespace ``merchants``.

discounts.urls includes them, adding the portal's offer pages (discounts') to the same namespace; the
till under /merchant/till/ is discounts' too."""

from django.urls import path

from merchants import views

app_name = "merchants"
urlpatterns = [
    path("", views.home, name="home"),
    path("apply/", views.apply, name="apply"),
    path("apply/done/", views.apply_done, name="apply_done"),
    path("login/", views.MerchantLoginView.as_view(), name="login"),
    path("logout/", views.MerchantLogoutView.as_view(), name="logout"),
    path("picture/", views.picture_upload, name="picture_upload"),
    path("pictures/<int:merchant_id>/", views.picture, name="picture"),
    path("allowance-claims/", views.hospital_claims, name="hospital_claims"),
    path("stores/new/", views.store_create, name="store_create"),
    path("stores/<int:store_id>/", views.store_edit, name="store_edit"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<int:membership_id>/active/", views.user_set_active, name="user_set_active"),
    path("keys/new/", views.key_create, name="key_create"),
    path("keys/<int:key_id>/revoke/", views.key_revoke, name="key_revoke"),
]
