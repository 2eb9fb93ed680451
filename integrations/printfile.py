"""Print files and listing previews made from raw artwork.

Image models return at most ~1536 px, while a print area is often 4500x5400 px at 300 DPI
(read from the Printify catalog's placeholders), so the artwork is trimmed, scaled up and
placed on a transparent canvas of the print area's exact pixel size. A 4500x5400 RGBA image is about
97 MB, so intermediate images are released as soon as they are no longer needed.
"""

from __future__ import annotations

import hashlib
import io
import zlib
from dataclasses import dataclass

from PIL import Image, ImageColor, UnidentifiedImageError

# Print areas start at the collar; a small gap keeps the art off the seam.
TOP_MARGIN_FRACTION = 0.03
# A listing preview leaves a frame of garment colour around the art.
PREVIEW_ART_FRACTION = 0.8
PREVIEW_DPI = 72
# zlib level 6, not `optimize=True` (level 9): measured on a 4500x5400 print file, level 9
# saved 0.4% of the bytes and took 2.3x as long (3.1 s against 1.3 s).
PNG_COMPRESS_LEVEL = 6
# Run-length matching instead of zlib's default search. The profile of one local run put
# 60% of `make_print_file` in the PNG encoder; an upscaled artwork's filtered rows are
# long runs of small residuals, which RLE matches about as well as the full search does,
# the encoder in about half the time (`make bench-print-file`; the numbers are in ADR 0022).
PNG_COMPRESS_STRATEGY = zlib.Z_RLE


@dataclass
class PreparedImage:
    """Encoded image bytes with what an uploader needs to know about them."""

    data: bytes
    sha256: str
    width: int
    height: int
    dpi: int
    content_type: str


def open_artwork(data: bytes) -> Image.Image:
    """The image in `data` as RGBA, cropped to its visible (non-transparent) pixels: what
    the print file and the preview are made from, so one decode serves both."""
    try:
        image: Image.Image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"artwork is not a readable image: {exc}") from exc
    if image.mode != "RGBA":
        image = image.convert("RGBA")
    bbox = image.getbbox(alpha_only=True)
    if bbox is None:
        raise ValueError("artwork is fully transparent")
    if bbox == (0, 0, image.width, image.height):
        return image
    return image.crop(bbox)


def make_print_file(
    artwork: bytes | Image.Image, *, width: int, height: int, dpi: int = 300
) -> PreparedImage:
    """The artwork (PNG bytes, or `open_artwork`'s image) on a transparent `width` x
    `height` PNG, centred and top-aligned.

    The artwork's transparent border is trimmed first, then it is scaled (keeping its
    aspect ratio) to the largest size that fits below the top margin.
    """
    if width <= 0 or height <= 0 or dpi <= 0:
        raise ValueError(f"print file size and dpi must be positive, got {width}x{height}@{dpi}")
    art = _opened(artwork)
    top = round(height * TOP_MARGIN_FRACTION)
    fitted = _scaled_to_fit(art, width, height - top)
    del art
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    canvas.paste(fitted, ((width - fitted.width) // 2, top))
    del fitted
    buffer = io.BytesIO()
    canvas.save(
        buffer,
        format="PNG",
        dpi=(dpi, dpi),
        compress_level=PNG_COMPRESS_LEVEL,
        compress_type=PNG_COMPRESS_STRATEGY,
    )
    del canvas
    return _prepared(buffer.getvalue(), width, height, dpi, "image/png")


def make_preview(
    artwork: bytes | Image.Image, *, size: int = 2000, background: str = "#1b1b1b"
) -> PreparedImage:
    """A square JPEG listing image: the artwork (PNG bytes, or `open_artwork`'s image)
    centred on a garment-coloured background."""
    if size <= 0:
        raise ValueError(f"preview size must be positive, got {size}")
    colour = ImageColor.getrgb(background)[:3]  # raises ValueError for an unknown colour
    art = _opened(artwork)
    box = round(size * PREVIEW_ART_FRACTION)
    fitted = _scaled_to_fit(art, box, box)
    del art
    canvas = Image.new("RGB", (size, size), colour)
    # The art's own alpha as the mask blends anti-aliased edges onto the garment colour.
    canvas.paste(fitted, ((size - fitted.width) // 2, (size - fitted.height) // 2), mask=fitted)
    buffer = io.BytesIO()
    canvas.save(buffer, format="JPEG", quality=90, optimize=True, dpi=(PREVIEW_DPI, PREVIEW_DPI))
    return _prepared(buffer.getvalue(), size, size, PREVIEW_DPI, "image/jpeg")


def _opened(artwork: bytes | Image.Image) -> Image.Image:
    return artwork if isinstance(artwork, Image.Image) else open_artwork(artwork)


def _scaled_to_fit(image: Image.Image, max_width: int, max_height: int) -> Image.Image:
    """`image` scaled up or down, aspect ratio kept, to the largest size inside the box."""
    scale = min(max_width / image.width, max_height / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if size == image.size:
        return image
    # Pillow premultiplies alpha for RGBA resampling, so edges get no dark fringe.
    return image.resize(size, Image.Resampling.LANCZOS)


def _prepared(data: bytes, width: int, height: int, dpi: int, content_type: str) -> PreparedImage:
    return PreparedImage(
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        dpi=dpi,
        content_type=content_type,
    )
