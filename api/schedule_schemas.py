"""Request and response models of `/v1/schedules` (every input bounded)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.pages import Page
from domain.trends import SourceName
from models.requests import CampaignOptionsIn, JsonBody, SourceOptionsIn, exactly_one
from services.schedule_types import ScheduledRun, ScheduleView, Timing

ScheduleName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=40,
        pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$",
        description="Lower-case letters, digits and inner hyphens; unique in the tenant.",
        examples=["weekday-mornings"],
    ),
]
Cron = Annotated[
    str,
    Field(
        min_length=1,
        max_length=100,
        description="Five fields (minute hour day-of-month month day-of-week), UTC; names "
        "(`mon-fri`, `jan`) and `@daily`-style macros too.",
        examples=["0 7 * * mon-fri"],
    ),
]
IntervalMinutes = Annotated[
    int, Field(ge=1, le=44_640, description="Fire every N minutes (at most 31 days).")
]
Note = Annotated[str, Field(max_length=200)]


def _unique(sources: list[SourceName]) -> list[SourceName]:
    return list(dict.fromkeys(sources))


class ScheduleCreate(JsonBody):
    """A scrape schedule: `cron` or `interval_minutes` (exactly one), and what to scrape."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"name": "weekday-mornings", "cron": "0 7 * * mon-fri", "sources": ["reddit"]},
                {"name": "every-6h", "interval_minutes": 360},
            ],
            "oneOf": exactly_one({"cron": "string", "interval_minutes": "integer"}),
        },
    )

    name: ScheduleName
    cron: Cron | None = None
    interval_minutes: IntervalMinutes | None = None
    sources: list[SourceName] = Field(
        default_factory=lambda: list(get_args(SourceName)), min_length=1, max_length=4
    )
    options: SourceOptionsIn = Field(default_factory=SourceOptionsIn)
    campaign: CampaignOptionsIn | None = None
    paused: bool = False
    note: Note = ""

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, sources: list[SourceName]) -> list[SourceName]:
        return _unique(sources)

    @model_validator(mode="after")
    def _one_timing(self) -> ScheduleCreate:
        if (self.cron is None) == (self.interval_minutes is None):
            raise ValueError("give exactly one of `cron` and `interval_minutes`")
        return self

    def timing(self) -> Timing:
        return Timing(cron=self.cron, interval_minutes=self.interval_minutes)


class SchedulePatch(JsonBody):
    """Fields to change; those left out stay. `campaign: null` stops campaigns."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [{"cron": "30 6 * * *", "note": "earlier"}],
            "not": {
                "required": ["cron", "interval_minutes"],
                "properties": {"cron": {"type": "string"}, "interval_minutes": {"type": "integer"}},
            },
        },
    )

    cron: Cron | None = None
    interval_minutes: IntervalMinutes | None = None
    sources: list[SourceName] | None = Field(default=None, min_length=1, max_length=4)
    options: SourceOptionsIn | None = None
    campaign: CampaignOptionsIn | None = None
    note: Note | None = None

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, sources: list[SourceName] | None) -> list[SourceName] | None:
        return None if sources is None else _unique(sources)

    @model_validator(mode="after")
    def _at_most_one_timing(self) -> SchedulePatch:
        if self.cron is not None and self.interval_minutes is not None:
            raise ValueError("give at most one of `cron` and `interval_minutes`")
        return self

    def timing(self) -> Timing | None:
        if self.cron is None and self.interval_minutes is None:
            return None
        return Timing(cron=self.cron, interval_minutes=self.interval_minutes)


class ScheduleNoteIn(JsonBody):
    """An optional note on a pause or unpause (it replaces the schedule's note)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    note: Note | None = None


class ScheduleRunPublic(BaseModel):
    workflow_id: str = Field(description="The `TrendScrapeWorkflow` run the schedule started.")
    run_id: str
    scheduled_at: datetime
    started_at: datetime


class ScheduleLinks(BaseModel):
    temporal_ui: str = Field(description="The schedule in the Temporal Web UI.")


class ScheduleSummary(BaseModel):
    """A schedule as listed."""

    id: str = Field(examples=["scrape-acme.weekday-mornings"])
    name: str
    cron: str | None = Field(description="Set when the schedule fires by cron (UTC).")
    interval_minutes: int | None = Field(description="Set when it fires every N minutes.")
    paused: bool
    note: str
    created_by: str = Field(description="The member who made it (`pod up` for the default).")
    next_runs: list[datetime] = Field(description="When it fires next (even while paused).")
    recent_runs: list[ScheduleRunPublic]
    links: ScheduleLinks


class ScheduleDetail(ScheduleSummary):
    """One schedule, with the scrape it starts and what it has done."""

    sources: list[str]
    options: SourceOptionsIn
    campaign: CampaignOptionsIn | None
    running_workflow_ids: list[str]
    runs_started: int
    runs_skipped_overlap: int = Field(description="Firings skipped while a scrape still ran.")
    created_at: datetime | None
    updated_at: datetime | None


class SchedulePage(Page[ScheduleSummary]):
    pass


class ScheduleTriggered(BaseModel):
    """A scrape started now (its workflow id once Temporal shows it, else null)."""

    schedule_id: str
    workflow_id: str | None
    links: ScheduleLinks


def _run(run: ScheduledRun) -> ScheduleRunPublic:
    return ScheduleRunPublic(
        workflow_id=run.workflow_id,
        run_id=run.run_id,
        scheduled_at=run.scheduled_at,
        started_at=run.started_at,
    )


def summary(view: ScheduleView) -> ScheduleSummary:
    return ScheduleSummary(
        id=view.schedule_id,
        name=view.name,
        cron=view.timing.cron,
        interval_minutes=view.timing.interval_minutes,
        paused=view.paused,
        note=view.note,
        created_by=view.created_by,
        next_runs=view.next_runs,
        recent_runs=[_run(run) for run in view.recent_runs],
        links=ScheduleLinks(temporal_ui=view.temporal_ui),
    )


def detail(view: ScheduleView) -> ScheduleDetail:
    scrape = view.scrape
    campaign = scrape.campaign if scrape is not None else None
    return ScheduleDetail(
        **summary(view).model_dump(),
        sources=list(scrape.sources) if scrape is not None else [],
        options=SourceOptionsIn.model_validate(vars(scrape.options) if scrape else {}),
        campaign=CampaignOptionsIn.model_validate(vars(campaign)) if campaign else None,
        running_workflow_ids=view.running_workflow_ids,
        runs_started=view.runs_started or 0,
        runs_skipped_overlap=view.runs_skipped_overlap or 0,
        created_at=view.created_at,
        updated_at=view.updated_at,
    )
