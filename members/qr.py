"""The codes on a member's card page, drawn here as inline SVG (no external assets): the QR code of the
card token (segno) and the Code 128 barcode of the short numeric code (python-barcode encodes, we
draw the bars, so CSS sizes the code to the phone's width)."""

from __future__ import annotations

from dataclasses import dataclass

import barcode
import segno

from members.tokens import card_code_issue, card_token_issue

_QUIET_ZONE = 10  # modules of white either side, as scanners expect
_BAR_HEIGHT = 40  # in modules: about a quarter of the width on a phone


def qr_svg(data: str) -> str:
    # omitsize keeps the viewBox only, so CSS sizes the code to the phone's width.
    return segno.make(data, error="m").svg_inline(scale=1, border=2, omitsize=True, svgclass="card-qr-svg")


def code128_svg(data: str) -> str:
    """``data`` as a Code 128 barcode: one <rect> per run of dark modules, in a viewBox of modules."""
    modules = "".join(barcode.get_barcode_class("code128")(data).build())
    width = len(modules) + 2 * _QUIET_ZONE
    bars = []
    start = None
    for index, module in enumerate(modules + "0"):
        if module == "1" and start is None:
            start = index
        elif module == "0" and start is not None:
            x, bar = start + _QUIET_ZONE, index - start
            bars.append(f'<rect x="{x}" y="0" width="{bar}" height="{_BAR_HEIGHT}"/>')
            start = None
    return (
        f'<svg class="card-barcode-svg" viewBox="0 0 {width} {_BAR_HEIGHT}" preserveAspectRatio="none" '
        f'role="img" aria-label="Code 128 {data}"><rect width="{width}" height="{_BAR_HEIGHT}" fill="#fff"/>'
        f'<g fill="#000">{"".join(bars)}</g></svg>'
    )


def short_code_display(code: str) -> str:
    """1234 5678 9012: read aloud or typed in groups of four."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


@dataclass(frozen=True)
class CardCodes:
    token: str
    qr_svg: str
    short_code: str
    barcode_svg: str

    @property
    def short_code_display(self) -> str:
        return short_code_display(self.short_code)


def card_codes(card_id: int) -> CardCodes:
    """Fresh codes for the card page: the QR token and the short code, valid for the same window."""
    token = card_token_issue(card_id=card_id)
    code = card_code_issue(card_id=card_id)
    return CardCodes(token=token, qr_svg=qr_svg(token), short_code=code, barcode_svg=code128_svg(code))
