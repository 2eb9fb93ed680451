"""Write `sandbox/contracts/etsy-openapi.json`: the structure of Etsy's published OpenAPI 3
document without its prose.

Kept: paths, methods, parameters, request bodies, required fields, enums, formats, limits,
response schemas, components and security schemes. Left out: descriptions, summaries,
examples, tags and tag groups (the prose is Etsy's, and it is most of the file). A schema
property *named* `description` (a listing's description) is kept: only documentation
values are dropped. The source's SHA-256 goes into `info.x-derived-from`, so a later copy
shows which document it came from.

    python scripts/derive_etsy_contract.py ../shared/reference/etsy-openapi-3.0.0.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "sandbox" / "contracts" / "etsy-openapi.json"
PROSE = frozenset({"description", "summary", "example", "examples", "externalDocs", "tags"})
# Maps whose keys are names chosen by the document (a field may be called `description`).
NAMED_MAPS = frozenset({"properties", "schemas", "paths", "responses", "securitySchemes"})


def structure(node: Any, *, named: bool = False) -> Any:
    """`node` without documentation; in a map of names every key is kept."""
    if isinstance(node, list):
        return [structure(item) for item in node]
    if not isinstance(node, dict):
        return node
    kept: dict[str, Any] = {}
    for key, value in node.items():
        if not named and (key in PROSE or key.startswith("x-tag")):
            continue
        kept[key] = structure(value, named=key in NAMED_MAPS and not named)
    return kept


def derive(document: dict[str, Any], source_sha256: str) -> dict[str, Any]:
    """The structural copy of a whole OpenAPI document."""
    info = document.get("info", {})
    return {
        "openapi": document["openapi"],
        "info": {
            "title": info.get("title", ""),
            "version": info.get("version", ""),
            "x-derived-from": f"sha256:{source_sha256}",
        },
        "servers": [{"url": server["url"]} for server in document.get("servers", [])],
        "paths": structure(document["paths"], named=True),
        "components": structure(document.get("components", {})),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="Etsy's OpenAPI 3 document (JSON)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    raw = args.source.read_bytes()
    copy = derive(json.loads(raw), hashlib.sha256(raw).hexdigest())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(copy, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.output} ({len(copy['paths'])} paths)")  # noqa: T201


if __name__ == "__main__":
    main()
