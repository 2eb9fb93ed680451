"""Every input the API accepts is bounded: strings have a maximum length (or are an
enum, a UUID or a timestamp), lists a maximum number of items, numbers a range."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SPEC = yaml.load(
    (Path(__file__).resolve().parents[2] / "openapi.yaml").read_text(), Loader=yaml.CSafeLoader
)
BOUNDED_FORMATS = {"uuid", "date-time", "date"}


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    name = ref.rsplit("/", 1)[-1]
    resolved: dict[str, Any] = SPEC["components"]["schemas"][name]
    return resolved


def unbounded(schema: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """Where in `schema` an input could be arbitrarily large."""
    ref = schema.get("$ref")
    if ref is not None:
        if ref in seen:
            return []
        seen = seen | {ref}
    schema = resolve(schema)
    problems: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for index, part in enumerate(schema.get(key, [])):
            problems += unbounded(part, f"{where}/{key}[{index}]", seen)
    kind = schema.get("type")
    if kind == "string" and not (
        "maxLength" in schema
        or "enum" in schema
        or "const" in schema
        or schema.get("format") in BOUNDED_FORMATS
    ):
        problems.append(f"{where}: string without maxLength")
    if kind == "array":
        if "maxItems" not in schema:
            problems.append(f"{where}: array without maxItems")
        problems += unbounded(schema.get("items", {}), f"{where}[]", seen)
    if kind == "object":
        if schema.get("additionalProperties", False) not in (False, None):
            problems.append(f"{where}: open object")
        for name, prop in schema.get("properties", {}).items():
            problems += unbounded(prop, f"{where}.{name}", seen)
    return problems


def test_every_input_is_bounded() -> None:
    problems: list[str] = []
    inputs = 0
    for path, operations in SPEC["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                inputs += 1
                problems += unbounded(parameter["schema"], f"{where} {parameter['name']}", set())
            body = operation.get("requestBody")
            if body:
                inputs += 1
                for media in body["content"].values():
                    problems += unbounded(media["schema"], f"{where} body", set())
    assert inputs >= 20
    assert problems == []


def test_the_check_finds_an_unbounded_string() -> None:
    assert unbounded({"type": "string"}, "x", set()) == ["x: string without maxLength"]
    assert unbounded({"type": "array", "items": {"type": "integer"}}, "y", set()) == [
        "y: array without maxItems"
    ]
