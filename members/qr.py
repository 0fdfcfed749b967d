"""The QR code on a member's card page: an inline SVG drawn by segno (no external assets)."""

from __future__ import annotations

import segno

from members.tokens import card_token_issue


def qr_svg(data: str) -> str:
    # omitsize keeps the viewBox only, so CSS sizes the code to the phone's width.
    return segno.make(data, error="m").svg_inline(scale=1, border=2, omitsize=True, svgclass="card-qr-svg")


def card_qr(card_id: int) -> tuple[str, str]:
    """A fresh token for the card and its QR code."""
    token = card_token_issue(card_id=card_id)
    return token, qr_svg(token)
