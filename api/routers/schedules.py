"""Scrape schedules: when each tenant's trends are scraped (Temporal Schedules, ADR 0019).

The routes parse, authorise and shape answers; `services.schedules` talks to Temporal. A
schedule id of another tenant answers 404 `SCHEDULE_NOT_FOUND`, like an unknown one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, Response, status

from api.auth import SchedulesRead, SchedulesWrite
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.hygiene import KnownQueryRoute
from api.schedule_schemas import (
    ScheduleCreate,
    ScheduleDetail,
    ScheduleLinks,
    ScheduleNoteIn,
    SchedulePage,
    SchedulePatch,
    ScheduleTriggered,
    detail,
    summary,
)
from api.schemas import ErrorBody
from models import repositories
from models.requests import campaign_options, source_options
from services import schedules
from services.schedule_types import ScheduleChanges, ScheduleConfig, schedule_ui_url

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/schedules", tags=["schedules"])
ScheduleId = Annotated[
    str, Path(max_length=120, description="`scrape-<tenant>.<name>`, as created.")
]
NoteBody = Annotated[ScheduleNoteIn | None, Body()]
NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such schedule in this tenant (SCHEDULE_NOT_FOUND)"}
}
INVALID: dict[int | str, dict[str, object]] = {
    422: {
        "model": ErrorBody,
        "description": "Not a valid schedule: VALIDATION_ERROR, SCHEDULE_CRON_INVALID, "
        "SCHEDULE_TOO_FREQUENT, SCHEDULE_INVALID (refused by Temporal)",
    }
}


@router.get("", operation_id="list_schedules", response_model=SchedulePage)
async def list_schedules(
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: SchedulesRead,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> SchedulePage:
    """The tenant's scrape schedules, by name."""
    views = await schedules.list_schedules(temporal, settings, tenant_id=principal.tenant_id)
    page = views[offset : offset + limit]
    return SchedulePage(data=[summary(view) for view in page], count=len(views))


@router.post(
    "",
    operation_id="create_schedule",
    response_model=ScheduleDetail,
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {
            "model": ErrorBody,
            "description": "The name is taken (SCHEDULE_EXISTS) or the tenant has as many "
            "schedules as allowed (SCHEDULE_LIMIT_REACHED)",
        },
        **INVALID,
    },
)
async def create_schedule(
    body: ScheduleCreate,
    response: Response,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: SchedulesWrite,
) -> ScheduleDetail:
    """Create a schedule that scrapes the sources by cron or every N minutes (UTC).

    Scrapes of one schedule never overlap: a firing while the last scrape runs is skipped.
    """
    config = ScheduleConfig(
        name=body.name,
        timing=body.timing(),
        sources=list(body.sources),
        options=source_options(body.options),
        campaign=campaign_options(body.campaign) if body.campaign else None,
        paused=body.paused,
        note=body.note,
    )
    # Held until the commit below: the tenant's creates take turns, so the limit holds.
    await repositories.accounts.lock_tenant(session, tenant_id=principal.tenant_id)
    view = await schedules.create_schedule(
        temporal,
        settings,
        tenant_id=principal.tenant_id,
        created_by=str(principal.member_id),
        config=config,
    )
    await session.commit()
    response.headers["Location"] = f"/v1/schedules/{view.schedule_id}"
    return detail(view)


@router.get(
    "/{schedule_id}",
    operation_id="get_schedule",
    response_model=ScheduleDetail,
    responses=NOT_FOUND,
)
async def get_schedule(
    schedule_id: ScheduleId, temporal: TemporalDep, settings: SettingsDep, principal: SchedulesRead
) -> ScheduleDetail:
    """The schedule: timing, state, next and recent runs, and the scrape it starts."""
    view = await schedules.get_schedule(
        temporal, settings, tenant_id=principal.tenant_id, schedule_id=schedule_id
    )
    return detail(view)


@router.patch(
    "/{schedule_id}",
    operation_id="update_schedule",
    response_model=ScheduleDetail,
    responses={**NOT_FOUND, **INVALID},
)
async def update_schedule(
    schedule_id: ScheduleId,
    body: SchedulePatch,
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: SchedulesWrite,
) -> ScheduleDetail:
    """Change the timing, sources, options, campaign or note; the rest stays."""
    changes = ScheduleChanges(
        timing=body.timing(),
        sources=list(body.sources) if body.sources is not None else None,
        # Only the fields the request names change; the others keep their values.
        options=body.options.model_dump(mode="json", exclude_unset=True) if body.options else None,
        campaign=(
            body.campaign.model_dump(mode="json", exclude_unset=True) if body.campaign else None
        ),
        remove_campaign="campaign" in body.model_fields_set and body.campaign is None,
        note=body.note,
    )
    view = await schedules.update_schedule(
        temporal,
        settings,
        tenant_id=principal.tenant_id,
        schedule_id=schedule_id,
        changes=changes,
    )
    return detail(view)


@router.delete(
    "/{schedule_id}",
    operation_id="delete_schedule",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=NOT_FOUND,
)
async def delete_schedule(
    schedule_id: ScheduleId, temporal: TemporalDep, principal: SchedulesWrite
) -> Response:
    """Delete the schedule. Scrapes it already started run to their end."""
    await schedules.delete_schedule(
        temporal, tenant_id=principal.tenant_id, schedule_id=schedule_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{schedule_id}/pause",
    operation_id="pause_schedule",
    response_model=ScheduleDetail,
    responses=NOT_FOUND,
)
async def pause_schedule(
    schedule_id: ScheduleId,
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: SchedulesWrite,
    body: NoteBody = None,
) -> ScheduleDetail:
    """Stop the schedule firing until it is unpaused (a trigger still runs it)."""
    view = await schedules.pause_schedule(
        temporal,
        settings,
        tenant_id=principal.tenant_id,
        schedule_id=schedule_id,
        note=body.note if body else None,
    )
    return detail(view)


@router.post(
    "/{schedule_id}/unpause",
    operation_id="unpause_schedule",
    response_model=ScheduleDetail,
    responses=NOT_FOUND,
)
async def unpause_schedule(
    schedule_id: ScheduleId,
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: SchedulesWrite,
    body: NoteBody = None,
) -> ScheduleDetail:
    """Let the schedule fire again; firings missed while paused are not made up."""
    view = await schedules.unpause_schedule(
        temporal,
        settings,
        tenant_id=principal.tenant_id,
        schedule_id=schedule_id,
        note=body.note if body else None,
    )
    return detail(view)


@router.post(
    "/{schedule_id}/trigger",
    operation_id="trigger_schedule",
    response_model=ScheduleTriggered,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        **NOT_FOUND,
        409: {
            "model": ErrorBody,
            "description": "A scrape of this schedule is running (SCHEDULE_RUN_IN_PROGRESS)",
        },
    },
)
async def trigger_schedule(
    schedule_id: ScheduleId, temporal: TemporalDep, settings: SettingsDep, principal: SchedulesWrite
) -> ScheduleTriggered:
    """Scrape now, even while paused. Like scheduled firings, never beside a running scrape
    of the same schedule: that is 409 with its workflow id."""
    workflow_id = await schedules.trigger_schedule(
        temporal, tenant_id=principal.tenant_id, schedule_id=schedule_id
    )
    return ScheduleTriggered(
        schedule_id=schedule_id,
        workflow_id=workflow_id,
        links=ScheduleLinks(temporal_ui=schedule_ui_url(settings, schedule_id)),
    )
