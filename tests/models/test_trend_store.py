"""Trend signals in real Postgres with pgvector and the local embedder: merging, lists,
nearest neighbours and the HNSW plan.

Over 400 lines on purpose: the trend repositories' writes and reads, each against real
Postgres."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import bindparam, text
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import SessionFactory
from domain.trends import Competition, ScrapedTrend
from integrations.embeddings import LocalE5Embedder
from models import repositories
from models.repositories import NotFoundError
from models.repositories.trend_updates import Observation
from models.tables import TrendSignal

THRESHOLD = LocalE5Embedder.default_threshold
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def embedder() -> LocalE5Embedder:
    return LocalE5Embedder()


def tenant() -> str:
    return f"trends-{uuid.uuid4().hex[:10]}"


async def observe(
    sessions: SessionFactory,
    embedder: LocalE5Embedder,
    tenant_id: str,
    trends: list[ScrapedTrend],
    now: datetime = NOW,
) -> repositories.trend_updates.UpsertReport:
    batch = await embedder.embed([t.keyword.lower() for t in trends])
    async with sessions() as session:
        report = await repositories.trend_updates.upsert_observations(
            session,
            tenant_id=tenant_id,
            observations=[Observation(t, v) for t, v in zip(trends, batch.vectors, strict=True)],
            model=embedder.name,
            threshold=THRESHOLD,
            now=now,
        )
        await repositories.trend_updates.rescore(session, tenant_id=tenant_id, now=now)
        await session.commit()
    return report


async def all_signals(sessions: SessionFactory, tenant_id: str) -> dict[str, TrendSignal]:
    async with sessions() as session:
        rows, count = await repositories.trends.list_signals(
            session, tenant_id=tenant_id, limit=100, offset=0
        )
    assert count == len(rows)
    return {row.normalized_keyword: row for row in rows}


async def test_paraphrases_merge_and_one_word_near_misses_do_not(
    sessions: SessionFactory, embedder: LocalE5Embedder
) -> None:
    tenant_id = tenant()
    report = await observe(
        sessions,
        embedder,
        tenant_id,
        [
            ScrapedTrend("google_trends", "Funny Cat Mom Shirt", traffic=50_000),
            ScrapedTrend("pinterest", "cat mom funny", growth_pct=120, engagement=60),
            ScrapedTrend("reddit", "soccer mom", engagement=300),
            ScrapedTrend("pinterest", "hockey mom", growth_pct=40),
            ScrapedTrend("google_trends", "dog mom", traffic=2_000),
            ScrapedTrend("reddit", "dog dad", engagement=40),
        ],
    )
    signals = await all_signals(sessions, tenant_id)
    assert sorted(signals) == [
        "dog dad",
        "dog mom",
        "funny cat mom shirt",
        "hockey mom",
        "soccer mom",
    ]
    assert (report.created, report.merged) == (5, 1)
    cat = signals["funny cat mom shirt"]
    assert set(cat.sources or {}) == {"google_trends", "pinterest"}
    assert cat.aliases == ["cat mom funny"]
    assert cat.observations == 2
    assert cat.score > 0 and cat.score_components


async def test_the_same_data_again_merges_instead_of_duplicating(
    sessions: SessionFactory, embedder: LocalE5Embedder
) -> None:
    tenant_id = tenant()
    trends = [
        ScrapedTrend("google_trends", "retro camping dad", traffic=10_000),
        ScrapedTrend("reddit", "teacher appreciation", engagement=900),
    ]
    first = await observe(sessions, embedder, tenant_id, trends)
    second = await observe(sessions, embedder, tenant_id, trends, NOW + timedelta(hours=6))
    assert (first.created, first.merged) == (2, 0)
    assert (second.created, second.merged) == (0, 2)
    signals = await all_signals(sessions, tenant_id)
    assert len(signals) == 2
    camping = signals["retro camping dad"]
    assert camping.observations == 2
    assert camping.last_seen == NOW + timedelta(hours=6)
    assert camping.first_seen == NOW
    assert (camping.sources or {})["google_trends"]["count"] == 2


async def test_a_narrower_niche_merges_only_above_the_threshold(
    sessions: SessionFactory, embedder: LocalE5Embedder
) -> None:
    tenant_id = tenant()
    await observe(sessions, embedder, tenant_id, [ScrapedTrend("reddit", "cat mom")])
    await observe(
        sessions,
        embedder,
        tenant_id,
        [ScrapedTrend("reddit", "black cat mom"), ScrapedTrend("reddit", "cat")],
    )
    vectors = (await embedder.embed(["cat mom", "black cat mom", "cat"])).vectors

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    signals = await all_signals(sessions, tenant_id)
    # Whichever way the model leans, the store follows the rule's threshold exactly.
    assert ("black cat mom" in signals) == (cos(vectors[0], vectors[1]) < THRESHOLD)
    assert ("cat" in signals) == (cos(vectors[0], vectors[2]) < THRESHOLD)


async def test_lists_filter_by_source_score_time_and_text(
    sessions: SessionFactory, embedder: LocalE5Embedder
) -> None:
    tenant_id = tenant()
    await observe(
        sessions,
        embedder,
        tenant_id,
        [
            ScrapedTrend("google_trends", "pickleball grandpa", traffic=200_000),
            ScrapedTrend("pinterest", "mushroom cottagecore", growth_pct=300, engagement=80),
        ],
        NOW - timedelta(days=3),
    )
    await observe(sessions, embedder, tenant_id, [ScrapedTrend("reddit", "axolotl lover 100%_off")])
    async with sessions() as session:
        by_source, count = await repositories.trends.list_signals(
            session, tenant_id=tenant_id, source="pinterest", limit=10, offset=0
        )
        assert [s.normalized_keyword for s in by_source] == ["mushroom cottagecore"]
        recent, _ = await repositories.trends.list_signals(
            session, tenant_id=tenant_id, since=NOW - timedelta(hours=1), limit=10, offset=0
        )
        assert [s.normalized_keyword for s in recent] == ["axolotl lover 100 off"]
        text_match, _ = await repositories.trends.list_signals(
            session, tenant_id=tenant_id, query_text="GRANDPA", limit=10, offset=0
        )
        assert [s.normalized_keyword for s in text_match] == ["pickleball grandpa"]
        # LIKE wildcards in the text are taken literally.
        assert (
            await repositories.trends.list_signals(
                session, tenant_id=tenant_id, query_text="%", limit=10, offset=0
            )
        )[1] == 0
        everything, total = await repositories.trends.list_signals(
            session, tenant_id=tenant_id, limit=10, offset=0
        )
        scores = [s.score for s in everything]
        assert total == 3 and scores == sorted(scores, reverse=True)
        top = scores[0]
        best, _ = await repositories.trends.list_signals(
            session, tenant_id=tenant_id, min_score=top, limit=10, offset=0
        )
        assert [s.score for s in best] == [top]
    assert count == 1


async def test_similar_signals_are_the_nearest_of_the_same_tenant(
    sessions: SessionFactory, embedder: LocalE5Embedder
) -> None:
    tenant_id, other_tenant = tenant(), tenant()
    await observe(
        sessions,
        embedder,
        tenant_id,
        [
            ScrapedTrend("reddit", "hiking dog dad"),
            ScrapedTrend("reddit", "camping dog dad"),
            ScrapedTrend("reddit", "quantum physics textbook"),
        ],
    )
    await observe(sessions, embedder, other_tenant, [ScrapedTrend("reddit", "hiking dog daddy")])
    signals = await all_signals(sessions, tenant_id)
    hiking = signals["hiking dog dad"]
    async with sessions() as session:
        signal, neighbours = await repositories.trends.similar_signals(
            session,
            tenant_id=tenant_id,
            signal_id=hiking.id,
            limit=5,
        )
    assert signal.id == hiking.id
    names = [n.normalized_keyword for n, _ in neighbours]
    assert names == ["camping dog dad", "quantum physics textbook"]
    similarities = [similarity for _, similarity in neighbours]
    assert similarities == sorted(similarities, reverse=True) and similarities[0] > 0.8
    async with sessions() as session:
        _, nearest = await repositories.trends.similar_signals(
            session, tenant_id=tenant_id, signal_id=hiking.id, limit=1
        )
        assert [n.normalized_keyword for n, _ in nearest] == ["camping dog dad"]
        with pytest.raises(NotFoundError):  # another tenant's signal is not found
            await repositories.trends.similar_signals(
                session, tenant_id=other_tenant, signal_id=hiking.id, limit=5
            )
        with pytest.raises(NotFoundError):
            await repositories.trends.similar_signals(
                session, tenant_id=tenant_id, signal_id=uuid.uuid4(), limit=5
            )


async def test_a_signal_never_embedded_or_among_exact_copies_is_still_answered(
    sessions: SessionFactory, embedder: LocalE5Embedder
) -> None:
    """The signal normally comes back as its own nearest; when it does not, it is read
    on its own: never embedded (no neighbours), or crowded out by exact copies."""
    tenant_id = tenant()
    await observe(sessions, embedder, tenant_id, [ScrapedTrend("reddit", "otter pun")])
    otter = (await all_signals(sessions, tenant_id))["otter pun"]
    async with sessions() as session:
        copies = [
            TrendSignal(
                tenant_id=tenant_id,
                keyword=f"otter pun copy {n}",
                normalized_keyword=f"otter pun copy {n}",
                niche_key=f"otter pun copy {n}",
                embedding=None,
                embedding_model=otter.embedding_model,
                first_seen=NOW,
                last_seen=NOW,
            )
            for n in range(4)
        ]
        session.add_all(copies)
        await session.flush()
        await session.execute(
            text(
                "UPDATE trend_signals SET embedding = (SELECT embedding FROM trend_signals"
                " WHERE id = :otter) WHERE tenant_id = :tenant AND id <> :otter"
            ),
            {"otter": otter.id, "tenant": tenant_id},
        )
        bare = TrendSignal(
            tenant_id=tenant_id,
            keyword="never embedded",
            normalized_keyword="never embedded",
            niche_key="never embedded",
            first_seen=NOW,
            last_seen=NOW,
        )
        session.add(bare)
        await session.commit()
    async with sessions() as session:
        signal, neighbours = await repositories.trends.similar_signals(
            session, tenant_id=tenant_id, signal_id=otter.id, limit=2
        )
        assert signal.id == otter.id and len(neighbours) == 2
        assert {n.id for n, _ in neighbours} <= {c.id for c in copies}
        assert all(similarity == pytest.approx(1.0) for _, similarity in neighbours)
        signal, neighbours = await repositories.trends.similar_signals(
            session, tenant_id=tenant_id, signal_id=bare.id, limit=5
        )
        assert signal.id == bare.id and neighbours == []


async def test_a_signal_crowded_out_of_its_own_answer_is_read_on_its_own(
    sessions: SessionFactory, embedder: LocalE5Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exact copies tie with the signal at distance 0 in an order HNSW does not fix, so
    here the query is made to leave the signal out, and the fallback must answer."""
    tenant_id = tenant()
    keywords = ["otter pun", "cat yoga", "retro camper van"]
    await observe(sessions, embedder, tenant_id, [ScrapedTrend("reddit", k) for k in keywords])
    otter = (await all_signals(sessions, tenant_id))["otter pun"]
    route_query = repositories.trends.similar_query
    reads: list[uuid.UUID] = []
    real_get_signal = repositories.trends.get_signal

    def without_itself() -> Any:
        return route_query().where(col(TrendSignal.id) != bindparam("signal_id"))

    async def counted_get_signal(
        session: AsyncSession, *, tenant_id: str, signal_id: uuid.UUID
    ) -> TrendSignal:
        reads.append(signal_id)
        return await real_get_signal(session, tenant_id=tenant_id, signal_id=signal_id)

    async with sessions() as session:
        signal, neighbours = await repositories.trends.similar_signals(
            session, tenant_id=tenant_id, signal_id=otter.id, limit=1
        )
        assert reads == [] and signal.id == otter.id and len(neighbours) == 1  # one query
        monkeypatch.setattr(repositories.trends, "similar_query", without_itself)
        monkeypatch.setattr(repositories.trends, "get_signal", counted_get_signal)
        signal, neighbours = await repositories.trends.similar_signals(
            session, tenant_id=tenant_id, signal_id=otter.id, limit=2
        )
    assert reads == [otter.id] and signal.keyword == "otter pun"
    assert sorted(n.keyword for n, _ in neighbours) == ["cat yoga", "retro camper van"]


