"""The schedule service below the API: cron checks, Temporal specs, and `pod up`'s default
schedule (made once, then left alone) against the real Temporal dev server."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import get_args

import pytest
from temporalio.client import Client

from core.settings import Settings
from domain.cron import CronError, parse_cron
from domain.trends import ALL_SOURCES, SourceName, TrendSource
from services.schedule_types import (
    ScheduleInvalid,
    Timing,
    name_in,
    schedule_spec,
    timing_of,
)
from services.schedules import ensure_default_schedule, get_schedule, list_schedules
from workflows.contract import schedule_id_for


@pytest.mark.parametrize(
    ("expression", "gap"),
    [
        ("0 * * * *", 60),
        ("*/15 * * * *", 15),
        ("5/20 * * * *", 20),
        ("0 7 * * mon-fri", 24 * 60),
        ("0 9-17/2 * * *", 120),  # 9, 11, ..., 17, then 9 the next morning
        ("30 23 * * *", 24 * 60),
        ("5,55 0,23 * * *", 10),  # 23:55 and 00:05
        ("@hourly", 60),
        ("@weekly", 24 * 60),  # days in between count as firing days: never judged rarer
        ("0 0 1 jan,JUL *", 24 * 60),
    ],
)
def test_the_shortest_gap_of_a_cron(expression: str, gap: int) -> None:
    assert parse_cron(expression).shortest_gap_minutes == gap


def test_names_and_macros() -> None:
    weekly = parse_cron("@weekly")
    assert weekly.expression == "0 0 * * 0"
    assert parse_cron("0 0 * * sun").days_of_week == frozenset({0})
    assert parse_cron("0 0 * feb-apr sat,SUN").months == frozenset({2, 3, 4})
    assert parse_cron("  0   0 29 2 * ").days_of_month == frozenset({29})  # leap days exist


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("* * * *", "five fields"),
        ("0 0 * * * 2030", "five fields"),
        ("60 * * * *", "minute: 60 is outside 0-59"),
        ("0 24 * * *", "hour: 24 is outside 0-23"),
        ("0 0 0 * *", "day of month: 0 is outside 1-31"),
        ("0 0 * 13 *", "month: 13 is outside 1-12"),
        ("0 0 * * 1-7", "day of week: 7 is outside 0-6"),
        ("0 0 L * *", "'l' is not a number or a name"),
        ("0 0 * * 1#2", "is not a value, range or step"),
        ("*/0 * * * *", "the step must be at least 1"),
        ("0 17-9 * * *", "runs backwards"),
        ("jan * * * *", "is not a number or a name"),
        ("0 0 30 2 *", "never occurs"),
        ("0 0 31 4,6,9,11 *", "never occurs"),
        ("", "five fields"),
    ],
)
def test_a_cron_we_do_not_take_says_why(expression: str, reason: str) -> None:
    with pytest.raises(CronError, match=reason):
        parse_cron(expression)


def test_a_timing_becomes_temporals_spec_and_reads_back(settings: Settings) -> None:
    every = schedule_spec(Timing(interval_minutes=90), settings)
    assert [interval.every for interval in every.intervals] == [timedelta(minutes=90)]
    assert timing_of(every) == Timing(interval_minutes=90)
    cron = schedule_spec(Timing(cron=" @daily "), settings)
    assert cron.cron_expressions == ["0 0 * * * # @daily"]
    assert timing_of(cron) == Timing(cron="@daily")
    with pytest.raises(ScheduleInvalid) as neither:
        schedule_spec(Timing(), settings)
    assert neither.value.code == "SCHEDULE_TIMING_INVALID"
    stricter = settings.model_copy(update={"schedule_min_interval_minutes": 120})
    with pytest.raises(ScheduleInvalid) as often:
        schedule_spec(Timing(cron="0 */1 * * *"), stricter)
    assert often.value.code == "SCHEDULE_TOO_FREQUENT"
    assert often.value.details == {
        "cron": "0 */1 * * *",
        "fires_every_minutes": 60,
        "minimum_minutes": 120,
    }


def test_a_schedule_id_is_the_tenants_only_with_its_prefix() -> None:
    assert schedule_id_for("acme", "daily") == "scrape-acme.daily"
    assert name_in("acme", "scrape-acme.daily") == "daily"
    # Tenant ids may hold hyphens, names too: `.` keeps them apart.
    assert name_in("acme", "scrape-acme-eu.daily") is None
    assert name_in("acme-eu", "scrape-acme.eu-daily") is None
    assert name_in("acme", "scrape-acme.") is None
    assert name_in("acme", "scrape-acme.x.y") is None
    assert name_in("acme", "acme.daily") is None


def test_the_api_offers_exactly_the_trend_sources() -> None:
    assert set(get_args(SourceName)) == set(ALL_SOURCES) == {s.value for s in TrendSource}


async def test_pod_up_makes_the_default_schedule_once_and_then_leaves_it(
    settings: Settings, temporal_client: Client
) -> None:
    tenant = f"dev{uuid.uuid4().hex[:8]}"
    local = settings.model_copy(
        update={"default_tenant": tenant, "schedule_default_interval_minutes": 180}
    )
    schedule_id = f"scrape-{tenant}.default"
    try:
        assert await ensure_default_schedule(temporal_client, local) == (schedule_id, True)
        made = await get_schedule(temporal_client, local, tenant_id=tenant, schedule_id=schedule_id)
        assert (made.timing, made.created_by, made.paused) == (
            Timing(interval_minutes=180),
            "pod up",
            False,
        )
        assert made.scrape is not None and made.scrape.sources == list(ALL_SOURCES)
        assert made.scrape.campaign is None
        await temporal_client.get_schedule_handle(schedule_id).pause(note="not now")

        changed = local.model_copy(update={"schedule_default_interval_minutes": 60})
        assert await ensure_default_schedule(temporal_client, changed) == (schedule_id, False)
        kept = await get_schedule(temporal_client, local, tenant_id=tenant, schedule_id=schedule_id)
        assert (kept.timing, kept.paused, kept.note) == (
            Timing(interval_minutes=180),
            True,
            "not now",
        )
        listed = await list_schedules(temporal_client, local, tenant_id=tenant)
        assert [view.schedule_id for view in listed] == [schedule_id]
    finally:
        await temporal_client.get_schedule_handle(schedule_id).delete()


async def test_no_default_schedule_when_its_interval_is_zero(
    settings: Settings, temporal_client: Client
) -> None:
    tenant = f"dev{uuid.uuid4().hex[:8]}"
    off = settings.model_copy(
        update={"default_tenant": tenant, "schedule_default_interval_minutes": 0}
    )
    assert await ensure_default_schedule(temporal_client, off) is None
    assert await list_schedules(temporal_client, off, tenant_id=tenant) == []
