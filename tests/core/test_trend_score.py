"""Trend score: the formula's points, its bounds, and how stored metrics fold observations.

Over 400 lines on purpose: each point of the score, case by case, beside the rule it
checks."""

from __future__ import annotations

import json
import math
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.trend_score import (
    DEFAULT_WEIGHTS,
    ScoreWeights,
    SignalMetrics,
    merge_competition,
    merge_observation,
    score,
    signal_metrics,
)
from domain.trends import Competition, ScrapedTrend

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
COMPONENTS = (
    "growth",
    "volume",
    "engagement",
    "breadth",
    "seasonality",
    "performance",
    "competition",
    "recency",
)


def metrics(**changes: Any) -> SignalMetrics:
    """A middling signal seen an hour ago by two sources; `changes` override fields."""
    base = SignalMetrics(
        traffic=20_000,
        growth_pct=150,
        engagement=40,
        competition=5_000,
        seasonal=False,
        sources=2,
        observations=3,
        first_seen=NOW - timedelta(days=2),
        last_seen=NOW - timedelta(hours=1),
    )
    return replace(base, **changes)


def value(**changes: Any) -> float:
    return score(metrics(**changes), NOW).value


# --- the formula ---------------------------------------------------------------------------


def test_a_hand_computed_example() -> None:
    m = metrics(
        traffic=None,
        growth_pct=1_000,  # the growth cap: 30 points
        engagement=50,  # half the index: 20 * 0.5 = 10
        sources=2,  # half the breadth: 15 * 0.5 = 7.5
        seasonal=True,  # 10
        competition=1_000_000,  # the listings cap: loses 0.5 of 57.5 = -28.75
        last_seen=NOW - timedelta(hours=72),  # one half-life: loses half of 28.75
    )
    result = score(m, NOW)
    assert result.components == {
        "growth": 30.0,
        "volume": 0.0,
        "engagement": 10.0,
        "breadth": 7.5,
        "seasonality": 10.0,
        "performance": 0.0,
        "competition": -28.75,
        "recency": -14.375,
    }
    assert result.value == 14.375


def test_volume_is_a_log_of_traffic() -> None:
    # 25 * log1p(100 / 100) / log1p(1e6 / 100) = 25 * 0.693147 / 9.210440 = 1.881
    assert score(metrics(traffic=100), NOW).components["volume"] == 1.881
    assert score(metrics(traffic=1_000_000), NOW).components["volume"] == 25.0
    assert score(metrics(traffic=5_000_000), NOW).components["volume"] == 25.0


@pytest.mark.parametrize(
    "m",
    [
        metrics(),
        metrics(seasonal=True, sources=3, performance=0.7),
        metrics(performance=-1, competition=2_000_000, last_seen=NOW - timedelta(days=9)),
        metrics(traffic=None, growth_pct=None, engagement=None, competition=None),
        metrics(traffic=3_333.3, growth_pct=77.7, engagement=12.3, competition=123_457),
    ],
)
def test_components_add_up_to_the_value(m: SignalMetrics) -> None:
    result = score(m, NOW)
    assert tuple(result.components) == COMPONENTS
    assert result.value == round(sum(result.components.values()), 3)
    assert result.components["competition"] <= 0 and result.components["recency"] <= 0
    # Rounding never shows a fresh signal gaining or losing points to recency.
    assert score(replace(m, last_seen=NOW), NOW).components["recency"] == 0.0


