"""The API's hot reads: one round trip each, the columns the answer needs, plain rows.

Every authenticated read ran through the ORM: a pre-ping, a transaction, its query and a
count, each through SQLAlchemy's greenlet bridge, and a `WorkflowRun` or `TrendSignal`
built per row. On `make bench-api` that was 37 % of the API's CPU for `GET /v1/listings`
(SQLAlchemy's own frames; psycopg 13 % more), against 5 % for the route's code (py-spy,
docs/performance.md). These functions take a connection from a plain psycopg pool in
autocommit mode (`api.app`), send one statement (psycopg prepares it after a few uses),
count the whole list in the same statement (`count(*) OVER ()`) and return named tuples
that the views read like the ORM objects.

Like every repository, they take the tenant keyword-only; writes stay in the ORM.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from psycopg import sql
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects import postgresql

from domain.niches import normalise_keyword
from models.repositories.errors import NotFoundError
from models.repositories.orders import ITEM_MARGIN, ITEM_REVENUE, ITEM_UNITS, ORDER_SOLD
from models.repositories.trends import cosine, escape_like, similar_params, similar_query

# Statements are composed with `psycopg.sql` from fixed text only (column lists and
# filter clauses written here); every value goes as a parameter.

# The run columns `api.run_views.recorded_view` reads.
RUN_COLUMNS = sql.SQL(
    "workflow_id, kind, status, stage, keyword, result, error, created_at, updated_at"
)
LISTING_COLUMNS = sql.SQL(
    "id, workflow_id, design_id, title, printify_shop_id, printify_product_id, "
    "etsy_shop_id, etsy_listing_id, url, state, created_at"
)
# The signal columns `api.trend_views.public_signal` reads (not the embedding).
SIGNAL_COLUMNS = sql.SQL(
    "id, keyword, normalized_keyword, aliases, sources, metrics, observations, score, "
    "score_components, embedding_model, first_seen, last_seen"
)


@dataclass(frozen=True)
class KeyRecord:
    """An API key as authentication needs it, with its member's role."""

    id: uuid.UUID
    tenant_id: str
    secret_hash: str
    scopes: list[str] | None
    revoked_at: datetime | None
    expires_at: datetime | None
    last_used_at: datetime | None
    member_id: uuid.UUID
    role: str


async def api_key(pool: AsyncConnectionPool, *, prefix: str) -> KeyRecord | None:
    """The key with this public prefix and its member (keys of removed members are gone)."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT k.id, k.tenant_id, k.secret_hash, k.scopes, k.revoked_at, k.expires_at,"
            " k.last_used_at, m.id, m.role"
            " FROM api_keys k JOIN members m"
            " ON m.id = k.member_id AND m.tenant_id = k.tenant_id"
            " WHERE k.prefix = %(prefix)s",
            {"prefix": prefix},
        )
        row = await cursor.fetchone()
    return KeyRecord(*row) if row is not None else None


async def touch_api_key(
    pool: AsyncConnectionPool,
    *,
    tenant_id: str,
    key_id: uuid.UUID,
    at: datetime,
    older_than: datetime,
) -> None:
    """Record use of the key, unless a request already did since `older_than`."""
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE api_keys SET last_used_at = %(at)s"
            " WHERE tenant_id = %(tenant_id)s AND id = %(key_id)s"
            " AND (last_used_at IS NULL OR last_used_at < %(older_than)s)",
            {"at": at, "tenant_id": tenant_id, "key_id": key_id, "older_than": older_than},
        )


async def member_by_email(
    pool: AsyncConnectionPool, *, tenant_id: str, email: str
) -> tuple[uuid.UUID, str] | None:
    """The tenant's member with this e-mail: (id, role)."""
    async with pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT id, role FROM members WHERE tenant_id = %(tenant_id)s AND email = %(email)s",
            {"tenant_id": tenant_id, "email": email},
        )
        row = await cursor.fetchone()
    return (row[0], row[1]) if row is not None else None


async def _page(
    pool: AsyncConnectionPool,
    statement: sql.SQL | sql.Composed,
    params: dict[str, Any],
    count_statement: sql.SQL | sql.Composed,
) -> tuple[list[Any], int]:
    """Rows of a page whose statement ends with its count as `total` (`count(*) OVER ()`,
    or `count_statement` as a subquery), and the total; a page past the end has no row
    to carry it, so only then is `count_statement` run on its own."""
    async with pool.connection() as conn:
        cursor = conn.cursor(row_factory=namedtuple_row)
        rows: list[Any] = await (await cursor.execute(statement, params)).fetchall()
        if rows:
            return rows, int(rows[0].total)
        if not params.get("offset"):
            return [], 0
        counted = await (await conn.execute(count_statement, params)).fetchone()
        return [], int(counted[0]) if counted else 0


