"""Security headers that Django does not set itself, and refusal of NUL bytes in URLs."""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse
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