def test_random_signals_keep_every_invariant() -> None:
    rng = random.Random(18)  # fixed: a failure reproduces
    pick = (None, math.nan, -1.0, 0.0, 1e308)
    for _ in range(2_000):
        m = metrics(
            traffic=rng.choice((*pick, rng.uniform(0, 5e6))),
            growth_pct=rng.choice((*pick, rng.uniform(-100, 10_001))),
            engagement=rng.choice((*pick, rng.uniform(0, 120))),
            competition=rng.choice((None, 0, rng.randrange(10**7))),
            seasonal=rng.random() < 0.5,
            sources=rng.randrange(5),
            performance=rng.choice((None, math.nan, rng.uniform(-2, 2))),
            last_seen=NOW - timedelta(hours=rng.uniform(-24, 24 * 60)),
        )
        result = score(m, NOW)
        assert 0.0 <= result.value <= 100.0
        assert result.value == round(sum(result.components.values()), 3)
        assert result.components["competition"] <= 0 and result.components["recency"] <= 0
        assert all(result.components[name] >= 0 for name in COMPONENTS[:5])


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ({"traffic": 1_000}, {"traffic": 100_000}),
        ({"growth_pct": 20}, {"growth_pct": 400}),
        ({"engagement": 10}, {"engagement": 80}),
        ({"competition": 500_000}, {"competition": 2_000}),
        ({"last_seen": NOW - timedelta(days=5)}, {"last_seen": NOW - timedelta(days=1)}),
        ({"seasonal": False}, {"seasonal": True}),
        ({"sources": 1}, {"sources": 2}),
        ({"sources": 2}, {"sources": 3}),
        ({"performance": -0.5}, {"performance": None}),
        ({"performance": None}, {"performance": 0.5}),
    ],
)
def test_orderings(lower: dict[str, Any], higher: dict[str, Any]) -> None:
    assert value(**lower) < value(**higher)


def test_missing_metrics_are_neutral() -> None:
    empty = metrics(traffic=None, growth_pct=None, engagement=None, competition=None, sources=1)
    assert score(empty, NOW).value == 0.0
    # Missing is the same as nothing, never below it.
    assert value(traffic=None) == value(traffic=0)
    assert value(growth_pct=None) == value(growth_pct=0)
    assert value(competition=None) == value(competition=0)
    assert value(performance=None) == value(performance=0)
    result = score(metrics(traffic=None, engagement=None), NOW)
    assert all(result.components[name] >= 0 for name in COMPONENTS[:5])
    # Competition takes a share of demand: a signal with no demand loses nothing.
    assert score(replace(empty, competition=10**7), NOW).components["competition"] == 0.0


def test_falling_growth_earns_nothing_and_takes_nothing() -> None:
    assert score(metrics(growth_pct=-60), NOW).components["growth"] == 0.0
    assert value(growth_pct=-60) == value(growth_pct=None)


def test_everything_saturated_is_100_and_performance_cannot_pass_it() -> None:
    best = metrics(
        traffic=10**7,
        growth_pct=10_000,
        engagement=100,
        seasonal=True,
        sources=3,
        competition=None,
        last_seen=NOW,
        performance=1,
    )
    assert score(best, NOW).value == 100.0
    assert score(best, NOW).components["performance"] == 0.0


def test_performance_scales_demand_by_its_share() -> None:
    plain = score(metrics(competition=None, last_seen=NOW), NOW)
    flop = score(metrics(competition=None, last_seen=NOW, performance=-1), NOW)
    assert flop.components["performance"] == pytest.approx(-plain.value / 2, abs=0.002)
    assert flop.value == pytest.approx(plain.value / 2, abs=0.002)


def test_recency_halves_per_half_life_and_ignores_the_future() -> None:
    fresh = value(last_seen=NOW)
    assert value(last_seen=NOW - timedelta(days=6)) == pytest.approx(fresh / 4, abs=0.002)
    assert value(last_seen=NOW + timedelta(days=1)) == fresh
    quick = ScoreWeights(half_life_hours=24)
    assert score(metrics(last_seen=NOW - timedelta(days=1)), NOW, quick).value == pytest.approx(
        fresh / 2, abs=0.002
    )


def test_naive_datetimes_are_utc() -> None:
    naive = metrics(last_seen=(NOW - timedelta(hours=1)).replace(tzinfo=None))
    assert score(naive, NOW.replace(tzinfo=None)).value == value()
    assert score(naive, NOW).value == value()


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -5.0, 1e308])
def test_hostile_numbers_give_a_finite_bounded_score(bad: float) -> None:
    m = metrics(
        traffic=bad,
        growth_pct=bad,
        engagement=bad,
        competition=bad,
        sources=bad,
        performance=bad,
        observations=bad,
    )
    result = score(m, NOW)
    assert math.isfinite(result.value)
    assert 0.0 <= result.value <= 100.0
    assert all(math.isfinite(v) for v in result.components.values())
    assert result.value == round(sum(result.components.values()), 3)


def test_ancient_signals_score_zero_not_nan() -> None:
    old = metrics(last_seen=datetime(1, 1, 1, tzinfo=UTC))
    assert score(old, NOW).value == 0.0


