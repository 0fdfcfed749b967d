"""What the API modules of discounts share: an error answer as the schema shows it (the one ``Error``
envelope of portal.api, with the codes this operation and status can give), the response headers of
the POS API, and the small nested shapes of an offer and a store in a redemption. (The class names
are the schema's component names, which generated clients use: they stay as they are.)"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from portal.api import error_schema


def error_response(description: str, codes: list[str], examples=None) -> OpenApiResponse:
    """An error answer: the ``Error`` envelope whose ``code`` is one of ``codes``."""
    return OpenApiResponse(
        error_schema(codes),
        description=f"{description}: " + ", ".join(f"`{c}`" for c in codes),
        examples=examples,
    )


class _IdTitle(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()


class _IdName(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


# --- Response headers of the POS API ---------------------------------------------------------------

RATE_LIMIT_HEADERS = [
    OpenApiParameter(
        "RateLimit-Limit",
        {"type": "string", "pattern": "^[0-9]+$"},
        OpenApiParameter.HEADER,
        response=True,
        description="Requests allowed per key in the current one-minute window "
        "(absent when the key is unknown or the limit is off).",
    ),
    OpenApiParameter(
        "RateLimit-Remaining",
        {"type": "string", "pattern": "^[0-9]+$"},
        OpenApiParameter.HEADER,
        response=True,
        description="Requests left in the current window.",
    ),
    OpenApiParameter(
        "RateLimit-Reset",
        {"type": "string", "pattern": "^[0-9]+$"},
        OpenApiParameter.HEADER,
        response=True,
        description="Seconds until the window starts anew.",
    ),
    OpenApiParameter(
        "Retry-After",
        {"type": "string", "pattern": "^[0-9]+$"},
        OpenApiParameter.HEADER,
        response=[429, 409],
        description="Seconds to wait: on 429 until the window starts anew; on 409 `request_in_progress` "
        "before sending the same request with the same key again.",
    ),
]

TEST_NOW_HEADER = OpenApiParameter(
    "Test-Now",
    {"type": "string", "maxLength": 40, "example": "2026-12-07T10:00:00+08:00"},
    OpenApiParameter.HEADER,
    required=False,
    description="Test keys (`pk_test_…`) only: the moment the sandbox acts as if it were (ISO 8601 with "
    "its offset), e.g. tomorrow to see `void_window_closed`. A live key that sends it gets 400.",
)

REPLAYED_HEADER = OpenApiParameter(
    "Idempotent-Replayed",
    {"type": "string", "enum": ["true"]},
    OpenApiParameter.HEADER,
    response=True,
    description="`true` when this is the stored answer to an earlier request with the same "
    "Idempotency-Key and body (no new redemption or void was made).",
)

IDEMPOTENCY_KEY_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$",
}
IDEMPOTENCY_KEY_RULES = (
    "1–255 printable ASCII characters (a UUID is a good choice), unique per request the till means "
    "to make, kept by the merchant for 24 hours. A retry with the same key and the same body gets the "
    "first answer again, same status, with `Idempotent-Replayed: true`; the same key with another "
    "body is 422 `idempotency_key_reused`; while the first request is still being processed a retry "
    "is 409 `request_in_progress` with `Retry-After`. Bodies are compared by meaning: `100`, `100.0` "
    'and `"100.00"` are one amount, a card number with or without spaces one card. Keys are per '
    "merchant and shared by all operations: do not reuse a redemption's key for its void."
)


def integer_id(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        OpenApiParameter.PATH,
        description=description,
    )


# --- Links between operations ----------------------------------------------------------------------
# What a client (and schemathesis' stateful run) can do next with an answer: the redemption a POST made
# can be read and voided, the first of a list page opened.
_LINKS = {
    ("pos_redemptions_create", "201"): "$response.body#/id",
    ("pos_redemptions_retrieve", "200"): "$response.body#/id",
    ("pos_redemptions_list", "200"): "$response.body#/results/0/id",
}


def document_pos_links(result, generator, request, public):
    """drf-spectacular hook: OpenAPI links from a redemption to its detail and its void; the body of
    every POS call that has one is required."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            if operation.get("operationId", "").startswith("pos_") and "requestBody" in operation:
                operation["requestBody"]["required"] = True
            for status, answer in operation.get("responses", {}).items():
                source = _LINKS.get((operation.get("operationId"), status))
                if source is None:
                    continue
                answer["links"] = {
                    "GetRedemption": {
                        "operationId": "pos_redemptions_retrieve",
                        "parameters": {"id": source},
                        "description": "Read this redemption again",
                    },
                    "VoidRedemption": {
                        "operationId": "pos_redemptions_void",
                        "parameters": {"id": source},
                        "description": "Void this redemption (same local day only)",
                    },
                }
    return result
