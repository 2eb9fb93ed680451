"""Per-tenant scrape schedules, kept as Temporal Schedules (ADR 0019).

Temporal is the only record of a schedule: its id is `scrape-<tenant>.<name>`, it
carries the tenant in the `TenantId` search attribute and in its memo, and each firing
starts `TrendScrapeWorkflow` on the workflows queue as `scr-<tenant>.<name>-<time>`. A
tenant reaches a schedule only when the id has its prefix *and* the schedule says it is
the tenant's; anything else is "not found", exactly like an id that does not exist.

Over 400 lines on purpose: every call a tenant's schedules make to Temporal's schedule
API, kept with the ownership check they all share.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecution,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionResult,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleListDescription,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from core.settings import Settings
from models.trends import CampaignOptions, TrendScrapeInput
from services.schedule_types import (
    DEFAULT_SCHEDULE_NAME,
    NAME_PATTERN,
    ScheduleChanges,
    ScheduleConfig,
    ScheduleConflict,
    ScheduledRun,
    ScheduleInvalid,
    ScheduleNotFound,
    ScheduleView,
    Timing,
    checked_sources,
    name_in,
    schedule_spec,
    schedule_ui_url,
    timing_of,
)
from workflows.contract import (
    TENANT_ATTRIBUTE,
    WORKFLOW_QUEUE,
    schedule_id_for,
    schedule_run_id_prefix,
    tenant_attributes,
)
from workflows.trend_scrape import TrendScrapeWorkflow

logger = logging.getLogger(__name__)

# A firing missed while Temporal was down still runs when at most this late; older ones
# are dropped, as the next regular firing comes anyway.
CATCHUP_WINDOW = timedelta(minutes=10)
# A scrape never overlaps the previous one: a firing while one runs is skipped.
POLICY = SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW)
# Lists come from the visibility store, which may trail a create or delete a moment.
VISIBILITY_WAIT_SECONDS = 10.0
TRIGGER_WAIT_SECONDS = 5.0
POLL_SECONDS = 0.1
_QUERY_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


async def create_schedule(
    temporal: Client,
    settings: Settings,
    *,
    tenant_id: str,
    created_by: str,
    config: ScheduleConfig,
) -> ScheduleView:
    """Create the tenant's schedule; 409 codes for a taken name or a full tenant.

    Returns once the schedule is listed, so a list right after this call includes it.
    """
    if not NAME_PATTERN.match(config.name):
        raise ScheduleInvalid(
            "SCHEDULE_NAME_INVALID",
            "a name is 1-40 lower-case letters, digits and inner hyphens",
            {"name": config.name},
        )
    spec = schedule_spec(config.timing, settings)
    schedule_id = schedule_id_for(tenant_id, config.name)
    scrape = TrendScrapeInput(
        tenant_id=tenant_id,
        request_key=schedule_id,
        sources=checked_sources(config.sources),
        options=config.options,
        campaign=config.campaign,
    )
    listed = {entry.id for entry in await _listed(temporal, tenant_id)}
    if schedule_id in listed:
        raise _exists(config.name)
    # Exact when a tenant's creates take turns (the API holds the tenant's row lock).
    if len(listed) >= settings.schedules_per_tenant:
        raise ScheduleConflict(
            "SCHEDULE_LIMIT_REACHED",
            f"a tenant may have {settings.schedules_per_tenant} schedules; delete one first",
            {"limit": settings.schedules_per_tenant},
        )
    schedule = Schedule(
        action=_action(tenant_id, config.name, scrape),
        spec=spec,
        policy=POLICY,
        state=ScheduleState(paused=config.paused, note=config.note),
    )
    try:
        await temporal.create_schedule(
            schedule_id,
            schedule,
            memo={"tenant_id": tenant_id, "name": config.name, "created_by": created_by},
            search_attributes=tenant_attributes(tenant_id),
        )
    except ScheduleAlreadyRunningError:
        raise _exists(config.name) from None
    except RPCError as exc:
        raise _refused(exc) from None
    await _await_listed(temporal, tenant_id, schedule_id, listed=True)
    return await get_schedule(temporal, settings, tenant_id=tenant_id, schedule_id=schedule_id)


async def list_schedules(
    temporal: Client, settings: Settings, *, tenant_id: str
) -> list[ScheduleView]:
    """The tenant's schedules by name, from the visibility store (one query)."""
    views = []
    for entry in await _listed(temporal, tenant_id):
        memo = await entry.memo()
        if memo.get("tenant_id") != tenant_id:
            continue
        if entry.schedule is None or entry.info is None:
            # An older server without list details: ask the schedule itself.
            views.append(
                await get_schedule(temporal, settings, tenant_id=tenant_id, schedule_id=entry.id)
            )
            continue
        views.append(
            ScheduleView(
                schedule_id=entry.id,
                name=str(memo.get("name", "")),
                tenant_id=tenant_id,
                timing=timing_of(entry.schedule.spec),
                paused=entry.schedule.state.paused,
                note=entry.schedule.state.note or "",
                created_by=str(memo.get("created_by", "")),
                next_runs=list(entry.info.next_action_times),
                recent_runs=_runs(entry.info.recent_actions),
                temporal_ui=schedule_ui_url(settings, entry.id),
            )
        )
    return sorted(views, key=lambda view: view.name)


