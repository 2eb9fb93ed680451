"""Every HTTP client the workers and the API build shares the process's TLS context
(`integrations.http.tls_context`): a client left to build its own reads the CA bundle
again, and one built per activity cost the integration worker 10 % of its busy CPU on
`make bench-chains` (py-spy)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The packages that run in the stack's processes (the CLI's clients are one per command).
SERVING = ("activities", "api", "integrations", "services", "workers", "core")
CLIENTS = {"AsyncClient", "Client"}


def clients_without_context(source: str) -> list[int]:
    """Lines of `httpx.AsyncClient(...)` / `httpx.Client(...)` calls with no `verify=`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLIENTS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "httpx"
            and not any(keyword.arg == "verify" for keyword in node.keywords)
        ):
            lines.append(node.lineno)
    return lines


def test_every_http_client_of_the_stack_is_given_the_shared_tls_context() -> None:
    found = {
        f"{path.relative_to(ROOT)}:{line}"
        for package in SERVING
        for path in (ROOT / package).rglob("*.py")
        for line in clients_without_context(path.read_text())
    }
    assert not found, f"httpx clients building their own TLS context: {sorted(found)}"


def test_a_client_without_the_context_is_found() -> None:
    source = (
        "import httpx\n"
        "a = httpx.AsyncClient(timeout=3, verify=tls_context())\n"
        "b = httpx.AsyncClient(timeout=30.0, follow_redirects=True)\n"
    )
    assert clients_without_context(source) == [3]
