"""Etsy v3 request rules for the emulator: the error type, form and image validation.

The rules follow Etsy's `ShopIdListingsBody` (createDraftListing) and seller rules:
title <= 140 characters of letters, numbers, punctuation, math symbols, whitespace and
™©®, with `% : & +` at most once each and at most three words in capitals; tags as one
comma-separated string, <= 13 tags of <= 20 characters (letters, numbers, whitespace,
`-`, `'`, ™©®), no duplicates.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request
from PIL import Image, UnidentifiedImageError
from starlette.datastructures import FormData, UploadFile


class EtsyError(Exception):
    """An Etsy error answer: `{"error": message}`, or OAuth's `{error, error_description}`."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    @classmethod
    def plain(cls, status: int, message: str) -> EtsyError:
        return cls(status, {"error": message})

    @classmethod
    def oauth(cls, status: int, error: str, description: str) -> EtsyError:
        return cls(status, {"error": error, "error_description": description})

    @classmethod
    def field(cls, name: str, message: str) -> EtsyError:
        return cls(400, {"error": f"There was a problem with /{name} : {message}"})


WHO_MADE = frozenset({"i_did", "someone_else", "collective"})
# Etsy's current buckets, as its published document lists them (retired ones, such as
# 2020_2025 or before_2006, are refused as Etsy refuses them).
WHEN_MADE = frozenset(
    {"made_to_order", "2020_2026", "2010_2019", "2007_2009", "before_2007", "2000_2006"}
    | {f"{decade}s" for decade in (1990, 1980, 1970, 1960, 1950, 1940, 1930, 1920, 1910, 1900)}
    | {"1800s", "1700s", "before_1700"}
)
# Sent together or not at all (sandbox/contracts/etsy-rules.yaml, who-made-when-made-is-supply).
MAKER_FIELDS = ("who_made", "when_made", "is_supply")
LISTING_TYPES = frozenset({"physical", "download", "both"})
UPDATE_STATES = frozenset({"active", "inactive"})
REQUIRED_FIELDS = (
    "quantity",
    "title",
    "description",
    "price",
    "who_made",
    "when_made",
    "taxonomy_id",
)
# The document's readiness rules: a physical listing names these on creation.
PHYSICAL_FIELDS = ("shipping_profile_id", "readiness_state_id")
MAX_TITLE = 140
MAX_TAGS = 13
MAX_TAG_LENGTH = 20
MAX_QUANTITY = 999
_MARKS = frozenset("™©®")
_ONCE_IN_TITLE = "%:&+"
# Etsy's seller rule: "no more than three words in all capital letters" in a title.
MAX_CAPS_WORDS = 3


def capital_words(title: str) -> list[str]:
    """The words of `title` written in capitals (two letters or more, none lower case)."""
    words = ("".join(ch for ch in word if ch.isalpha()) for word in title.split())
    return [word for word in words if len(word) >= 2 and word.isupper()]


def _allowed_title_char(char: str) -> bool:
    category = unicodedata.category(char)
    return char.isspace() or char in _MARKS or category[0] in "LNP" or category == "Sm"


