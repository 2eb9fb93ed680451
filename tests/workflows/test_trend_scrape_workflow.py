"""TrendScrapeWorkflow alone on the time-skipping server, with same-named fake sources
and stores: a failing source is reported and the others stored, retries run their
course without waiting out their backoff, and a campaign is started when asked.

Scrapes over the real workers, Postgres and emulators are `tests/e2e/test_trends.py`.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from models.trends import (
    ALL_SOURCES,
    CampaignOptions,
    CampaignResult,
    Competition,
    CompetitionInput,
    CompetitionRequest,
    CompetitionResult,
    MeasuredCompetition,
    ScrapedTrend,
    ScrapeSourceInput,
    SourceBatch,
    StoreCompetitionInput,
    StoredSignals,
    StoreSignalsInput,
    TrendScrapeInput,
    TrendScrapeResult,
)
from tests.workflows.serving import merged, serving
from tests.workflows.test_campaign_workflow import CampaignFakes, pending
from workflows.campaign import CampaignWorkflow
from workflows.contract import QUEUES, SCRAPE
from workflows.design_to_listing import DesignToListingWorkflow
from workflows.trend_scrape import TrendScrapeWorkflow


@dataclass
class ScrapeFakes:
    """Each keyword source answers two trends unless `fail` names its error; the store
    makes a signal of each and asks Etsy's competition for the first `competition_limit`."""

    fail: dict[str, ApplicationError] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    stored: list[StoreSignalsInput] = field(default_factory=list)
    competition: list[StoreCompetitionInput] = field(default_factory=list)

    def _answer(self, name: str) -> None:
        self.attempts[name] = self.attempts.get(name, 0) + 1
        if name in self.fail:
            raise self.fail[name]

    def by_queue(self) -> dict[str, list[Callable[..., Any]]]:
        def source(name: str) -> Callable[..., Any]:
            @activity.defn(name=f"scrape.{name}")
            async def scrape(data: ScrapeSourceInput) -> SourceBatch:
                self._answer(name)
                return SourceBatch(
                    name, [ScrapedTrend(name, f"{name} cat mom"), ScrapedTrend(name, "otter")]
                )

            return scrape

        @activity.defn(name="scrape.etsy_competition")
        async def etsy_competition(data: CompetitionInput) -> CompetitionResult:
            self._answer("etsy")
            return CompetitionResult(
                [
                    MeasuredCompetition(r.signal_id, Competition(r.keyword, 40))
                    for r in data.requests
                ]
            )

        @activity.defn(name="trends.store_signals")
        async def store_signals(data: StoreSignalsInput) -> StoredSignals:
            self.stored.append(data)
            keywords = [trend.keyword for batch in data.batches for trend in batch.trends]
            wanted = [CompetitionRequest(str(uuid.uuid4()), k) for k in keywords]
            return StoredSignals(
                created=len(keywords), needs_competition=wanted[: data.competition_limit]
            )

        @activity.defn(name="trends.store_competition")
        async def store_competition(data: StoreCompetitionInput) -> int:
            self.competition.append(data)
            return len(data.measured)

        sources = [source(name) for name in ("google_trends", "reddit", "pinterest")]
        return {
            "scrape": [*sources, etsy_competition],
            "ideation": [store_signals],
            "records": [store_competition],
        }


def scrape_input(**fields: Any) -> TrendScrapeInput:
    return TrendScrapeInput(tenant_id="t1", request_key=f"key-{uuid.uuid4().hex}", **fields)


async def scrape(
    client: Client, by_queue: dict[str, list[Callable[..., Any]]], request: TrendScrapeInput
) -> TrendScrapeResult:
    workflows = [TrendScrapeWorkflow, CampaignWorkflow, DesignToListingWorkflow]
    async with serving(client, workflows, by_queue):
        result: TrendScrapeResult = await client.execute_workflow(
            TrendScrapeWorkflow.run,
            request,
            id=f"scr-t1-{uuid.uuid4().hex}",
            task_queue=QUEUES["workflows"],
        )
        return result


