"""Trend signals in Postgres: upsert with niche merging, ranked lists, nearest neighbours.

Every function takes the session and the tenant keyword-only and none commits. Similarity
is pgvector's cosine distance (`<=>`) through the HNSW index; vectors are compared only
with vectors of the same embedder (`embedding_model`).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, false, func, or_, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sa_select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import defer
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import HNSW_ITERATIVE_SCAN
from domain import trend_score
from domain.niches import niche_key, normalise_keyword, same_niche
from domain.trends import Competition, ScrapedTrend
from models.repositories import NotFoundError
from models.tables import Brief, TrendSignal

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
# The HNSW scan keeps going past filtered-out rows (other tenants, other embedders)
# until it has enough (pgvector >= 0.8), so a filtered nearest-neighbour query is not
# short; strict order keeps the answer nearest first, which the merge relies on. Every
# connection of `core.db.make_engine` has it set at start (no round trip per query).
ITERATIVE_SCAN = HNSW_ITERATIVE_SCAN


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


def _column(table: type[TrendSignal] | type[Brief]) -> Any:
    """A table's `embedding` column, whose comparator has pgvector's distance operators."""
    return sa_inspect(table).columns["embedding"]


def cosine(distance: float | None) -> float:
    return 1.0 - float(distance) if distance is not None else 0.0


def _without_vector() -> Any:
    """Leave a signal's embedding in Postgres: parsing 384 floats a row is wasted work when
    nothing reads it (reading it anyway raises instead of querying again)."""
    return defer(TrendSignal.embedding, raiseload=True)  # type: ignore[arg-type]


def _nearest_query(
    tenant_id: str | ColumnElement[Any],
    embedding: Sequence[float] | ColumnElement[Any],
    model: str | ColumnElement[Any],
    limit: int | ColumnElement[Any],
    exclude: uuid.UUID | None,
) -> Any:
    distance = _column(TrendSignal).cosine_distance(embedding)
    query = (
        select(TrendSignal, distance.label("distance"))
        .where(TrendSignal.tenant_id == tenant_id, TrendSignal.embedding_model == model)
        .order_by(distance)
        .limit(limit)
        .options(_without_vector())
    )
    if exclude is not None:
        query = query.where(TrendSignal.id != exclude)
    return query


async def nearest_signals(
    session: AsyncSession,
    *,
    tenant_id: str,
    embedding: Sequence[float],
    model: str,
    limit: int,
    exclude: uuid.UUID | None = None,
) -> list[tuple[TrendSignal, float]]:
    """The tenant's signals nearest to `embedding` (same embedder), with cosine similarity."""
    query = _nearest_query(tenant_id, embedding, model, limit, exclude)
    rows = (await session.exec(query)).all()
    return [(signal, cosine(distance_value)) for signal, distance_value in rows]


class _Explain(Executable, ClauseElement):
    """`EXPLAIN <query>`, with the query's parameters bound as usual."""

    inherit_cache = False

    def __init__(self, statement: Any) -> None:
        self.statement = statement


@compiles(_Explain, "postgresql")
def _compile_explain(element: _Explain, compiler: Any, **kw: Any) -> str:
    return "EXPLAIN " + str(compiler.process(element.statement, **kw))


@cache
def similar_query() -> Any:
    """The nearest signals to a stored signal, itself included (at distance 0), with the
    bind parameters `tenant_id`, `signal_id` and `limit` (`similar_params`).

    Built once: making the expression anew cost more of the route's time than
    Postgres's walk of the index did."""
    own = sa_select(col(TrendSignal.id)).where(*_this_signal())
    own_vector = own.with_only_columns(_column(TrendSignal)).scalar_subquery()
    own_model = own.with_only_columns(col(TrendSignal.embedding_model)).scalar_subquery()
    limit = bindparam("limit", type_=Integer)
    return _nearest_query(bindparam("tenant_id", type_=String), own_vector, own_model, limit, None)


def _this_signal() -> tuple[ColumnElement[bool], ...]:
    """The signal `signal_id` of the tenant `tenant_id` (bind parameters)."""
    return (
        col(TrendSignal.id) == bindparam("signal_id"),
        col(TrendSignal.tenant_id) == bindparam("tenant_id"),
    )


def similar_params(tenant_id: str, signal_id: uuid.UUID, limit: int) -> dict[str, Any]:
    """`similar_query`'s parameters for the `limit` nearest to this signal."""
    return {"tenant_id": tenant_id, "signal_id": signal_id, "limit": limit}


async def explain_similar(
    session: AsyncSession, *, tenant_id: str, signal_id: uuid.UUID, limit: int
) -> str:
    """Postgres's plan for `similar_signals` (a test checks it walks the HNSW index)."""
    params = similar_params(tenant_id, signal_id, limit)
    rows = (await session.execute(_Explain(similar_query()), params)).all()
    return "\n".join(str(row[0]) for row in rows)