def runs_page_statements(*, by_status: bool) -> tuple[sql.Composed, sql.Composed]:
    """`runs_page`'s statement and its count: the page read in order from
    `ix_workflow_runs_tenant_created` (migration 0013). All of a tenant's runs are the sum
    of its `run_counts` rows, which a trigger keeps with every insert and delete (ADR
    0028): a row a month, where counting the runs took 0.4-0.75 ms of Postgres's CPU per
    page at 2 000-6 000 runs under `make bench-api`. Runs of one status are counted
    from `ix_workflow_runs_tenant_status` alone."""
    where = sql.SQL("tenant_id = %(tenant_id)s" + (" AND status = %(status)s" if by_status else ""))
    count = (
        sql.SQL("SELECT count(*) FROM workflow_runs WHERE {where}").format(where=where)
        if by_status
        else sql.SQL(
            "SELECT coalesce(sum(started), 0) FROM run_counts WHERE tenant_id = %(tenant_id)s"
        ).format()
    )
    page = sql.SQL(
        "SELECT {columns}, ({count}) AS total FROM workflow_runs WHERE {where}"
        " ORDER BY created_at DESC, workflow_id DESC LIMIT %(limit)s OFFSET %(offset)s"
    ).format(columns=RUN_COLUMNS, count=count, where=where)
    return page, count


async def runs_page(
    pool: AsyncConnectionPool, *, tenant_id: str, status: str | None, limit: int, offset: int
) -> tuple[list[Any], int]:
    """A page of the tenant's runs, newest first, and how many there are."""
    page, count = runs_page_statements(by_status=status is not None)
    params = {"tenant_id": tenant_id, "status": status, "limit": limit, "offset": offset}
    return await _page(pool, page, params, count)


# A cost line as the run's view shows it (`api.schemas.ModelCost`), priced in dollars.
_COST_LINE = sql.SQL(", ").join(
    [
        *(
            sql.SQL("{}, {}").format(sql.Literal(name), sql.Identifier(name))
            for name in (
                "stage",
                "attempt",
                "vendor",
                "model",
                "calls",
                "input_tokens",
                "output_tokens",
                "images",
            )
        ),
        sql.SQL("'cost_usd', cost_micros::float8 / 1000000"),
    ]
)
_RUN_WITH_COSTS = sql.SQL(
    "SELECT {columns}, (SELECT coalesce(json_agg(json_build_object({cost_line})"
    " ORDER BY c.created_at), '[]') FROM cost_lines c"
    " WHERE c.tenant_id = r.tenant_id AND c.workflow_id = r.workflow_id) AS costs"
    " FROM workflow_runs r"
    " WHERE r.tenant_id = %(tenant_id)s AND r.workflow_id = %(workflow_id)s"
).format(columns=RUN_COLUMNS, cost_line=_COST_LINE)


async def run_with_costs(
    pool: AsyncConnectionPool, *, tenant_id: str, workflow_id: str
) -> tuple[Any, list[dict[str, Any]]]:
    """One run and its model cost lines (oldest first), in one round trip."""
    async with pool.connection() as conn:
        cursor = conn.cursor(row_factory=namedtuple_row)
        await cursor.execute(_RUN_WITH_COSTS, {"tenant_id": tenant_id, "workflow_id": workflow_id})
        run: Any = await cursor.fetchone()
    if run is None:
        raise NotFoundError("workflow", workflow_id)
    return run, list(run.costs)


# `listings_page`'s count and statement, read like the runs' (migration 0013).
_LISTINGS_COUNT = sql.SQL("SELECT count(*) FROM listings WHERE tenant_id = %(tenant_id)s")
# Each listing of the page with its numbers (issue 16): Etsy's views and favourites of
# its latest day in `listing_stats`, its sales to date from the items of the tenant's
# orders (cancelled and failed ones sold nothing), and the model cost of its run.
LISTINGS_PAGE = sql.SQL(
    "SELECT {columns}, s.views, s.favorites, coalesce(so.orders, 0) AS orders,"
    " coalesce(so.units, 0) AS units, coalesce(so.revenue_cents, 0) AS revenue_cents,"
    " coalesce(so.margin_cents, 0) AS sales_margin_cents,"
    " coalesce(mc.cost_micros, 0) AS model_cost_micros, ({count}) AS total"
    " FROM listings l"
    " LEFT JOIN LATERAL (SELECT views, favorites FROM listing_stats st"
    "   WHERE st.listing_id = l.id ORDER BY day DESC LIMIT 1) s ON true"
    " LEFT JOIN LATERAL (SELECT count(*) AS orders, sum(x.units) AS units,"
    "   sum(x.revenue_cents) AS revenue_cents, sum(x.margin_cents) AS margin_cents"
    "   FROM orders o CROSS JOIN LATERAL (SELECT sum({units}) AS units,"
    "     sum({revenue}) AS revenue_cents, sum({margin}) AS margin_cents"
    "     FROM jsonb_array_elements(o.items) i WHERE i->>'listing_id' = l.id::text) x"
    "   WHERE o.tenant_id = l.tenant_id AND {sold}"
    "   AND x.units IS NOT NULL) so ON true"
    " LEFT JOIN LATERAL (SELECT sum(c.cost_micros) AS cost_micros FROM cost_lines c"
    "   WHERE c.tenant_id = l.tenant_id AND c.workflow_id = l.workflow_id) mc ON true"
    " WHERE l.tenant_id = %(tenant_id)s"
    " ORDER BY l.created_at DESC, l.id DESC LIMIT %(limit)s OFFSET %(offset)s"
).format(
    columns=sql.SQL(", ").join(
        sql.SQL("l.{}").format(sql.SQL(name.strip()))
        for name in LISTING_COLUMNS.as_string().split(",")
    ),
    count=_LISTINGS_COUNT,
    units=sql.SQL(ITEM_UNITS),
    revenue=sql.SQL(ITEM_REVENUE),
    margin=sql.SQL(ITEM_MARGIN),
    sold=sql.SQL(ORDER_SOLD),
)


