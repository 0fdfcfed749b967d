"""JSON over HTTP for the provider adapters (standard library only), with one rule for what a failure
means: no answer (timeout, refused or dropped connection), 429 or 5xx may pass → transient; any other
answer is the provider's word."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from notifications.backends import TransientDeliveryError


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: dict


def _parse(raw: bytes) -> dict:
    try:
        body = json.loads(raw.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def request_json(
    url: str, *, method: str = "GET", body: dict | None = None, headers: dict | None = None, timeout: float
) -> HttpAnswer:
    """Send one request; return the status and the JSON body (``{}`` when it is not JSON).

    Raises :class:`TransientDeliveryError` when there is no answer or the answer is 429 or 5xx."""
    if not url.startswith(("http://", "https://")):
        raise ValueError("provider URLs are http or https")
    data = None
    all_headers = {"Accept": "application/json", **(headers or {})}
    if body is not None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        all_headers["Content-Type"] = "application/json; charset=utf-8"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)  # noqa: S310 - scheme checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = HttpAnswer(response.status, _parse(response.read()))
    except urllib.error.HTTPError as exc:
        answer = HttpAnswer(exc.code, _parse(exc.read() or b""))
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TransientDeliveryError(f"no answer from the provider: {reason}") from exc
    if answer.status == 429 or answer.status >= 500:
        raise TransientDeliveryError(f"provider busy or failing: HTTP {answer.status}")
    return answer
