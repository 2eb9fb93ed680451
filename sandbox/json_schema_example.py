"""Deterministic example values for a JSON Schema, as a model would answer one.

The OpenAI emulator answers structured-output and tool calls with `example(schema, text)`:
a value that conforms to the schema, built from the words of the user's message so a
test can recognise its own input and gets the same answer every time. It covers the
subset strict structured outputs use: objects (`properties`, `required`,
`additionalProperties`), strings (`minLength`, `maxLength`, `enum`, `const`, common
`format`s, simple `pattern`s), integers and numbers with bounds, booleans, null, arrays
(`items`, `minItems`, `maxItems`, distinct items), `anyOf`/`oneOf`/`allOf`, type lists and
local `$ref`s. A few field names get fitting values (colours, tags, URLs) before the
generic rule applies. Like a model, it keeps to a length a description states ("at most
32 chars"), and writes titles from the message's quoted subject (`Keyword: "cat mom"`)
rather than repeating the whole message.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from typing import Any

FILLER_WORDS = (
    "design",
    "print",
    "gift",
    "vintage",
    "retro",
    "classic",
    "modern",
    "minimal",
    "bold",
    "cute",
    "funny",
    "art",
    "style",
    "graphic",
    "trendy",
    "cozy",
)
HEX_COLOURS = (
    "#FFB703",
    "#FB8500",
    "#219EBC",
    "#023047",
    "#8ECAE6",
    "#E63946",
    "#2A9D8F",
    "#264653",
    "#F4A261",
    "#E9C46A",
)
_FORMATS = {
    "date-time": "2026-01-01T12:00:00Z",
    "date": "2026-01-01",
    "time": "12:00:00",
    "email": "seller@example.com",
    "uri": "https://example.com/item",
    "url": "https://example.com/item",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_STOP_WORDS = frozenset({"the", "and", "for", "with", "that", "this", "from", "you", "your"})
_MAX_DEPTH = 8  # past this, recursive schemas get their smallest value (null, [], …)


def example(schema: Mapping[str, Any], text: str) -> Any:
    """A value conforming to `schema`, derived deterministically from `text`."""
    return _Generator(schema, text).value(schema, "", 0)


def violating_example(schema: Mapping[str, Any], text: str) -> Any:
    """A value that breaks `schema`: a required property is missing, or the type is wrong."""
    generator = _Generator(schema, text)
    value = generator.value(schema, "", 0)
    required = generator.resolve(schema).get("required") or []
    if isinstance(value, dict) and required:
        value.pop(required[0], None)
        return value
    return [] if not isinstance(value, list) else {}


class _Generator:
    def __init__(self, root: Mapping[str, Any], text: str) -> None:
        self.root = root
        self.text = " ".join(text.split())
        # What the message is about: its quoted parts when it has some.
        self.subject = " ".join(re.findall(r'"([^"]+)"', self.text)) or self.text
        found = [word.lower() for word in re.findall(r"[A-Za-z][A-Za-z0-9]*", text)]
        own = list(dict.fromkeys(w for w in found if len(w) >= 3 and w not in _STOP_WORDS))
        self.words = own + [word for word in FILLER_WORDS if word not in own]

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """`schema` with a local `$ref` followed and `allOf` parts merged."""
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part]
            return self.resolve({**target, **{k: v for k, v in schema.items() if k != "$ref"}})
        parts = schema.get("allOf")
        if isinstance(parts, list):
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in parts:
                for key, value in self.resolve(part).items():
                    if key == "properties":
                        merged[key] = {**value, **merged.get(key, {})}
                    elif key == "required":
                        merged[key] = [*merged.get(key, []), *value]
                    else:
                        merged.setdefault(key, value)
            return merged
        return schema

    def _pick(self, path: str, count: int) -> int:
        digest = hashlib.sha256(f"{path}\0{self.text}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % max(count, 1)

    def value(self, schema: Mapping[str, Any], path: str, depth: int) -> Any:
        schema = self.resolve(schema)
        name = _field_name(path)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][self._pick(path, len(schema["enum"]))]
        variants = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(variants, list) and variants:
            return self.value(self._choose(variants, depth), path, depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kinds = [k for k in kind if k != "null"]
            kind = kinds[0] if kinds and depth < _MAX_DEPTH else "null"
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        match kind:
            case "object":
                return self._object(schema, path, depth)
            case "array":
                return self._array(schema, path, depth)
            case "string":
                return self._string(schema, name, path, 0)
            case "integer" | "number":
                return self._number(schema, kind, path)
            case "boolean":
                return True
            case _:
                return None

    def _choose(self, variants: list[Any], depth: int) -> Mapping[str, Any]:
        """The first non-null variant (a model fills optional fields), or null when deep."""
        non_null = [v for v in variants if self.resolve(v).get("type") != "null"]
        nulls = [v for v in variants if v not in non_null]
        if non_null and (depth < _MAX_DEPTH or not nulls):
            return non_null[0]
        return nulls[0] if nulls else variants[0]

    def _object(self, schema: Mapping[str, Any], path: str, depth: int) -> dict[str, Any]:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        return {key: self.value(sub, f"{path}.{key}", depth + 1) for key, sub in properties.items()}

    def _array(self, schema: Mapping[str, Any], path: str, depth: int) -> list[Any]:
        lowest = int(schema.get("minItems", 0))
        highest = int(schema.get("maxItems", max(lowest, 3)))
        count = lowest if depth >= _MAX_DEPTH else min(max(lowest, 3), highest)
        items: Mapping[str, Any] = self.resolve(schema.get("items") or {})
        name = _field_name(path)
        if items.get("type") == "string" and "enum" not in items and "const" not in items:
            return self._distinct_strings(items, name, path, count)
        return [self.value(items, f"{path}[{index}]", depth + 1) for index in range(count)]

    def _distinct_strings(
        self, schema: Mapping[str, Any], name: str, path: str, count: int
    ) -> list[str]:
        chosen: list[str] = []
        attempt = 0
        while len(chosen) < count:
            candidate = self._string(schema, name, path, attempt)
            attempt += 1
            if candidate in chosen:
                if attempt <= count + len(self.words) + len(HEX_COLOURS):
                    continue
                candidate = _fit(
                    f"{candidate[:4]}{len(chosen)}", schema, self.words
                )  # no words left
            chosen.append(candidate)
        return chosen

    def _string(self, schema: Mapping[str, Any], name: str, path: str, index: int) -> str:
        """A string for field `name`; `index` and the list positions in `path` vary it."""
        index += sum(int(position) for position in re.findall(r"\[(\d+)\]", path))
        word = self.words[index % len(self.words)]
        where = re.sub(r"\[\d+\]", "", path)
        colour = HEX_COLOURS[(self._pick(where, len(HEX_COLOURS)) + index) % len(HEX_COLOURS)]
        format_value = _FORMATS.get(str(schema.get("format", "")))
        if format_value is not None:
            base = format_value
        elif "colo" in name or name in ("palette", "hex"):
            base = colour
        elif name.endswith("url") or name.endswith("uri"):
            base = f"https://example.com/{word}"
        elif name in ("title", "name", "headline", "slogan", "phrase") and index == 0:
            base = self.subject.title() or word.title()
        elif name in ("description", "summary", "text", "content", "reason", "rationale"):
            base = self.text or word
        elif name in ("tags", "tag", "keywords", "keyword"):
            base = word
        else:
            base = " ".join(self.words[:3]) if index == 0 else word
        pattern = schema.get("pattern")
        if isinstance(pattern, str):
            candidates = (base, colour, word, word.upper(), str(index + 1), "a" * 8)
            base = next((c for c in candidates if re.search(pattern, c)), base)
        return _fit(base, _with_stated_limit(schema), self.words)

    def _number(self, schema: Mapping[str, Any], kind: str, path: str) -> int | float:
        step = 1 if kind == "integer" else 0.01
        low = schema.get("minimum")
        high = schema.get("maximum")
        if low is None and "exclusiveMinimum" in schema:
            low = schema["exclusiveMinimum"] + step
        if high is None and "exclusiveMaximum" in schema:
            high = schema["exclusiveMaximum"] - step
        if low is None:
            low = 0 if high is None or high >= 0 else high - 10
        if high is None:
            high = low + 10
        if kind == "integer":
            low, high = math.ceil(low), math.floor(high)
            return int(low + self._pick(path, int(high - low) + 1))
        cents = int((high - low) * 100)
        return round(low + self._pick(path, cents + 1) / 100, 2)


def _field_name(path: str) -> str:
    """The property name at the end of `path` (`.listing.tags[2]` -> `tags`)."""
    return re.sub(r"(\[\d+\])+$", "", path.rsplit(".", 1)[-1]).lower()


_STATED_LIMIT = re.compile(r"at most (\d+) (?:chars|characters)\b", re.IGNORECASE)


def _with_stated_limit(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """`schema` with a length its description states as its `maxLength` (strict mode
    drops `maxLength`, so clients say it in words; a model follows them)."""
    stated = _STATED_LIMIT.search(str(schema.get("description", "")))
    if stated is None:
        return schema
    limit = int(stated.group(1))
    if "maxLength" in schema:
        limit = min(limit, int(schema["maxLength"]))
    return {**schema, "maxLength": limit}


def _fit(text: str, schema: Mapping[str, Any], words: list[str]) -> str:
    """`text` padded to `minLength` and cut to `maxLength`, preferably at a word break."""
    lowest = int(schema.get("minLength", 0))
    highest = schema.get("maxLength")
    padding = iter(words * (lowest // 3 + 1))
    while len(text) < lowest:
        text = f"{text} {next(padding, 'x')}".strip()
    if highest is not None and len(text) > int(highest):
        cut = text[: int(highest)]
        if " " in cut and len(cut.rsplit(" ", 1)[0]) >= max(lowest, 1):
            cut = cut.rsplit(" ", 1)[0]
        text = cut.strip() if len(cut.strip()) >= lowest else cut
    return text
