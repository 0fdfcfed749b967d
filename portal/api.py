"""Shared pieces of the REST API: the error envelope, pagination."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.errors import ApplicationError, RequestTooLarge, ValidationFailed

_DRF_CODES = {
    exceptions.NotAuthenticated: "unauthenticated",
    exceptions.AuthenticationFailed: "unauthenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ParseError: "validation_error",
    exceptions.ValidationError: "validation_error",
}


def error_response(
    code: str, message: str, http_status: int, fields: dict | None = None, headers: dict | None = None
) -> Response:
    body = {"code": code, "message": str(message)}
    if fields:
        body["fields"] = fields
    return Response({"error": body}, status=http_status, headers=headers)


def _flatten(detail):
    if isinstance(detail, list):
        return [str(item) if not isinstance(item, (dict, list)) else _flatten(item) for item in detail]
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    return [str(detail)]


def exception_handler(exc, context):
    """Every error leaves the API as {"error": {"code", "message", "fields"?}}."""
    if isinstance(exc, RequestDataTooBig):  # a body over DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # else Django's HTML 400 page (its debug page in DEBUG)
        exc = ValidationFailed(_("请求无法处理。"))
    if isinstance(exc, ApplicationError):
        return Response(exc.as_envelope(), status=exc.status, headers=exc.headers or None)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    fields = None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            fields = _flatten(detail)
            message = _("提交的数据有误。")
            non_field = fields.pop("non_field_errors", None)
            if non_field:
                message = non_field[0]
        else:
            message = "; ".join(_flatten(detail)) if detail else _("提交的数据有误。")
    else:
        message = str(getattr(exc, "detail", exc))
    headers = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    if response.status_code == status.HTTP_401_UNAUTHORIZED or isinstance(
        exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)
    ):
        response.status_code = status.HTTP_401_UNAUTHORIZED
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    response.data = {"error": body}
    for key, value in headers.items():
        response[key] = value
    return response


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_number(self, request, paginator):
        """As on the pages: a page that is not a positive number is the first, one past the end the
        last, so paging through a list that shrank meanwhile never ends in an error."""
        number = super().get_page_number(request, paginator)
        try:
            number = int(number)
        except (TypeError, ValueError):
            return 1
        return min(max(number, 1), max(paginator.num_pages, 1))


# The page parameters as every paged operation documents them (its bounds are the pagination's).
PAGE_PARAMETERS = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="Page number"),
    OpenApiParameter(
        "page_size",
        {"type": "integer", "minimum": 1, "maximum": Pagination.max_page_size},
        description=f"Rows per page (default {Pagination.page_size})",
    ),
]


# --- The schema's one error envelope -----------------------------------------------------------------
# Every error answer of every operation is this one component, with the codes that operation can give
# at that status as an enum (``error_schema(codes)``); an operation that does not list its codes
# shows the envelope with any code.

ERROR_COMPONENTS = {
    "Error": {
        "type": "object",
        "description": 'Every error: {"error": {"code", "message", "fields"?}}.',
        "properties": {"error": {"$ref": "#/components/schemas/ErrorBody"}},
        "required": ["error"],
    },
    "ErrorBody": {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "Stable machine-readable code (see docs/pos-api.md)"},
            "message": {"type": "string", "description": "Human text (Simplified Chinese)"},
            "fields": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "description": "Per input field, what is wrong with it",
            },
        },
        "required": ["code", "message"],
    },
}


def error_schema(codes: list[str]) -> dict:
    """The ``Error`` envelope whose code is one of ``codes``."""
    return {
        "allOf": [
            {"$ref": "#/components/schemas/Error"},
            {
                "type": "object",
                "properties": {
                    "error": {
                        "type": "object",
                        "properties": {"code": {"type": "string", "enum": list(dict.fromkeys(codes))}},
                    }
                },
            },
        ]
    }


def _error_codes(schema: dict) -> list[str] | None:
    """The code enum of an ``error_schema``, or None for any other schema."""
    parts = schema.get("allOf") or []
    if len(parts) != 2 or parts[0].get("$ref") != "#/components/schemas/Error":
        return None
    return parts[1]["properties"]["error"]["properties"]["code"]["enum"]


def _is_envelope(schema: dict, schemas: dict) -> bool:
    """A component written as the envelope by hand (the older per-app copies of it)."""
    properties = schema.get("properties") or {}
    if set(properties) != {"error"}:
        return False
    body = properties["error"]
    if "$ref" in body:
        body = schemas.get(body["$ref"].rsplit("/", 1)[-1], {})
    return {"code", "message"} <= set(body.get("properties") or {})


REQUEST_ID_HEADER = {
    "schema": {"type": "string", "minLength": 8, "maxLength": 128},
    "required": True,
    "description": "The request's id: the caller's own `X-Request-Id` when it is 8–128 characters of "
    "`A-Z a-z 0-9 . _ : -`, else a new one. Quote it when asking for support.",
}


def document_errors_and_headers(result, generator, request, public):
    """drf-spectacular hook: one ``Error`` component for every error answer (the hand-written copies
    of other apps are folded into it), the errors every operation may give before its own rules run
    (400 for a malformed request, 405 for another method, 415 for a body that is not JSON), and the
    ``X-Request-Id`` header on every answer."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    copies = {name for name, schema in schemas.items() if _is_envelope(schema, schemas)}
    copies -= set(ERROR_COMPONENTS)
    bodies = {
        schemas[name]["properties"]["error"]["$ref"].rsplit("/", 1)[-1]
        for name in copies
        if "$ref" in schemas[name]["properties"]["error"]
    }
    for name in copies | bodies:
        schemas.pop(name, None)
    schemas.update(ERROR_COMPONENTS)

    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code, answer in responses.items():
                content = answer.get("content", {}).get("application/json")
                if not content or not code.isdigit() or int(code) < 400:
                    continue
                schema = content.get("schema", {})
                ref = schema.get("$ref", "").rsplit("/", 1)[-1]
                if ref in copies:  # its codes were not listed: the envelope, any code
                    content["schema"] = {"$ref": "#/components/schemas/Error"}
            _add_error(responses, 400, "Malformed request", ["validation_error"])
            _add_error(responses, 405, "Method not allowed on this address", ["method_not_allowed"])
            if "requestBody" in operation:
                _add_error(responses, 415, "The body is not JSON", ["unsupported_media_type"])
            for answer in responses.values():
                answer.setdefault("headers", {})["X-Request-Id"] = REQUEST_ID_HEADER
    return result


def _add_error(responses: dict, status: int, description: str, codes: list[str]) -> None:
    answer = responses.get(str(status))
    if answer is None:
        responses[str(status)] = {
            "description": f"{description}: " + ", ".join(f"`{c}`" for c in codes),
            "content": {"application/json": {"schema": error_schema(codes)}},
        }
        return
    schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
    known = _error_codes(schema)
    if known is not None:
        known.extend(code for code in codes if code not in known)
