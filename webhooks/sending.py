"""One HTTP POST of a delivery: to the address checked by ``webhooks.addresses``, with short timeouts,
no redirects followed, and no more of the answer read than a short excerpt.

urllib3 makes the connection to the checked IP address while the TLS handshake names the host
(``server_hostname``: SNI, and the certificate is verified against that name), so the address that
was checked is the one reached."""

from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3
from django.conf import settings
from django.utils.translation import gettext as _
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from portal.errors import ValidationFailed
from webhooks.addresses import AddressRefused, endpoint_target, resolve

EXCERPT_BYTES = 1024  # read at most this much of an answer…
EXCERPT_CHARS = 300  # …and keep this much of it
ERROR_CHARS = 200
# A name may resolve to several addresses (IPv6 and IPv4): the next is tried when one refuses.
MAX_ADDRESSES = 3
USER_AGENT = "UnionBenefitsPortal-Webhooks/1"


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str = ""
    excerpt: str = ""
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST ``body`` to ``url``; never raises for anything the receiver or the network does."""
    started = time.monotonic()

    def answer(status_code: int | None = None, error: str = "", excerpt: str = "") -> Answer:
        elapsed = int((time.monotonic() - started) * 1000)
        return Answer(status_code, error[:ERROR_CHARS], excerpt[:EXCERPT_CHARS], elapsed)

    try:
        target = endpoint_target(url)
        addresses = resolve(target)
    except ValidationFailed as exc:
        return answer(error=exc.message)
    except AddressRefused as exc:
        return answer(error=str(exc))
    timeout = urllib3.Timeout(connect=settings.WEBHOOK_CONNECT_TIMEOUT, read=settings.WEBHOOK_READ_TIMEOUT)
    all_headers = {
        "Host": target.host_header,
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json; charset=utf-8",
        "Accept": "*/*",
        **headers,
    }
    error = _("无法连接")
    for address in addresses[:MAX_ADDRESSES]:
        pool = _pool(target, address, timeout)
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers=all_headers,
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
                release_conn=False,
            )
        except (NewConnectionError, ConnectTimeoutError):
            error = _("无法连接（%(address)s）") % {"address": target.host}
            pool.close()
            continue
        except ReadTimeoutError:
            pool.close()
            return answer(error=_("等待响应超时"))
        except SSLError:
            pool.close()
            return answer(error=_("TLS 握手或证书校验失败"))
        except (ProtocolError, HTTPError, OSError):
            pool.close()
            return answer(error=_("连接中断，未收到完整响应"))
        try:
            excerpt = response.read(EXCERPT_BYTES, decode_content=False) or b""
        except (HTTPError, OSError):
            excerpt = b""
        finally:
            response.close()  # the rest of the answer is never read
            pool.close()
        text = excerpt.decode("utf-8", errors="replace").strip()
        return answer(response.status, _status_error(response.status), text)
    return answer(error=error)


def _status_error(status: int) -> str:
    if 200 <= status < 300:
        return ""
    if 300 <= status < 400:
        return _("HTTP %(status)s：不跟随重定向，请填写最终地址") % {"status": status}
    return f"HTTP {status}"


def _pool(target, address: str, timeout: urllib3.Timeout):
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            address,
            target.port,
            timeout=timeout,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=settings.WEBHOOK_CA_FILE or None,
            server_hostname=target.host,
        )
    return urllib3.HTTPConnectionPool(address, target.port, timeout=timeout, retries=False)
