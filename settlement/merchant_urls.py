from __future__ import annotations

from django.urls import path

from settlement import views

# /merchant/settlement/: the merchant manager's statements.
app_name = "settlement_merchant"
urlpatterns = [
    path("", views.merchant_statements, name="list"),
    path("<int:statement_id>/", views.merchant_statement, name="detail"),
    path("<int:statement_id>/statement.xlsx", views.merchant_statement_xlsx, name="xlsx"),
    path("<int:statement_id>/confirm/", views.merchant_confirm, name="confirm"),
    path("<int:statement_id>/dispute/", views.merchant_dispute, name="dispute"),
]