async def get_schedule(
    temporal: Client, settings: Settings, *, tenant_id: str, schedule_id: str
) -> ScheduleView:
    """The tenant's schedule, described by Temporal (next runs, recent runs, its input)."""
    _, description = await _describe_own(temporal, tenant_id, schedule_id)
    return await _view(temporal, settings, tenant_id, description)


async def update_schedule(
    temporal: Client,
    settings: Settings,
    *,
    tenant_id: str,
    schedule_id: str,
    changes: ScheduleChanges,
) -> ScheduleView:
    """Change the timing, the scrape or the note; the paused state stays as it is."""
    handle, _ = await _describe_own(temporal, tenant_id, schedule_id)
    spec = schedule_spec(changes.timing, settings) if changes.timing is not None else None
    sources = checked_sources(changes.sources) if changes.sources is not None else None
    name = name_in(tenant_id, schedule_id) or ""

    async def updater(current: ScheduleUpdateInput) -> ScheduleUpdate:
        # Built from the schedule as just described, so the paused state and whatever
        # this update does not name stay as they are.
        schedule = current.description.schedule
        scrape = await _scrape_input(temporal, current.description) or TrendScrapeInput(
            tenant_id=tenant_id, request_key=schedule_id
        )
        scrape = replace(
            scrape,
            sources=sources if sources is not None else scrape.sources,
            options=replace(scrape.options, **changes.options)
            if changes.options is not None
            else scrape.options,
            campaign=None
            if changes.remove_campaign
            else (
                replace(scrape.campaign or CampaignOptions(), **changes.campaign)
                if changes.campaign is not None
                else scrape.campaign
            ),
        )
        schedule.action = _action(tenant_id, name, scrape)
        if spec is not None:
            schedule.spec = spec
        if changes.note is not None:
            schedule.state = replace(schedule.state, note=changes.note)
        return ScheduleUpdate(schedule=schedule)

    try:
        await handle.update(updater)
    except RPCError as exc:
        raise _refused(exc) from None
    return await get_schedule(temporal, settings, tenant_id=tenant_id, schedule_id=schedule_id)


async def delete_schedule(temporal: Client, *, tenant_id: str, schedule_id: str) -> None:
    """Delete the schedule; scrapes it already started run on. Returns once it is unlisted."""
    handle, _ = await _describe_own(temporal, tenant_id, schedule_id)
    try:
        await handle.delete()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:  # deleted meanwhile
            raise _not_found(schedule_id) from None
        raise
    await _await_listed(temporal, tenant_id, schedule_id, listed=False)


async def pause_schedule(
    temporal: Client, settings: Settings, *, tenant_id: str, schedule_id: str, note: str | None
) -> ScheduleView:
    """Stop the schedule firing until unpaused; the note (default "paused") replaces its note."""
    handle, _ = await _describe_own(temporal, tenant_id, schedule_id)
    # Temporal pauses only with a non-empty note (and would write its own SDK's otherwise).
    await handle.pause(note=note or "paused")
    return await get_schedule(temporal, settings, tenant_id=tenant_id, schedule_id=schedule_id)


