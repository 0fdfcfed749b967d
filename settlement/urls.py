from __future__ import annotations

from django.urls import path

from settlement import views

# /staff/settlement/: statements, payment runs and the reconciliation of the staff member's subtree.
app_name = "settlement"
urlpatterns = [
    path("", views.staff_statements, name="list"),
    path("prepare/", views.staff_prepare, name="prepare"),
    path("<int:statement_id>/", views.staff_statement, name="detail"),
    path("<int:statement_id>/statement.xlsx", views.staff_statement_xlsx, name="xlsx"),
    path("<int:statement_id>/approve/", views.staff_approve, name="approve"),
    path("<int:statement_id>/settle/", views.staff_settle, name="settle"),
    path("runs/", views.runs, name="runs"),
    path("runs/new/", views.run_create, name="run_create"),
    path("runs/<int:run_id>/", views.run_detail, name="run_detail"),
    path("runs/<int:run_id>/approve/", views.run_approve, name="run_approve"),
    path("runs/<int:run_id>/payment.csv", views.run_file, name="run_file"),
    path("runs/<int:run_id>/result/", views.run_result, name="run_result"),
    path("reconciliation/", views.reconciliation, name="reconciliation"),
]
