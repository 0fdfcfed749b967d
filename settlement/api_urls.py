from __future__ import annotations

from django.urls import path

from settlement import api

# /api/v1/statements/: the statements of the merchant of the POS key.
app_name = "settlement_api"
urlpatterns = [
    path("", api.StatementListView.as_view(), name="list"),
    path("<int:pk>/", api.StatementDetailView.as_view(), name="detail"),
    path("<int:pk>/xlsx/", api.StatementWorkbookView.as_view(), name="xlsx"),
]
