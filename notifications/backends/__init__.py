"""Backends that carry a message out of the portal: SMS (``settings.SMS_BACKEND``) and WeChat template
messages (``settings.WECHAT_BACKEND``), each a dotted class path.

Every backend has one method, ``send(message) -> str``, returning the provider's message id ("" when
it has none). A failure raises :class:`TransientDeliveryError` when trying again later may succeed
(a timeout, a refused connection, a busy provider) or :class:`PermanentDeliveryError` when it cannot
(an invalid number, a recipient who unfollowed the account); the task sending a notice retries only
the first kind.

Logs never carry a full phone number or openid: :func:`mask_phone`, :func:`mask_openid`."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str
    reference: str = ""  # our id of the message, passed to the provider so it can drop a repeat


@dataclass(frozen=True)
class WechatMessage:
    openid: str
    template_id: str
    data: dict[str, str]
    url: str = ""
    reference: str = ""


class DeliveryError(Exception):
    """A message could not be handed to the provider."""


class TransientDeliveryError(DeliveryError):
    """Trying again later may succeed."""


class PermanentDeliveryError(DeliveryError):
    """Trying again will not help."""


def mask_phone(phone: str) -> str:
    """139****1234: enough to tell two numbers apart in a log, not enough to call one."""
    phone = phone or ""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


def mask_openid(openid: str) -> str:
    openid = openid or ""
    return f"{openid[:4]}****" if len(openid) > 8 else "****"


def get_sms_backend():
    return import_string(settings.SMS_BACKEND)()


def get_wechat_backend():
    return import_string(settings.WECHAT_BACKEND)()
