"""Member API of the inbox: ``GET /api/v1/me/notifications/``, ``POST …/{id}/read/``, ``POST …/read-all/``.

Authenticated as every member endpoint is (the members app's bearer token or page session, named in
``settings.NOTIFICATIONS_MEMBER_AUTH``); ``request.user`` is then the member."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications import selectors, services
from notifications.models import Notification
from notifications.recipients import Recipient, member_api_authenticators, member_api_permissions

ERROR = inline_serializer(
    "NotificationError",
    fields={
        "error": inline_serializer(
            "NotificationErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(required=False),
            },
        )
    },
)
UNAUTHENTICATED = OpenApiResponse(ERROR, description="unauthenticated: no member signed in")
NOT_FOUND = OpenApiResponse(ERROR, description="not_found: no such notification of this member")


class NotificationSerializer(serializers.ModelSerializer):
    topic_label = serializers.CharField(source="get_topic_display")
    unread = serializers.BooleanField(source="is_unread")
    link = serializers.CharField(help_text="A path of this site or an https address; may be empty.")

    class Meta:
        model = Notification
        fields = ["id", "topic", "topic_label", "title", "body", "link", "created_at", "read_at", "unread"]
        read_only_fields = fields


class _MemberView:
    """The member API's authentication and permission, as the members app defines them."""

    def get_authenticators(self):
        return member_api_authenticators()

    def get_permissions(self):
        return member_api_permissions()

    def recipient(self) -> Recipient:
        return Recipient.member(self.request.user.pk)


class NotificationListView(_MemberView, generics.ListAPIView):
    serializer_class = NotificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no member signed in
            return Notification.objects.none()
        return selectors.inbox(recipient=self.recipient())

    @extend_schema(
        operation_id="me_notifications_list",
        tags=["member"],
        summary="The signed-in member's notifications, unread first",
        responses={
            200: inline_serializer(
                "NotificationPage",
                {
                    "count": serializers.IntegerField(),
                    "next": serializers.URLField(allow_null=True),
                    "previous": serializers.URLField(allow_null=True),
                    "unread_count": serializers.IntegerField(),
                    "results": NotificationSerializer(many=True),
                },
            ),
            401: UNAUTHENTICATED,
        },
    )
    def get(self, request, *args, **kwargs):
        response = self.list(request, *args, **kwargs)
        response.data["unread_count"] = selectors.unread_count(recipient=self.recipient())
        return response


class NotificationReadView(_MemberView, APIView):
    @extend_schema(
        operation_id="me_notification_read",
        tags=["member"],
        summary="Mark one notification read",
        description="Marking a notification that is already read keeps its first reading time.",
        request=None,
        responses={200: NotificationSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    )
    def post(self, request, notification_id: int):
        notice = services.notification_mark_read(recipient=self.recipient(), notification_id=notification_id)
        return Response(NotificationSerializer(notice).data)


class NotificationReadAllView(_MemberView, APIView):
    @extend_schema(
        operation_id="me_notifications_read_all",
        tags=["member"],
        summary="Mark every notification read",
        request=None,
        responses={
            200: inline_serializer("NotificationsMarked", {"marked": serializers.IntegerField()}),
            401: UNAUTHENTICATED,
        },
    )
    def post(self, request):
        marked = services.notification_mark_all_read(recipient=self.recipient())
        return Response({"marked": marked})
