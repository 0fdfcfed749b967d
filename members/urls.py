"""Every address of members, in one module, each group in the namespace its names have always had.

The inbox namespace ``notifications`` is completed here: the member's inbox pages are members' (they
recognise the member), the signed-in user's inbox is the notifications app's own (notifications.urls).
That is why the root URLconf includes notifications.urls only through this module."""

from django.urls import include, path

from members import api, todo, views
from notifications import urls as user_inbox

api_patterns = [
    path("auth/otp/request/", api.OtpRequestView.as_view(), name="otp_request"),
    path("auth/otp/verify/", api.OtpVerifyView.as_view(), name="otp_verify"),
    path("me/", api.MeView.as_view(), name="me"),
    path("me/consent/", api.ConsentView.as_view(), name="consent"),
    path("me/card-token/", api.CardTokenView.as_view(), name="card_token"),
    path("me/card/undo-lost/", api.CardUndoLostView.as_view(), name="card_undo_lost"),
    path("me/card-applications/", api.CardApplicationsView.as_view(), name="card_applications"),
    path("me/transfer-requests/", api.TransferRequestsView.as_view(), name="transfer_requests"),
]

inbox_api_patterns = [
    path("me/notifications/", api.NotificationListView.as_view(), name="list"),
    path("me/notifications/read-all/", api.NotificationReadAllView.as_view(), name="read_all"),
    path("me/notifications/<int:notification_id>/read/", api.NotificationReadView.as_view(), name="read"),
]

pages = [
    path("sign-in/", views.sign_in, name="sign_in"),
    path("sign-in/code/", views.sign_in_code, name="sign_in_code"),
    path("sign-out/", views.sign_out, name="sign_out"),
    path("consent/", views.consent, name="consent"),
    path("card/", views.my_card, name="card"),
    path("card/activate/", views.card_activate, name="card_activate"),
    path("card/report-lost/", views.card_report_lost, name="card_report_lost"),
    path("card/undo-lost/", views.card_undo_lost, name="card_undo_lost"),
    path("card/apply/", views.card_apply, name="card_apply"),
    path(
        "card/applications/<int:application_id>/withdraw/",
        views.card_application_withdraw,
        name="card_application_withdraw",
    ),
    path("transfer/", views.transfer_request, name="transfer_request"),
    path(
        "transfer/<int:request_id>/withdraw/",
        views.transfer_request_withdraw,
        name="transfer_request_withdraw",
    ),
    path("data/", views.data_export, name="data_export"),
]

inbox_pages = [
    path("me/notifications/", views.inbox, name="member_inbox"),
    path("me/notifications/<int:notification_id>/read/", views.inbox_mark_read, name="member_mark_read"),
    path("me/notifications/read-all/", views.inbox_mark_all_read, name="member_mark_all_read"),
    path("me/notifications/settings/", views.inbox_preferences, name="member_preferences"),
]

todo_pages = [
    path("", todo.todo_list, name="list"),
    path("applications/<int:application_id>/approve/", todo.application_approve, name="application_approve"),
    path("applications/<int:application_id>/refuse/", todo.application_refuse, name="application_refuse"),
    path("applications/batch/<int:bank_id>/", todo.applications_batch, name="applications_batch"),
    path("transfers/<int:request_id>/accept/", todo.transfer_accept, name="transfer_accept"),
    path("transfers/<int:request_id>/refuse/", todo.transfer_refuse, name="transfer_refuse"),
    path("cards/<int:card_id>/undo-lost/", todo.card_undo_lost, name="card_undo_lost"),
]

urlpatterns = [
    path("api/v1/", include((api_patterns, "members_api"))),
    path("api/v1/", include((inbox_api_patterns, "notifications_api"))),
    path("me/", include((pages, "members"))),
    path("staff/todo/", include((todo_pages, "todo"))),
    path("", include(([*inbox_pages, *user_inbox.urlpatterns], user_inbox.app_name))),
]