async def test_competition_is_folded_in_and_lowers_the_score(
    sessions: SessionFactory, embedder: LocalE5Embedder
) -> None:
    tenant_id = tenant()
    await observe(
        sessions,
        embedder,
        tenant_id,
        [
            ScrapedTrend("pinterest", "frog wizard", growth_pct=200, engagement=70),
            ScrapedTrend("pinterest", "goblin mode", growth_pct=200, engagement=70),
        ],
    )
    signals = await all_signals(sessions, tenant_id)
    frog, goblin = signals["frog wizard"], signals["goblin mode"]
    assert frog.score == goblin.score
    async with sessions() as session:
        needing = await repositories.trend_updates.signals_needing_competition(
            session,
            tenant_id=tenant_id,
            signal_ids=[frog.id, goblin.id],
            measured_before=NOW,
            limit=5,
        )
        assert {s.id for s in needing} == {frog.id, goblin.id}
        await repositories.trend_updates.apply_competition(
            session,
            tenant_id=tenant_id,
            competition=[(frog.id, Competition("frog wizard", listing_count=250_000))],
            now=NOW,
        )
        await repositories.trend_updates.rescore(session, tenant_id=tenant_id, now=NOW)
        await session.commit()
        measured = await repositories.trend_updates.signals_needing_competition(
            session,
            tenant_id=tenant_id,
            signal_ids=[frog.id, goblin.id],
            measured_before=NOW - timedelta(hours=1),
            limit=5,
        )
        assert [s.id for s in measured] == [goblin.id]
    signals = await all_signals(sessions, tenant_id)
    assert signals["frog wizard"].score < signals["goblin mode"].score
    assert (signals["frog wizard"].score_components or {})["competition"] < 0


