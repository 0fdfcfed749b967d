"""A city site's images (logo, WeChat QR code, banners), checked and drawn again by the one image rule
(``portal.images.normalise_image``), and the app icons drawn from them."""

from __future__ import annotations

import io

from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageDraw

from portal.images import ImageKind, content_type, normalise_image

__all__ = [
    "BANNER",
    "ICON_SIZES",
    "LOGO",
    "WECHAT_QR",
    "ImageKind",
    "content_type",
    "draw_icon",
    "normalise_image",
]

ICON_SIZES = (192, 512)
LOGO = ImageKind("logo", _("标志"), (512, 512), 64, "PNG")
WECHAT_QR = ImageKind("wechat-qr", _("公众号二维码"), (600, 600), 200, "PNG")
BANNER = ImageKind("banner", _("横幅图片"), (1200, 600), 300, "JPEG")


# --- App icons ----------------------------------------------------------------------------------


def _hex_to_rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def draw_icon(size: int, *, background: str, logo_file=None) -> bytes:
    """A square PNG app icon: the site's logo on a white disc over its primary colour, or, without a
    logo, a white card with a stripe. The motif keeps inside the middle 80 %, the safe zone of a
    maskable icon, so the same image serves both purposes."""
    colour = _hex_to_rgb(background)
    icon = Image.new("RGB", (size, size), colour)
    draw = ImageDraw.Draw(icon)
    if logo_file is not None:
        logo_file.seek(0)
        with Image.open(logo_file) as logo:
            logo = logo.convert("RGBA")
            inset = round(size * 0.16)
            draw.ellipse((inset, inset, size - inset, size - inset), fill=(255, 255, 255))
            box = round(size * 0.46)
            logo.thumbnail((box, box), Image.Resampling.LANCZOS)
            icon.paste(logo, ((size - logo.width) // 2, (size - logo.height) // 2), logo)
    else:
        left, top = round(size * 0.2), round(size * 0.3)
        right, bottom = size - left, size - top
        draw.rounded_rectangle((left, top, right, bottom), radius=round(size * 0.05), fill=(255, 255, 255))
        stripe = round(size * 0.08)
        draw.rectangle((left, top + stripe, right, top + 2 * stripe), fill=colour)
        chip = round(size * 0.1)
        draw.rounded_rectangle(
            (left + chip // 2, bottom - 2 * chip, left + 2 * chip, bottom - chip // 2),
            radius=round(size * 0.02),
            fill=colour,
        )
    out = io.BytesIO()
    icon.save(out, format="PNG", optimize=True)
    return out.getvalue()
