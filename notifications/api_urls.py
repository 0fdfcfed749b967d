from django.urls import path

from notifications import api

app_name = "notifications_api"
urlpatterns = [
    path("me/notifications/", api.NotificationListView.as_view(), name="list"),
    path("me/notifications/read-all/", api.NotificationReadAllView.as_view(), name="read_all"),
    path("me/notifications/<int:notification_id>/read/", api.NotificationReadView.as_view(), name="read"),
]
