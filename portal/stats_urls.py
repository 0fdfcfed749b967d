from django.urls import path

from portal.stats_api import CoverageStatsView

app_name = "stats_api"
urlpatterns = [
    path("stats/coverage/", CoverageStatsView.as_view(), name="coverage"),
]
