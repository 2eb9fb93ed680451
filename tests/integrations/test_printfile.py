"""Print files and previews: exact sizes, DPI metadata, checksums and placement."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image, ImageDraw

from integrations.printfile import (
    TOP_MARGIN_FRACTION,
    PreparedImage,
    make_preview,
    make_print_file,
    open_artwork,
)


def _png(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _artwork(width: int = 200, height: int = 100, border: int = 20) -> bytes:
    """An opaque red `width` x `height` block inside a transparent border."""
    image = Image.new("RGBA", (width + 2 * border, height + 2 * border), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle(
        (border, border, border + width - 1, border + height - 1), fill=(220, 30, 30, 255)
    )
    return _png(image)


def _open(prepared: PreparedImage) -> Image.Image:
    image = Image.open(io.BytesIO(prepared.data))
    image.load()
    return image


def test_print_file_has_exact_size_dpi_and_checksum() -> None:
    prepared = make_print_file(_artwork(), width=900, height=1200, dpi=300)
    image = _open(prepared)

    assert image.format == "PNG" and image.mode == "RGBA"
    assert image.size == (900, 1200)
    assert (prepared.width, prepared.height, prepared.dpi) == (900, 1200, 300)
    assert prepared.content_type == "image/png"
    assert prepared.sha256 == hashlib.sha256(prepared.data).hexdigest()
    dpi_x, dpi_y = image.info["dpi"]
    assert dpi_x == pytest.approx(300, abs=0.5) and dpi_y == pytest.approx(300, abs=0.5)


def test_print_file_trims_scales_and_places_the_art() -> None:
    # A 2:1 art block (transparent border trimmed) scaled up into 900 wide.
    image = _open(make_print_file(_artwork(200, 100), width=900, height=1200))
    left, top, right, bottom = image.getchannel("A").getbbox() or (0, 0, 0, 0)

    assert (left, right) == (0, 900)  # full width: width is the limiting side
    assert top == round(1200 * TOP_MARGIN_FRACTION)  # top-aligned below a small margin
    assert (right - left) / (bottom - top) == pytest.approx(2.0, rel=0.02)
    assert image.getpixel((0, 0)) == (0, 0, 0, 0)  # transparency kept around the art
    assert image.getpixel((450, 1199)) == (0, 0, 0, 0)
    assert image.getpixel((450, top + 20)) == (220, 30, 30, 255)


def test_tall_art_is_centred_horizontally() -> None:
    image = _open(make_print_file(_artwork(100, 400), width=1000, height=1000))
    left, _, right, bottom = image.getchannel("A").getbbox() or (0, 0, 0, 0)
    assert bottom == 1000  # height is the limiting side
    assert abs(left - (1000 - right)) <= 1


def test_art_exactly_the_right_size_is_not_resampled() -> None:
    art = Image.new("RGBA", (100, 97), (10, 200, 10, 255))
    image = _open(make_print_file(_png(art), width=100, height=100))
    assert image.getchannel("A").getbbox() == (0, 3, 100, 100)


def test_rgb_and_palette_images_are_accepted() -> None:
    rgb = Image.new("RGB", (50, 50), (0, 0, 255))
    image = _open(make_print_file(_png(rgb, "JPEG"), width=200, height=200))
    assert image.mode == "RGBA" and image.size == (200, 200)


def test_full_size_print_file() -> None:
    prepared = make_print_file(_artwork(1024, 1536, border=0), width=4500, height=5400)
    # Header only (size, pHYs): decoding 97 MB of pixels again would only slow the suite.
    image = Image.open(io.BytesIO(prepared.data))
    assert image.size == (4500, 5400)
    assert image.info["dpi"][0] == pytest.approx(300, abs=0.5)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not an image", "not a readable image"),
        (b"", "not a readable image"),
        (_png(Image.new("RGBA", (10, 10), (0, 0, 0, 0))), "fully transparent"),
    ],
)
def test_bad_artwork_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_print_file(data, width=100, height=100)
    with pytest.raises(ValueError, match=message):
        make_preview(data)


@pytest.mark.parametrize(("width", "height", "dpi"), [(0, 100, 300), (100, -1, 300), (10, 10, 0)])
def test_non_positive_sizes_are_refused(width: int, height: int, dpi: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        make_print_file(_artwork(), width=width, height=height, dpi=dpi)


def test_preview_is_a_square_jpeg_on_the_garment_colour() -> None:
    prepared = make_preview(_artwork(200, 100), size=500, background="#1b1b1b")
    image = _open(prepared)

    assert image.format == "JPEG" and image.size == (500, 500)
    assert prepared.content_type == "image/jpeg"
    assert prepared.sha256 == hashlib.sha256(prepared.data).hexdigest()
    corner = image.getpixel((5, 5))
    centre = image.getpixel((250, 250))
    assert isinstance(corner, tuple) and isinstance(centre, tuple)
    assert all(abs(c - 27) <= 4 for c in corner)
    assert centre[0] > 180 and centre[1] < 80  # the red art, centred


def test_preview_refuses_bad_size_and_colour() -> None:
    with pytest.raises(ValueError, match="positive"):
        make_preview(_artwork(), size=0)
    with pytest.raises(ValueError):
        make_preview(_artwork(), background="not-a-colour")


def test_one_decoded_artwork_makes_the_same_files_as_its_bytes() -> None:
    data = _artwork(300, 150)
    art = open_artwork(data)
    assert art.mode == "RGBA" and art.size == (300, 150)  # trimmed to the visible block
    printed = make_print_file(art, width=600, height=800)
    assert printed.sha256 == make_print_file(data, width=600, height=800).sha256
    assert make_preview(art, size=400).sha256 == make_preview(data, size=400).sha256
    assert art.size == (300, 150)  # neither file changed the shared image
