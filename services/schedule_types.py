"""The schedule service's types, errors and ids, and how a timing becomes Temporal's spec.

No Temporal calls here (`services.schedules` makes them): what is checked before one is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import ScheduleIntervalSpec, ScheduleSpec

from core.settings import Settings
from domain.cron import CronError, parse_cron
from domain.errors import CATALOGUE, DomainError
from domain.trends import ALL_SOURCES
from models.trends import CampaignOptions, SourceOptions, TrendScrapeInput
from workflows.contract import schedule_id_for

NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
DEFAULT_SCHEDULE_NAME = "default"


class ScheduleError(DomainError):
    """A refused schedule request; its code (one of the catalogue's `SCHEDULE_*`) names why."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(CATALOGUE[code], message, details)


class ScheduleNotFound(ScheduleError):
    """No such schedule in this tenant."""


class ScheduleConflict(ScheduleError):
    """The tenant's schedules do not allow it now."""


class ScheduleInvalid(ScheduleError):
    """The schedule asked for cannot be made."""


@dataclass(frozen=True)
class Timing:
    """When a schedule fires: a cron expression (UTC) or every N minutes, exactly one."""

    cron: str | None = None
    interval_minutes: int | None = None


@dataclass
class ScheduleConfig:
    """A new schedule: its name (unique per tenant), timing and what each scrape does."""

    name: str
    timing: Timing
    sources: list[str] = field(default_factory=lambda: list(ALL_SOURCES))
    options: SourceOptions = field(default_factory=SourceOptions)
    campaign: CampaignOptions | None = None
    paused: bool = False
    note: str = ""


@dataclass(frozen=True)
class ScheduleChanges:
    """What an update changes; None keeps a field (`remove_campaign` drops the campaign).
    `options` and `campaign` name only the fields they change; the others stay."""

    timing: Timing | None = None
    sources: list[str] | None = None
    options: dict[str, Any] | None = None
    campaign: dict[str, Any] | None = None
    remove_campaign: bool = False
    note: str | None = None


@dataclass(frozen=True)
class ScheduledRun:
    """One scrape a schedule started."""

    workflow_id: str
    run_id: str
    scheduled_at: datetime
    started_at: datetime


@dataclass
class ScheduleView:
    """A schedule as the API shows it; the fields after `temporal_ui` only in one's own view
    (a list answers from the visibility store, which does not hold them)."""

    schedule_id: str
    name: str
    tenant_id: str
    timing: Timing
    paused: bool
    note: str
    created_by: str
    next_runs: list[datetime]
    recent_runs: list[ScheduledRun]
    temporal_ui: str
    scrape: TrendScrapeInput | None = None
    running_workflow_ids: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    runs_started: int | None = None
    runs_skipped_overlap: int | None = None


def schedule_ui_url(settings: Settings, schedule_id: str) -> str:
    """Link to the schedule in the Temporal Web UI."""
    return (
        f"{settings.temporal_web_url}/namespaces/{settings.temporal_namespace}"
        f"/schedules/{schedule_id}"
    )


def schedule_spec(timing: Timing, settings: Settings) -> ScheduleSpec:
    """Temporal's spec of a timing, refused when it fires more often than the minimum."""
    minimum = settings.schedule_min_interval_minutes
    if (timing.cron is None) == (timing.interval_minutes is None):
        raise ScheduleInvalid(
            "SCHEDULE_TIMING_INVALID", "give exactly one of `cron` and `interval_minutes`"
        )
    if timing.interval_minutes is not None:
        if timing.interval_minutes < minimum:
            raise _too_frequent(timing.interval_minutes, minimum, {})
        every = timedelta(minutes=timing.interval_minutes)
        return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)])
    text = " ".join(str(timing.cron).split())
    try:
        cron = parse_cron(text)
    except CronError as exc:
        raise ScheduleInvalid("SCHEDULE_CRON_INVALID", str(exc), {"cron": text}) from None
    if cron.shortest_gap_minutes < minimum:
        raise _too_frequent(cron.shortest_gap_minutes, minimum, {"cron": text})
    # Temporal keeps the text after `#` as the calendar's comment: how we read it back.
    return ScheduleSpec(cron_expressions=[f"{cron.expression} # {text}"])


def checked_sources(sources: list[str]) -> list[str]:
    """The sources once each, in the order given; 422 for none or an unknown one."""
    unknown = sorted(set(sources) - set(ALL_SOURCES))
    if not sources or unknown:
        raise ScheduleInvalid(
            "SCHEDULE_SOURCES_INVALID",
            f"sources are one or more of {', '.join(ALL_SOURCES)}",
            {"unknown": unknown},
        )
    return list(dict.fromkeys(sources))


def name_in(tenant_id: str, schedule_id: str) -> str | None:
    """The name in a schedule id of the tenant, or None when the id is not the tenant's."""
    prefix = schedule_id_for(tenant_id, "")
    name = schedule_id.removeprefix(prefix)
    return name if schedule_id.startswith(prefix) and NAME_PATTERN.match(name) else None


def timing_of(spec: ScheduleSpec) -> Timing:
    """The timing a schedule was made with, read back from what Temporal describes."""
    if spec.intervals:
        return Timing(interval_minutes=int(spec.intervals[0].every.total_seconds() // 60))
    if spec.calendars and spec.calendars[0].comment:
        return Timing(cron=spec.calendars[0].comment)
    if spec.cron_expressions:  # not yet turned into calendars by the server
        expression, _, comment = spec.cron_expressions[0].partition("#")
        return Timing(cron=comment.strip() or expression.strip())
    return Timing()


def _too_frequent(every: int, minimum: int, details: dict[str, Any]) -> ScheduleInvalid:
    return ScheduleInvalid(
        "SCHEDULE_TOO_FREQUENT",
        f"a schedule may fire once every {minimum} minutes at most; this one fires every {every}",
        {**details, "fires_every_minutes": every, "minimum_minutes": minimum},
    )