async def listings_page(
    pool: AsyncConnectionPool, *, tenant_id: str, limit: int, offset: int
) -> tuple[list[Any], int]:
    """A page of the tenant's listings, newest first, and how many there are."""
    params = {"tenant_id": tenant_id, "limit": limit, "offset": offset}
    return await _page(pool, LISTINGS_PAGE, params, _LISTINGS_COUNT)


async def signals_page(
    pool: AsyncConnectionPool,
    *,
    tenant_id: str,
    source: str | None,
    min_score: float | None,
    since: datetime | None,
    query_text: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Any], int]:
    """A page of the tenant's signals, best score first, and how many match (the filters
    of `repositories.trends.list_signals`)."""
    where = ["tenant_id = %(tenant_id)s"]
    params: dict[str, Any] = {"tenant_id": tenant_id, "limit": limit, "offset": offset}
    if source is not None:
        where.append("sources ? %(source)s")
        params["source"] = source
    if min_score is not None:
        where.append("score >= %(min_score)s")
        params["min_score"] = min_score
    if since is not None:
        where.append("last_seen >= %(since)s")
        params["since"] = since
    if query_text is not None:
        # Keywords are stored normalised; text with no letters or digits matches nothing.
        words = normalise_keyword(query_text)
        if words:
            where.append(
                "(normalized_keyword ILIKE %(pattern)s ESCAPE '\\'"
                " OR CAST(aliases AS VARCHAR) ILIKE %(pattern)s ESCAPE '\\')"
            )
            params["pattern"] = f"%{escape_like(words)}%"
        else:
            where.append("false")
    condition = sql.SQL(" AND ").join(sql.SQL(clause) for clause in where)
    return await _page(
        pool,
        sql.SQL(
            "SELECT {columns}, count(*) OVER () AS total FROM trend_signals WHERE {condition}"
            " ORDER BY score DESC, last_seen DESC, id LIMIT %(limit)s OFFSET %(offset)s"
        ).format(columns=SIGNAL_COLUMNS, condition=condition),
        params,
        sql.SQL("SELECT count(*) FROM trend_signals WHERE {condition}").format(condition=condition),
    )


@cache
def _similar_sql() -> str:
    """`repositories.trends.similar_query` as SQL text, compiled once: the same statement
    the ORM runs, not a second copy of it."""
    return str(similar_query().compile(dialect=postgresql.psycopg.dialect()))


async def similar_signals(
    pool: AsyncConnectionPool, *, tenant_id: str, signal_id: uuid.UUID, limit: int
) -> tuple[Any, list[tuple[Any, float]]]:
    """A signal and its nearest neighbours of the same embedder, most similar first (as
    `repositories.trends.similar_signals`, in one round trip as a rule)."""
    async with pool.connection() as conn:
        cursor = conn.cursor(row_factory=namedtuple_row)
        await cursor.execute(_similar_sql(), similar_params(tenant_id, signal_id, limit + 1))
        rows: Sequence[Any] = await cursor.fetchall()
        signal = next((row for row in rows if row.id == signal_id), None)
        if signal is None:
            await cursor.execute(
                sql.SQL(
                    "SELECT {columns} FROM trend_signals"
                    " WHERE id = %(signal_id)s AND tenant_id = %(tenant_id)s"
                ).format(columns=SIGNAL_COLUMNS),
                {"signal_id": signal_id, "tenant_id": tenant_id},
            )
            signal = await cursor.fetchone()
    if signal is None:
        raise NotFoundError("trend signal", signal_id)
    others = [(row, cosine(row.distance)) for row in rows if row.id != signal_id]
    return signal, others[:limit]