async def test_the_similar_query_walks_the_hnsw_index(
    sessions: SessionFactory, embedder: LocalE5Embedder
) -> None:
    """The nearest-neighbour query of `GET /v1/trends/{id}/similar` uses the HNSW index
    (and not a sort of every row) once the table is big enough for the planner to care."""
    tenant_id = tenant()
    vector = (await embedder.embed(["plant mom"])).vectors[0]
    async with sessions() as session:
        # 3000 rows in one statement: random unit vectors from Postgres itself.
        await session.execute(
            text(
                "INSERT INTO trend_signals (id, tenant_id, keyword, normalized_keyword, niche_key,"
                " observations, score, embedding, embedding_model, first_seen, last_seen)"
                " SELECT gen_random_uuid(), :tenant, 'kw ' || g, 'kw ' || g, 'kw ' || g, 1, 0,"
                " (SELECT array_agg(random() - 0.5) FROM generate_series(1, 384)"
                "  WHERE g > 0)::vector, :model, now(), now()"
                " FROM generate_series(1, 3000) AS g"
            ),
            {"tenant": tenant_id, "model": embedder.name},
        )
        await session.execute(text("ANALYZE trend_signals"))
        plan = await repositories.trends.explain_nearest(
            session, tenant_id=tenant_id, embedding=vector, model=embedder.name, limit=10
        )
        stored = (
            await session.execute(
                text("SELECT id FROM trend_signals WHERE tenant_id = :tenant LIMIT 1"),
                {"tenant": tenant_id},
            )
        ).scalar_one()
        similar_plan = await repositories.trends.explain_similar(
            session, tenant_id=tenant_id, signal_id=stored, limit=11
        )
        await session.rollback()
    for shown in (plan, similar_plan):
        assert "ix_trend_signals_embedding_hnsw" in shown, shown
        assert "Sort" not in shown.split("Index Scan using ix_trend_signals_embedding")[0], shown


async def test_every_connection_scans_hnsw_iteratively_in_strict_order(
    sessions: SessionFactory,
) -> None:
    """Set at connection start (no round trip per query): filtered nearest-neighbour
    queries keep scanning until they have their rows, and answer nearest first."""
    async with sessions() as session:
        await session.execute(text("SELECT '[1,2,3]'::vector"))  # pgvector loaded
        shown = (await session.execute(text("SHOW hnsw.iterative_scan"))).scalar_one()
    assert shown == repositories.trends.ITERATIVE_SCAN == "strict_order"
