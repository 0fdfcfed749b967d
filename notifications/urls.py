from django.urls import path

from notifications import views

app_name = "notifications"
urlpatterns = [
    # The member's inbox, beside the other member pages.
    path("me/notifications/", views.member_inbox, name="member_inbox"),
    path("me/notifications/<int:notification_id>/read/", views.member_mark_read, name="member_mark_read"),
    path("me/notifications/read-all/", views.member_mark_all_read, name="member_mark_all_read"),
    path("me/notifications/settings/", views.member_preferences, name="member_preferences"),
    # A signed-in user's inbox: union staff and merchant users.
    path("inbox/", views.user_inbox, name="user_inbox"),
    path("inbox/<int:notification_id>/read/", views.user_mark_read, name="user_mark_read"),
    path("inbox/read-all/", views.user_mark_all_read, name="user_mark_all_read"),
]
