"""A campaign's plan against real Postgres: `top_k` counts the signals chosen for a
listing, and signals naming protected work (the platform's or the tenant's) are passed
over with the reason."""

from __future__ import annotations

from temporalio.testing import ActivityEnvironment

from activities.campaign import SCAN_FACTOR, CampaignActivities
from core.db import SessionFactory
from core.settings import Settings
from domain.niches import normalise_keyword
from models.tables import ProtectedNameRecord, TrendSignal
from models.trends import CampaignInput, CampaignOptions, CampaignOutcome, OutcomeStatus

KEYWORDS = [  # best score first
    "retro star wars tee",
    "sourdough baker gift",
    "trailhead co hiking",
    "pickleball grandma",
    "f*ck mondays coffee",
    "axolotl lover",
    "beekeeper dad",
    "mushroom foraging",
]


async def _seed(sessions: SessionFactory, tenant: str, keywords: list[str]) -> None:
    async with sessions() as session:
        for rank, keyword in enumerate(keywords):
            words = normalise_keyword(keyword)
            session.add(
                TrendSignal(
                    tenant_id=tenant,
                    keyword=keyword,
                    normalized_keyword=words,
                    niche_key=" ".join(sorted(words.split())),
                    score=100.0 - rank,
                )
            )
        session.add(
            ProtectedNameRecord(
                tenant_id=tenant, name="Trailhead Co", key="trailheadco", context=[]
            )
        )
        await session.commit()


async def _plan(
    sessions: SessionFactory, settings: Settings, tenant: str, top_k: int
) -> list[CampaignOutcome]:
    request = CampaignInput(
        tenant_id=tenant,
        campaign_id=f"cmp-{tenant}-{top_k}",
        request_key=f"plan-{top_k}",
        options=CampaignOptions(top_k=top_k),
    )
    plan = await ActivityEnvironment().run(
        CampaignActivities(sessions, settings).plan_campaign, request
    )
    return plan.outcomes


async def test_top_k_counts_the_chosen_and_protected_signals_are_passed_over(
    sessions: SessionFactory, settings: Settings, tenant: str
) -> None:
    await _seed(sessions, tenant, KEYWORDS)

    outcomes = await _plan(sessions, settings, tenant, top_k=3)

    pending = [o.keyword for o in outcomes if o.status == OutcomeStatus.PENDING]
    skipped = {o.keyword: o.reason for o in outcomes if o.status == OutcomeStatus.SKIPPED}
    assert pending == ["sourdough baker gift", "pickleball grandma", "axolotl lover"]
    assert set(skipped) == {"retro star wars tee", "trailhead co hiking", "f*ck mondays coffee"}
    assert "protected names ['star wars']" in str(skipped["retro star wars tee"])
    assert "protected names ['Trailhead Co']" in str(skipped["trailhead co hiking"])
    assert "blocked terms" in str(skipped["f*ck mondays coffee"])
    assert all(reason and reason.startswith("UNSAFE_CONTENT") for reason in skipped.values())


async def test_the_plan_reads_at_most_scan_factor_times_top_k_signals(
    sessions: SessionFactory, settings: Settings, tenant: str
) -> None:
    # Every signal names protected work: the plan gives up after reading 5 x top_k.
    await _seed(sessions, tenant, [f"star wars fan {n}" for n in range(SCAN_FACTOR * 2 + 3)])

    outcomes = await _plan(sessions, settings, tenant, top_k=2)

    assert len(outcomes) == SCAN_FACTOR * 2
    assert all(o.status == OutcomeStatus.SKIPPED for o in outcomes)
