"""Security headers that Django does not set itself, refusal of NUL bytes in URLs, request ids, and
the envelope for API addresses without their trailing slash."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.utils.translation import gettext_lazy as _

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)
# The interactive API docs load their scripts inline; they get a policy of their own.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline' https:; "
    "script-src 'self' 'unsafe-inline' https:; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = (
            DOCS_CONTENT_SECURITY_POLICY if request.path.startswith("/api/docs") else CONTENT_SECURITY_POLICY
        )
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("Permissions-Policy", "camera=(self), geolocation=(self), microphone=()")
        return response


class RejectNulBytesMiddleware:
    """A NUL byte in the path or the query string is refused with 400 before any view runs. No client
    sends one on purpose, and PostgreSQL cannot store or compare text containing it, so it would
    otherwise surface as a server error wherever a parameter reaches a query (Django's admin too)."""

    MESSAGE = _("请求地址中含有无效字符。")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            if request.path.startswith("/api/"):
                body = {"error": {"code": "validation_error", "message": str(self.MESSAGE)}}
                return JsonResponse(body, status=400)
            return HttpResponseBadRequest(self.MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


# --- Request ids -----------------------------------------------------------------------------------
REQUEST_ID_HEADER = "X-Request-Id"
# What a caller's own id may look like to be kept: short, printable, nothing a log reader could
# mistake for structure. Anything else is replaced by an id of ours.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being answered in this thread or task, or None outside a request."""
    return _current_request_id.get()


class RequestIdMiddleware:
    """Every answer carries ``X-Request-Id``: the caller's own when it is a sane id (so a till can quote
    the id it logged), else a new one. Each log record written while the request runs carries it
    (``RequestIdFilter``), so support can find every line of one request from the id a merchant reads
    out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = _current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current_request_id.reset(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record written during a request (None outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # Django logs a request's 4xx/5xx line after the middleware has finished: it names the
            # request itself.
            request = getattr(record, "request", None)
            record.request_id = current_request_id() or getattr(request, "request_id", None)
        return True


# --- Addresses under /api/ without their trailing slash --------------------------------------------


class ApiMissingSlashMiddleware:
    """Under ``/api/`` an address without its trailing slash answers 404 in the error envelope, naming
    the address meant. Django's APPEND_SLASH would answer 301 (production), which HTTP clients follow
    as a GET — a POST of a redemption would "succeed" with the list — or raise on a POST (DEBUG: a
    500 page). Placed before CommonMiddleware, so it decides first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if (path == "/api" or path.startswith("/api/")) and not path.endswith("/"):
            try:
                resolve(path)
            except Resolver404:
                return JsonResponse(
                    {
                        "error": {
                            "code": "not_found",
                            "message": str(_("未找到。请求地址须以 / 结尾：%(path)s") % {"path": f"{path}/"}),
                        }
                    },
                    status=404,
                )
        return self.get_response(request)
