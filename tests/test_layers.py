"""The import rules of the layout (README `Layout`, ADR 0021), checked on the source.

Imports run one way: cli → workers → api / activities → services → workflows →
integrations → models → domain → core; skipping down is fine, going up or across (api ↔
activities) is not. Workflows import only payload types, pure rules and the Temporal
contract; the emulators in `sandbox/` only pure rule tables; pure rules nothing that does
I/O; services nothing of HTTP; only the CLI (which runs them) imports the emulators.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Highest first: a package may import its own modules and those of any later layer.
LAYERS: list[tuple[str, ...]] = [
    ("cli",),
    ("workers",),
    ("api", "activities"),
    ("services",),
    ("workflows",),
    ("integrations",),
    ("models",),
    ("domain",),
    ("core",),
]
LEVEL = {package: level for level, packages in enumerate(LAYERS) for package in packages}
# What workflow code may import of ours: deterministic data and rules, and the contract.
WORKFLOW_MAY_IMPORT = (
    "workflows",
    "models.payloads",
    "models.trends",
    "models.orders",
    "domain",
)
# What the emulators may share with the product: pure rule tables only.
SANDBOX_MAY_IMPORT = ("sandbox", "domain")
# Libraries that do I/O or speak HTTP, by the layers that must not use them.
FORBIDDEN_LIBRARIES = {
    "domain": ("httpx", "sqlalchemy", "sqlmodel", "psycopg", "temporalio", "boto3", "openai"),
    "services": ("fastapi", "starlette"),
    "models": ("fastapi", "starlette", "httpx"),
}


@dataclass(frozen=True)
class Violation:
    module: str
    line: int
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported} ({self.rule})"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """Every module an import statement names, function-level ones included; relative
    imports resolved against `module`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: -node.level]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` names a module when `mod` is one: check both spellings.
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def rule_broken(module: str, imported: str) -> str | None:
    """Why `module` may not import `imported`, or None when it may."""
    here, there = module.split(".")[0], imported.split(".")[0]
    if here == "sandbox":
        if there in LEVEL and not within(imported, SANDBOX_MAY_IMPORT):
            return "the emulators share only pure rule tables with the product"
        return None
    if here not in LEVEL:
        return None
    for library in FORBIDDEN_LIBRARIES.get(here, ()):
        if there == library:
            return f"{here} must not use {library}"
    if here == "workflows" and (there in LEVEL or there == "sandbox"):
        if not within(imported, WORKFLOW_MAY_IMPORT):
            return "workflows import only payloads, pure rules and the Temporal contract"
        return None
    if there == "sandbox" and here != "cli":
        return "only the CLI, which runs the emulators, imports them"
    if there not in LEVEL or there == here:
        return None
    if LEVEL[there] <= LEVEL[here]:
        return f"{here} may not import {there}: imports run one way (README `Layout`)"
    return None


def violations(root: Path = ROOT) -> list[Violation]:
    packages = [*LEVEL, "sandbox"]
    found: list[Violation] = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # Alembic's scripts are run by Alembic, not imported
            module = module_name(path, root)
            tree = ast.parse(path.read_text(), filename=str(path))
            for line, imported in imported_modules(tree, module):
                rule = rule_broken(module, imported)
                if rule is not None:
                    found.append(Violation(module, line, imported, rule))
    return found


def test_the_code_keeps_the_import_rules() -> None:
    broken = violations()
    assert not broken, "\n".join(str(v) for v in broken)


def test_a_deliberate_bad_import_is_caught(tmp_path: Path) -> None:
    """The same check on a copy of a small tree with one import of each forbidden kind."""
    files = {
        "core/settings.py": "from services import accounts\n",
        "domain/rules.py": "import httpx\nfrom models.tables import Tenant\n",
        "models/tables.py": "from domain.rules import x\n",
        "services/accounts.py": "from activities.records import RecordsActivities\n",
        "api/routes.py": "def f():\n    from activities import etsy\n",
        "activities/records.py": "from api.errors import ApiError\nfrom services import accounts\n",
        "workflows/chain.py": (
            "from activities.etsy import EtsyActivities\nfrom models.payloads import P\n"
        ),
        "sandbox/printify.py": "from core.settings import Settings\nfrom domain.rules import x\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    found = {(v.module, v.imported) for v in violations(tmp_path)}
    assert found == {
        ("core.settings", "services.accounts"),
        ("domain.rules", "httpx"),
        ("domain.rules", "models.tables.Tenant"),
        ("services.accounts", "activities.records.RecordsActivities"),
        ("api.routes", "activities.etsy"),
        ("activities.records", "api.errors.ApiError"),
        ("workflows.chain", "activities.etsy.EtsyActivities"),
        ("sandbox.printify", "core.settings.Settings"),
    }
