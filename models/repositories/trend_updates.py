"""Writing trend signals: observations upserted with niche merging, competition, and
scores (ADR 0017, 0018).

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from domain import trend_score
from domain.niches import niche_key, normalise_keyword, same_niche
from domain.trends import Competition, ScrapedTrend
from models.repositories.trends import nearest_signals
from models.tables import TrendSignal

# How many neighbours a merge looks at before deciding an observation is a new niche.
MERGE_CANDIDATES = 8


# Scores written per statement when a tenant's signals are rescored.
RESCORE_BATCH = 1000


# Below this a signal has decayed to nothing, and rescoring it changes nothing visible
# (unless it was seen within the window, as a new signal with no score yet is).
FADED_SCORE = 0.001


RESCORE_WINDOW = timedelta(days=30)


# Other keywords kept on a signal (what it was also called), newest last.
MAX_ALIASES = 20


@dataclass
class Observation:
    """A scraped trend with its embedding (None when the text could not be embedded)."""

    trend: ScrapedTrend
    embedding: list[float] | None


@dataclass
class UpsertReport:
    created: int = 0
    merged: int = 0
    # Signal ids this upsert touched, in the order first touched.
    touched: list[uuid.UUID] | None = None


async def lock_trends(session: AsyncSession, *, tenant_id: str) -> None:
    """Serialise a tenant's trend upserts until commit, so two scrapes never create the
    same niche twice under different keys."""
    await session.exec(select(func.pg_advisory_xact_lock(func.hashtext(f"trends:{tenant_id}"))))


async def upsert_observations(
    session: AsyncSession,
    *,
    tenant_id: str,
    observations: Sequence[Observation],
    model: str,
    threshold: float,
    now: datetime,
) -> UpsertReport:
    """Fold each observation into its niche's signal, or start a new signal.

    Same content words (`niche_key`) merge at once; otherwise the nearest signals by
    cosine are asked `same_niche`, which also refuses a one-content-word substitution.
    """
    await lock_trends(session, tenant_id=tenant_id)
    report = UpsertReport(touched=[])
    for observation in observations:
        keyword = normalise_keyword(observation.trend.keyword)
        if not keyword:
            continue
        signal = await _matching_signal(
            session,
            tenant_id=tenant_id,
            keyword=keyword,
            embedding=observation.embedding,
            model=model,
            threshold=threshold,
        )
        if signal is None:
            signal = TrendSignal(
                tenant_id=tenant_id,
                keyword=observation.trend.keyword[:200],
                normalized_keyword=keyword,
                niche_key=niche_key(keyword) or keyword,
                aliases=[],
                sources={},
                metrics={},
                embedding=observation.embedding,
                embedding_model=model if observation.embedding is not None else None,
                first_seen=now,
                last_seen=now,
            )
            session.add(signal)
            report.created += 1
        else:
            report.merged += 1
        _fold(signal, observation.trend, keyword, now)
        await session.flush()
        assert report.touched is not None
        if signal.id not in report.touched:
            report.touched.append(signal.id)
    return report


async def _matching_signal(
    session: AsyncSession,
    *,
    tenant_id: str,
    keyword: str,
    embedding: list[float] | None,
    model: str,
    threshold: float,
) -> TrendSignal | None:
    key = niche_key(keyword) or keyword
    query = select(TrendSignal).where(
        TrendSignal.tenant_id == tenant_id, TrendSignal.niche_key == key
    )
    found = (await session.exec(query)).first()
    if found is not None or embedding is None:
        return found
    neighbours = await nearest_signals(
        session, tenant_id=tenant_id, embedding=embedding, model=model, limit=MERGE_CANDIDATES
    )
    for candidate, similarity in neighbours:
        if similarity < threshold:
            continue
        if same_niche(keyword, candidate.normalized_keyword, similarity, threshold).same:
            return candidate
    return None


def _fold(signal: TrendSignal, trend: ScrapedTrend, keyword: str, now: datetime) -> None:
    """One observation into the signal: sources, metrics, aliases, counts, last seen."""
    sources = dict(signal.sources or {})
    seen = dict(sources.get(trend.source) or {"first_seen": now.isoformat(), "count": 0})
    seen["last_seen"] = now.isoformat()
    seen["count"] = int(seen.get("count", 0)) + 1
    if trend.url:
        seen["url"] = trend.url[:500]
    sources[trend.source] = seen
    signal.sources = sources
    signal.metrics = trend_score.merge_observation(dict(signal.metrics or {}), trend)
    aliases = list(signal.aliases or [])
    if keyword != signal.normalized_keyword and keyword not in aliases:
        aliases = [*aliases, keyword][-MAX_ALIASES:]
    signal.aliases = aliases
    signal.observations = (signal.observations or 0) + 1
    signal.last_seen = now


async def apply_competition(
    session: AsyncSession,
    *,
    tenant_id: str,
    competition: Sequence[tuple[uuid.UUID, Competition]],
    now: datetime,
) -> int:
    """Etsy's competition numbers into the signals they were looked up for."""
    updated = 0
    for signal_id, found in competition:
        signal = await session.get(TrendSignal, signal_id)
        if signal is None or signal.tenant_id != tenant_id:
            continue
        signal.metrics = trend_score.merge_competition(dict(signal.metrics or {}), found)
        sources = dict(signal.sources or {})
        seen = dict(sources.get("etsy") or {"first_seen": now.isoformat(), "count": 0})
        seen["last_seen"] = now.isoformat()
        seen["count"] = int(seen.get("count", 0)) + 1
        sources["etsy"] = seen
        signal.sources = sources
        updated += 1
    await session.flush()
    return updated


