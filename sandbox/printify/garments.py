"""Mock-up pictures the Printify emulator draws: the product in one colour with the
seller's artwork where it is printed, so an offline listing looks like a real product.

A tee is a garment silhouette in the variant's colour with the artwork on the chest (or
the back); anything else (a poster) is a white sheet in a frame. Pillow only; about
20 ms a picture.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

SIZE = 800
BACKGROUND = (238, 236, 232)
# A tee seen from the front, on an 800 px canvas: (x, y) corners, clockwise from the collar.
_TEE = [
    (300, 110),
    (350, 140),
    (450, 140),
    (500, 110),  # collar
    (640, 170),
    (730, 330),
    (630, 375),
    (600, 330),  # right shoulder and sleeve
    (600, 720),
    (200, 720),  # body
    (200, 330),
    (170, 375),
    (70, 330),
    (160, 170),  # left sleeve and shoulder
]
# Where the print goes (left, top, right, bottom) on the tee and on the poster.
_TEE_PRINT = (275, 200, 525, 500)
_POSTER_SHEET = (190, 90, 610, 710)


def _rgb(hex_color: str) -> tuple[int, int, int]:
    value = hex_color.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _shade(color: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    red, green, blue = (min(255, max(0, round(c * factor))) for c in color)
    return red, green, blue


def _fit(artwork: Image.Image, box: tuple[int, int, int, int]) -> tuple[Image.Image, int, int]:
    """The artwork scaled into `box` (aspect kept), and where its top-left corner goes."""
    left, top, right, bottom = box
    art = artwork.convert("RGBA")
    art.thumbnail((right - left, bottom - top))
    x = left + (right - left - art.width) // 2
    y = top + (bottom - top - art.height) // 2
    return art, x, y


def render(kind: str, hex_color: str, artwork: Image.Image | None, position: str) -> bytes:
    """A PNG of the product (`kind` "tee" or "poster") in `hex_color` with `artwork`."""
    canvas = Image.new("RGB", (SIZE, SIZE), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    if kind == "tee":
        color = _rgb(hex_color)
        outline = _shade(color, 0.75) if sum(color) > 120 else _shade((90, 90, 90), 1.0)
        draw.polygon(_TEE, fill=color, outline=outline, width=4)
        if position == "back":  # no collar dip seen from the back
            draw.line([(350, 140), (450, 140)], fill=outline, width=4)
        box = _TEE_PRINT
    else:
        draw.rectangle((170, 70, 630, 730), fill=(60, 52, 44))  # the frame
        draw.rectangle(_POSTER_SHEET, fill=(255, 255, 255))
        box = _POSTER_SHEET
    if artwork is not None:
        art, x, y = _fit(artwork, box)
        canvas.paste(art, (x, y), art)
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def thumbnail(data: bytes, longest: int = 512) -> bytes:
    """A small PNG of an uploaded image, kept to draw mock-ups from."""
    with Image.open(io.BytesIO(data)) as image:
        # Scaled down before any conversion: a print file is 4500x5400, and converting it
        # first copied all of it (a fifth of this function's time under py-spy).
        small = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
        small.thumbnail((longest, longest))
        small = small.convert("RGBA")
        buffer = io.BytesIO()
        small.save(buffer, format="PNG")
        return buffer.getvalue()
