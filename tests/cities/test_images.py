"""Images staff upload are checked, bounded and drawn again; nothing but pixels is stored."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from cities import images
from tests.cities.conftest import picture


def opened(content) -> Image.Image:
    content.seek(0)
    image = Image.open(io.BytesIO(content.read()))
    image.load()
    return image


def test_a_large_photo_is_shrunk_into_its_box_as_a_jpeg():
    content = images.normalise_image(
        io.BytesIO(picture((3000, 2000), image_format="JPEG")), kind=images.BANNER
    )
    image = opened(content)
    assert image.format == "JPEG"
    assert image.size == (900, 600)  # the 1200×600 box, proportions kept
    assert content.name.startswith("banner-") and content.name.endswith(".jpg")


def test_a_logo_keeps_its_transparency_as_a_png():
    source = io.BytesIO()
    Image.new("RGBA", (1000, 1000), (10, 20, 30, 0)).save(source, format="PNG")
    image = opened(images.normalise_image(source, kind=images.LOGO))
    assert image.format == "PNG" and image.mode == "RGBA" and image.size == (512, 512)


def test_metadata_and_trailing_bytes_are_not_kept():
    exif = Image.Exif()
    exif[0x010E] = "GPS 38.04,114.51 张三"  # ImageDescription
    source = picture((800, 800), image_format="JPEG", exif=exif.tobytes()) + b"<script>alert(1)</script>"
    content = images.normalise_image(io.BytesIO(source), kind=images.LOGO)
    content.seek(0)
    body = content.read()
    assert b"script" not in body and "张三".encode() not in body and b"GPS" not in body
    assert not opened(content).getexif()


def test_the_same_picture_gets_the_same_name():
    first = images.normalise_image(io.BytesIO(picture()), kind=images.BANNER)
    second = images.normalise_image(io.BytesIO(picture()), kind=images.BANNER)
    assert first.name == second.name


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a not really",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
        b"%PDF-1.4",
        b"",
        picture()[:200],  # truncated
    ],
    ids=["garbage", "svg", "pdf", "empty", "truncated"],
)
def test_anything_but_a_png_jpeg_or_webp_is_refused(data):
    with pytest.raises(ValidationError) as caught:
        images.normalise_image(io.BytesIO(data), kind=images.LOGO)
    assert caught.value.code == "not_an_image"
    assert "PNG、JPEG 或 WebP" in caught.value.messages[0]


def test_a_gif_is_refused_even_when_it_is_a_real_image():
    source = io.BytesIO()
    Image.new("RGB", (300, 300)).save(source, format="GIF")
    with pytest.raises(ValidationError) as caught:
        images.normalise_image(source, kind=images.LOGO)
    assert caught.value.code == "not_an_image"


def test_a_file_over_the_limit_is_refused_before_it_is_read(settings):
    settings.IMAGE_MAX_BYTES = 1000

    class Upload(io.BytesIO):
        size = 5000

    with pytest.raises(ValidationError) as caught:
        images.normalise_image(Upload(b"x"), kind=images.LOGO)
    assert caught.value.code == "too_large"
    with pytest.raises(ValidationError) as caught:
        images.normalise_image(io.BytesIO(b"x" * 1001), kind=images.LOGO)
    assert caught.value.code == "too_large"


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 10))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [8_000, 40_000])
def test_a_picture_claiming_too_many_pixels_is_refused_without_decoding_it(side):
    with pytest.raises(ValidationError) as caught:
        images.normalise_image(io.BytesIO(_png_claiming(side, side)), kind=images.BANNER)
    assert caught.value.code == "too_many_pixels"


def test_a_picture_too_small_for_its_use_is_refused():
    with pytest.raises(ValidationError) as caught:
        images.normalise_image(io.BytesIO(picture((120, 120))), kind=images.WECHAT_QR)
    assert caught.value.code == "too_small"
    assert "200" in caught.value.messages[0]


@pytest.mark.parametrize("size", images.ICON_SIZES)
def test_icons_are_square_pngs_of_their_size(size):
    logo = images.normalise_image(io.BytesIO(picture((300, 300))), kind=images.LOGO)
    for drawn in (
        images.draw_icon(size, background="#0b5cab"),
        images.draw_icon(size, background="#0b5cab", logo_file=logo),
    ):
        image = Image.open(io.BytesIO(drawn))
        assert image.format == "PNG" and image.size == (size, size)
        assert image.getpixel((2, 2)) == (11, 92, 171)  # the site's colour to the edge: maskable
