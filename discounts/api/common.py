"""What the API modules of discounts share: the error envelope as the schema shows it, and the small
nested shapes of an offer and a store in a redemption. (The class names are the schema's component
names, which generated clients use: they stay as they are.)"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


def error_response(description: str, codes: list[str]) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer, description=f"{description}: " + ", ".join(f"`{c}`" for c in codes)
    )


class _IdTitle(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class _IdName(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
