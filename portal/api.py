"""Shared pieces of the REST API: the error envelope, pagination."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from django.utils.translation import gettext as _
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


def document_malformed_request(result, generator, request, public):
    """drf-spectacular hook: every operation may answer 400 ``validation_error`` to a malformed request
    (a NUL byte in the URL, a body that is not JSON) before its own rules run; say so in the schema."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault(
        "MalformedRequest",
        {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    "required": ["code", "message"],
                }
            },
            "required": ["error"],
        },
    )
    answer = {
        "description": "Malformed request (validation_error)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MalformedRequest"}}},
    }
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation.setdefault("responses", {}).setdefault("400", answer)
    return result
