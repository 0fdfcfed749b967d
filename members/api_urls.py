from django.urls import path

from members import api

app_name = "members_api"
urlpatterns = [
    path("auth/otp/request/", api.OtpRequestView.as_view(), name="otp_request"),
    path("auth/otp/verify/", api.OtpVerifyView.as_view(), name="otp_verify"),
    path("me/", api.MeView.as_view(), name="me"),
    path("me/consent/", api.ConsentView.as_view(), name="consent"),
    path("me/card-token/", api.CardTokenView.as_view(), name="card_token"),
]
