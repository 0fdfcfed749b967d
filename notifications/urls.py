"""The inbox of a signed-in user (union staff, merchant users), namespace ``notifications``.

members.urls includes these pages, adding the member's inbox (``/me/notifications/…``, members') to the
same namespace."""

from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    # A signed-in user's inbox: union staff and merchant users.
    path("inbox/", views.user_inbox, name="user_inbox"),
    path("inbox/<int:notification_id>/read/", views.user_mark_read, name="user_mark_read"),
    path("inbox/read-all/", views.user_mark_all_read, name="user_mark_all_read"),
]
