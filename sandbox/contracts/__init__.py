"""Vendors' published contracts and a checker for requests and answers against them.

`etsy-openapi.json` is the structure of Etsy's published OpenAPI 3 document
(`scripts/derive_etsy_contract.py`); `etsy-rules.yaml` holds the rules that schema cannot
say, each with its source. `EtsyContract.check_request` and `check_response` return the
problems of one exchange (an empty list when it keeps to both): the Etsy client's tests
check every request it makes, the emulator's tests every answer it gives.

Form and multipart bodies are read the way Etsy reads them: each field by its schema's
type, an array as one comma-separated string. The schemas are checked by
`openapi-schema-validator` (OpenAPI 3.0's dialect: `nullable`, `oneOf` and friends).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml
from openapi_schema_validator import OAS30Validator

HERE = Path(__file__).resolve().parent
ETSY_DOCUMENT = HERE / "etsy-openapi.json"
ETSY_RULES = HERE / "etsy-rules.yaml"
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_JSON = "application/json"
# One object, so its validator is built once (validators are cached by schema identity).
_ERROR_RESPONSE = {"content": {_JSON: {"schema": {"$ref": "#/components/schemas/ErrorSchema"}}}}


@dataclass(frozen=True)
class Operation:
    """One operation of the document: its id, method, path template and definition."""

    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]
    spec: dict[str, Any]


class EtsyContract:
    """Etsy's published document and hand-kept rules; checks one exchange at a time."""

    def __init__(self, document: dict[str, Any], rules: dict[str, Any]) -> None:
        self.document = document
        self.rules = rules
        self.operations = [
            Operation(
                spec["operationId"],
                method.upper(),
                template,
                re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$"),
                spec,
            )
            for template, item in document["paths"].items()
            for method, spec in item.items()
            if isinstance(spec, dict) and "operationId" in spec
        ]
        self._outside = {(o["method"], o["path"]) for o in rules.get("outside_document", [])}
        self._validators: dict[int, OAS30Validator] = {}

    @classmethod
    @cache
    def load(cls) -> EtsyContract:
        """The committed copy and rules (read once per process)."""
        document = json.loads(ETSY_DOCUMENT.read_text(encoding="utf-8"))
        rules = yaml.safe_load(ETSY_RULES.read_text(encoding="utf-8"))
        return cls(document, rules)

    # --- finding the operation -----------------------------------------------------------

    @staticmethod
    def document_path(url_path: str) -> str:
        """The document's path of a URL: `…/etsy/v3/application/x` -> `/v3/application/x`."""
        path = urlsplit(url_path).path
        index = path.find("/v3/")
        return path[index:] if index >= 0 else path

    def operation(self, method: str, url_path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation serving `method url_path` and its path parameters, if any."""
        path = self.document_path(url_path)
        for operation in self.operations:
            if operation.method != method.upper():
                continue
            found = operation.pattern.match(path)
            if found:
                return operation, found.groupdict()
        return None

    def is_outside_document(self, method: str, url_path: str) -> bool:
        """Whether Etsy serves this path although its document leaves it out (OAuth)."""
        return (method.upper(), self.document_path(url_path)) in self._outside

    # --- requests ----------------------------------------------------------------------------

    def check_request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> list[str]:
        """What is wrong with a request, by the document and the rules ([] if nothing)."""
        if self.is_outside_document(method, url):
            return []
        found = self.operation(method, url)
        if found is None:
            return [f"{method} {self.document_path(url)}: not an operation of Etsy's document"]
        operation, path_values = found
        name = operation.operation_id
        problems = self._check_parameters(operation, path_values, urlsplit(url).query, headers)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        declared = operation.spec.get("requestBody", {}).get("content", {})
        if not declared:
            if body:
                problems.append(f"{name}: sends a body the operation does not take")
            return problems
        if content_type not in declared:
            problems.append(f"{name}: body is {content_type or 'missing'}, not {sorted(declared)}")
            return problems
        schema = declared[content_type].get("schema", {})
        try:
            value = self._decode_body(content_type, headers, body, schema)
        except ValueError as exc:
            return [*problems, f"{name}: {exc}"]
        problems += [f"{name} body: {p}" for p in self._schema_problems(schema, value)]
        problems += [f"{name} body: {p}" for p in self._rule_problems(name, value)]
        return problems

    def _check_parameters(
        self,
        operation: Operation,
        path_values: Mapping[str, str],
        query: str,
        headers: Mapping[str, str],
    ) -> list[str]:
        problems = []
        sent_query = {key: values[-1] for key, values in parse_qs(query).items()}
        known = set()
        for parameter in operation.spec.get("parameters", []):
            where, name = parameter["in"], parameter["name"]
            source: Mapping[str, str] = {
                "path": path_values,
                "query": sent_query,
                "header": {k.lower(): v for k, v in headers.items()},
            }.get(where, {})
            key = name.lower() if where == "header" else name
            known.add((where, name))
            if key not in source:
                if parameter.get("required"):
                    problems.append(f"{operation.operation_id}: {where} parameter {name} missing")
                continue
            schema = parameter.get("schema", {})
            try:
                value = _wire_value(source[key], schema)
            except ValueError as exc:
                problems.append(f"{operation.operation_id} {name}: {exc}")
                continue
            found = self._schema_problems(schema, value)
            problems += [f"{operation.operation_id} {name}: {p}" for p in found]
        unknown = sorted(set(sent_query) - {n for w, n in known if w == "query"})
        if unknown:
            problems.append(f"{operation.operation_id}: unknown query parameters {unknown}")
        return problems

    def _decode_body(
        self, content_type: str, headers: Mapping[str, str], body: bytes, schema: dict[str, Any]
    ) -> Any:
        if content_type == _JSON:
            try:
                return json.loads(body)
            except ValueError as exc:
                raise ValueError(f"body is not JSON ({exc})") from None
        if content_type == _FORM:
            fields: dict[str, Any] = {
                key.removesuffix("[]"): values[-1]
                for key, values in parse_qs(body.decode(), keep_blank_values=True).items()
            }
        else:
            fields = _multipart_fields(headers.get("content-type", ""), body)
        properties = schema.get("properties", {})
        decoded: dict[str, Any] = {}
        for key, raw in fields.items():
            field_schema = properties.get(key, {})
            if isinstance(raw, bytes):
                decoded[key] = "<binary>"
            else:
                try:
                    decoded[key] = _wire_value(raw, field_schema)
                except ValueError as exc:
                    raise ValueError(f"field {key}: {exc}") from None
        return decoded

    def _rule_problems(self, operation_id: str, body: Any) -> list[str]:
        problems = []
        for rule in self.rules.get("rules", []):
            if operation_id not in rule.get("operations", []) or not isinstance(body, dict):
                continue
            kind, fields = rule["kind"], rule.get("fields", [])
            sent = [name for name in fields if name in body]
            if kind == "together" and sent and len(sent) != len(fields):
                missing = [name for name in fields if name not in body]
                problems.append(f"{rule['id']}: {missing} missing beside {sent}")
            elif kind == "required_when":
                condition = rule["when"]
                if body.get(condition["field"]) in condition["in"]:
                    missing = [name for name in fields if body.get(name) is None]
                    if missing:
                        problems.append(f"{rule['id']}: {missing} required")
            elif kind == "forbidden" and sent:
                problems.append(f"{rule['id']}: {sent} must not be sent")
            elif kind == "not_null":
                for name in fields:
                    if any(value is None for value in _at_path(body, name)):
                        problems.append(f"{rule['id']}: {name} is null or missing")
            elif kind in ("max_length", "max_items", "max_item_length"):
                problems += _limit_problems(rule, body)
        return problems

    # --- answers -------------------------------------------------------------------------------

    def check_response(self, method: str, url: str, status: int, body: bytes) -> list[str]:
        """What is wrong with an answer, by the operation's response schemas."""
        if self.is_outside_document(method, url):
            return []
        found = self.operation(method, url)
        if found is None:
            return [f"{method} {self.document_path(url)}: not an operation of Etsy's document"]
        operation = found[0]
        responses = operation.spec.get("responses", {})
        declared = responses.get(str(status), responses.get("default"))
        if declared is None and status in self.rules.get("common_errors", {}).get("statuses", []):
            declared = _ERROR_RESPONSE
        if declared is None:
            return [f"{operation.operation_id}: status {status} is not one it answers"]
        content = declared.get("content", {}).get(_JSON)
        if content is None:
            return [] if not body else [f"{operation.operation_id} {status}: answers no body"]
        try:
            value = json.loads(body)
        except ValueError:
            return [f"{operation.operation_id} {status}: answer is not JSON"]
        return [
            f"{operation.operation_id} {status}: {p}"
            for p in self._schema_problems(content.get("schema", {}), value)
        ]

    # --- schemas -------------------------------------------------------------------------------

    def _schema_problems(self, schema: dict[str, Any], value: Any) -> list[str]:
        """Problems of `value` by `schema`, which must live as long as the contract (the
        document's own, or a module constant): validators are cached by its identity."""
        validator = self._validators.get(id(schema))
        if validator is None:
            root = {"allOf": [schema], "components": self.document.get("components", {})}
            validator = self._validators[id(schema)] = OAS30Validator(root)
        return [
            f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
            for error in validator.iter_errors(value)
        ]


def _wire_value(raw: str, schema: Mapping[str, Any]) -> Any:
    """A text value from a form, query or path, as the schema's type reads it."""
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items", {})
        return [_wire_value(part.strip(), items) for part in raw.split(",") if part.strip()]
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not an integer") from None
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not a number") from None
    if kind == "boolean":
        lowered = raw.strip().lower()
        if lowered not in ("true", "false", "1", "0"):
            raise ValueError(f"{raw!r} is not a boolean")
        return lowered in ("true", "1")
    return raw


def _multipart_fields(content_type: str, body: bytes) -> dict[str, str | bytes]:
    """The named parts of a multipart body: text as str, files as bytes."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    if not message.is_multipart():
        raise ValueError("multipart body without parts")
    fields: dict[str, str | bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            raise ValueError("a multipart part without a name")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        fields[name] = data if part.get_filename() else data.decode()
    return fields


def _at_path(value: Any, path: str) -> Iterable[Any]:
    """The values at `a[].b[].c` (a missing key reads as None)."""
    current = [value]
    for step in path.split("."):
        name, many = step.removesuffix("[]"), step.endswith("[]")
        found = []
        for item in current:
            child = item.get(name) if isinstance(item, dict) else None
            if many:
                found += child if isinstance(child, list) else []
            else:
                found.append(child)
        current = found
    return current


def _limit_problems(rule: Mapping[str, Any], body: Mapping[str, Any]) -> list[str]:
    problems = []
    limit = int(rule["max"])
    for name in rule.get("fields", []):
        value = body.get(name)
        if value is None:
            continue
        if rule["kind"] == "max_length" and len(value) > limit:
            problems.append(f"{rule['id']}: {name} longer than {limit}")
        elif rule["kind"] == "max_items" and len(value) > limit:
            problems.append(f"{rule['id']}: {name} has more than {limit} items")
        elif rule["kind"] == "max_item_length" and any(len(v) > limit for v in value):
            problems.append(f"{rule['id']}: an item of {name} is longer than {limit}")
    return problems