def validate_title(value: str) -> str:
    """The trimmed title, or `ValueError` explaining which rule it breaks."""
    title = value.strip()
    if not title:
        raise ValueError("Title cannot be empty.")
    if len(title) > MAX_TITLE:
        raise ValueError(f"Title must be {MAX_TITLE} characters or fewer.")
    bad = sorted({char for char in title if not _allowed_title_char(char)})
    if bad:
        raise ValueError(f"Title contains characters that are not allowed: {''.join(bad)!r}.")
    repeated = [char for char in _ONCE_IN_TITLE if title.count(char) > 1]
    if repeated:
        once = "".join(repeated)
        raise ValueError(f"Title may contain each of % : & + only once (repeated: {once}).")
    capitals = capital_words(title)
    if len(capitals) > MAX_CAPS_WORDS:
        raise ValueError(
            f"Title may contain at most {MAX_CAPS_WORDS} words in all capital letters "
            f"(found {len(capitals)}: {', '.join(capitals)})."
        )
    return title


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_tags(value: str) -> list[str]:
    """Tags from one comma-separated string, checked against Etsy's tag rules."""
    tags = _split(value)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"A listing may have at most {MAX_TAGS} tags, got {len(tags)}.")
    seen: set[str] = set()
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"Tag {tag!r} is longer than {MAX_TAG_LENGTH} characters.")
        if not all(c.isalnum() or c.isspace() or c in "-'" or c in _MARKS for c in tag):
            raise ValueError(
                f"Tag {tag!r} may only contain letters, numbers, whitespace, -, ', ™, © and ®."
            )
        if tag.casefold() in seen:
            raise ValueError(f"Duplicate tag {tag!r}.")
        seen.add(tag.casefold())
    return tags


def parse_materials(value: str) -> list[str]:
    """Materials from a comma-separated string: letters, numbers and whitespace only."""
    materials = _split(value)
    for material in materials:
        if not all(c.isalnum() or c.isspace() for c in material):
            raise ValueError(
                f"Material {material!r} may only contain letters, numbers and whitespace."
            )
    return materials


