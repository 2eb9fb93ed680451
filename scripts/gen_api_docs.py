"""Write `docs/api/README.md` from `openapi.yaml`: one section per operation, then schemas.

The output depends only on the contract (paths in file order, schemas by name), so the
committed page can be checked for drift with a plain string comparison
(`tests/test_api_docs.py`). Run it after `pod openapi`: `make docs` does both.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml's loader, in PyYAML's wheels: four times as fast as the pure-Python one
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - a PyYAML built without libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = ROOT / "openapi.yaml"
DEFAULT_OUTPUT = ROOT / "docs" / "api" / "README.md"
METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
CONSTRAINTS = (
    ("minLength", "min length"),
    ("maxLength", "max length"),
    ("minimum", "≥"),
    ("exclusiveMinimum", ">"),
    ("maximum", "≤"),
    ("exclusiveMaximum", "<"),
    ("minItems", "min items"),
    ("maxItems", "max items"),
    ("pattern", "pattern"),
    ("format", "format"),
)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _number(value: Any) -> str:
    """`2592000.0` → `2592000`: YAML floats from pydantic bounds read better as integers."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def type_of(schema: Mapping[str, Any] | None) -> str:
    """A short human type for a JSON schema: `string`, `list[Item]`, `RunStatus or null`."""
    if not schema:
        return "any"
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            joiner = " and " if combinator == "allOf" else " or "
            return joiner.join(type_of(part) for part in schema[combinator])
    if "const" in schema:
        return f"`{schema['const']}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"list[{type_of(schema.get('items'))}]"
    if kind == "object" or (kind is None and "additionalProperties" in schema):
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and extra:
            return f"map[string, {type_of(extra)}]"
        return "object"
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    return str(kind or "any")


def constraints_of(schema: Mapping[str, Any]) -> str:
    """Validation rules of a schema (and of the non-null branch of `X or null`)."""
    parts: list[str] = []
    branches = [schema, *schema.get("anyOf", [])]
    for branch in branches:
        for key, label in CONSTRAINTS:
            if key in branch:
                value = branch[key]
                shown = f"`{value}`" if key == "pattern" else _number(value)
                parts.append(f"{label} {shown}")
    return ", ".join(parts)


def _default(schema: Mapping[str, Any]) -> str:
    if "default" not in schema:
        return ""
    value = schema["default"]
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return '`""`'
    return f"`{_number(value)}`"


def _cell(text: str) -> str:
    """Table-safe text: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return lines


def _anchor(text: str) -> str:
    """GitHub's heading anchor: lower case, spaces to dashes, punctuation dropped."""
    kept = "".join(c for c in text.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def _content_schema(content: Mapping[str, Any] | None) -> str:
    """`Schema (media type)` for each media type of a request or response body."""
    if not content:
        return "—"
    shown = []
    for media, body in content.items():
        schema = (body or {}).get("schema")
        shown.append(f"{type_of(schema)} (`{media}`)" if schema else f"(`{media}`)")
    return "; ".join(shown)


def render_operation(path: str, method: str, operation: Mapping[str, Any]) -> list[str]:
    op_id = operation.get("operationId", f"{method}_{path}")
    lines = [f"### `{method.upper()} {path}`", ""]
    lines.append(
        f"Operation id: `{op_id}`"
        + (f" · {operation['summary']}" if "summary" in operation else "")
    )
    lines.append("")
    if operation.get("description"):
        lines += [" ".join(str(operation["description"]).split()), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["**Parameters**", ""]
        rows = [
            (
                f"`{p['name']}`",
                p.get("in", ""),
                "yes" if p.get("required") else "no",
                type_of(p.get("schema")),
                _default(p.get("schema", {})),
                constraints_of(p.get("schema", {})),
                p.get("description", ""),
            )
            for p in parameters
        ]
        header = ("name", "in", "required", "type", "default", "constraints", "description")
        lines += [*_table(header, rows), ""]
    body = operation.get("requestBody")
    if body:
        required = "required" if body.get("required") else "optional"
        lines += [f"**Request body** ({required}): {_content_schema(body.get('content'))}", ""]
    responses = operation.get("responses", {})
    if responses:
        lines += ["**Responses**", ""]
        answers = [
            (f"`{status}`", answer.get("description", ""), _content_schema(answer.get("content")))
            for status, answer in sorted(responses.items(), key=lambda item: str(item[0]))
        ]
        lines += [*_table(("status", "description", "body"), answers), ""]
    return lines


def render_schema(name: str, schema: Mapping[str, Any]) -> list[str]:
    lines = [f"### `{name}`", ""]
    if schema.get("description"):
        lines += [" ".join(str(schema["description"]).split()), ""]
    properties: Mapping[str, Any] = schema.get("properties", {})
    if not properties:
        lines += [f"Type: {type_of(schema)}", ""]
        return lines
    required = set(schema.get("required", []))
    rows = [
        (
            f"`{field}`",
            type_of(spec),
            "yes" if field in required else "no",
            _default(spec),
            constraints_of(spec),
            spec.get("description", ""),
        )
        for field, spec in properties.items()
    ]
    header = ("field", "type", "required", "default", "constraints", "description")
    lines += _table(header, rows)
    if schema.get("additionalProperties") is False:
        lines += ["", "Unknown fields are rejected."]
    lines.append("")
    return lines


def render(spec: Mapping[str, Any]) -> str:
    """The whole Markdown page for an OpenAPI document."""
    info = spec.get("info", {})
    lines = [
        f"# {info.get('title', 'API')} {info.get('version', '')}".rstrip(),
        "",
        "<!-- Generated by scripts/gen_api_docs.py from openapi.yaml; do not edit by hand."
        " Regenerate with `make docs`. -->",
        "",
    ]
    if info.get("description"):
        lines += [" ".join(str(info["description"]).split()), ""]
    lines += [
        "Every non-2xx answer has the body `ErrorBody`: `{code, message, details?}`.",
        "",
        "## Operations",
        "",
    ]
    operations = [
        (path, method, item[method])
        for path, item in spec.get("paths", {}).items()
        for method in METHODS
        if method in item
    ]
    for path, method, operation in operations:
        title = f"{method.upper()} {path}"
        op_id = operation.get("operationId", "")
        lines.append(f"- [`{title}`](#{_anchor(title)}) — `{op_id}`")
    lines.append("")
    for path, method, operation in operations:
        lines += render_operation(path, method, operation)
    schemas: Mapping[str, Any] = spec.get("components", {}).get("schemas", {})
    if schemas:
        lines += ["## Schemas", ""]
        for name in sorted(schemas):
            lines += render_schema(name, schemas[name])
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    spec = yaml.load(args.input.read_text(encoding="utf-8"), Loader=SafeLoader)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render(spec), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
