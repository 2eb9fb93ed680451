"""Image generations: real PNG/JPEG/WebP files of the requested size, shapes and colours
drawn from a hash of the prompt, transparent when asked."""

from __future__ import annotations

import base64
import hashlib
import io
import time
from typing import Any, Literal

from PIL import Image, ImageDraw
from pydantic import Field

from sandbox.json_schema_example import HEX_COLOURS
from sandbox.openai.base import ModelRequest, OpenAIError, count_tokens

# gpt-image-1's output tokens per image: (square, portrait or landscape).
IMAGE_TOKENS = {"low": (272, 408), "medium": (1056, 1584), "high": (4160, 6240)}
# Images are drawn at 1/16 of their size and scaled up: fast, and the shapes stay crisp.
SKETCH_SCALE = 16
OPAQUE_BACKGROUND = "#F8F4EC"


class ImageRequest(ModelRequest):
    prompt: str = Field(min_length=1, max_length=32_000)
    n: int = Field(default=1, ge=1, le=10)
    size: Literal["1024x1024", "1536x1024", "1024x1536", "auto"] = "auto"
    background: Literal["transparent", "opaque", "auto"] = "auto"
    output_format: Literal["png", "jpeg", "webp"] = "png"
    output_compression: int = Field(default=100, ge=0, le=100)
    quality: Literal["low", "medium", "high", "auto"] = "auto"
    moderation: Literal["low", "auto"] = "auto"


def generation(request: ImageRequest) -> dict[str, Any]:
    """The images answer to `request`, each image base64 in `b64_json`."""
    if request.background == "transparent" and request.output_format == "jpeg":
        raise OpenAIError(
            400,
            "Transparent background is not supported for output format 'jpeg'; "
            "use 'png' or 'webp'.",
            param="background",
        )
    size = "1024x1024" if request.size == "auto" else request.size
    width, height = (int(side) for side in size.split("x"))
    quality = "medium" if request.quality == "auto" else request.quality
    background = "opaque" if request.background == "auto" else request.background
    images = [
        _render(
            request.prompt,
            index,
            (width, height),
            transparent=background == "transparent",
            output_format=request.output_format,
            compression=request.output_compression,
        )
        for index in range(request.n)
    ]
    text_tokens = count_tokens(request.prompt)
    output_tokens = IMAGE_TOKENS[quality][0 if width == height else 1] * request.n
    return {
        "created": int(time.time()),
        "data": [
            {"b64_json": base64.b64encode(image).decode("ascii"), "revised_prompt": request.prompt}
            for image in images
        ],
        "background": background,
        "output_format": request.output_format,
        "quality": quality,
        "size": size,
        "usage": {
            "input_tokens": text_tokens,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": text_tokens},
            "output_tokens": output_tokens,
            "total_tokens": text_tokens + output_tokens,
        },
    }


def _render(
    prompt: str,
    index: int,
    size: tuple[int, int],
    *,
    transparent: bool,
    output_format: str,
    compression: int,
) -> bytes:
    """Four shapes inside a margin (corners stay background), placed by the prompt's hash."""
    digest = hashlib.sha256(f"{index}\0{prompt}".encode()).digest()
    width, height = size[0] // SKETCH_SCALE, size[1] // SKETCH_SCALE
    sketch = Image.new("RGBA", (width, height), (0, 0, 0, 0) if transparent else OPAQUE_BACKGROUND)
    draw = ImageDraw.Draw(sketch)
    margin_x, margin_y = width // 8, height // 8
    span_x, span_y = width - 2 * margin_x, height - 2 * margin_y
    for shape in range(4):
        x, y, w, h, colour, kind = digest[1 + 6 * shape : 7 + 6 * shape]
        left = margin_x + x % (span_x // 2)
        top = margin_y + y % (span_y // 2)
        right = min(width - margin_x, left + span_x // 4 + w % (span_x // 2))
        bottom = min(height - margin_y, top + span_y // 4 + h % (span_y // 2))
        fill = HEX_COLOURS[colour % len(HEX_COLOURS)]
        if kind % 3 == 0:
            draw.ellipse((left, top, right, bottom), fill=fill)
        elif kind % 3 == 1:
            draw.rectangle((left, top, right, bottom), fill=fill)
        else:
            draw.polygon([(left, bottom), (right, bottom), ((left + right) // 2, top)], fill=fill)
    picture = sketch.resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    if output_format == "jpeg":
        picture.convert("RGB").save(buffer, "JPEG", quality=compression)
    elif output_format == "webp":
        picture.save(buffer, "WEBP", quality=compression)
    else:
        (picture if transparent else picture.convert("RGB")).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()
