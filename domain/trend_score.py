"""Trend score: one documented number per signal, and the points that make it up (ADR 0018).

Two halves, both pure (no I/O, no clock: `now` is a parameter):

- `merge_observation` / `merge_competition` fold what a source reported into the small
  JSON dict a signal keeps in `trend_signals.metrics`; `signal_metrics` reads it back.
- `score` turns a signal's `SignalMetrics` into points out of 100:

      demand      = growth + volume + engagement + breadth + seasonality   (0..100)
      performance = demand * w_perf * p        (p in -1..1, kept within 0..100 - demand)
      competition = -(demand + performance) * w_comp * c            (c in 0..1)
      recency     = -(demand + performance + competition) * (1 - 0.5 ** (age / half_life))
      value       = demand + performance + competition + recency

  Each component is returned already in points, so they add up to `value` exactly.
  A metric a signal lacks gives 0 points: missing is neutral, never a penalty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.seasons import season_factor, season_of
from domain.trends import Competition, ScrapedTrend, TrendSource

METRICS_VERSION = 1
# Sources whose observations are stored per source; anything else is counted, not kept,
# so a signal's metrics stay a few hundred bytes whatever a feed sends.
OBSERVATION_SOURCES: tuple[str, ...] = (
    TrendSource.GOOGLE_TRENDS.value,
    TrendSource.REDDIT.value,
    TrendSource.PINTEREST.value,
)
# Traffic and engagement keep the max of the last week: a spike counts while it is recent.
RECENT_WINDOW = timedelta(days=7)

# Log transforms `log1p(x / scale) / log1p(cap / scale)`, 1 at `cap` and above.
TRAFFIC_SCALE, TRAFFIC_CAP = 100.0, 1_000_000.0  # Google "100+" .. "1M+"
GROWTH_SCALE, GROWTH_CAP = 100.0, 1_000.0  # percent; tenfold growth saturates
COUNT_SCALE, COUNT_CAP = 10.0, 10_000.0  # Reddit upvotes + comments
LISTINGS_SCALE, LISTINGS_CAP = 1_000.0, 1_000_000.0  # Etsy active listings
INDEX_MAX = 100.0  # Pinterest's interest index, and the engagement index it sets the scale of
BREADTH_CAP = 3  # Google, Reddit and Pinterest all agreeing earns the full breadth points
MAX_POINTS = 100.0
# The components of a score, in the order the API shows them.
DEMAND = ("growth", "volume", "engagement", "breadth", "seasonality")
ADJUSTMENTS = ("performance", "competition", "recency")

# Bounds on stored numbers: JSON (and JSONB) has no NaN or infinity, and no feed is this big.
MAX_AMOUNT = 1e12
GROWTH_MIN, GROWTH_MAX = -100.0, 10_000.0  # Pinterest caps at 10000 and sends 10001 above


@dataclass
class SignalMetrics:
    """The aggregated numbers of one signal, as `score` reads them.

    `engagement` is an index 0-100 comparable across sources: Pinterest's interest index
    as it is, Reddit's upvotes + comments mapped onto the same scale by a log
    (10 000 or more = 100). `performance` is the feedback hook (ADR 0018): how listings
    made from this signal did, -1 (nothing sold) .. 0 (the tenant's norm, or unknown) ..
    1 (sold best); the order sync sets it from the niche's listings' sales (ADR 0031).
    """

    traffic: float | None  # approximate searches (Google)
    growth_pct: float | None  # percent growth (Pinterest), the latest of each source
    engagement: float | None  # 0-100 index, the highest of the sources
    competition: int | None  # Etsy active listings for the keyword
    seasonal: bool
    sources: int  # distinct sources that saw it
    observations: int
    first_seen: datetime
    last_seen: datetime
    performance: float | None = None
    # The months the keyword's occasion sells in (`domain.seasons`), None for no occasion.
    season: tuple[int, ...] | None = None


@dataclass(frozen=True)
class ScoreWeights:
    """Points per demand component (at most 100 in all), two shares and the half-life."""

    growth: float = 30.0
    volume: float = 25.0
    engagement: float = 20.0
    breadth: float = 15.0
    seasonality: float = 10.0
    performance: float = 0.5  # share of the demand points performance can add or take away
    competition: float = 0.5  # share of the points the most crowded niche loses
    half_life_hours: float = 72.0  # the score halves every 3 days since last seen

    def __post_init__(self) -> None:
        demand = (self.growth, self.volume, self.engagement, self.breadth, self.seasonality)
        numbers = (*demand, self.performance, self.competition, self.half_life_hours)
        if not all(math.isfinite(n) and n >= 0 for n in numbers):
            raise ValueError("score weights must be finite and not negative")
        if sum(demand) > MAX_POINTS:
            raise ValueError(f"demand weights must add up to at most {MAX_POINTS:g}")
        if self.performance > 1 or self.competition > 1:
            raise ValueError("the performance and competition shares must be at most 1")
        if self.half_life_hours == 0:
            raise ValueError("the recency half-life must be positive")


DEFAULT_WEIGHTS = ScoreWeights()


@dataclass(frozen=True)
class Score:
    """A score out of 100 and its components in points, which add up to `value`."""

    value: float
    components: dict[str, float]


def score(m: SignalMetrics, now: datetime, weights: ScoreWeights = DEFAULT_WEIGHTS) -> Score:
    """Score one signal at `now` (see the module docstring and ADR 0018)."""
    w = weights
    engagement = _amount(m.engagement)
    sources = _amount(m.sources) or 0.0
    points = {
        "growth": w.growth * _log_share(_amount(m.growth_pct), GROWTH_SCALE, GROWTH_CAP),
        "volume": w.volume * _log_share(_amount(m.traffic), TRAFFIC_SCALE, TRAFFIC_CAP),
        "engagement": w.engagement * min(engagement or 0.0, INDEX_MAX) / INDEX_MAX,
        "breadth": w.breadth * min(max(sources - 1, 0.0) / (BREADTH_CAP - 1), 1.0),
        "seasonality": w.seasonality if m.seasonal is True else 0.0,
    }
    if m.season:
        # The calendar knows better than a source's flag: a Father's Day keyword scored
        # in December loses its points, one for Christmas gains them (domain.seasons).
        others = sum(value for name, value in points.items() if name != "seasonality")
        points["seasonality"] = max(w.seasonality * season_factor(m.season, now), -others)
    demand = sum(points.values())
    perf = _clamp(_number(m.performance), -1.0, 1.0) or 0.0
    # Bounded both ways so a past seller's luck can neither sink below 0 nor pass 100.
    points["performance"] = min(max(demand * w.performance * perf, -demand), MAX_POINTS - demand)
    kept = demand + points["performance"]
    crowd = _log_share(_amount(m.competition), LISTINGS_SCALE, LISTINGS_CAP)
    points["competition"] = -kept * w.competition * crowd
    kept += points["competition"]
    age_hours = (_utc(now) - _utc(m.last_seen)).total_seconds() / 3600
    decay = 0.5 ** (max(age_hours, 0.0) / w.half_life_hours)
    points["recency"] = -kept * (1.0 - decay)
    return _rounded(points)


def _rounded(points: dict[str, float]) -> Score:
    """Components to 3 decimals that add up to the value exactly, as the API shows them.

    Each adjustment is the step between rounded subtotals, so rounding never piles up, and
    an adjustment that is 0 (a fresh signal, no competition) shows 0, not a rounding crumb.
    """
    components = {name: round(points[name], 3) + 0.0 for name in DEMAND}
    shown = round(sum(components.values()), 3)
    subtotal = sum(points[name] for name in DEMAND)
    for name in ADJUSTMENTS:
        raw = points[name]
        subtotal += raw
        step = round(round(subtotal, 3) - shown, 3) if raw else 0.0
        # A penalty never shows as a gain, nor a gain as a penalty.
        step = min(step, 0.0) if raw < 0 else max(step, 0.0)
        components[name] = step + 0.0  # no "-0.0" in the API
        shown = round(shown + step, 3)
    return Score(value=shown + 0.0, components=components)


def merge_observation(
    metrics: dict[str, Any] | None, trend: ScrapedTrend, *, at: datetime | None = None
) -> dict[str, Any]:
    """`metrics` with one more observation folded in (a new dict; the input is unchanged).

    Per source: traffic and engagement keep the max of the last `RECENT_WINDOW`, growth the
    latest value; `seasonal` is true once any source said so. `at` is when it was seen,
    `trend.observed_at` when not given; an observation without a time merges by max.
    """
    merged = _normalised(metrics)
    merged["observations"] += 1
    merged["seasonal"] = merged["seasonal"] or trend.seasonal is True
    source = str(trend.source)  # a TrendSource member or its value
    if source not in OBSERVATION_SOURCES:
        return merged
    when = _utc(at) if at is not None else _parse_time(trend.observed_at)
    old = merged["by_source"].get(source, {})
    old_at = _parse_time(old.get("at"))
    gap = when - old_at if when is not None and old_at is not None else timedelta(0)
    if gap < -RECENT_WINDOW:
        # A stale observation arriving late: counted, but its numbers are out of date.
        old["n"] = old.get("n", 0) + 1
        return merged
    engagement = _amount(trend.engagement)
    if engagement is not None and source == TrendSource.PINTEREST.value:
        engagement = min(engagement, INDEX_MAX)
    growth = _growth(trend.growth_pct)
    newest = max((t for t in (when, old_at) if t is not None), default=None)
    merged["by_source"][source] = {
        "at": newest.isoformat() if newest is not None else None,
        "n": old.get("n", 0) + 1,
        "traffic": _recent_max(old.get("traffic"), _amount(trend.traffic), gap),
        "engagement": _recent_max(old.get("engagement"), engagement, gap),
        "growth_pct": growth
        if growth is not None and gap >= timedelta(0)
        else old.get("growth_pct"),
    }
    return merged


def merge_competition(metrics: dict[str, Any] | None, competition: Competition) -> dict[str, Any]:
    """`metrics` with Etsy's latest competition for the keyword (the latest look-up wins)."""
    merged = _normalised(metrics)
    cleaned = _competition(
        {
            "listing_count": competition.listing_count,
            "sampled": competition.sampled,
            "median_price": competition.median_price,
            "mean_favorers": competition.mean_favorers,
        }
    )
    if cleaned is not None:  # an unusable count keeps the previous look-up
        merged["competition"] = cleaned
    return merged


def signal_metrics(
    metrics: dict[str, Any] | None,
    *,
    sources: int,
    first_seen: datetime,
    last_seen: datetime,
    keyword: str | None = None,
) -> SignalMetrics:
    """The `SignalMetrics` of a stored metrics dict and the signal's own columns (the
    keyword gives its occasion's season)."""
    m = _normalised(metrics)
    entries: dict[str, dict[str, Any]] = m["by_source"]
    competition = m["competition"]
    return SignalMetrics(
        traffic=_highest(e["traffic"] for e in entries.values()),
        growth_pct=_highest(e["growth_pct"] for e in entries.values()),
        engagement=_highest(_engagement_index(s, e["engagement"]) for s, e in entries.items()),
        competition=competition["listing_count"] if competition else None,
        seasonal=m["seasonal"],
        sources=int(_amount(sources) or 0),
        observations=m["observations"],
        first_seen=first_seen,
        last_seen=last_seen,
        performance=m["performance"],
        season=season_of(keyword) if keyword else None,
    )


def _normalised(metrics: Any) -> dict[str, Any]:
    """A fresh copy of stored metrics in the current shape; unknown or broken parts dropped."""
    src = metrics if isinstance(metrics, dict) else {}
    raw_sources = src.get("by_source")
    raw_sources = raw_sources if isinstance(raw_sources, dict) else {}
    by_source: dict[str, dict[str, Any]] = {}
    for name in OBSERVATION_SOURCES:
        entry = raw_sources.get(name)
        if isinstance(entry, dict):
            at = _parse_time(entry.get("at"))
            by_source[name] = {
                "at": at.isoformat() if at is not None else None,
                "n": int(_amount(entry.get("n")) or 0),
                "traffic": _amount(entry.get("traffic")),
                "engagement": _amount(entry.get("engagement")),
                "growth_pct": _growth(entry.get("growth_pct")),
            }
    return {
        "v": METRICS_VERSION,
        "observations": int(_amount(src.get("observations")) or 0),
        "seasonal": src.get("seasonal") is True,
        "by_source": by_source,
        "competition": _competition(src.get("competition")),
        # Written by the listing-performance job (ADR 0018), kept as is by the merges,
        # with what it rests on (`sales`: listings, orders, the shop's norm; ADR 0031).
        "performance": _clamp(_number(src.get("performance")), -1.0, 1.0),
        "sales": src.get("sales") if isinstance(src.get("sales"), dict) else None,
    }


def _competition(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    count = _amount(raw.get("listing_count"))
    if count is None:
        return None
    return {
        "listing_count": int(count),
        "sampled": int(_amount(raw.get("sampled")) or 0),
        "median_price": _amount(raw.get("median_price")),
        "mean_favorers": _amount(raw.get("mean_favorers")),
    }


def _recent_max(old: float | None, new: float | None, gap: timedelta) -> float | None:
    """The max of the two, or the new value alone once the old one is out of the window."""
    if new is None:
        return old
    if old is None or gap > RECENT_WINDOW:
        return new
    return max(old, new)


def _engagement_index(source: str, value: float | None) -> float | None:
    if value is None:
        return None
    if source == TrendSource.PINTEREST.value:
        return min(value, INDEX_MAX)
    return INDEX_MAX * _log_share(value, COUNT_SCALE, COUNT_CAP)


def _log_share(value: float | None, scale: float, cap: float) -> float:
    """0 for nothing, rising by log, 1 at `cap` and above."""
    if value is None:
        return 0.0
    return min(math.log1p(value / scale) / math.log1p(cap / scale), 1.0)


def _number(value: Any) -> float | None:
    """A finite float, or None for anything else (NaN, infinity, text, bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _amount(value: Any) -> float | None:
    """A count or size: finite, not negative (else missing), capped at `MAX_AMOUNT`."""
    number = _number(value)
    return None if number is None or number < 0 else min(number, MAX_AMOUNT)


def _growth(value: Any) -> float | None:
    return _clamp(_number(value), GROWTH_MIN, GROWTH_MAX)


def _clamp(value: float | None, low: float, high: float) -> float | None:
    return None if value is None else min(max(value, low), high)


def _highest(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _utc(moment: datetime) -> datetime:
    """Naive datetimes are UTC (as the database returns them)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None
