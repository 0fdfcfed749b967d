from django.urls import path

from portal import dashboard

app_name = "staff"
urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("union/<str:code>/", dashboard.unit, name="unit"),
    path("union/<str:code>/export.xlsx", dashboard.unit_export, name="unit_export"),
    path("refresh/", dashboard.refresh, name="refresh"),
    path("runs/<int:run_id>/", dashboard.run_status, name="run_status"),
]
