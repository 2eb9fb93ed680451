"""Seasonality knows the calendar (issue 16): scored on 1 December a June occasion
scores below a December one, and the other way round on 1 June."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.seasons import season_factor, season_of
from domain.trend_score import score, signal_metrics

DECEMBER_1 = datetime(2026, 12, 1, 12, tzinfo=UTC)
JUNE_1 = datetime(2026, 6, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("keyword", "months"),
    [
        ("Father's Day grill master", (6,)),
        ("fathers day fishing dad", (6,)),
        ("ugly Christmas sweater cat", (12,)),
        ("xmas llama", (12,)),
        ("Mother's Day garden mom", (5,)),
        ("spooky season teacher", (10,)),
        ("class of 2027 graduate", (5, 6)),
        ("4th of July bbq", (7,)),
        ("cat mom", None),
        ("falling leaves", None),  # a word, not the season
    ],
)
def test_a_keyword_names_its_occasion(keyword: str, months: tuple[int, ...] | None) -> None:
    assert season_of(keyword) == months


def test_a_season_starts_ahead_of_its_month_and_fades_after() -> None:
    june = (6,)
    assert season_factor(june, date(2026, 6, 20)) == 1.0  # in season
    assert season_factor(june, date(2026, 4, 15)) == 1.0  # buyers shop ahead
    assert 0 < season_factor(june, date(2026, 3, 15)) < 1.0
    assert season_factor(june, date(2026, 12, 1)) == -1.0  # six months away
    assert season_factor(june, date(2026, 7, 15)) == -1.0  # just over: next year's


def scored(keyword: str, when: datetime, *, seasonal: bool = False) -> float:
    """A signal's score at `when`, everything equal but the keyword (one source, the
    same traffic and engagement, seen just now)."""
    metrics = {
        "observations": 3,
        "seasonal": seasonal,
        "by_source": {"google_trends": {"at": when.isoformat(), "n": 3, "traffic": 20000}},
    }
    m = signal_metrics(metrics, sources=1, first_seen=when, last_seen=when, keyword=keyword)
    return score(m, when).value


def test_on_1_december_christmas_beats_fathers_day_and_on_1_june_the_reverse() -> None:
    father, christmas = "fathers day grill master shirt", "christmas grill master shirt"
    # Even when a source flagged the June keyword as seasonal (what made it top in December).
    assert scored(father, DECEMBER_1, seasonal=True) < scored(christmas, DECEMBER_1)
    assert scored(father, JUNE_1) > scored(christmas, JUNE_1, seasonal=True)
    # A keyword with no occasion keeps the sources' flag.
    assert scored("grill master shirt", DECEMBER_1, seasonal=True) > scored(
        "grill master shirt", DECEMBER_1
    )


def test_an_occasion_months_away_never_takes_the_score_below_zero() -> None:
    m = signal_metrics(
        {"observations": 1},
        sources=1,
        first_seen=DECEMBER_1,
        last_seen=DECEMBER_1,
        keyword="fathers day",
    )
    result = score(m, DECEMBER_1)
    assert result.value == 0.0 and result.components["seasonality"] == 0.0
