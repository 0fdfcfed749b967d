"""Addresses of the bank exchange: /bank/ for a bank's staff (and the province), the rejections to-do
under /staff/."""

from django.urls import path

from banking import views

app_name = "banking"
urlpatterns = [
    path("bank/login/", views.BankLoginView.as_view(), name="login"),
    path("bank/logout/", views.BankLogoutView.as_view(), name="logout"),
    path("bank/", views.home, name="home"),
    path("bank/upload/", views.upload, name="upload"),
    path("bank/card-changes/export/", views.export_card_changes, name="export_card_changes"),
    path("bank/files/<int:file_id>/", views.file_detail, name="file_detail"),
    path("bank/files/<int:file_id>/download/", views.file_download, name="file_download"),
    path("bank/batches/", views.batches, name="batches"),
    path(
        "bank/batches/<int:batch_id>/production-file/",
        views.batch_production_file,
        name="batch_production_file",
    ),
    path("bank/card-use/", views.card_use, name="card_use"),
    path("bank/card-use/export.xlsx", views.card_use_export, name="card_use_export"),
    path("staff/bank-rejections/", views.rejections, name="rejections"),
    path("staff/bank-rejections/<int:result_id>/handled/", views.rejection_handled, name="rejection_handled"),
]
