"""A city site's colours: what a valid colour is, and whether white text stays readable on it.

The colours go into the page as CSS custom properties (``templates/base.html``), so a value is
accepted only in the one form that cannot carry anything else: ``#`` and six hex digits."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# The province site's own colours (portal/static/portal/portal.css): the theme when no city is chosen.
PROVINCE_PRIMARY = "#c8102e"
PROVINCE_ACCENT = "#9e0b23"
# WCAG 2.1: 3:1 for the header's large white text and buttons, 4.5:1 for links and body-size text.
MIN_CONTRAST_PRIMARY = 3.0
MIN_CONTRAST_ACCENT = 4.5


def is_hex_colour(value: object) -> bool:
    return isinstance(value, str) and HEX_COLOUR.fullmatch(value) is not None


def _luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_with_white(colour: str) -> float:
    """The WCAG contrast ratio between ``colour`` and white (1 to 21)."""
    return 1.05 / (_luminance(colour) + 0.05)


def validate_hex_colour(value: str) -> None:
    if not is_hex_colour(value):
        raise ValidationError(_("颜色须写成 # 加六位十六进制数字，例如 #c8102e。"), code="invalid_colour")


def validate_primary_colour(value: str) -> None:
    """The header and buttons carry white text on the primary colour."""
    validate_hex_colour(value)
    if contrast_with_white(value) < MIN_CONTRAST_PRIMARY:
        raise ValidationError(
            _("主色太浅，白色文字在上面看不清（对比度须至少 3:1），请选深一些的颜色。"), code="low_contrast"
        )


def validate_accent_colour(value: str) -> None:
    """Links and headlines are written in the accent colour on white."""
    validate_hex_colour(value)
    if contrast_with_white(value) < MIN_CONTRAST_ACCENT:
        raise ValidationError(
            _("强调色太浅，在白色背景上看不清（对比度须至少 4.5:1），请选深一些的颜色。"),
            code="low_contrast",
        )


def site_colours(site) -> tuple[str, str]:
    """(primary, accent) for a page: the site's own when they are valid, else the province's. The
    check runs again here because the values end up inside a style element."""
    if site is not None and is_hex_colour(site.primary_color) and is_hex_colour(site.accent_color):
        return site.primary_color.lower(), site.accent_color.lower()
    return PROVINCE_PRIMARY, PROVINCE_ACCENT
