from __future__ import annotations

from django.urls import path

from funds import views

app_name = "funds"
urlpatterns = [
    path("", views.fund_list, name="list"),
    path("export.xlsx", views.fund_export, name="export"),
    path("open/", views.fund_open_page, name="open"),
    path("<int:fund_id>/", views.fund_detail, name="detail"),
    path("<int:fund_id>/add/", views.fund_add_money_page, name="add_money"),
    path("<int:fund_id>/allocate/", views.fund_allocate_page, name="allocate"),
    path("<int:fund_id>/transfer/", views.fund_transfer_page, name="transfer"),
]
