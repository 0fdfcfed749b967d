"""Addresses of the coverage statistics: the staff dashboard under /staff/ and the statistics API."""

from django.urls import include, path

from stats import api, views

api_patterns = [
    path("stats/coverage/", api.CoverageStatsView.as_view(), name="coverage"),
]

staff_patterns = [
    path("", views.dashboard, name="dashboard"),
    path("union/<str:code>/", views.unit, name="unit"),
    path("union/<str:code>/export.xlsx", views.unit_export, name="unit_export"),
    path("union/<str:code>/reporting/", views.reporting, name="reporting"),
    path("union/<str:code>/reporting.xlsx", views.reporting_export, name="reporting_export"),
    path("refresh/", views.refresh, name="refresh"),
    path("runs/<int:run_id>/", views.run_status, name="run_status"),
]

urlpatterns = [
    path("api/v1/", include((api_patterns, "stats_api"))),
    path("staff/", include((staff_patterns, "staff"))),
]
