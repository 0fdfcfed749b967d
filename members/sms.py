"""Texting a one-time sign-in code, through the portal's one SMS backend (``settings.SMS_BACKEND``).

The backends live in :mod:`notifications.backends.sms` (console, file, memory, the HTTP gateway); the
names below stay importable from here because settings and tests name them by this path."""

from __future__ import annotations

import logging

from notifications.backends import DeliveryError, SmsMessage, get_sms_backend, mask_phone
from notifications.backends.sms import BaseSmsBackend, ConsoleSmsBackend, MemorySmsBackend, outbox

__all__ = ["BaseSmsBackend", "ConsoleSmsBackend", "MemorySmsBackend", "SmsMessage", "outbox", "send_sms"]

logger = logging.getLogger(__name__)


def send_sms(*, phone: str, text: str) -> bool:
    """Hand the text to the SMS backend now; False when the gateway refused it or did not answer.

    A failure is logged, not raised: the sign-in page answers the same whether or not the phone is a
    member's, and an error only for members would tell a stranger which phones are. The member asks
    for a new code, as after a text the carrier lost."""
    try:
        get_sms_backend().send(SmsMessage(phone=phone, text=text))
    except DeliveryError as exc:
        logger.warning("sign-in code to %s not sent: %s", mask_phone(phone), exc)
        return False
    return True
