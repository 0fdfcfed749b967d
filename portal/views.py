from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from portal.errors import PermissionDenied, RequestTooLarge, ValidationFailed
from portal.health import redis_is_up


@require_GET
@never_cache
def healthz(request):
    """Liveness and readiness for the proxy and the orchestrator: 503 when a service is down."""
    checks = {"database": _database_is_up(), "redis": redis_is_up()}
    healthy = all(checks.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "checks": {k: "ok" if v else "down" for k, v in checks.items()},
    }
    return JsonResponse(body, status=200 if healthy else 503)


def _database_is_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        connection.close()
        return False


@csrf_exempt  # a POST to an unknown API address is "not found", not a CSRF failure
def api_not_found(request, *args, **kwargs):
    return JsonResponse({"error": {"code": "not_found", "message": _("未找到。")}}, status=404)


def bad_request(request, exception):
    """Django's answer to a request it refuses outside an API view's own error handling (a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE read by middleware, a forbidden host): under /api/ the envelope.
    (With DEBUG on, Django shows its debug page instead and never calls this.)"""
    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)
    error = (
        RequestTooLarge()
        if isinstance(exception, RequestDataTooBig)
        else ValidationFailed(_("请求无法处理。"))
    )
    return JsonResponse(error.as_envelope(), status=error.status)


def page_not_found(request, exception):
    # An API client gets the error envelope even for a URL that matches no route.
    if request.path.startswith("/api/"):
        return api_not_found(request)
    return render(request, "404.html", status=404)


def csrf_failure(request, reason=""):
    """A form sent with an expired or missing CSRF token (the page was open too long, or the session
    ended elsewhere): the portal's own page with a way back, instead of Django's technical one."""
    if request.path.startswith("/api/"):
        error = PermissionDenied(_("请求已过期，请刷新后重试。"))
        return JsonResponse(error.as_envelope(), status=error.status)
    return render(request, "403_csrf.html", status=403)


def server_error(request):
    if request.path.startswith("/api/"):
        message = _("服务器内部错误，请稍后再试。")
        return JsonResponse({"error": {"code": "server_error", "message": message}}, status=500)
    return render(request, "500.html", status=500)