async def unpause_schedule(
    temporal: Client, settings: Settings, *, tenant_id: str, schedule_id: str, note: str | None
) -> ScheduleView:
    """Let the schedule fire again; firings missed beyond the catch-up window are dropped."""
    handle, _ = await _describe_own(temporal, tenant_id, schedule_id)
    await handle.unpause(note=note or "unpaused")
    return await get_schedule(temporal, settings, tenant_id=tenant_id, schedule_id=schedule_id)


async def trigger_schedule(temporal: Client, *, tenant_id: str, schedule_id: str) -> str | None:
    """Start a scrape now, paused or not; returns its workflow id once Temporal shows it.

    A manual firing keeps the schedule's rule that scrapes never overlap: while one runs,
    409 `SCHEDULE_RUN_IN_PROGRESS` names it instead of a firing that would be skipped.
    """
    handle, described = await _describe_own(temporal, tenant_id, schedule_id)
    running = _running(described.info.running_actions)
    if running:
        raise ScheduleConflict(
            "SCHEDULE_RUN_IN_PROGRESS",
            "a scrape of this schedule is running; scrapes of one schedule never overlap",
            {"workflow_ids": running},
        )
    seen = {run.workflow_id for run in _runs(described.info.recent_actions)}
    await handle.trigger(overlap=ScheduleOverlapPolicy.SKIP)
    deadline = time.monotonic() + TRIGGER_WAIT_SECONDS
    while time.monotonic() < deadline:
        info = (await handle.describe()).info
        started = [run.workflow_id for run in _runs(info.recent_actions)]
        started += _running(info.running_actions)
        new = [workflow_id for workflow_id in started if workflow_id not in seen]
        if new:
            return new[0]
        await asyncio.sleep(POLL_SECONDS)
    return None


async def ensure_default_schedule(temporal: Client, settings: Settings) -> tuple[str, bool] | None:
    """`pod up`: the development tenant's `default` schedule, made once and then left
    alone (paused or changed, it stays so). Returns (schedule id, created), or None when
    `SCHEDULE_DEFAULT_INTERVAL_MINUTES` is 0."""
    minutes = settings.schedule_default_interval_minutes
    if minutes == 0:
        return None
    tenant_id = settings.default_tenant
    schedule_id = schedule_id_for(tenant_id, DEFAULT_SCHEDULE_NAME)
    try:
        await temporal.get_schedule_handle(schedule_id).describe()
        return schedule_id, False
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
    config = ScheduleConfig(name=DEFAULT_SCHEDULE_NAME, timing=Timing(interval_minutes=minutes))
    try:
        await create_schedule(
            temporal, settings, tenant_id=tenant_id, created_by="pod up", config=config
        )
    except ScheduleConflict as exc:
        if exc.code != "SCHEDULE_EXISTS":
            raise
        return schedule_id, False
    return schedule_id, True


def _action(tenant_id: str, name: str, scrape: TrendScrapeInput) -> ScheduleActionStartWorkflow:
    return ScheduleActionStartWorkflow(
        TrendScrapeWorkflow.run,
        scrape,
        id=schedule_run_id_prefix(tenant_id, name),
        task_queue=WORKFLOW_QUEUE,
        typed_search_attributes=tenant_attributes(tenant_id),
    )


async def _describe_own(
    temporal: Client, tenant_id: str, schedule_id: str
) -> tuple[ScheduleHandle, ScheduleDescription]:
    """The schedule, only when both its id and its own record name the tenant."""
    if name_in(tenant_id, schedule_id) is None:
        raise _not_found(schedule_id)  # another tenant's or not ours: never asked about
    handle = temporal.get_schedule_handle(schedule_id)
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            raise _not_found(schedule_id) from None
        raise
    memo = await description.memo()
    owner = description.typed_search_attributes.get(TENANT_ATTRIBUTE)
    if owner != tenant_id or memo.get("tenant_id") != tenant_id:
        raise _not_found(schedule_id)
    return handle, description


