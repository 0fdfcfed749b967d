"""Short-lived card tokens carried by the QR code on a member's card page.

A token names a card and the moment it was made, signed with the site key. It lives
``CARD_TOKEN_TTL_SECONDS`` (90 s; the page fetches a fresh one every 60 s), so a screenshot
passed around is refused soon after it was taken."""

from __future__ import annotations

from django.conf import settings
from django.core import signing

_SALT = "members.card-token.v1"


def card_token_issue(*, card_id: int) -> str:
    return signing.dumps(card_id, salt=_SALT, compress=False)


def card_token_card_id(token: str) -> int | None:
    """The card id inside a token that is genuine and still fresh, else None."""
    try:
        value = signing.loads(token, salt=_SALT, max_age=settings.CARD_TOKEN_TTL_SECONDS)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    return value if isinstance(value, int) else None
