"""Signatures of deliveries, and their verification as a receiver does it (docs/webhooks.md).

``Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``, keyed with the whole
secret string (``whsec_…``) as UTF-8. The timestamp is inside the signed text, so a delivery captured
on the way cannot be replayed later than the receiver's tolerance; the body is signed as the bytes
sent, so the receiver must verify before it parses the JSON."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Webhook-Signature"
ID_HEADER = "Webhook-Id"
EVENT_HEADER = "Webhook-Event"
SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The value of ``Webhook-Signature`` for ``body`` sent at ``timestamp`` (now by default)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},{SCHEME}={_digest(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and its timestamp is within ``tolerance``
    seconds of ``now``. Several ``v1`` values may be given (any one matching is enough); values of
    other schemes are ignored. Compared in constant time."""
    timestamp = None
    candidates: list[str] = []
    for part in (header or "").split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