async def _listed(
    temporal: Client, tenant_id: str, schedule_id: str | None = None
) -> list[ScheduleListDescription]:
    """The tenant's scrape schedules in the visibility store (or just `schedule_id`)."""
    prefix = schedule_id_for(tenant_id, "")
    query = f'TenantId = "{_safe(tenant_id)}" AND ScheduleId STARTS_WITH "{_safe(prefix)}"'
    if schedule_id is not None:
        query += f' AND ScheduleId = "{_safe(schedule_id)}"'
    return [entry async for entry in await temporal.list_schedules(query=query)]


async def _await_listed(
    temporal: Client, tenant_id: str, schedule_id: str, *, listed: bool
) -> None:
    """Wait (bounded) until the visibility store has caught up with a create or delete."""
    deadline = time.monotonic() + VISIBILITY_WAIT_SECONDS
    while bool(await _listed(temporal, tenant_id, schedule_id)) != listed:
        if time.monotonic() > deadline:
            logger.warning("schedule %s: the list has not caught up yet", schedule_id)
            return
        await asyncio.sleep(POLL_SECONDS)


async def _view(
    temporal: Client, settings: Settings, tenant_id: str, description: ScheduleDescription
) -> ScheduleView:
    memo = await description.memo()
    schedule, info = description.schedule, description.info
    return ScheduleView(
        schedule_id=description.id,
        name=str(memo.get("name", "")),
        tenant_id=tenant_id,
        timing=timing_of(schedule.spec),
        paused=schedule.state.paused,
        note=schedule.state.note or "",
        created_by=str(memo.get("created_by", "")),
        next_runs=list(info.next_action_times),
        recent_runs=_runs(info.recent_actions),
        temporal_ui=schedule_ui_url(settings, description.id),
        scrape=await _scrape_input(temporal, description),
        running_workflow_ids=_running(info.running_actions),
        created_at=info.created_at,
        updated_at=info.last_updated_at,
        runs_started=info.num_actions,
        runs_skipped_overlap=info.num_actions_skipped_overlap,
    )


async def _scrape_input(
    temporal: Client, description: ScheduleDescription
) -> TrendScrapeInput | None:
    """The scrape the schedule starts (None if someone made its action something else)."""
    action = description.schedule.action
    if not isinstance(action, ScheduleActionStartWorkflow) or len(action.args) != 1:
        return None
    decoded = await temporal.data_converter.decode(list(action.args), [TrendScrapeInput])
    scrape = decoded[0]
    return scrape if isinstance(scrape, TrendScrapeInput) else None


def _runs(results: Sequence[ScheduleActionResult]) -> list[ScheduledRun]:
    return [
        ScheduledRun(
            workflow_id=result.action.workflow_id,
            run_id=result.action.first_execution_run_id,
            scheduled_at=result.scheduled_at,
            started_at=result.started_at,
        )
        for result in results
        if isinstance(result.action, ScheduleActionExecutionStartWorkflow)
    ]


def _running(executions: Sequence[ScheduleActionExecution]) -> list[str]:
    return [
        execution.workflow_id
        for execution in executions
        if isinstance(execution, ScheduleActionExecutionStartWorkflow)
    ]


def _safe(value: str) -> str:
    """A value for a visibility query; ids here never need quoting, so refuse any that would."""
    if not _QUERY_SAFE.match(value):
        raise ValueError(f"not a safe value for a visibility query: {value!r}")
    return value


def _refused(exc: RPCError) -> Exception:
    """Temporal's refusal of a spec our checks let through, as a 422; other errors as they are."""
    if exc.status == RPCStatusCode.INVALID_ARGUMENT:
        return ScheduleInvalid("SCHEDULE_INVALID", f"Temporal refused the schedule: {exc.message}")
    return exc


def _not_found(schedule_id: str) -> ScheduleNotFound:
    return ScheduleNotFound(
        "SCHEDULE_NOT_FOUND", "no such schedule in this tenant", {"schedule_id": schedule_id}
    )


def _exists(name: str) -> ScheduleConflict:
    return ScheduleConflict(
        "SCHEDULE_EXISTS", "this tenant has a schedule of this name", {"name": name}
    )
