from django.urls import path

from members import views

app_name = "members"
urlpatterns = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/code/", views.sign_in_code, name="sign_in_code"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("consent/", views.consent, name="consent"),
    path("card/", views.my_card, name="card"),
    path("card/activate/", views.card_activate, name="card_activate"),
    path("card/report-lost/", views.card_report_lost, name="card_report_lost"),
    path("data/", views.data_export, name="data_export"),
]
