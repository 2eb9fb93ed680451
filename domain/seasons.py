"""When a keyword sells: the calendar season of its occasion (issue 16).

A Father's Day shirt sells in May and June, not in December: the trend score's
`seasonality` rewards a keyword whose occasion is near and takes points from one whose
occasion is months away. Buyers shop ahead, so a season starts `LEAD_DAYS` before its
first month. Keywords naming no occasion keep the sources' own `seasonal` flag.
"""

from __future__ import annotations

from datetime import date, datetime

from domain.niches import normalise_keyword

# How long before its first month an occasion's shopping starts, and how far beyond that
# its points fall from +1 to -1.
LEAD_DAYS = 60
FADE_DAYS = 90

# Occasions by the words (normalised, apostrophes dropped) that name them, and the
# months they sell in.
OCCASIONS: tuple[tuple[tuple[str, ...], tuple[int, ...]], ...] = (
    (
        ("christmas", "xmas", "santa", "reindeer", "hanukkah", "ugly sweater", "stocking stuffer"),
        (12,),
    ),
    (("new years", "new year"), (12, 1)),
    (("valentine", "valentines", "galentines"), (2,)),
    (("st patricks", "saint patricks", "st paddys", "shamrock"), (3,)),
    (("easter",), (3, 4)),
    (("mothers day",), (5,)),
    (("fathers day",), (6,)),
    (("graduation", "graduate", "class of"), (5, 6)),
    (("4th of july", "fourth of july", "independence day"), (7,)),
    (("back to school", "first day of school", "teacher appreciation"), (8,)),
    (("halloween", "spooky", "trick or treat"), (10,)),
    (("thanksgiving", "friendsgiving"), (11,)),
    (("summer",), (6, 7, 8)),
    (("winter",), (12, 1, 2)),
    (("autumn", "fall season"), (9, 10, 11)),
    (("spring",), (3, 4, 5)),
)


def season_of(keyword: str) -> tuple[int, ...] | None:
    """The months the keyword's occasion sells in (the first occasion it names), or None."""
    text = f" {normalise_keyword(keyword)} "
    for phrases, months in OCCASIONS:
        if any(f" {phrase} " in text for phrase in phrases):
            return months
    return None


def season_factor(months: tuple[int, ...], when: datetime | date) -> float:
    """+1 in season or within `LEAD_DAYS` before it, falling to -1 over `FADE_DAYS`."""
    day = when.date() if isinstance(when, datetime) else when
    if day.month in months:
        return 1.0
    ahead = min(_days_until(day, month) for month in months)
    if ahead <= LEAD_DAYS:
        return 1.0
    return max(-1.0, 1.0 - 2.0 * (ahead - LEAD_DAYS) / FADE_DAYS)


def _days_until(day: date, month: int) -> int:
    year = day.year if month > day.month else day.year + 1
    return (date(year, month, 1) - day).days
