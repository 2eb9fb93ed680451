"""Pages of runs and listings read their rows in order from an index (migration 0013),
however many rows the tenant has, and count them from an index alone or, for all of a
tenant's runs, from its counter rows: they used to sort and count every row of the
tenant (5.4 ms a page at 4 862 runs, growing with every run)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql

from core.db import libpq_url
from models.repositories import reads

PARAMS = {"tenant_id": "plan-test", "status": "running", "limit": 20, "offset": 40}


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plan(database_url: str, statement: sql.Composed) -> list[dict[str, Any]]:
    """The plan Postgres picks when it may not scan the table (the test's tables are too
    small for an index to look worth it), as a flat list of nodes."""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        # As autovacuum keeps them in service: pages all-visible, so a count can be
        # answered from the index alone.
        conn.execute("VACUUM workflow_runs, listings")
        conn.execute("SET enable_seqscan = off")
        cursor = psycopg.ClientCursor(conn)
        cursor.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + statement, PARAMS)
        row = cursor.fetchone()
    assert row is not None
    return list(_nodes(row[0][0]["Plan"]))


def _shape(nodes: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    return {node["Node Type"] for node in nodes}, {
        node.get("Index Name", "") for node in nodes if "Index Name" in node
    }


def test_a_page_of_runs_is_read_in_order_from_the_index(database_url: str) -> None:
    for by_status in (False, True):
        page, count = reads.runs_page_statements(by_status=by_status)
        kinds, indexes = _shape(_plan(database_url, page))
        assert "Sort" not in kinds and "WindowAgg" not in kinds, kinds
        assert "ix_workflow_runs_tenant_created" in indexes, indexes
        counted = {node.get("Relation Name") for node in _plan(database_url, count)} - {None}
        # Every run of the tenant: the sum of its counter rows, not a count of its runs.
        assert counted == ({"workflow_runs"} if by_status else {"run_counts"}), counted


def test_a_page_of_listings_is_read_in_order_from_the_index(database_url: str) -> None:
    kinds, indexes = _shape(_plan(database_url, reads.LISTINGS_PAGE))
    assert "Sort" not in kinds and "WindowAgg" not in kinds, kinds
    assert "ix_listings_tenant_created" in indexes, indexes
    assert "Index Only Scan" in kinds, kinds  # the count, as a subquery of the page