def _integer(value: str, minimum: int, maximum: int | None = None) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"Expected an integer but found {value!r}.") from None
    if number < minimum or (maximum is not None and number > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ValueError(f"Must be at least {minimum}{upper}, got {number}.")
    return number


def _price_cents(value: str) -> int:
    try:
        price = float(value.strip())
    except ValueError:
        raise ValueError(f"Expected a number but found {value!r}.") from None
    if not math.isfinite(price) or price <= 0:
        raise ValueError("Price must be greater than 0.")
    return round(price * 100)


def _text(value: str) -> str:
    if not value.strip():
        raise ValueError("Cannot be empty.")
    return value.strip()


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(f"Expected a boolean but found {value!r}.")


def _choice(options: frozenset[str]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in options:
            raise ValueError(f"{value!r} is not one of {', '.join(sorted(options))}.")
        return value

    return parse


_PARSERS: dict[str, Callable[[str], Any]] = {
    "quantity": lambda v: _integer(v, 1, MAX_QUANTITY),
    "title": validate_title,
    "description": _text,
    "price": _price_cents,
    "who_made": _choice(WHO_MADE),
    "when_made": _choice(WHEN_MADE),
    "taxonomy_id": lambda v: _integer(v, 1),
    "tags": parse_tags,
    "materials": parse_materials,
    "shipping_profile_id": lambda v: _integer(v, 1),
    "return_policy_id": lambda v: _integer(v, 1),
    "readiness_state_id": lambda v: _integer(v, 1),
    "shop_section_id": lambda v: _integer(v, 1),
    "type": _choice(LISTING_TYPES),
    "processing_min": lambda v: _integer(v, 0),
    "processing_max": lambda v: _integer(v, 0),
    "is_supply": _boolean,
    "should_auto_renew": _boolean,
    "is_taxable": _boolean,
    "is_customizable": _boolean,
    "is_personalizable": _boolean,
    "state": _choice(UPDATE_STATES),
}


def form_values(form: FormData) -> dict[str, str]:
    """Last text value per field; `tags[]` counts as `tags` (Etsy keeps only the last)."""
    values: dict[str, str] = {}
    for key in form:
        texts = [v for v in form.getlist(key) if isinstance(v, str)]
        if texts:
            values[key.removesuffix("[]")] = texts[-1]
    return values


def parse_listing_fields(values: Mapping[str, str], *, creating: bool) -> dict[str, Any]:
    """Validated listing fields from a form; `creating` requires the 7 draft fields, and
    `who_made`, `when_made` and `is_supply` come together or not at all.

    Unknown fields are ignored, as Etsy does, but `legacy` (removed in July 2026) is
    refused. `price` comes back as cents.
    """
    if creating:
        for name in REQUIRED_FIELDS:
            if name not in values:
                raise EtsyError.field(name, f"{name} is required.")
    sent = [name for name in MAKER_FIELDS if name in values]
    if sent and len(sent) < len(MAKER_FIELDS):
        missing = next(name for name in MAKER_FIELDS if name not in values)
        raise EtsyError.field(missing, f"{missing} is required with {' and '.join(sent)}.")
    if "legacy" in values:
        raise EtsyError.field("legacy", "legacy is no longer supported.")
    fields: dict[str, Any] = {}
    for name, parser in _PARSERS.items():
        if name not in values or (creating and name == "state"):
            continue
        try:
            fields[name] = parser(values[name])
        except ValueError as exc:
            raise EtsyError.field(name, str(exc)) from None
    return fields


MAX_ALT_TEXT = 500


def parse_image_form(values: Mapping[str, Any]) -> dict[str, Any]:
    """uploadListingImage fields: `image` bytes, `rank`, `overwrite`, `alt_text`, and so on."""
    image = values.get("image")
    if isinstance(image, str):
        raise EtsyError.field("image", "The image must be sent as a file.")
    parsers: dict[str, tuple[Callable[[str], Any], Any]] = {
        "rank": (lambda v: _integer(v, 1), 1),
        "overwrite": (_boolean, False),
        "is_watermarked": (_boolean, False),
        "listing_image_id": (lambda v: _integer(v, 1), None),
        "alt_text": (_alt_text, ""),
    }
    fields: dict[str, Any] = {"image": image}
    for name, (parser, default) in parsers.items():
        try:
            fields[name] = parser(values[name]) if name in values else default
        except ValueError as exc:
            raise EtsyError.field(name, str(exc)) from None
    return fields


def _alt_text(value: str) -> str:
    if len(value) > MAX_ALT_TEXT:
        raise ValueError(f"Alt text must be {MAX_ALT_TEXT} characters or fewer.")
    return value


# --- request bodies, query parameters and image files --------------------------------

IMAGE_FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}


def decode_image(data: bytes) -> tuple[str, int, int, str]:
    """(extension, width, height, average colour hex) or a 400 if Pillow cannot read it."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            ext = IMAGE_FORMATS.get(image.format or "")
            width, height = image.size
            red, green, blue = image.convert("RGB").resize((1, 1)).getpixel((0, 0))  # type: ignore[misc]
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise EtsyError.field("image", "The file is not a readable image.") from None
    if ext is None:
        raise EtsyError.field("image", "Images must be JPEG, PNG, GIF or WebP.")
    return ext, width, height, f"{red:02X}{green:02X}{blue:02X}"


async def read_json(request: Request) -> Any:
    """A JSON body, as Etsy takes it on its JSON operations (400 for another type or bad
    JSON)."""
    got = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if got != "application/json":
        raise EtsyError.plain(400, f"The request body must be application/json, not {got}.")
    try:
        return await request.json()
    except ValueError:
        raise EtsyError.plain(400, "The request body is not valid JSON.") from None


async def read_form(request: Request, content_type: str) -> dict[str, Any]:
    """The request's form fields; any other content type (JSON included) is a 400."""
    got = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if got != content_type:
        raise EtsyError.plain(
            400, f"The request body must be {content_type}, not {got or 'empty'}."
        )
    form = await request.form()
    values: dict[str, Any] = form_values(form)
    upload = form.get("image")
    if isinstance(upload, UploadFile):
        values["image"] = await upload.read()
    return values


def query_int(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter in `[low, high]`, or a 400 in Etsy's form-error shape."""
    raw = request.query_params.get(name)
    try:
        value = default if raw is None else int(raw)
    except ValueError:
        raise EtsyError.field(name, f"Expected an integer but found {raw!r}.") from None
    if not low <= value <= high:
        raise EtsyError.field(name, f"Must be between {low} and {high}, got {value}.")
    return value
