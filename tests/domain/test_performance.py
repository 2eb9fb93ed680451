"""A niche's `performance` from its listings' orders against the shop's norm (issue 16)."""

from __future__ import annotations

from domain.performance import ListingSales, niche_performance
from domain.trend_score import SignalMetrics, score
from models.tables import utcnow


def test_a_niche_that_sold_rises_and_one_that_did_not_sinks() -> None:
    found = niche_performance(
        [
            ListingSales("cat mom", orders=3, age_hours=10),
            ListingSales("dog dad", orders=0, age_hours=100),
            ListingSales("dog dad", orders=1, age_hours=100),
            ListingSales("owl nurse", orders=0, age_hours=100),
            ListingSales("fox chef", orders=0, age_hours=5),  # too young to count
        ],
        min_age_hours=72,
    )
    assert set(found) == {"cat mom", "dog dad", "owl nurse"}
    norm = (3 + 0 + 1 + 0) / 4
    assert found["cat mom"].performance == round((3 - norm) / 3, 3) > 0
    assert found["dog dad"].performance == round((0.5 - norm) / norm, 3) < 0
    assert found["owl nurse"].performance == -1.0
    assert (found["dog dad"].listings, found["dog dad"].orders, found["dog dad"].norm) == (2, 1, 1)


def test_nothing_is_known_before_anything_sold_or_had_its_chance() -> None:
    assert niche_performance([ListingSales("a", 0, 5)], min_age_hours=72) == {}
    unsold = niche_performance([ListingSales("a", 0, 80), ListingSales("b", 0, 90)], 72)
    assert {niche: p.performance for niche, p in unsold.items()} == {"a": 0.0, "b": 0.0}


def test_performance_moves_the_score_both_ways() -> None:
    now = utcnow()

    def scored(performance: float | None) -> float:
        metrics = SignalMetrics(
            traffic=5000,
            growth_pct=None,
            engagement=60,
            competition=None,
            seasonal=False,
            sources=1,
            observations=1,
            first_seen=now,
            last_seen=now,
            performance=performance,
        )
        return score(metrics, now).components["performance"]

    assert scored(0.5) > scored(None) == 0.0 > scored(-1.0)
