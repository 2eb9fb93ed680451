"""The local renderer draws real typographic artwork, deterministically."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from integrations.local.brief_writer import write_brief
from integrations.local.renderer import render_design
from models.payloads import DesignBrief

SMALL = {"width": 300, "height": 360}


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.load()
    return image


def _opaque_fraction(image: Image.Image) -> float:
    alpha = image.getchannel("A")
    histogram = alpha.histogram()
    return sum(histogram[128:]) / (image.width * image.height)


@pytest.mark.parametrize(
    "keyword",
    ["cat mom", "coffee", "supercalifragilisticexpialidociousness", "Café olé", "x1"],
)
def test_small_render_is_transparent_png_with_text(keyword: str) -> None:
    image = _open(render_design(write_brief(keyword), **SMALL))

    assert image.mode == "RGBA"
    assert image.size == (300, 360)
    alpha = image.getchannel("A")
    assert alpha.getextrema() == (0, 255)  # both transparent and opaque pixels
    assert 0.05 < _opaque_fraction(image) < 0.7
    # Anti-aliased text, outline, shadow and palette give many colours, unlike a flat box.
    colours = image.getcolors(maxcolors=100_000)
    assert colours is not None and len(colours) > 50
    # The corners stay transparent (margins), the middle band carries the slogan.
    assert image.getpixel((0, 0)) == (0, 0, 0, 0)
    assert image.crop((30, 100, 270, 260)).getchannel("A").getextrema()[1] == 255


def test_render_uses_the_palette_colours() -> None:
    brief = write_brief("coffee")
    image = _open(render_design(brief, **SMALL)).convert("RGB")
    present = {colour for _, colour in image.getcolors(maxcolors=100_000) or []}
    for hex_colour in brief.palette[:2]:
        rgb = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
        assert rgb in present, hex_colour


def test_render_is_deterministic() -> None:
    brief = write_brief("pickleball")
    assert render_design(brief, **SMALL) == render_design(brief, **SMALL)


def test_different_briefs_render_differently() -> None:
    assert render_design(write_brief("cat mom"), **SMALL) != render_design(
        write_brief("dog dad"), **SMALL
    )


def test_bad_palette_falls_back_to_default_colours() -> None:
    brief = write_brief("coffee")
    brief.palette = ["not-a-colour", "#zzzzzz"]
    image = _open(render_design(brief, **SMALL)).convert("RGB")
    present = {colour for _, colour in image.getcolors(maxcolors=100_000) or []}
    assert (255, 230, 109) in present  # first fallback colour, #FFE66D


def test_blank_slogan_still_renders_something() -> None:
    brief = DesignBrief(
        keyword="x",
        concept="",
        slogan="   ",
        style="",
        palette=[],
        audience="",
        image_prompt="",
        title="",
        tags=[],
        description="",
    )
    image = _open(render_design(brief, **SMALL))
    assert image.getchannel("A").getextrema() == (0, 255)


def test_many_words_are_wrapped_within_the_canvas() -> None:
    brief = write_brief("coffee")
    brief.slogan = "one two three four five six seven eight nine ten eleven twelve"
    image = _open(render_design(brief, **SMALL))
    left, top, right, bottom = image.getchannel("A").getbbox() or (0, 0, 0, 0)
    assert left > 0 and top > 0 and right < 300 and bottom < 360
    assert right - left > 200  # the lines fill most of the width


def test_too_small_canvas_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 64"):
        render_design(write_brief("coffee"), width=10, height=400)


def test_full_size_render() -> None:
    image = _open(render_design(write_brief("cat mom")))
    assert image.size == (3000, 3600)
    assert image.mode == "RGBA"
    assert 0.05 < _opaque_fraction(image) < 0.7