async def rescore(
    session: AsyncSession, *, tenant_id: str, now: datetime, since: datetime | None = None
) -> int:
    """Recompute the scores of the tenant's signals as of `now`: those seen since `since`,
    else every one that still has a score to lose. Reads only what the score needs (not
    the embeddings) and writes in batches."""
    query = sa_select(
        col(TrendSignal.id),
        col(TrendSignal.keyword),
        col(TrendSignal.metrics),
        col(TrendSignal.sources),
        col(TrendSignal.first_seen),
        col(TrendSignal.last_seen),
    ).where(col(TrendSignal.tenant_id) == tenant_id)
    if since is not None:
        query = query.where(col(TrendSignal.last_seen) >= since)
    else:
        # Long unseen signals decay to nothing; once there, they are left alone.
        query = query.where(
            or_(
                col(TrendSignal.score) > FADED_SCORE,
                col(TrendSignal.last_seen) >= now - RESCORE_WINDOW,
            )
        )
    rows = (await session.execute(query)).all()
    scored = []
    for signal_id, keyword, metrics, sources, first_seen, last_seen in rows:
        result = trend_score.score(
            trend_score.signal_metrics(
                dict(metrics or {}),
                sources=len([name for name in (sources or {}) if name != "etsy"]),
                first_seen=first_seen,
                last_seen=last_seen,
                keyword=keyword,
            ),
            now,
        )
        value = result.value if math.isfinite(result.value) else 0.0
        components = {**result.components, "scored_at": now.isoformat()}
        scored.append({"signal_id": signal_id, "value": value, "components": components})
    statement = (
        update(TrendSignal)
        .where(col(TrendSignal.id) == bindparam("signal_id"))
        .values(score=bindparam("value"), score_components=bindparam("components"))
    )
    connection = await session.connection()
    for start in range(0, len(scored), RESCORE_BATCH):
        await connection.execute(statement, scored[start : start + RESCORE_BATCH])
    # The ORM's copies of these rows (if any) must not overwrite the new scores.
    session.expire_all()
    return len(scored)


async def signals_needing_competition(
    session: AsyncSession,
    *,
    tenant_id: str,
    signal_ids: Sequence[uuid.UUID],
    measured_before: datetime,
    limit: int,
) -> list[TrendSignal]:
    """Of the signals a scrape touched, the best-scored ones whose Etsy numbers are older
    than `measured_before` (or missing), at most `limit` (each look-up spends Etsy quota)."""
    if not signal_ids or limit <= 0:
        return []
    etsy_seen = TrendSignal.sources["etsy"]["last_seen"].astext  # type: ignore[index]
    query = (
        select(TrendSignal)
        .where(
            TrendSignal.tenant_id == tenant_id,
            col(TrendSignal.id).in_(signal_ids),
            or_(etsy_seen.is_(None), etsy_seen < measured_before.isoformat()),
        )
        .order_by(col(TrendSignal.score).desc(), col(TrendSignal.id))
        .limit(limit)
    )
    return list((await session.exec(query)).all())
