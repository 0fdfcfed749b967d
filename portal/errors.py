"""Domain errors. Each carries a stable ``code`` (the API error codes of DESIGN.md) and an HTTP status;
one handler (portal.api.exception_handler) turns them into the error envelope, and pages show their
message."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    code = "error"
    status = 400
    default_message = _("请求无法完成。")

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status: int | None = None,
        fields: dict | None = None,
        headers: dict | None = None,
    ):
        self.message = str(message if message is not None else self.default_message)
        if code:
            self.code = code
        if status:
            self.status = status
        self.fields = fields
        self.headers = headers or {}  # e.g. Retry-After on a 409 for a request still in flight
        super().__init__(self.message)

    def as_envelope(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return {"error": body}


class ValidationFailed(ApplicationError):
    code = "validation_error"
    status = 400
    default_message = _("提交的数据有误。")


class RequestTooLarge(ApplicationError):
    code = "request_too_large"
    status = 413
    default_message = _("请求内容过大。")


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status = 403
    default_message = _("您没有权限执行此操作。")


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    default_message = _("未找到。")


class Conflict(ApplicationError):
    code = "conflict"
    status = 409
    default_message = _("当前状态下无法执行此操作。")


class ServiceUnavailable(ApplicationError):
    code = "service_unavailable"
    status = 503
    default_message = _("服务暂时繁忙，请稍后再试。")
