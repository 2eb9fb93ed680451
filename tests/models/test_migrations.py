"""The migrations on a fresh Postgres: 0.1.0 records get a tenant, and down/up round-trips."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from core.db import alembic_config, make_engine, make_session_factory, sqlalchemy_url
from core.embedded import start_postgres, stop_postgres
from domain.plans import IMAGE_MAKING_KINDS, IMAGES
from models import repositories, tables
from models.payloads import LIVE_STATUSES, RunKind, RunStatus
from services import accounts

OLD_RUN = (
    "INSERT INTO workflow_runs (workflow_id, tenant_id, request_key, request_hash, keyword,"
    " status, stage, created_at, updated_at) VALUES"
    " ('dtl-shop7-1', 'shop7', 'k', 'h', 'camper', 'completed', 'done', now(), now())"
)


@pytest.fixture
def fresh_database(tmp_path: Path) -> Iterator[str]:
    url = start_postgres(tmp_path / "pg")
    yield url
    stop_postgres(tmp_path / "pg")


def sql(url: str, statement: str) -> list[tuple[object, ...]]:
    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.begin() as connection:
            result = connection.execute(text(statement))
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def test_records_from_before_tenants_get_a_tenant_that_can_be_adopted(fresh_database: str) -> None:
    config = alembic_config(fresh_database)
    command.upgrade(config, "0001")
    sql(fresh_database, OLD_RUN)
    command.upgrade(config, "head")
    assert sql(fresh_database, "SELECT id, plan FROM tenants") == [("shop7", "pro")]

    async def adopt() -> tuple[str, int]:
        engine = make_engine(fresh_database, pool_size=1)
        try:
            async with make_session_factory(engine)() as session:
                tenant, _, key = await accounts.create_tenant(
                    session, tenant_id="shop7", name="Shop 7", plan="business", owner_email="o@x.t"
                )
                await session.commit()
                members = await repositories.accounts.count_members(session, tenant_id="shop7")
                return tenant.plan + ":" + key[:4], members
        finally:
            await engine.dispose()

    assert asyncio.run(adopt()) == ("business:pod_", 1)

    command.downgrade(config, "0001")
    command.upgrade(config, "head")
    assert sql(fresh_database, "SELECT id FROM tenants") == [("shop7",)]


def test_the_migrations_build_exactly_the_tables_the_models_describe(fresh_database: str) -> None:
    command.upgrade(alembic_config(fresh_database), "head")
    engine = create_engine(sqlalchemy_url(fresh_database))
    try:
        with engine.connect() as connection:
            drift = compare_metadata(
                MigrationContext.configure(connection), tables.SQLModel.metadata
            )
    finally:
        engine.dispose()
    assert drift == []


def test_briefs_from_before_statuses_get_the_status_their_run_shows(fresh_database: str) -> None:
    config = alembic_config(fresh_database)
    command.upgrade(config, "0006")
    sql(
        fresh_database,
        "INSERT INTO tenants (id, name, plan, created_at) VALUES ('t', 'T', 'pro', now())",
    )
    for run, stage, error in (
        ("past", "etsy_activate", None),
        (
            "refused",
            "screen_brief",
            '{"code": "UNSAFE_CONTENT", "details": {"matches": {"nike": ["slogan"]}}}',
        ),
        ("early", "generate_brief", None),
    ):
        sql(
            fresh_database,
            "INSERT INTO workflow_runs (workflow_id, tenant_id, request_key, request_hash,"
            " keyword, status, stage, error, created_at, updated_at) VALUES"
            f" ('{run}', 't', '{run}', 'h', 'k', 'failed', '{stage}',"
            f" {repr(error) if error else 'NULL'}, now(), now())",
        )
        sql(
            fresh_database,
            "INSERT INTO briefs (id, tenant_id, workflow_id, keyword, title, data, created_at)"
            f" VALUES (gen_random_uuid(), 't', '{run}', 'k', 'T', '{{}}', now())",
        )
    command.upgrade(config, "head")
    rows = sql(fresh_database, "SELECT workflow_id, status, screening FROM briefs ORDER BY 1")
    assert rows == [
        ("early", "pending", None),
        ("past", "ready", None),
        ("refused", "refused", {"matches": {"nike": ["slogan"]}}),
    ]


def test_a_vendor_id_claimed_twice_keeps_the_claim_of_the_run_that_listed_it(
    fresh_database: str, caplog: pytest.LogCaptureFixture
) -> None:
    config = alembic_config(fresh_database)
    command.upgrade(config, "0008")
    sql(
        fresh_database,
        """
        WITH brief AS (
            INSERT INTO briefs (id, tenant_id, workflow_id, keyword, title, data, status,
                                created_at)
            VALUES (gen_random_uuid(), 't', 'listed', 'k', 'T', '{}', 'ready', now())
            RETURNING id
        ), design AS (
            INSERT INTO designs (id, tenant_id, workflow_id, brief_id, storage_key,
                                 preview_key, sha256, width, height, dpi, size_bytes, created_at)
            SELECT gen_random_uuid(), 't', 'listed', id, 'k', 'p', 's', 1, 1, 300, 1, now()
            FROM brief RETURNING id
        )
        INSERT INTO listings (id, tenant_id, workflow_id, design_id, title, printify_shop_id,
                              printify_product_id, printify_image_id, etsy_shop_id,
                              etsy_listing_id, url, state, created_at, updated_at)
        SELECT gen_random_uuid(), 't', 'listed', id, 'T', 1, 'p', 'i', 2, 77, 'u', 'active',
               now(), now()
        FROM design
        """,
    )
    sql(
        fresh_database,
        "INSERT INTO external_refs (workflow_id, kind, tenant_id, external_id, created_at)"
        " VALUES ('stuck', 'etsy_listing', 't', '77', now() - interval '1 hour'),"
        " ('listed', 'etsy_listing', 't', '77', now()),"
        " ('stuck', 'etsy_listing_image', 't', 'img', now() - interval '1 hour'),"
        " ('listed', 'etsy_listing_image', 't', 'img', now()),"
        " ('first', 'printify_upload', 't', 'u1', now() - interval '1 hour'),"
        " ('second', 'printify_upload', 't', 'u1', now()),"
        " ('alone', 'printify_upload', 't', 'u2', now())",
    )

    with caplog.at_level(logging.WARNING, logger="alembic.runtime.migration"):
        command.upgrade(config, "0009")

    rows = sql(fresh_database, "SELECT kind, external_id, workflow_id FROM external_refs")
    assert sorted(rows, key=str) == [
        ("etsy_listing", "77", "listed"),
        ("etsy_listing_image", "img", "listed"),  # with the listing it belongs to
        ("printify_upload", "u1", "first"),
        ("printify_upload", "u2", "alone"),
    ]
    removed = sorted(
        r.getMessage() for r in caplog.records if "removed the claim" in r.getMessage()
    )
    assert removed == [
        "removed the claim of second on printify_upload u1 (another run holds it);"
        " terminate that run",
        "removed the claim of stuck on etsy_listing 77 (another run holds it); terminate that run",
        "removed the claim of stuck on etsy_listing_image img (another run holds it);"
        " terminate that run",
    ]
    with pytest.raises(IntegrityError):
        sql(
            fresh_database,
            "INSERT INTO external_refs (workflow_id, kind, tenant_id, external_id, created_at)"
            " VALUES ('late', 'printify_upload', 't', 'u2', now())",
        )


def test_runs_started_are_counted_by_the_trigger_however_runs_are_written(
    fresh_database: str,
) -> None:
    config = alembic_config(fresh_database)
    command.upgrade(config, "0011")
    sql(
        fresh_database,
        "INSERT INTO tenants (id, name, plan, created_at) VALUES ('t', 'T', 'pro', now())",
    )

    def run(name: str, at: str) -> str:
        return (
            "INSERT INTO workflow_runs (workflow_id, tenant_id, kind, request_key, request_hash,"
            f" keyword, status, stage, created_at, updated_at) VALUES ('{name}', 't',"
            f" 'design_to_listing', '{name}', 'h', 'k', 'running', 'queued', '{at}', now())"
        )

    sql(fresh_database, run("old-1", "2026-10-31T23:59:59+00"))
    sql(fresh_database, run("old-2", "2026-11-01T00:30:00+01"))  # still October in UTC
    command.upgrade(config, "head")  # counts what was there
    sql(fresh_database, run("new-1", "2026-11-15T12:00:00+00"))
    sql(fresh_database, run("new-2", "2026-11-30T23:00:00-02"))  # December in UTC
    sql(fresh_database, run("new-3", "2026-11-16T12:00:00+00"))
    sql(fresh_database, "DELETE FROM workflow_runs WHERE workflow_id = 'new-3'")
    sql(
        fresh_database,
        "UPDATE workflow_runs SET created_at = '2026-11-02' WHERE workflow_id = 'old-1'",
    )
    counts = sql(fresh_database, "SELECT period, started FROM run_counts ORDER BY period")
    assert counts == [("2026-10", 1), ("2026-11", 2), ("2026-12", 1)]

    command.downgrade(config, "0011")
    assert sql(fresh_database, "SELECT to_regclass('run_counts')") == [(None,)]


# The count of runs under way that will make an image (migration 0018), kept by triggers
# however runs and usage are written, and the rule it counts by checked against Python's.
def test_makes_image_is_the_python_rule(fresh_database: str) -> None:
    command.upgrade(alembic_config(fresh_database), "head")
    pairs = list(itertools.product(RunKind, RunStatus))
    values = ", ".join(f"('{kind}', '{status}')" for kind, status in pairs)
    rows = sql(
        fresh_database,
        f"SELECT k, s, makes_image(k, s) FROM (VALUES {values}) AS v(k, s) ORDER BY k, s",
    )
    expected = sorted(
        (str(kind), str(status), kind in IMAGE_MAKING_KINDS and status in LIVE_STATUSES)
        for kind, status in pairs
    )
    assert rows == expected
    assert IMAGES == "images"  # the metric the triggers name


def test_runs_that_will_make_an_image_are_counted_however_they_change(
    fresh_database: str,
) -> None:
    config = alembic_config(fresh_database)
    command.upgrade(config, "0017")
    sql(
        fresh_database,
        "INSERT INTO tenants (id, name, plan, created_at) VALUES"
        " ('t', 'T', 'pro', now()), ('u', 'U', 'pro', now())",
    )

    def run(name: str, kind: str = "design_to_listing", status: str = "running") -> str:
        return (
            "INSERT INTO workflow_runs (workflow_id, tenant_id, kind, request_key, request_hash,"
            f" keyword, status, stage, created_at, updated_at) VALUES ('{name}', 't',"
            f" '{kind}', '{name}', 'h', 'k', '{status}', 'queued', now(), now())"
        )

    def metered(name: str, metric: str = "images") -> str:
        return (
            "INSERT INTO usage_events (id, tenant_id, workflow_id, metric, quantity, period,"
            f" created_at) VALUES (gen_random_uuid(), 't', '{name}', '{metric}', 1, '2026-12',"
            " now())"
        )

    def pending() -> dict[str, int]:
        rows = sql(fresh_database, "SELECT tenant_id, runs FROM pending_images")
        return {str(tenant): int(str(runs)) for tenant, runs in rows}

    def coming(tenant: str = "t") -> int:
        rows = sql(
            fresh_database,
            f"SELECT images_coming FROM quota_counts('{tenant}', '2026-12',"
            " ARRAY['design_to_listing', 'design'], ARRAY['running', 'awaiting_approval'],"
            " 'images')",
        )
        return int(str(rows[0][0]))

    # Before the migration: one live run with its image, one without, one ended.
    sql(fresh_database, run("imaged"))
    sql(fresh_database, metered("imaged"))
    sql(fresh_database, run("waiting", status="awaiting_approval"))
    sql(fresh_database, run("ended", status="completed"))
    command.upgrade(config, "head")  # counts what was there
    assert pending() == {"t": 1} and coming() == 1

    sql(fresh_database, run("new"))  # +1
    sql(fresh_database, run("brief", kind="brief"))  # makes no image
    sql(fresh_database, run("done", status="completed"))  # ended already
    assert pending() == {"t": 2}
    # A stage's status change keeps it counted; its image metered uncounts it.
    sql(
        fresh_database,
        "UPDATE workflow_runs SET status = 'awaiting_approval' WHERE workflow_id = 'new'",
    )
    assert pending() == {"t": 2}
    sql(fresh_database, metered("new", metric="products"))  # not an image
    assert pending() == {"t": 2}
    sql(fresh_database, metered("new"))
    assert pending() == {"t": 1}
    # Ending after its image changes nothing; ending without one uncounts it.
    sql(fresh_database, "UPDATE workflow_runs SET status = 'completed' WHERE workflow_id = 'new'")
    assert pending() == {"t": 1}
    sql(
        fresh_database, "UPDATE workflow_runs SET status = 'rejected' WHERE workflow_id = 'waiting'"
    )
    assert pending() == {"t": 0}
    # A run started again, deleted, or moved to another tenant.
    sql(fresh_database, "UPDATE workflow_runs SET status = 'running' WHERE workflow_id = 'waiting'")
    sql(fresh_database, run("gone"))
    assert pending() == {"t": 2}
    sql(fresh_database, "DELETE FROM workflow_runs WHERE workflow_id = 'gone'")
    sql(fresh_database, "UPDATE workflow_runs SET tenant_id = 'u' WHERE workflow_id = 'waiting'")
    assert pending() == {"t": 0, "u": 1} and coming("u") == 1
    # An image's usage row removed: its live run counts again.
    sql(fresh_database, "UPDATE workflow_runs SET status = 'running' WHERE workflow_id = 'new'")
    sql(fresh_database, "DELETE FROM usage_events WHERE workflow_id = 'new' AND metric = 'images'")
    assert pending() == {"t": 1, "u": 1}

    # What the triggers keep is what counting finds.
    counted = sql(
        fresh_database,
        "SELECT r.tenant_id, count(*) FROM workflow_runs r WHERE makes_image(r.kind, r.status)"
        " AND NOT EXISTS (SELECT 1 FROM usage_events e WHERE e.tenant_id = r.tenant_id"
        " AND e.workflow_id = r.workflow_id AND e.metric = 'images') GROUP BY 1 ORDER BY 1",
    )
    assert counted == [("t", 1), ("u", 1)]

    command.downgrade(config, "0017")
    assert sql(fresh_database, "SELECT to_regclass('pending_images')") == [(None,)]
    assert coming() == 1 and coming("u") == 1  # counted as before
