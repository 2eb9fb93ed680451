"""The vendor gateway: the one place a tenant's Printify or Etsy client, and the Etsy app
client, are built, for activities, routes and the CLI alike, with every rate-limit scope.

Activities receive an integration id, never a token: the token is read from Postgres,
decrypted here and kept only in this process's memory, so it never enters a workflow
history. One client (one connection pool) is kept per integration and rebuilt when the
stored token changes. Etsy's rate limit is per application, so every Etsy client of the
process shares one set of limits; Printify's is per account, so each integration has its
own. With `pacing`, each of those rates also holds across every process sharing the
database (`DatabasePacer`, ADR 0013). Routes and the CLI borrow a client for one piece of
work (`tenant_printify`) under the same account limits.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta
from functools import partial
from types import TracebackType
from typing import Any

from cachetools import LRUCache
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.crypto import DecryptionError, TokenCipher
from core.db import SessionFactory
from core.settings import Settings
from domain import errors
from domain.errors import DomainError
from integrations.errors import VendorError
from integrations.etsy import EtsyClient, TokenRefresher, is_invalid_grant
from integrations.http import Limit, steady_rate
from integrations.printify import PrintifyClient, PrintifyLimits
from models import repositories
from models.repositories import NotFoundError
from models.tables import Integration, utcnow


class DatabasePacer(AbstractAsyncContextManager[None]):
    """Spaces one vendor scope's requests across every process that shares the database.

    A request's turn is the scope's Postgres advisory lock, held for `1/rate` seconds from
    when it is granted and then released in the background while the request goes out:
    turns in all processes are at least that far apart, however many workers there are.
    A holder that dies loses its connection, and with it the lock.
    """

    def __init__(self, sessions: SessionFactory, scope: str, rate_per_second: float) -> None:
        self._sessions = sessions
        digest = hashlib.sha256(scope.encode()).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)
        self._interval = 1.0 / rate_per_second
        # One request per process and scope waits in Postgres (holding a connection).
        self._turn = asyncio.Lock()
        self._releases: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> None:
        await self._turn.acquire()
        session = self._sessions()
        try:
            await session.exec(select(func.pg_advisory_xact_lock(self._key)))
        except BaseException:
            await session.close()
            self._turn.release()
            raise
        release = asyncio.create_task(self._release_later(session))
        self._releases.add(release)
        release.add_done_callback(self._releases.discard)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    async def _release_later(self, session: AsyncSession) -> None:
        try:
            await asyncio.sleep(self._interval)
        finally:
            try:
                await session.close()  # ends the transaction, which frees the lock
            finally:
                self._turn.release()

    async def aclose(self) -> None:
        """Wait for the turns still held to be handed on."""
        await asyncio.gather(*self._releases, return_exceptions=True)


# Printify accounts whose limits a process keeps (least recently used ones are dropped).
LIMITED_ACCOUNTS = 10_000


class VendorGateway:
    """Builds and keeps the vendor clients of one process (see the module's docstring)."""

    def __init__(
        self,
        sessions: SessionFactory,
        settings: Settings,
        cipher: TokenCipher,
        *,
        pacing: SessionFactory | None = None,
    ) -> None:
        """`pacing` (a small pool of its own, so turns never wait for the activities'
        connections) makes the vendor rates hold across processes; without it they hold
        per process only."""
        self._sessions = sessions
        self._settings = settings
        self._cipher = cipher
        self._pacing = pacing
        self._pacers: list[DatabasePacer] = []
        self._printify: dict[uuid.UUID, tuple[str, PrintifyClient]] = {}
        self._printify_limits: LRUCache[uuid.UUID, PrintifyLimits] = LRUCache(LIMITED_ACCOUNTS)
        self._etsy: dict[uuid.UUID, tuple[str, EtsyClient]] = {}
        rate = settings.etsy_rate_per_second
        app = settings.etsy_keystring.get_secret_value()
        self._etsy_limits = (*steady_rate(rate), *self._paced(f"etsy:{app}", rate))
        self._oauth: EtsyClient | None = None  # app-level client for the token endpoint

    def _paced(self, scope: str, rate_per_second: float) -> tuple[Limit, ...]:
        """The scope's pacer across processes, when there is a database to pace with."""
        if self._pacing is None:
            return ()
        pacer = DatabasePacer(self._pacing, scope, rate_per_second)
        self._pacers.append(pacer)
        return (pacer,)

    def _printify_account(self, key: uuid.UUID) -> PrintifyLimits:
        """The limits of one Printify account, kept when its client is rebuilt."""
        limits = self._printify_limits.get(key)
        if limits is None:
            settings = self._settings
            rate = settings.printify_rate_per_second
            limits = self._printify_limits[key] = PrintifyLimits.build(
                per_second=rate,
                catalog_per_minute=settings.printify_catalog_per_minute,
                publishes_per_30_minutes=settings.printify_publishes_per_30_minutes,
                shared=self._paced(f"printify:{key}", rate),
            )
        return limits

    async def _token(
        self, tenant_id: str, integration_id: str, vendor: str
    ) -> tuple[uuid.UUID, str]:
        row = await self._load(tenant_id, integration_id, vendor)
        return row.id, self._decrypt(row.access_token_enc, vendor)

    def _decrypt(self, ciphertext: str, vendor: str) -> str:
        try:
            return self._cipher.decrypt(ciphertext)
        except DecryptionError:
            raise DomainError(
                errors.INTEGRATION_UNREADABLE,
                f"the stored {vendor} token cannot be decrypted with POD_ENCRYPTION_KEYS",
                {"vendor": vendor},
            ) from None

    async def _load(self, tenant_id: str, integration_id: str, vendor: str) -> Integration:
        try:
            key = uuid.UUID(integration_id)
            async with self._sessions() as session:
                row = await repositories.integrations.get_integration(
                    session, tenant_id=tenant_id, integration_id=key
                )
        except (ValueError, NotFoundError):
            raise DomainError(
                errors.INTEGRATION_MISSING,
                f"the {vendor} integration of this run no longer exists; connect it again",
                {"vendor": vendor},
            ) from None
        if row.vendor != vendor:
            raise DomainError(
                errors.INTEGRATION_MISMATCH,
                f"integration {integration_id} is not a {vendor} integration",
            )
        if row.status != "active":
            if vendor == "etsy":
                raise _reauth_required()
            raise DomainError(
                errors.INTEGRATION_INACTIVE,
                f"the {vendor} integration needs to be connected again",
                {"vendor": vendor, "status": row.status},
            )
        return row

    async def shop_id(self, tenant_id: str, integration_id: str, vendor: str) -> int | None:
        """The shop the integration was connected with, if one was chosen."""
        row = await self._load(tenant_id, integration_id, vendor)
        return row.shop_id

    async def printify(self, tenant_id: str, integration_id: str) -> PrintifyClient:
        key, token = await self._token(tenant_id, integration_id, "printify")
        cached = self._printify.get(key)
        if cached is not None and cached[0] == token:
            return cached[1]
        client = self._printify_client(token, key)
        await self._replace(self._printify, key, token, client)
        return client

    @asynccontextmanager
    async def tenant_printify(self, tenant_id: str) -> AsyncIterator[PrintifyClient]:
        """A client of the tenant's connected Printify account for one piece of work (a
        route's catalog read), closed after it; 409 `INTEGRATION_REQUIRED` without one."""
        async with self._sessions() as session:
            row = await repositories.integrations.find_integration(
                session, tenant_id=tenant_id, vendor="printify"
            )
        if row is None or row.status != "active":
            raise DomainError(
                errors.INTEGRATION_REQUIRED,
                "connect Printify first (PUT /v1/integrations/printify)",
            )
        client = self._printify_client(self._decrypt(row.access_token_enc, "printify"), row.id)
        try:
            yield client
        finally:
            await client.aclose()

    def _printify_client(self, token: str, key: uuid.UUID) -> PrintifyClient:
        settings = self._settings
        return PrintifyClient(
            base_url=settings.printify_url,
            token=token,
            user_agent=settings.user_agent,
            timeout=settings.http_timeout_seconds,
            limits=self._printify_account(key),
        )

    async def etsy(self, tenant_id: str, integration_id: str) -> EtsyClient:
        """The integration's client, its access token refreshed first when it is about to
        expire; a token Etsy refuses (`invalid_token`) is refreshed and the call repeated."""
        row = await self._load(tenant_id, integration_id, "etsy")
        token = self._decrypt(row.access_token_enc, "etsy")
        if self._expiring(row):
            token = await self._refresh_etsy(tenant_id, row.id, token)
        cached = self._etsy.get(row.id)
        if cached is not None:
            if cached[0] != token:  # refreshed elsewhere: same pool, new token
                cached[1].use_token(token)
                self._etsy[row.id] = (token, cached[1])
            return cached[1]
        client = self._etsy_client(token, partial(self._refresh_etsy, tenant_id, row.id))
        self._etsy[row.id] = (token, client)
        return client

    def etsy_app(self) -> EtsyClient:
        """The app-level Etsy client (no shop's token): OAuth token exchange and refresh."""
        if self._oauth is None:
            self._oauth = self._etsy_client("")
        return self._oauth

    def _etsy_client(self, token: str, refresher: TokenRefresher | None = None) -> EtsyClient:
        return etsy_client(self._settings, token, self._etsy_limits, refresher)

    def _expiring(self, row: Integration) -> bool:
        if row.token_expires_at is None:
            return False
        margin = timedelta(seconds=self._settings.etsy_refresh_margin_seconds)
        return row.token_expires_at - utcnow() < margin

    async def _refresh_etsy(self, tenant_id: str, key: uuid.UUID, stale: str) -> str:
        """A fresh access token for the integration; the rotated refresh token is stored.

        The integration row is locked meanwhile, so workers refreshing at once do it once:
        the others find a token newer than the one they hold and use it. A refresh token
        Etsy no longer accepts marks the integration `needs_reauth` and fails the run with
        `ETSY_REAUTH_REQUIRED` (the seller must connect the shop again).
        """
        async with self._sessions() as session:
            row = await repositories.integrations.lock_integration(
                session, tenant_id=tenant_id, integration_id=key
            )
            if row.status != "active":
                raise _reauth_required()
            current = self._decrypt(row.access_token_enc, "etsy")
            if current != stale and not self._expiring(row):
                return current
            if not row.refresh_token_enc:
                await _mark_needs_reauth(session, row)
                raise _reauth_required()
            try:
                tokens = await self.etsy_app().request_tokens(
                    {
                        "grant_type": "refresh_token",
                        "refresh_token": self._decrypt(row.refresh_token_enc, "etsy"),
                    }
                )
            except VendorError as exc:
                if is_invalid_grant(exc):
                    await _mark_needs_reauth(session, row)
                    raise _reauth_required() from None
                raise
            fresh = str(tokens["access_token"])
            row.access_token_enc = self._cipher.encrypt(fresh)
            row.refresh_token_enc = self._cipher.encrypt(str(tokens["refresh_token"]))
            row.token_expires_at = utcnow() + timedelta(seconds=int(tokens.get("expires_in", 3600)))
            row.updated_at = utcnow()
            session.add(row)
            await session.commit()
            return fresh

    @staticmethod
    async def _replace(
        cache: dict[uuid.UUID, Any], key: uuid.UUID, token: str, client: Any
    ) -> None:
        old = cache.get(key)
        cache[key] = (token, client)
        if old is not None:
            await old[1].aclose()

    async def aclose(self) -> None:
        for cache in (self._printify, self._etsy):
            for _, client in cache.values():
                await client.aclose()
            cache.clear()
        if self._oauth is not None:
            await self._oauth.aclose()
            self._oauth = None
        await asyncio.gather(*(pacer.aclose() for pacer in self._pacers))


def etsy_client(
    settings: Settings,
    token: str,
    limits: tuple[Limit, ...] | None = None,
    refresher: TokenRefresher | None = None,
) -> EtsyClient:
    """An Etsy client of this app with a shop's token (the gateway's, or the CLI's check of
    the development shop, which has no integration of its own to go through)."""
    return EtsyClient(
        base_url=settings.etsy_url,
        keystring=settings.etsy_keystring.get_secret_value(),
        shared_secret=settings.etsy_shared_secret.get_secret_value(),
        access_token=token,
        timeout=settings.http_timeout_seconds,
        user_agent=settings.user_agent,
        limits=limits,
        token_refresher=refresher,
    )


def _reauth_required() -> DomainError:
    return DomainError(
        errors.ETSY_REAUTH_REQUIRED,
        "Etsy no longer accepts this shop's authorization; connect the shop again",
        {"vendor": "etsy"},
    )


async def _mark_needs_reauth(session: AsyncSession, row: Integration) -> None:
    row.status = "needs_reauth"
    row.updated_at = utcnow()
    session.add(row)
    await session.commit()
