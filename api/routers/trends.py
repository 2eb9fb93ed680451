"""Trend signals: ranked and filtered, one with its score explained, its nearest
neighbours, and a scrape on demand."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from api.auth import TrendsRead, TrendsWrite
from api.cached_reads import cached_page
from api.deps import ReadsDep, SessionDep, SettingsDep, TemporalDep
from api.hygiene import KnownQueryRoute
from api.schemas import ErrorBody, IsoDateTime
from api.trend_schemas import (
    ScrapeStarted,
    ScrapeView,
    SimilarTrend,
    SimilarTrends,
    TrendPage,
    TrendSignalPublic,
)
from api.trend_views import public_signal
from core.temporal import workflow_ui_url
from domain.niches import same_niche
from domain.trends import SourceName
from integrations.embeddings import threshold_for_model
from models import repositories
from models.requests import ScrapeRequest
from services import trends

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/trends", tags=["trends"])
NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such trend signal for this tenant"}
}


@router.get("", operation_id="list_trends", response_model=TrendPage)
async def list_trends(
    request: Request,
    reads: ReadsDep,
    principal: TrendsRead,
    source: Annotated[SourceName | None, Query()] = None,
    min_score: Annotated[float | None, Query(ge=0, le=100)] = None,
    since: Annotated[IsoDateTime | None, Query(description="Seen at or after (ISO 8601)")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The tenant's trend signals, best score first; filter by source, score, recency
    and keyword text (also matches the other names a signal was seen under)."""

    async def read() -> TrendPage:
        rows, count = await repositories.reads.signals_page(
            reads,
            tenant_id=principal.tenant_id,
            source=source,
            min_score=min_score,
            since=since,
            query_text=q,
            limit=limit,
            offset=offset,
        )
        return TrendPage(data=[public_signal(row) for row in rows], count=count)

    return await cached_page(
        request,
        table="trend_signals",
        tenant_id=principal.tenant_id,
        key=("page", source, min_score, since, q, limit, offset),
        read=read,
    )


@router.get(
    "/{signal_id}",
    operation_id="get_trend",
    response_model=TrendSignalPublic,
    responses=NOT_FOUND,
)
async def get_trend(
    signal_id: uuid.UUID, session: SessionDep, principal: TrendsRead
) -> TrendSignalPublic:
    """One signal: its sources, metrics and the components of its score."""
    signal = await repositories.trends.get_signal(
        session, tenant_id=principal.tenant_id, signal_id=signal_id
    )
    return public_signal(signal)


@router.get(
    "/{signal_id}/similar",
    operation_id="similar_trends",
    response_model=SimilarTrends,
    responses=NOT_FOUND,
)
async def similar_trends(
    request: Request,
    signal_id: uuid.UUID,
    reads: ReadsDep,
    settings: SettingsDep,
    principal: TrendsRead,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    """The nearest signals by embedding (HNSW index), with whether the merge rule would
    take each for the same niche and why."""

    async def read() -> SimilarTrends:
        signal, neighbours = await repositories.reads.similar_signals(
            reads, tenant_id=principal.tenant_id, signal_id=signal_id, limit=limit
        )
        threshold = threshold_for_model(settings, signal.embedding_model)
        data = []
        for other, similarity in neighbours:
            match = same_niche(
                signal.normalized_keyword, other.normalized_keyword, similarity, threshold
            )
            data.append(
                SimilarTrend(
                    signal=public_signal(other),
                    similarity=round(similarity, 4),
                    same_niche=match.same,
                    reason=match.reason,
                )
            )
        return SimilarTrends(signal_id=signal.id, embedding_model=signal.embedding_model, data=data)

    return await cached_page(
        request,
        table="trend_signals",
        tenant_id=principal.tenant_id,
        key=("similar", signal_id, limit),
        read=read,
    )


@router.post(
    "/scrape",
    operation_id="scrape_trends",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ScrapeStarted,
)
async def scrape_trends(
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: TrendsWrite,
    body: ScrapeRequest | None = None,
) -> ScrapeStarted:
    """Scrape the sources now (`TrendScrapeWorkflow`); the signals show in `GET /v1/trends`
    as it stores them. While one runs, asking again returns it (`started: false`)."""
    scrape = await trends.start_scrape(
        temporal=temporal,
        settings=settings,
        tenant_id=principal.tenant_id,
        body=body or ScrapeRequest(),
    )
    return ScrapeStarted(
        workflow_id=scrape.workflow_id,
        run_id=scrape.run_id,
        started=scrape.started,
        temporal_ui=workflow_ui_url(settings, scrape.workflow_id),
        self_url=f"/v1/trends/scrapes/{scrape.workflow_id}",
    )


@router.get(
    "/scrapes/{workflow_id}",
    operation_id="get_scrape",
    response_model=ScrapeView,
    responses={404: {"model": ErrorBody, "description": "No such scrape in this tenant"}},
)
async def get_scrape(
    workflow_id: Annotated[str, Path(min_length=1, max_length=200)],
    temporal: TemporalDep,
    settings: SettingsDep,
    principal: TrendsRead,
    run_id: Annotated[str | None, Query(max_length=64)] = None,
) -> ScrapeView:
    """A scrape, on demand or scheduled, by its workflow id (the latest run, or `run_id`):
    its status and, once completed, its report."""
    state = await trends.scrape_state(
        temporal=temporal, tenant_id=principal.tenant_id, workflow_id=workflow_id, run_id=run_id
    )
    return ScrapeView(
        workflow_id=state.workflow_id,
        run_id=state.run_id,
        status=state.status,  # type: ignore[arg-type]  # one of the Literal's values
        started_at=state.started_at,
        closed_at=state.closed_at,
        result=asdict(state.result) if state.result else None,
        temporal_ui=workflow_ui_url(settings, state.workflow_id),
    )
