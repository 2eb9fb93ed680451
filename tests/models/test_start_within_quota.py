"""A start's quota check against runs recorded while it waited for the tenant's lock
(issue 15, migration 0012): the counts must be read after the lock, not before."""

from __future__ import annotations

import asyncio
import uuid

import psycopg

from core.db import SessionFactory, libpq_url
from core.settings import Settings
from domain.plans import current_period
from models import repositories
from models.tables import WorkflowRun
from sandbox.app import EmulatorConfig
from services import accounts, billing
from tests.accounts import create_account


def _run(tenant_id: str, key: str) -> WorkflowRun:
    return WorkflowRun(
        tenant_id=tenant_id,
        workflow_id=f"dtl-{tenant_id}-{key}",
        request_key=key,
        request_hash="h",
        keyword=f"quota {key}",
        input={},
        status="running",
        stage="queued",
    )


async def test_a_start_waiting_for_the_lock_counts_what_the_holder_recorded(
    sessions: SessionFactory,
    settings: Settings,
    emulator_config: EmulatorConfig,
    database_url: str,
) -> None:
    account = await create_account(
        sessions, settings.cipher, emulator_config, limits={"workflows_per_month": 1}
    )
    tenant = account.tenant_id
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url)) as holder:
        # Another start holds the tenant's lock and records the month's last run...
        await holder.execute("SELECT 1 FROM tenants WHERE id = %s FOR UPDATE", [tenant])
        await holder.execute(
            "INSERT INTO workflow_runs (workflow_id, tenant_id, kind, request_key,"
            " request_hash, keyword, status, stage, created_at, updated_at)"
            " VALUES (%s, %s, 'design_to_listing', 'first', 'h', 'k', 'running', 'queued',"
            " now(), now())",
            [f"dtl-{tenant}-first", tenant],
        )
        async with sessions() as session:
            # ...while this one waits for the lock; the holder then commits.
            waiting = asyncio.ensure_future(billing.record_start(session, _run(tenant, "second")))
            await asyncio.sleep(0.5)
            assert not waiting.done()
            await holder.commit()
            error = None
            try:
                await asyncio.wait_for(waiting, 10)
            except billing.QuotaExceeded as refused:
                error = refused
    assert error is not None and error.metric == "workflows_per_month" and error.used == 1
    async with sessions() as session:
        assert (
            await repositories.usage.count_runs_started(
                session, tenant_id=tenant, period=current_period()
            )
            == 1
        )


async def test_a_start_is_recorded_once_and_a_repeat_finds_it(
    sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> None:
    account = await create_account(sessions, settings.cipher, emulator_config)
    run = _run(account.tenant_id, uuid.uuid4().hex)
    async with sessions() as session:
        recorded, created = await billing.record_start(session, run)
        again, created_again = await billing.record_start(
            session, _run(account.tenant_id, run.request_key)
        )
    assert created and not created_again
    assert again.workflow_id == recorded.workflow_id == run.workflow_id


async def test_a_plan_changed_after_a_start_rules_the_next_one(
    sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> None:
    """A process keeps the plan it read for a start; the quota call refuses a start made
    under a plan changed since, so the next start goes by the new limits either way."""
    account = await create_account(
        sessions, settings.cipher, emulator_config, limits={"workflows_per_month": 5}
    )
    tenant = account.tenant_id
    async with sessions() as session:
        _, created = await billing.record_start(session, _run(tenant, "first"))
    assert created
    async with sessions() as session:  # an operator lowers the limit to what is used
        await accounts.change_plan(
            session, tenant_id=tenant, plan="business", overrides={"workflows_per_month": 1}
        )
        await session.commit()
    async with sessions() as session:
        try:
            await billing.record_start(session, _run(tenant, "second"))
        except billing.QuotaExceeded as refused:
            assert (refused.limit, refused.used) == (1, 1)
        else:
            raise AssertionError("a start passed a limit lowered after the plan was read")
    async with sessions() as session:  # and raises it again
        await accounts.change_plan(
            session, tenant_id=tenant, plan="business", overrides={"workflows_per_month": 2}
        )
        await session.commit()
    async with sessions() as session:
        _, created = await billing.record_start(session, _run(tenant, "third"))
    assert created
