"""Trend store activities: embed and upsert a scrape's trends (`pod-ideation`, where the
embedder lives), then Etsy's competition and the new scores (`pod-records`)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from temporalio import activity

from activities.heartbeat import heartbeating
from core.db import SessionFactory
from domain.niches import normalise_keyword
from integrations.embeddings import Embedder
from models import repositories
from models.repositories.trend_updates import Observation
from models.tables import utcnow
from models.trends import (
    CompetitionRequest,
    StoreCompetitionInput,
    StoredSignals,
    StoreSignalsInput,
)
from workflows.contract import STORE_COMPETITION, STORE_SIGNALS

logger = logging.getLogger(__name__)
# Texts per embedding call: small enough to heartbeat often, big enough to batch.
EMBED_BATCH = 64
# Etsy's numbers for a keyword are looked up again after this long.
COMPETITION_FRESH_FOR = timedelta(hours=24)


class TrendActivities:
    """Turns a scrape's trends into merged, scored trend signals."""

    def __init__(self, sessions: SessionFactory, embedder: Embedder, threshold: float) -> None:
        self._sessions = sessions
        self._embedder = embedder
        self._threshold = threshold

    @activity.defn(name=STORE_SIGNALS.name)
    async def store_signals(self, data: StoreSignalsInput) -> StoredSignals:
        """Embed every keyword and fold it into its niche's signal (one transaction).

        A retry after a commit folds the same observations again: metrics keep the
        latest or largest value, so only the observation counts grow.
        """
        trends = [
            trend
            for batch in data.batches
            for trend in batch.trends
            if normalise_keyword(trend.keyword)
        ]
        texts = [normalise_keyword(trend.keyword) for trend in trends]
        vectors: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH):
            batch = await heartbeating(
                self._embedder.embed(texts[start : start + EMBED_BATCH]), "embedding keywords"
            )
            vectors.extend(batch.vectors)
        now = utcnow()
        async with self._sessions() as session:
            report = await repositories.trend_updates.upsert_observations(
                session,
                tenant_id=data.tenant_id,
                observations=[
                    Observation(trend, vector)
                    for trend, vector in zip(trends, vectors, strict=True)
                ],
                model=self._embedder.name,
                threshold=self._threshold,
                now=now,
            )
            # The touched signals' scores now, so the best of them get Etsy's numbers.
            await repositories.trend_updates.rescore(
                session, tenant_id=data.tenant_id, now=now, since=now
            )
            needing = await repositories.trend_updates.signals_needing_competition(
                session,
                tenant_id=data.tenant_id,
                signal_ids=report.touched or [],
                measured_before=now - COMPETITION_FRESH_FOR,
                limit=data.competition_limit,
            )
            await session.commit()
        logger.info(
            "stored %d trends for %s: %d new signals, %d merged (embedder %s)",
            len(trends),
            data.tenant_id,
            report.created,
            report.merged,
            self._embedder.name,
        )
        return StoredSignals(
            created=report.created,
            merged=report.merged,
            embedder=self._embedder.name,
            needs_competition=[
                CompetitionRequest(str(signal.id), signal.keyword) for signal in needing
            ],
        )


class TrendRecords:
    """Database-only trend work (`pod-records`)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    @activity.defn(name=STORE_COMPETITION.name)
    async def store_competition(self, data: StoreCompetitionInput) -> int:
        """Etsy's numbers into their signals, then every signal of the tenant rescored
        (recency decays for the ones this scrape did not see too)."""
        now = utcnow()
        async with self._sessions() as session:
            await repositories.trend_updates.lock_trends(session, tenant_id=data.tenant_id)
            await repositories.trend_updates.apply_competition(
                session,
                tenant_id=data.tenant_id,
                competition=[
                    (uuid.UUID(item.signal_id), item.competition) for item in data.measured
                ],
                now=now,
            )
            scored = await repositories.trend_updates.rescore(
                session, tenant_id=data.tenant_id, now=now
            )
            await session.commit()
        return scored
