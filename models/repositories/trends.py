"""Reading trend signals: one, a ranked list, and the nearest signals and briefs by
embedding through the HNSW indexes (ADR 0017).

Like every repository, its functions take the session and the tenant keyword-only and
none commits: the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, bindparam, cast, false, func, or_
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select as sa_select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import defer
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import HNSW_ITERATIVE_SCAN
from domain.niches import normalise_keyword
from models.repositories.errors import NotFoundError
from models.tables import Brief, TrendSignal

# The HNSW scan keeps going past filtered-out rows (other tenants, other embedders)
# until it has enough (pgvector >= 0.8), so a filtered nearest-neighbour query is not
# short; strict order keeps the answer nearest first, which the merge relies on. Every
# connection of `core.db.make_engine` has it set at start (no round trip per query).
ITERATIVE_SCAN = HNSW_ITERATIVE_SCAN


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
        pattern = f"%{escape_like(words)}%"
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


def escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def get_trend_signal(
    session: AsyncSession, *, tenant_id: str, signal_id: uuid.UUID
) -> TrendSignal:
    signal = await session.get(TrendSignal, signal_id)
    if signal is None or signal.tenant_id != tenant_id:
        raise NotFoundError("trend signal", signal_id)
    return signal
