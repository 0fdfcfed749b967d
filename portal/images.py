"""Images people upload (a city's logo and banners, a merchant's or an offer's picture), one rule for
every door: :func:`normalise_image` bounds the size before reading, Pillow must recognise a PNG, JPEG
or WebP with a bounded pixel count, and the picture is then drawn again into a new file of bounded
dimensions. What is stored and served is only that new file: no metadata (EXIF, GPS), no trailing
bytes, nothing but pixels, never SVG. The portal serves it from its own address; nothing is loaded
from another host. Each app names its kinds (``ImageKind``)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = {"PNG", "JPEG", "WEBP"}
# A pixel count checked from the header, before any pixel is decoded (a small file can claim a
# huge canvas: a decompression bomb).
MAX_SOURCE_PIXELS = 40_000_000


@dataclass(frozen=True)
class ImageKind:
    name: str
    label: str
    max_box: tuple[int, int]  # the stored image fits inside this box
    min_side: int  # the shorter side of the upload must be at least this
    output_format: str  # PNG keeps sharp edges (logos, QR codes); JPEG suits photographs


def max_upload_bytes() -> int:
    return settings.IMAGE_MAX_BYTES


def normalise_image(uploaded, *, kind: ImageKind) -> ContentFile:
    """The upload checked and drawn again as a new PNG or JPEG file; ValidationError (in Chinese)
    for anything else. ``uploaded`` is a Django file or any binary file object."""
    limit = max_upload_bytes()
    size = getattr(uploaded, "size", None)
    if size is not None and size > limit:
        raise _too_large(limit)
    uploaded.seek(0)
    data = uploaded.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            width, height = probe.size
            if image_format not in ACCEPTED_FORMATS:
                raise _not_an_image()
            if width * height > MAX_SOURCE_PIXELS:
                raise _too_many_pixels()
            probe.verify()  # reads the whole file through: truncated or corrupt files stop here
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            image = ImageOps.exif_transpose(source)
    except ValidationError:
        raise
    except Image.DecompressionBombError:  # Pillow's own, far higher limit, checked when opening
        raise _too_many_pixels() from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise _not_an_image() from None
    if min(image.size) < kind.min_side:
        raise ValidationError(
            _("%(label)s太小：短边至少需要 %(side)d 像素。") % {"label": kind.label, "side": kind.min_side},
            code="too_small",
        )
    image.thumbnail(kind.max_box, Image.Resampling.LANCZOS)
    return _encode(image, kind)


def _encode(image: Image.Image, kind: ImageKind) -> ContentFile:
    out = io.BytesIO()
    if kind.output_format == "JPEG":
        _flatten(image).save(out, format="JPEG", quality=85, optimize=True, progressive=True)
        extension = "jpg"
    else:
        keeps_alpha = image.mode in ("RGBA", "LA") or "transparency" in image.info
        image.convert("RGBA" if keeps_alpha else "RGB").save(out, format="PNG", optimize=True)
        extension = "png"
    body = out.getvalue()
    digest = hashlib.sha256(body).hexdigest()[:12]
    return ContentFile(body, name=f"{kind.name}-{digest}.{extension}")


def _flatten(image: Image.Image) -> Image.Image:
    """Transparent pixels on white: JPEG has no alpha channel."""
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _too_large(limit: int) -> ValidationError:
    return ValidationError(
        _("图片不能超过 %(size)s MB。") % {"size": f"{limit / 1024 / 1024:g}"}, code="too_large"
    )


def _too_many_pixels() -> ValidationError:
    return ValidationError(_("图片像素过多（最多 4000 万像素），请缩小后再上传。"), code="too_many_pixels")


def _not_an_image() -> ValidationError:
    return ValidationError(_("请上传 PNG、JPEG 或 WebP 格式的图片文件。"), code="not_an_image")


def content_type(name: str) -> str:
    return "image/jpeg" if name.lower().endswith((".jpg", ".jpeg")) else "image/png"


# Images are addressed with their content digest (``?v=``, see :func:`versioned`): a change shows at once.
IMAGE_MAX_AGE = 60 * 60 * 24


def image_response(field_file) -> FileResponse:
    """A stored image as a public, cacheable answer; 404 when there is none."""
    if not field_file or not default_storage.exists(field_file.name):
        raise Http404
    response = FileResponse(
        default_storage.open(field_file.name, "rb"), content_type=content_type(field_file.name)
    )
    response["Cache-Control"] = f"public, max-age={IMAGE_MAX_AGE}"
    return response


def versioned(url: str, field_file) -> str:
    """``url`` with the digest in the stored image's name (``picture-<digest>.jpg``), to bust caches."""
    stem = field_file.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return f"{url}?v={stem.rsplit('-', 1)[-1]}"
