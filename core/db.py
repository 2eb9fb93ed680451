"""Database engine, sessions and migrations (async SQLAlchemy over psycopg 3)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pydantic_core
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "models" / "migrations"

if TYPE_CHECKING:
    from alembic.config import Config

SessionFactory = async_sessionmaker[AsyncSession]


# What an unreachable or lost database raises (an outage, not a bug): connections refused
# or dropped (`OperationalError`, `InterfaceError`) and a pool with none to give.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)


# What the database refuses for the data itself (a NUL in text, a number out of range,
# a value too long): the same query fails again however often it is retried.
DATA_REFUSED: tuple[type[Exception], ...] = (sa_exc.DataError, psycopg.DataError)


def database_down(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be reached, rather than a query is wrong."""
    return isinstance(exc, DATABASE_DOWN)


def sqlalchemy_url(url: str) -> str:
    """`postgresql://…` → `postgresql+psycopg://…` (psycopg 3 serves sync and async)."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must be a postgresql:// URL")


# pgvector: filtered HNSW scans go on until they have their rows, nearest first.
HNSW_ITERATIVE_SCAN = "strict_order"
CONNECTION_OPTIONS = f"-c hnsw.iterative_scan={HNSW_ITERATIVE_SCAN}"


def make_engine(url: str, *, pool_size: int = 5) -> AsyncEngine:
    """One engine per process; pre-ping so a restarted Postgres does not break the pool.

    Every session scans HNSW indexes iteratively in strict order (pgvector >= 0.8): a
    nearest-neighbour query filtered by tenant keeps scanning until it has its rows, and
    returns them nearest first. Set at connection start, it costs no round trip per query.
    """
    return create_async_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=5,
        pool_pre_ping=True,
        connect_args={"options": CONNECTION_OPTIONS},
    )


def libpq_url(url: str) -> str:
    """`postgresql+psycopg://…` → `postgresql://…`, as psycopg itself takes it."""
    return "postgresql://" + sqlalchemy_url(url).removeprefix("postgresql+psycopg://")


def make_read_pool(url: str, *, size: int, wait_seconds: float) -> AsyncConnectionPool:
    """The API's pool for its hot reads (`models.repositories.reads`): plain psycopg in
    autocommit, so a read is one round trip (no pre-ping, BEGIN or ROLLBACK). A broken
    connection is dropped when it comes back and replaced in the background; a request
    that waits `wait_seconds` for one gets `PoolTimeout`, an `OperationalError`: 503.
    Opened by the caller (`await pool.open()`)."""
    return AsyncConnectionPool(
        libpq_url(url),
        min_size=size,
        max_size=size,
        timeout=wait_seconds,
        kwargs={"autocommit": True, "options": CONNECTION_OPTIONS},
        configure=_read_json_with_pydantic,
        open=False,
        name="api-reads",
    )


async def _read_json_with_pydantic(conn: psycopg.AsyncConnection) -> None:
    """JSON columns parsed by pydantic-core (Rust), not the standard library: py-spy put
    `json.loads` at 17 % of the API's CPU on `GET /v1/trends` (four JSON columns a
    signal); pydantic-core parses a page's in about a sixth of the time."""
    set_json_loads(pydantic_core.from_json, conn)


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


AUTOCOMMIT = "AUTOCOMMIT"


async def autocommit(session: AsyncSession) -> AsyncConnection:
    """The session's connection in autocommit, each statement a transaction of its own:
    the one it holds if that is already so, else a new one (an open transaction is
    committed first). Work that reads and then writes once saves the BEGIN and COMMIT
    round trips and, when it starts so, a second checkout (with its pre-ping)."""
    if session.in_transaction():
        held = await session.connection()
        options = held.sync_connection.get_execution_options() if held.sync_connection else {}
        if options.get("isolation_level") == AUTOCOMMIT:
            return held
        await session.commit()
    return await session.connection(execution_options={"isolation_level": AUTOCOMMIT})


async def autocommit_driver(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection under `autocommit(session)`, for a statement sent without
    SQLAlchemy (the session still owns it and gives it back)."""
    held = await autocommit(session)
    raw = await held.get_raw_connection()
    assert isinstance(raw.driver_connection, psycopg.AsyncConnection)
    return raw.driver_connection


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # imported here: alembic costs ~0.7 s at start-up

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Apply every Alembic migration up to head (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")


def run_in_transaction[T](database_url: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one committed transaction on a short-lived engine (CLI commands)."""
    import asyncio

    async def run() -> T:
        engine = make_engine(database_url, pool_size=1)
        try:
            async with make_session_factory(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(run())
