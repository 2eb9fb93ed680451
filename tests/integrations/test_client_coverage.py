"""Every public method of the vendor clients (Printify, Etsy, OpenAI, the trend sources)
is called by a contract test.

A contract test is one that reaches the emulator over HTTP: a test asking for the
`emulator` fixture, or for a fixture that (in turn) does. The test modules are read,
not run: from each contract test and contract fixture, the module's own helpers it calls
are followed, and every method name called on the way counts as exercised. A method only
called in a test against a `MockTransport`, or not at all, fails this test.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from integrations.etsy import EtsyClient
from integrations.openai_provider import OpenAIProvider
from integrations.printify import PrintifyClient
from integrations.trends import (
    EtsySearchClient,
    GoogleTrendsClient,
    PinterestTrendsClient,
    RedditClient,
)

HERE = Path(__file__).parent
CONTRACT_MODULES: dict[type, list[str]] = {
    PrintifyClient: ["test_printify_client.py", "test_printify_webhook_client.py"],
    EtsyClient: ["test_etsy_client.py"],
    OpenAIProvider: ["test_openai_provider.py"],
    GoogleTrendsClient: ["trends/test_trend_clients.py"],
    RedditClient: ["trends/test_trend_clients.py"],
    PinterestTrendsClient: ["trends/test_trend_clients.py"],
    EtsySearchClient: ["trends/test_trend_clients.py"],
}
# The trend-source clients are small on purpose: one fetching method and `aclose`.
MIN_PUBLIC_METHODS: dict[type, int] = {
    GoogleTrendsClient: 2,
    RedditClient: 2,
    PinterestTrendsClient: 2,
    EtsySearchClient: 2,
}


def public_methods(client: type) -> set[str]:
    return {
        name
        for name, _ in inspect.getmembers(client, inspect.isfunction)
        if not name.startswith("_")
    }


def _is_fixture(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr == "fixture":
            return True
    return False


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    return {argument.arg for argument in function.args.args + function.args.kwonlyargs}


def _calls(function: ast.AST) -> tuple[set[str], set[str]]:
    """Names of the plain functions and of the methods `function` calls."""
    functions: set[str] = set()
    methods: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                functions.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                methods.add(node.func.attr)
    return functions, methods


def exercised_over_http(source: str) -> tuple[set[str], int]:
    """The method names a test module calls on its way from its contract tests, and how
    many contract tests it has."""
    tree = ast.parse(source)
    functions = {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    fixtures = {name: node for name, node in functions.items() if _is_fixture(node)}
    over_http = {"emulator"}
    grew = True
    while grew:
        reaching = {name for name, node in fixtures.items() if _parameters(node) & over_http}
        grew = not reaching <= over_http
        over_http |= reaching
    tests = [
        name
        for name, node in functions.items()
        if name.startswith("test_") and _parameters(node) & over_http
    ]
    pending = tests + [name for name in fixtures if name in over_http]
    visited: set[str] = set()
    methods: set[str] = set()
    while pending:
        name = pending.pop()
        if name in visited:
            continue
        visited.add(name)
        called, on_objects = _calls(functions[name])
        methods |= on_objects
        pending += [helper for helper in called if helper in functions]
    return methods, len(tests)


@pytest.mark.parametrize("client", list(CONTRACT_MODULES), ids=lambda c: c.__name__)
def test_every_public_method_has_a_contract_test(client: type) -> None:
    methods = public_methods(client)
    # The client's API, not an empty set.
    assert len(methods) >= MIN_PUBLIC_METHODS.get(client, 5), sorted(methods)
    exercised: set[str] = set()
    for module in CONTRACT_MODULES[client]:
        found, tests = exercised_over_http((HERE / module).read_text(encoding="utf-8"))
        assert tests >= 3, f"{module} has no contract tests against the emulator"
        exercised |= found
    missing = sorted(methods - exercised)
    assert not missing, f"{client.__name__} methods without a contract test: {missing}"


def test_calls_outside_contract_tests_do_not_count() -> None:
    module = """
import pytest

@pytest.fixture
def client(emulator):
    return make(emulator)

@pytest.fixture
def offline():
    return make(None)

def make(server):
    return Client(server)

async def helper(client):
    await client.via_helper()

async def test_over_http(client):
    await client.direct()
    await helper(client)

async def test_against_a_mock(offline):
    await offline.mocked_only()

def unused(client):
    client.never_called()
"""
    methods, tests = exercised_over_http(module)
    assert tests == 1
    assert {"direct", "via_helper"} <= methods
    assert not {"mocked_only", "never_called"} & methods
