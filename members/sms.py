"""Sending text messages through a pluggable backend (``settings.SMS_BACKEND``, a dotted class path).

The console backend writes the message to the log and to standard error, which is how a developer
reads a one-time code; the memory backend keeps messages in ``outbox`` for tests and browser journeys.
A production backend subclasses :class:`BaseSmsBackend` and talks to the carrier's gateway."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str


class BaseSmsBackend:
    def send(self, message: SmsMessage) -> None:
        raise NotImplementedError


class ConsoleSmsBackend(BaseSmsBackend):
    def send(self, message: SmsMessage) -> None:
        logger.info("sms to %s: %s", message.phone, message.text)
        print(f"[SMS] {message.phone}: {message.text}", file=sys.stderr, flush=True)


outbox: list[SmsMessage] = []


class MemorySmsBackend(BaseSmsBackend):
    """Keeps every message in ``members.sms.outbox`` (cleared by tests between runs)."""

    def send(self, message: SmsMessage) -> None:
        outbox.append(message)


def get_backend() -> BaseSmsBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(*, phone: str, text: str) -> None:
    get_backend().send(SmsMessage(phone=phone, text=text))