async def explain_nearest(
    session: AsyncSession,
    *,
    tenant_id: str,
    embedding: Sequence[float],
    model: str,
    limit: int,
) -> str:
    """Postgres's plan for `nearest_signals` (a test checks it walks the HNSW index)."""
    query = _nearest_query(tenant_id, embedding, model, limit, None)
    rows = (await session.execute(_Explain(query))).all()
    return "\n".join(str(row[0]) for row in rows)


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
    for signal_id, metrics, sources, first_seen, last_seen in rows:
        result = trend_score.score(
            trend_score.signal_metrics(
                dict(metrics or {}),
                sources=len([name for name in (sources or {}) if name != "etsy"]),
                first_seen=first_seen,
                last_seen=last_seen,
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


async def get_signal(session: AsyncSession, *, tenant_id: str, signal_id: uuid.UUID) -> TrendSignal:
    """One of the tenant's signals, without its embedding."""
    params = {"signal_id": signal_id, "tenant_id": tenant_id}
    signal = (await session.exec(_signal_query(), params=params)).first()
    if signal is None:
        raise NotFoundError("trend signal", signal_id)
    return signal


@cache
def _signal_query() -> Any:
    """`get_signal`'s query, built once (like `similar_query`)."""
    return select(TrendSignal).where(*_this_signal()).options(_without_vector())


async def list_signals(
    session: AsyncSession,
    *,
    tenant_id: str,
    source: str | None = None,
    min_score: float | None = None,
    since: datetime | None = None,
    query_text: str | None = None,
    limit: int,
    offset: int,
    with_vectors: bool = False,
) -> tuple[Sequence[TrendSignal], int]:
    """A page of the tenant's signals, best score first, and the total that match; their
    embeddings only `with_vectors`."""
    where: list[Any] = [TrendSignal.tenant_id == tenant_id]
    if source is not None:
        where.append(col(TrendSignal.sources).has_key(source))  # type: ignore[attr-defined]
    if min_score is not None:
        where.append(TrendSignal.score >= min_score)
    if since is not None:
        where.append(TrendSignal.last_seen >= since)
    if query_text is not None:
        # Keywords are stored normalised; text with no letters or digits matches nothing.
        words = normalise_keyword(query_text)
        pattern = f"%{_escape_like(words)}%"
        where.append(
            or_(
                col(TrendSignal.normalized_keyword).ilike(pattern, escape="\\"),
                cast(TrendSignal.aliases, String).ilike(pattern, escape="\\"),
            )
            if words
            else false()
        )
    query = (
        select(TrendSignal)
        .where(*where)
        .order_by(col(TrendSignal.score).desc(), col(TrendSignal.last_seen).desc())
        .order_by(col(TrendSignal.id))
        .limit(limit)
        .offset(offset)
    )
    if not with_vectors:
        query = query.options(_without_vector())
    rows = (await session.exec(query)).all()
    total = (await session.exec(select(func.count()).select_from(TrendSignal).where(*where))).one()
    return rows, int(total)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def similar_signals(
    session: AsyncSession, *, tenant_id: str, signal_id: uuid.UUID, limit: int
) -> tuple[TrendSignal, list[tuple[TrendSignal, float]]]:
    """A signal and its nearest neighbours of the same embedder (HNSW), most similar first.

    One round trip as a rule: the signal's vector and embedder stay in Postgres (scalar
    subqueries), and the signal, nearest to itself, comes back with its neighbours. Only
    when it is not among them (unknown, never embedded, or crowded out by exact copies)
    is it read on its own."""
    params = similar_params(tenant_id, signal_id, limit + 1)
    rows = (await session.exec(similar_query(), params=params)).all()
    signal = next((row for row, _ in rows if row.id == signal_id), None)
    if signal is None:
        signal = await get_signal(session, tenant_id=tenant_id, signal_id=signal_id)
    others = [(other, cosine(distance)) for other, distance in rows if other.id != signal_id]
    return signal, others[:limit]


async def nearest_briefs(
    session: AsyncSession,
    *,
    tenant_id: str,
    embedding: Sequence[float],
    model: str,
    limit: int,
) -> list[tuple[Brief, float]]:
    """The tenant's briefs nearest to `embedding` (same embedder), with cosine similarity."""
    distance = _column(Brief).cosine_distance(embedding)
    query = (
        select(Brief, distance.label("distance"))
        .where(
            Brief.tenant_id == tenant_id,
            Brief.embedding_model == model,
            Brief.status != "refused",
        )
        .order_by(distance)
        .limit(limit)
    )
    rows = (await session.exec(query)).all()
    return [(brief, cosine(distance_value)) for brief, distance_value in rows]