async def test_every_source_is_scraped_and_stored_in_one_upsert(
    skipping_env: WorkflowEnvironment,
) -> None:
    fakes = ScrapeFakes()
    request = scrape_input()
    request.options.etsy_keywords = 3

    result = await scrape(skipping_env.client, fakes.by_queue(), request)

    assert {o.source: (o.ok, o.trends) for o in result.sources} == {
        "google_trends": (True, 2),
        "reddit": (True, 2),
        "pinterest": (True, 2),
        "etsy": (True, 3),
    }
    assert result.sources[-1].source == "etsy"  # measured after the store
    assert (result.created, result.merged, result.campaign_id) == (6, 0, None)
    [stored] = fakes.stored
    assert sorted(b.source for b in stored.batches) == ["google_trends", "pinterest", "reddit"]
    assert stored.competition_limit == 3
    [competition] = fakes.competition
    assert len(competition.measured) == 3
    assert set(fakes.attempts.values()) == {1}


async def test_a_failing_source_is_reported_and_the_others_are_stored(
    skipping_env: WorkflowEnvironment,
) -> None:
    refused = ApplicationError("401 from pinterest", type="PINTEREST_AUTH", non_retryable=True)
    fakes = ScrapeFakes(fail={"pinterest": refused})

    result = await scrape(
        skipping_env.client, fakes.by_queue(), scrape_input(sources=["google_trends", "pinterest"])
    )

    outcomes = {o.source: o for o in result.sources}
    assert outcomes.keys() == {"google_trends", "pinterest"}
    assert outcomes["google_trends"].ok and outcomes["google_trends"].trends == 2
    assert not outcomes["pinterest"].ok
    assert "PINTEREST_AUTH" in (outcomes["pinterest"].error or ""), outcomes["pinterest"]
    assert fakes.attempts["pinterest"] == 1  # a permanent error is not retried
    assert [b.source for b in fakes.stored[0].batches] == ["google_trends"]
    assert result.created == 2
    # Without Etsy among the sources, no competition is asked for, and nothing measured.
    assert fakes.stored[0].competition_limit == 0 and "etsy" not in fakes.attempts
    assert fakes.competition[0].measured == []


async def test_flaky_sources_get_their_attempts_then_are_reported(
    skipping_env: WorkflowEnvironment,
) -> None:
    """Every attempt the policy allows, its backoff skipped by the server; Etsy's
    competition failing too leaves the stored signals as they are."""
    down = ApplicationError("503 from the source", type="SOURCE_UNAVAILABLE")
    fakes = ScrapeFakes(fail={"reddit": down, "etsy": down})

    result = await scrape(skipping_env.client, fakes.by_queue(), scrape_input())

    failed = {o.source for o in result.sources if not o.ok}
    assert failed == {"reddit", "etsy"}
    assert all("SOURCE_UNAVAILABLE" in (o.error or "") for o in result.sources if not o.ok)
    assert fakes.attempts["reddit"] == fakes.attempts["etsy"] == SCRAPE.retry.maximum_attempts
    assert result.created == 4 and set(ALL_SOURCES) == {o.source for o in result.sources}
    assert fakes.competition[0].measured == []


async def test_a_scrape_that_asks_for_a_campaign_starts_it_on_the_fresh_signals(
    skipping_env: WorkflowEnvironment,
) -> None:
    campaign = CampaignFakes(plan=pending(2))
    fakes = ScrapeFakes()
    request = scrape_input(sources=["google_trends"], campaign=CampaignOptions(top_k=2))
    client = skipping_env.client

    async with serving(
        client,
        [TrendScrapeWorkflow, CampaignWorkflow, DesignToListingWorkflow],
        merged(fakes.by_queue(), campaign.by_queue()),
    ):
        scrape_id = f"scr-t1-{uuid.uuid4().hex}"
        result: TrendScrapeResult = await client.execute_workflow(
            TrendScrapeWorkflow.run, request, id=scrape_id, task_queue=QUEUES["workflows"]
        )
        # The campaign goes on after the scrape's run ended (ABANDON); it is waited for
        # here so that no run stays open on the shared server.
        assert result.campaign_id is not None
        listed: CampaignResult = await client.get_workflow_handle(
            result.campaign_id, result_type=CampaignResult
        ).result()

    digest = hashlib.sha256(scrape_id.encode()).hexdigest()[:24]
    assert result.campaign_id == f"cmp-t1-{digest}"
    assert (listed.status, listed.listings) == ("completed", 2)
    assert campaign.records[0].campaign_id == result.campaign_id
