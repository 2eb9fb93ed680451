"""Five-field cron expressions: parsed and checked before Temporal sees them.

Temporal accepts more than we want a seller to type (seconds, years, `L`, `#`), and it
accepts expressions that fire every minute or never. This parser takes the common
subset — `*`, numbers, names, ranges, steps and lists, plus the `@daily`-style macros —
so a schedule can be refused with a clear reason, and tells how often one fires.
Times are UTC, as Temporal reads them without a time zone.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from itertools import pairwise

MINUTES_PER_DAY = 24 * 60
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
_ITEM = re.compile(r"^(?P<range>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>[0-9]+))?$")


class CronError(ValueError):
    """The expression is not one we accept; the message says which part and why."""


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int]


_FIELDS = (
    _Field("minute", 0, 59, {}),
    _Field("hour", 0, 23, {}),
    _Field("day of month", 1, 31, {}),
    _Field("month", 1, 12, _MONTHS),
    # 0 is Sunday. Not 7: Temporal takes a lone 7 for Sunday but drops it from `1-7`.
    _Field("day of week", 0, 6, _WEEKDAYS),
)


@dataclass(frozen=True)
class CronSpec:
    """A parsed expression: the values each field allows, and its five-field text."""

    expression: str  # five fields, macros expanded
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 = Sunday

    @property
    def shortest_gap_minutes(self) -> int:
        """The least time between two firings, taking days that fire as back to back.

        Days are treated as consecutive even when the day fields skip some, so a
        schedule is never judged rarer than it is (at worst, more frequent).
        """
        times = sorted(hour * 60 + minute for hour in self.hours for minute in self.minutes)
        gaps = [later - earlier for earlier, later in pairwise(times)]
        gaps.append(times[0] + MINUTES_PER_DAY - times[-1])  # the last firing to the next day's
        return min(gaps)


def parse_cron(text: str) -> CronSpec:
    """Parse a five-field expression (minute hour day-of-month month day-of-week) or a macro."""
    expression = " ".join(text.strip().lower().split())
    expression = MACROS.get(expression, expression)
    parts = expression.split(" ")
    if len(parts) != len(_FIELDS):
        raise CronError(
            "a cron expression has five fields: minute hour day-of-month month day-of-week"
        )
    values = [_parse_field(part, field) for part, field in zip(parts, _FIELDS, strict=True)]
    minutes, hours, days, months, weekdays = values
    longest = max(calendar.monthrange(2024, month)[1] for month in months)  # a leap year
    if min(days) > longest:
        raise CronError("the day of month never occurs in the months given")
    return CronSpec(expression, minutes, hours, days, months, weekdays)


def _parse_field(part: str, field: _Field) -> frozenset[int]:
    allowed: set[int] = set()
    for item in part.split(","):
        match = _ITEM.match(item)
        if match is None:
            raise CronError(f"{field.name}: {item!r} is not a value, range or step")
        step = int(match["step"]) if match["step"] else 1
        if step < 1:
            raise CronError(f"{field.name}: the step must be at least 1")
        span = match["range"]
        if span == "*":
            low, high = field.low, field.high
        elif "-" in span:
            first, last = span.split("-")
            low, high = _value(first, field), _value(last, field)
            if low > high:
                raise CronError(f"{field.name}: the range {item!r} runs backwards")
        else:
            low = _value(span, field)
            # `5/15` means from 5 to the end in steps of 15; `5` alone is just 5.
            high = field.high if match["step"] else low
        allowed.update(range(low, high + 1, step))
    return frozenset(allowed)


def _value(token: str, field: _Field) -> int:
    if token in field.names:
        return field.names[token]
    if not token.isdigit():
        raise CronError(f"{field.name}: {token!r} is not a number or a name")
    number = int(token)
    if not field.low <= number <= field.high:
        raise CronError(f"{field.name}: {number} is outside {field.low}-{field.high}")
    return number
