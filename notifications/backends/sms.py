"""SMS backends.

- :class:`ConsoleSmsBackend` (development): prints the message on standard error, where a developer
  reads a one-time code; the log line names the phone masked.
- :class:`FileSmsBackend` (development): one JSON line per message in
  ``NOTIFICATIONS_FILE_DIR/sms.jsonl`` (``./var/messages`` by default).
- :class:`MemorySmsBackend` (tests, browser journeys): keeps messages in :data:`outbox`.
- :class:`HttpSmsBackend` (production): the provider's JSON API, below.

The provider API :class:`HttpSmsBackend` speaks (a plain JSON gateway with an API key)::

    POST {SMS_HTTP_URL}
    Authorization: Bearer {SMS_HTTP_API_KEY}
    Content-Type: application/json; charset=utf-8

    {"to": "13912345678", "text": "…", "sign": "{SMS_HTTP_SIGN_NAME}", "client_ref": "notice-12-sms"}

    200 {"code": "OK", "message_id": "…"}                      accepted
    4xx {"code": "<ERROR_CODE>", "message": "…"}                refused: not retried
    429, 5xx, no answer within SMS_HTTP_TIMEOUT seconds           retried later

``client_ref`` is the same on every attempt for one message, so a gateway that remembers it sends a
retried message once."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from notifications.backends import PermanentDeliveryError, SmsMessage, mask_phone
from notifications.backends.files import append_json_line
from notifications.backends.http import request_json

logger = logging.getLogger(__name__)


class BaseSmsBackend:
    def send(self, message: SmsMessage) -> str:
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    def send(self, message: SmsMessage) -> str:
        logger.info(
            "sms to %s (console backend, %s characters)", mask_phone(message.phone), len(message.text)
        )
        # Standard error is the development phone: the full number says whose code it is.
        print(f"[SMS] {message.phone}: {message.text}", file=sys.stderr, flush=True)
        return ""


class FileSmsBackend(BaseSmsBackend):
    def send(self, message: SmsMessage) -> str:
        append_json_line("sms", {"to": message.phone, "text": message.text, "reference": message.reference})
        logger.info("sms to %s written to the message file", mask_phone(message.phone))
        return ""


outbox: list[SmsMessage] = []


class MemorySmsBackend(BaseSmsBackend):
    """Keeps every message in ``outbox`` (tests clear it between runs)."""

    def send(self, message: SmsMessage) -> str:
        outbox.append(message)
        return ""


class HttpSmsBackend(BaseSmsBackend):
    def __init__(self):
        if not settings.SMS_HTTP_URL or not settings.SMS_HTTP_API_KEY:
            raise ImproperlyConfigured("HttpSmsBackend needs SMS_HTTP_URL and SMS_HTTP_API_KEY")
        self.url = settings.SMS_HTTP_URL
        self.api_key = settings.SMS_HTTP_API_KEY
        self.sign = settings.SMS_HTTP_SIGN_NAME
        self.timeout = settings.SMS_HTTP_TIMEOUT

    def send(self, message: SmsMessage) -> str:
        answer = request_json(
            self.url,
            method="POST",
            body={
                "to": message.phone,
                "text": message.text,
                "sign": self.sign,
                "client_ref": message.reference,
            },
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=self.timeout,
        )
        code = str(answer.body.get("code", ""))
        if 200 <= answer.status < 300 and code == "OK":
            message_id = str(answer.body.get("message_id", ""))[:100]
            logger.info("sms to %s accepted by the gateway (%s)", mask_phone(message.phone), message_id)
            return message_id
        detail = str(answer.body.get("message", ""))[:200]
        raise PermanentDeliveryError(
            f"gateway refused the message: HTTP {answer.status} {code} {detail}".strip()
        )