@pytest.mark.parametrize(
    "weights",
    [
        {"growth": -1},
        {"volume": math.nan},
        {"growth": 60, "volume": 60},
        {"competition": 1.5},
        {"performance": 2},
        {"half_life_hours": 0},
        {"half_life_hours": math.inf},
    ],
)
def test_weights_that_break_the_bounds_are_refused(weights: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ScoreWeights(**weights)


def test_default_weights_fill_exactly_100_points() -> None:
    w = DEFAULT_WEIGHTS
    assert w.growth + w.volume + w.engagement + w.breadth + w.seasonality == 100


# --- the stored metrics --------------------------------------------------------------------


def observe(source: str, at: datetime | None = None, **numbers: Any) -> ScrapedTrend:
    if at is not None:
        numbers["observed_at"] = at.isoformat()
    return ScrapedTrend(source=source, keyword="cat mom", **numbers)


def fold(*trends: ScrapedTrend) -> dict[str, Any]:
    stored: dict[str, Any] = {}
    for trend in trends:
        stored = merge_observation(stored, trend)
    return stored


def test_traffic_keeps_the_max_of_the_recent_week() -> None:
    day = NOW - timedelta(days=10)
    stored = fold(
        observe("google_trends", day, traffic=500_000),
        observe("google_trends", day + timedelta(days=1), traffic=20_000),
    )
    assert stored["by_source"]["google_trends"]["traffic"] == 500_000
    stored = merge_observation(
        stored, observe("google_trends", day + timedelta(days=9), traffic=20_000)
    )
    assert stored["by_source"]["google_trends"]["traffic"] == 20_000  # the spike has aged out
    assert stored["by_source"]["google_trends"]["n"] == 3
    assert stored["observations"] == 3


def test_growth_is_the_latest_and_engagement_the_max() -> None:
    stored = fold(
        observe("pinterest", NOW - timedelta(days=2), growth_pct=900, engagement=80),
        observe("pinterest", NOW - timedelta(days=1), growth_pct=120, engagement=60),
        observe("pinterest", NOW - timedelta(days=3), growth_pct=5_000),  # older: not latest
    )
    entry = stored["by_source"]["pinterest"]
    assert entry["growth_pct"] == 120
    assert entry["engagement"] == 80
    assert entry["at"] == (NOW - timedelta(days=1)).isoformat()


def test_an_observation_without_a_time_takes_at_or_merges_by_max() -> None:
    stored = merge_observation({}, observe("reddit", engagement=300), at=NOW)
    assert stored["by_source"]["reddit"]["at"] == NOW.isoformat()
    stored = merge_observation(stored, observe("reddit", engagement=900))
    stored = merge_observation(stored, observe("reddit", engagement=100))
    assert stored["by_source"]["reddit"]["engagement"] == 900


def test_a_late_stale_observation_is_counted_but_changes_nothing() -> None:
    stored = fold(observe("pinterest", NOW, growth_pct=50, engagement=10))
    late = merge_observation(
        stored, observe("pinterest", NOW - timedelta(days=30), growth_pct=9_000, engagement=99)
    )
    assert late["by_source"]["pinterest"] == {**stored["by_source"]["pinterest"], "n": 2}
    assert late["observations"] == 2


def test_seasonal_sticks_once_any_source_says_so() -> None:
    stored = fold(observe("pinterest", seasonal=True), observe("reddit", engagement=5))
    assert stored["seasonal"] is True


def test_a_fall_is_stored_but_no_steeper_than_100_percent() -> None:
    stored = fold(observe("pinterest", NOW, growth_pct=-500))
    assert stored["by_source"]["pinterest"]["growth_pct"] == -100


def test_merges_leave_their_input_alone() -> None:
    stored = fold(observe("reddit", NOW, engagement=5))
    frozen = json.dumps(stored, sort_keys=True)
    merge_observation(stored, observe("reddit", NOW, engagement=50))
    merge_competition(stored, Competition(keyword="cat mom", listing_count=10))
    assert json.dumps(stored, sort_keys=True) == frozen


def test_hostile_observations_stay_json_and_bounded() -> None:
    stored: dict[str, Any] = {"junk": "x" * 10_000, "by_source": {"evil": {"traffic": 1}}}
    for i in range(500):
        stored = merge_observation(
            stored,
            observe(
                ("google_trends", "reddit", "pinterest", f"feed-{i}", "etsy")[i % 5],
                traffic=(math.nan, math.inf, -1.0, 1e308, 10.0)[i % 5],
                growth_pct=(math.inf, math.nan, 10_001, -500, 3.0)[i % 5],
                engagement=(1e300, math.nan, 150.0, -3.0, 7.0)[i % 5],
                observed_at=("not a date", None, "2025-05-30T00:00:00Z", "", None)[i % 5],
            ),
        )
    stored = merge_competition(stored, Competition(keyword="x", listing_count=10**30))
    text = json.dumps(stored, allow_nan=False)  # JSONB has no NaN or infinity
    assert len(text) < 1_000
    assert set(stored["by_source"]) == {"google_trends", "reddit", "pinterest"}
    assert stored["observations"] == 500
    assert stored["by_source"]["pinterest"]["growth_pct"] == 10_000  # Pinterest's overflow
    assert stored["by_source"]["pinterest"]["engagement"] == 100  # an index, at most 100
    assert stored["by_source"]["reddit"]["traffic"] is None  # infinity is missing
    m = signal_metrics(stored, sources=3, first_seen=NOW, last_seen=NOW)
    assert 0.0 <= score(m, NOW).value <= 100.0


def test_competition_is_the_latest_usable_lookup() -> None:
    stored = merge_competition({}, Competition(keyword="k", listing_count=900, median_price=19.5))
    stored = merge_competition(stored, Competition(keyword="k", listing_count=1_200, sampled=25))
    assert stored["competition"] == {
        "listing_count": 1_200,
        "sampled": 25,
        "median_price": None,
        "mean_favorers": None,
    }
    kept = merge_competition(stored, Competition(keyword="k", listing_count=-1))
    assert kept["competition"]["listing_count"] == 1_200
    # Observations and competition fold into the same dict without clobbering each other.
    both = merge_observation(kept, observe("reddit", NOW, engagement=4))
    assert both["competition"] == stored["competition"]


def test_signal_metrics_puts_engagement_on_one_scale() -> None:
    stored = fold(
        observe("google_trends", NOW, traffic=200_000),
        observe("reddit", NOW, engagement=10_000),  # the Reddit cap: index 100
        observe("pinterest", NOW, engagement=55, growth_pct=300, seasonal=True),
    )
    stored = merge_competition(stored, Competition(keyword="k", listing_count=4_000))
    m = signal_metrics(stored, sources=3, first_seen=NOW, last_seen=NOW)
    assert (m.traffic, m.growth_pct, m.engagement) == (200_000, 300, 100.0)
    assert (m.competition, m.seasonal, m.sources, m.observations) == (4_000, True, 3, 3)
    assert m.performance is None
    only_reddit = signal_metrics(
        fold(observe("reddit", NOW, engagement=100)), sources=1, first_seen=NOW, last_seen=NOW
    )
    # 100 * log1p(100 / 10) / log1p(10_000 / 10) = 100 * 2.397895 / 6.909753 = 34.70
    assert only_reddit.engagement == pytest.approx(34.70, abs=0.01)


def test_the_performance_hook_is_kept_and_applied() -> None:
    stored = fold(observe("pinterest", NOW, growth_pct=300))
    stored["performance"] = -0.4  # what the nightly listing-performance job will write
    stored = merge_observation(stored, observe("reddit", NOW, engagement=50))
    assert stored["performance"] == -0.4
    m = signal_metrics(stored, sources=2, first_seen=NOW, last_seen=NOW)
    assert m.performance == -0.4
    assert score(m, NOW).components["performance"] < 0
    assert score(replace(m, performance=None), NOW).value > score(m, NOW).value


@pytest.mark.parametrize("broken", [None, [], "text", {"by_source": [1]}, {"observations": "9"}])
def test_broken_stored_metrics_read_as_empty(broken: Any) -> None:
    m = signal_metrics(broken, sources=1, first_seen=NOW, last_seen=NOW)
    assert (m.traffic, m.growth_pct, m.engagement, m.competition) == (None, None, None, None)
    assert m.observations == 0
    assert merge_observation(broken, observe("reddit", NOW, engagement=1))["observations"] == 1
