"""Benchmark: `make_print_file` against the bare Pillow reference, in one run.

The reference is what the straightforward code does: trim the artwork's transparent
border, scale it with LANCZOS, paste it on the transparent canvas and save the PNG with
Pillow's defaults (zlib level 6, its PNG strategy `Z_FILTERED`). Each artwork kind is
timed both ways, the fastest of `--repeat` runs each, and the report gives our time and
size as ratios to the reference's:

    .venv/bin/python scripts/bench_print_file.py [--repeat 3] [--width 4500 --height 5400]

Artwork kinds: `local` (the local renderer's design), `photo` (smooth colour fields and
blurred noise, what image models return) and `sharp` (full-size pixel noise, the worst
case for run-length matching; no model returns it today). Not a timed test.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

from integrations import printfile
from integrations.local.renderer import render_design
from models.payloads import DesignBrief

ARTWORK_SIDE = 1024
TOP_MARGIN = printfile.TOP_MARGIN_FRACTION


@dataclass(frozen=True)
class Result:
    kind: str
    ours_s: float
    bare_s: float
    ours_bytes: int
    bare_bytes: int

    @property
    def time_ratio(self) -> float:
        return self.ours_s / self.bare_s

    @property
    def size_ratio(self) -> float:
        return self.ours_bytes / self.bare_bytes


def local_artwork(side: int) -> bytes:
    brief = DesignBrief(
        keyword="sourdough bread baker",
        concept="a loaf with a face",
        slogan="Knead More Bread",
        style="retro",
        palette=["#e4572e", "#29335c", "#f3a712"],
        audience="home bakers",
        image_prompt="a smiling sourdough loaf",
        title="Sourdough Baker Shirt",
        tags=["sourdough"],
        description="For bakers.",
    )
    return render_design(brief, width=side, height=side)


def photo_artwork(side: int) -> bytes:
    fractal = Image.effect_mandelbrot((side, side), (-2.0, -1.5, 1.0, 1.5), 100)
    noise = Image.effect_noise((side, side), 40).filter(ImageFilter.GaussianBlur(2))
    gradient = Image.linear_gradient("L").resize((side, side))
    image = Image.merge("RGB", (fractal, noise, gradient)).convert("RGBA")
    mask = Image.new("L", (side, side), 0)
    inset = side // 25
    ImageDraw.Draw(mask).ellipse((inset, inset, side - inset, side - inset), 255)
    image.putalpha(mask)
    return _png(image)


def sharp_artwork(width: int, height: int) -> bytes:
    channels = [Image.effect_noise((width, height), 60 + 20 * i) for i in range(3)]
    image = Image.merge("RGB", channels).convert("RGBA")
    return _png(image)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def bare_print_file(artwork: bytes, width: int, height: int) -> bytes:
    """The reference: the same geometry (the transparent border trimmed, scaled to fit
    below the top margin) saved with Pillow's PNG defaults."""
    art = Image.open(io.BytesIO(artwork)).convert("RGBA")
    art = art.crop(art.getbbox(alpha_only=True))
    top = round(height * TOP_MARGIN)
    scale = min(width / art.width, (height - top) / art.height)
    size = (max(1, round(art.width * scale)), max(1, round(art.height * scale)))
    if size != art.size:
        art = art.resize(size, Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    canvas.paste(art, ((width - art.width) // 2, top))
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG", dpi=(300, 300))
    return buffer.getvalue()


def fastest(repeat: int, make: Callable[[], bytes]) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        size = len(make())
        times.append(time.perf_counter() - start)
    return min(times), size


def measure(kind: str, artwork: bytes, width: int, height: int, repeat: int) -> Result:
    ours_s, ours_bytes = fastest(
        repeat, lambda: printfile.make_print_file(artwork, width=width, height=height).data
    )
    bare_s, bare_bytes = fastest(repeat, lambda: bare_print_file(artwork, width, height))
    return Result(kind, ours_s, bare_s, ours_bytes, bare_bytes)


def run(width: int, height: int, repeat: int, side: int = ARTWORK_SIDE) -> list[Result]:
    artworks = {
        "local": local_artwork(side),
        "photo": photo_artwork(side),
        "sharp": sharp_artwork(width, height - round(height * TOP_MARGIN)),
    }
    return [measure(kind, art, width, height, repeat) for kind, art in artworks.items()]


def report(results: list[Result], width: int, height: int) -> str:
    lines = [
        f"print file {width}x{height}, fastest of the repeats; ratio = ours / bare Pillow",
        f"{'artwork':8} {'ours s':>8} {'bare s':>8} {'time':>6} "
        f"{'ours MB':>8} {'bare MB':>8} {'size':>6}",
    ]
    for r in results:
        lines.append(
            f"{r.kind:8} {r.ours_s:8.2f} {r.bare_s:8.2f} {r.time_ratio:6.2f} "
            f"{r.ours_bytes / 1e6:8.2f} {r.bare_bytes / 1e6:8.2f} {r.size_ratio:6.3f}"
        )
    typical = [r.time_ratio for r in results if r.kind != "sharp"]
    lines.append(f"median time ratio over model-like artwork: {statistics.median(typical):.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=4500)
    parser.add_argument("--height", type=int, default=5400)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(report(run(args.width, args.height, args.repeat), args.width, args.height))  # noqa: T201


if __name__ == "__main__":
    main()
