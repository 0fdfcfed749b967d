"""Short-lived card tokens carried by a member's card page, and the one function that resolves them.

Two forms name the same card for the same window:

- the QR token: the card id and the moment it was made, signed with the site key;
- the short code: 12 random digits (also drawn as a Code 128 barcode), for a till whose scanner reads
  only barcodes or a cashier who types; kept in ``CardCode`` until it expires.

Both live ``CARD_TOKEN_TTL_SECONDS`` (90 s; the page fetches fresh ones every 60 s), so a screenshot
passed around is refused soon after it was taken; within its window either may be shown again, as the
QR token always could. ``card_token_card_id`` resolves both: the till page and the POS API accept
either in their ``member_token`` input."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db import connection
from django.utils.timezone import now

from members.models import CardCode

_SALT = "members.card-token.v1"
SHORT_CODE_LENGTH = 12  # card numbers are 16–19 digits, so 12 digits never read as one
_SHORT_CODE = re.compile(rf"^\d{{{SHORT_CODE_LENGTH}}}$")
_SEPARATORS = re.compile(r"[\s\-\u3000]")
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def normalize_card_input(raw: str | None) -> str:
    """What a cashier typed or a scanner sent, as plain ASCII: full-width digits (０-９, from a
    Chinese input method) become 0-9; spaces, hyphens and the ideographic space go. The one
    normaliser of card numbers and short codes, for the till page and the POS API alike."""
    return _SEPARATORS.sub("", (raw or "").translate(_FULL_WIDTH_DIGITS))


def is_short_code(value: str) -> bool:
    """Whether an already normalised input has the form of a short code (not of a card number)."""
    return bool(_SHORT_CODE.match(value))


def card_token_issue(*, card_id: int) -> str:
    return signing.dumps(card_id, salt=_SALT, compress=False)


def card_code_issue(*, card_id: int) -> str:
    """A fresh short code for the card. Random digits, inserted only when no live code has them
    (a clash with an expired one takes it over; with a live one, another draw)."""
    expires_at = now() + timedelta(seconds=settings.CARD_TOKEN_TTL_SECONDS)
    with connection.cursor() as cursor:
        # This card's expired codes go first, so the table holds about one row per open card page.
        cursor.execute(
            "DELETE FROM members_cardcode WHERE card_id = %s AND expires_at <= %s", [card_id, now()]
        )
        while True:
            code = f"{secrets.randbelow(10**SHORT_CODE_LENGTH):0{SHORT_CODE_LENGTH}d}"
            cursor.execute(
                "INSERT INTO members_cardcode (code, card_id, expires_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (code) DO UPDATE "
                "SET card_id = EXCLUDED.card_id, expires_at = EXCLUDED.expires_at "
                "WHERE members_cardcode.expires_at <= %s RETURNING code",
                [code, card_id, expires_at, now()],
            )
            if cursor.fetchone() is not None:
                return code


def card_codes_purge() -> int:
    """Forget expired number codes (a card's own are dropped at its next refresh; this takes those of
    cards whose page was not opened again)."""
    deleted, _rows = CardCode.objects.filter(expires_at__lte=now()).delete()
    return deleted


def card_token_card_id(token: str) -> int | None:
    """The card id named by a QR token or a short code that is genuine and still fresh, else None."""
    digits = normalize_card_input(token)
    if is_short_code(digits):
        live = CardCode.objects.filter(code=digits, expires_at__gt=now())
        return live.values_list("card_id", flat=True).first()
    try:
        value = signing.loads(token.strip(), salt=_SALT, max_age=settings.CARD_TOKEN_TTL_SECONDS)
    except signing.BadSignature:  # includes SignatureExpired
        return None
    return value if isinstance(value, int) else None
