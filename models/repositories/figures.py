"""The platform's business figures for `/metrics` (issue 17, ADR 0034), read at each scrape.

Unlike every other repository these read across tenants: they are the operator's
totals, not a tenant's data, and carry no tenant label (an unbounded label would make a
series per tenant). Each is one grouped statement over a table the workers write, so
the figures are the same whichever API process answers and whichever worker did the
work, and survive restarts. Runs are counted by `workflow_runs`' status: a run counts
once as started, and once as finished when it ends, by its last stage and error code.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import AsyncConnection

from models.payloads import LIVE_STATUSES


@dataclass(frozen=True)
class RunFigure:
    kind: str
    status: str
    stage: str
    code: str  # the error's code, "" when the run did not fail
    runs: int


@dataclass(frozen=True)
class ModelCost:
    vendor: str
    model: str
    calls: int
    cost_micros: int


@dataclass(frozen=True)
class Figures:
    runs: list[RunFigure]
    listings: int
    model_costs: list[ModelCost]

    @property
    def live(self) -> list[RunFigure]:
        return [figure for figure in self.runs if figure.status in LIVE_STATUSES]

    @property
    def finished(self) -> list[RunFigure]:
        return [figure for figure in self.runs if figure.status not in LIVE_STATUSES]


_RUNS = """
SELECT kind, status, stage, coalesce(error->>'code', ''), count(*)
FROM workflow_runs GROUP BY 1, 2, 3, 4
"""
_LISTINGS = "SELECT count(*) FROM listings"
_MODEL_COSTS = """
SELECT vendor, model, sum(calls), sum(cost_micros) FROM cost_lines GROUP BY 1, 2
"""


async def platform_figures(connection: AsyncConnection) -> Figures:
    """Runs by kind, status, stage and code; listings made; model calls and cost."""
    runs = await (await connection.execute(_RUNS)).fetchall()
    (listings,) = await (await connection.execute(_LISTINGS)).fetchone() or (0,)
    costs = await (await connection.execute(_MODEL_COSTS)).fetchall()
    return Figures(
        runs=[RunFigure(*row) for row in runs],
        listings=int(listings),
        model_costs=[
            ModelCost(vendor, model, int(calls), int(cost)) for vendor, model, calls, cost in costs
        ],
    )
