"""How a notice is shown in an API (the member API's inbox endpoints, in the members app)."""

from __future__ import annotations

from rest_framework import serializers

from notifications.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    topic_label = serializers.CharField(source="get_topic_display")
    unread = serializers.BooleanField(source="is_unread")
    link = serializers.CharField(help_text="A path of this site or an https address; may be empty.")

    class Meta:
        model = Notification
        fields = ["id", "topic", "topic_label", "title", "body", "link", "created_at", "read_at", "unread"]
        read_only_fields = fields
