"""WeChat template-message backends (微信公众号模板消息).

- :class:`ConsoleWechatBackend` (development): logs the message, the openid masked.
- :class:`FileWechatBackend` (development): one JSON line per message in
  ``NOTIFICATIONS_FILE_DIR/wechat.jsonl``.
- :class:`MemoryWechatBackend` (tests): keeps messages in :data:`outbox`.
- :class:`OfficialAccountWechatBackend` (production): the official account's API, below.

The API of a WeChat official account, as :class:`OfficialAccountWechatBackend` uses it (base URL
``WECHAT_API_BASE_URL``, ``https://api.weixin.qq.com``)::

    GET  /cgi-bin/token?grant_type=client_credential&appid={WECHAT_APP_ID}&secret={WECHAT_APP_SECRET}
         → {"access_token": "…", "expires_in": 7200}   or   {"errcode": 40013, "errmsg": "…"}
    POST /cgi-bin/message/template/send?access_token={token}
         {"touser": openid, "template_id": "…", "url": "https://…", "client_msg_id": "…",
          "data": {"thing1": {"value": "…"}, "time2": {"value": "…"}}}
         → {"errcode": 0, "errmsg": "ok", "msgid": 200228332}

WeChat answers HTTP 200 with an ``errcode``. The access token is shared by every worker through the
cache (Redis) until five minutes before it expires; when WeChat says it is invalid or expired (40001,
40014, 42001) it is fetched again once and the message sent again. -1 (system busy) and 45009
(frequency limit) may pass: retried later. Any other code (an openid that unfollowed the account,
43004; a wrong template, 40037) fails the message."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import RedisError

from notifications.backends import (
    PermanentDeliveryError,
    TransientDeliveryError,
    WechatMessage,
    mask_openid,
)
from notifications.backends.files import append_json_line
from notifications.backends.http import request_json

logger = logging.getLogger(__name__)

TOKEN_INVALID = {40001, 40014, 42001}
TRY_LATER = {-1, 45009}
TOKEN_EARLY_REFRESH_SECONDS = 300  # stop using a token this long before WeChat says it expires


class BaseWechatBackend:
    def send(self, message: WechatMessage) -> str:
        raise NotImplementedError


class ConsoleWechatBackend(BaseWechatBackend):
    def send(self, message: WechatMessage) -> str:
        logger.info(
            "wechat template %s to %s (console backend): %s",
            message.template_id,
            mask_openid(message.openid),
            message.data,
        )
        return ""


class FileWechatBackend(BaseWechatBackend):
    def send(self, message: WechatMessage) -> str:
        append_json_line(
            "wechat",
            {
                "touser": message.openid,
                "template_id": message.template_id,
                "url": message.url,
                "data": message.data,
                "reference": message.reference,
            },
        )
        return ""


outbox: list[WechatMessage] = []


class MemoryWechatBackend(BaseWechatBackend):
    def send(self, message: WechatMessage) -> str:
        outbox.append(message)
        return ""


class OfficialAccountWechatBackend(BaseWechatBackend):
    def __init__(self):
        if not settings.WECHAT_APP_ID or not settings.WECHAT_APP_SECRET:
            raise ImproperlyConfigured(
                "OfficialAccountWechatBackend needs WECHAT_APP_ID and WECHAT_APP_SECRET"
            )
        self.base_url = settings.WECHAT_API_BASE_URL.rstrip("/")
        self.app_id = settings.WECHAT_APP_ID
        self.app_secret = settings.WECHAT_APP_SECRET
        self.timeout = settings.WECHAT_HTTP_TIMEOUT

    @property
    def _cache_key(self) -> str:
        return f"notifications:wechat-token:{self.app_id}"

    def send(self, message: WechatMessage) -> str:
        body = {
            "touser": message.openid,
            "template_id": message.template_id,
            "data": {key: {"value": value} for key, value in message.data.items()},
        }
        if message.url:
            body["url"] = message.url
        if message.reference:
            body["client_msg_id"] = message.reference
        answer = self._send_with(self.access_token(), body)
        if answer.get("errcode") in TOKEN_INVALID:
            self._forget_token()
            answer = self._send_with(self.access_token(), body)
        code = answer.get("errcode")
        if code == 0:
            message_id = str(answer.get("msgid", ""))[:100]
            logger.info("wechat template message to %s sent (%s)", mask_openid(message.openid), message_id)
            return message_id
        detail = f"WeChat errcode {code}: {str(answer.get('errmsg', ''))[:200]}"
        if code in TRY_LATER or code in TOKEN_INVALID:
            raise TransientDeliveryError(detail)
        raise PermanentDeliveryError(detail)

    def _send_with(self, token: str, body: dict) -> dict:
        url = f"{self.base_url}/cgi-bin/message/template/send?{urlencode({'access_token': token})}"
        answer = request_json(url, method="POST", body=body, timeout=self.timeout)
        if answer.status != 200:
            raise PermanentDeliveryError(f"WeChat answered HTTP {answer.status}")
        return answer.body

    def access_token(self) -> str:
        """The account's access token: from the cache, else fetched from WeChat and cached."""
        try:
            token = cache.get(self._cache_key)
        except (RedisError, OSError):  # Redis down: fetch a token rather than fail the message
            logger.warning("cache unavailable: fetching a WeChat access token")
            token = None
        if token:
            return token
        query = urlencode(
            {"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret}
        )
        answer = request_json(f"{self.base_url}/cgi-bin/token?{query}", timeout=self.timeout)
        token = answer.body.get("access_token")
        if answer.status != 200 or not token:
            code = answer.body.get("errcode")
            detail = f"no WeChat access token: errcode {code} {str(answer.body.get('errmsg', ''))[:200]}"
            if code in TRY_LATER:
                raise TransientDeliveryError(detail)
            raise PermanentDeliveryError(detail)
        expires_in = int(answer.body.get("expires_in") or 7200)
        try:
            cache.set(self._cache_key, token, max(expires_in - TOKEN_EARLY_REFRESH_SECONDS, 60))
        except (RedisError, OSError):  # the token still works for this message
            logger.warning("cache unavailable: WeChat access token not kept")
        return token

    def _forget_token(self) -> None:
        try:
            cache.delete(self._cache_key)
        except (RedisError, OSError):
            logger.warning("cache unavailable: stale WeChat access token not removed")
