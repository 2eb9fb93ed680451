"""Vendor clients per integration, built from the tenant's encrypted tokens.

Activities receive an integration id, never a token: the token is read from Postgres,
decrypted here and kept only in this process's memory, so it never enters a workflow
history. One client (one connection pool) is kept per integration and rebuilt when the
stored token changes. Etsy's rate limit is per application, so every Etsy client of the
process shares one limiter; Printify's is per account, so each client has its own.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import partial
from typing import Any

from aiolimiter import AsyncLimiter
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.exceptions import ApplicationError

from activities.errors import vendor_failure
from core.crypto import DecryptionError, TokenCipher
from core.db import SessionFactory
from core.settings import Settings
from integrations.errors import VendorError
from integrations.etsy import EtsyClient, TokenRefresher, is_invalid_grant
from integrations.printify import PrintifyClient
from models import tenancy
from models.repositories import NotFoundError
from models.tables import Integration, utcnow


class VendorClients:
    def __init__(self, sessions: SessionFactory, settings: Settings, cipher: TokenCipher) -> None:
        self._sessions = sessions
        self._settings = settings
        self._cipher = cipher
        self._printify: dict[uuid.UUID, tuple[str, PrintifyClient]] = {}
        self._etsy: dict[uuid.UUID, tuple[str, EtsyClient]] = {}
        self._etsy_limiter = AsyncLimiter(1, 1.0 / settings.etsy_rate_per_second)
        self._oauth: EtsyClient | None = None  # app-level client for the token endpoint

    async def _token(
        self, tenant_id: str, integration_id: str, vendor: str
    ) -> tuple[uuid.UUID, str]:
        row = await self._load(tenant_id, integration_id, vendor)
        return row.id, self._decrypt(row.access_token_enc, vendor)

    def _decrypt(self, ciphertext: str, vendor: str) -> str:
        try:
            return self._cipher.decrypt(ciphertext)
        except DecryptionError:
            raise ApplicationError(
                f"the stored {vendor} token cannot be decrypted with POD_ENCRYPTION_KEYS",
                {"vendor": vendor},
                type="INTEGRATION_UNREADABLE",
                non_retryable=True,
            ) from None

    async def _load(self, tenant_id: str, integration_id: str, vendor: str) -> Integration:
        try:
            key = uuid.UUID(integration_id)
            async with self._sessions() as session:
                row = await tenancy.get_integration(
                    session, tenant_id=tenant_id, integration_id=key
                )
        except (ValueError, NotFoundError):
            raise ApplicationError(
                f"the {vendor} integration of this run no longer exists; connect it again",
                {"vendor": vendor},
                type="INTEGRATION_MISSING",
                non_retryable=True,
            ) from None
        if row.vendor != vendor:
            raise ApplicationError(
                f"integration {integration_id} is not a {vendor} integration",
                type="INTEGRATION_MISMATCH",
                non_retryable=True,
            )
        if row.status != "active":
            if vendor == "etsy":
                raise _reauth_required()
            raise ApplicationError(
                f"the {vendor} integration needs to be connected again",
                {"vendor": vendor, "status": row.status},
                type="INTEGRATION_INACTIVE",
                non_retryable=True,
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
        settings = self._settings
        client = PrintifyClient(
            base_url=settings.printify_url,
            token=token,
            user_agent=settings.user_agent,
            rate_per_second=settings.printify_rate_per_second,
            timeout=settings.http_timeout_seconds,
        )
        await self._replace(self._printify, key, token, client)
        return client

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

    def _etsy_client(self, token: str, refresher: TokenRefresher | None = None) -> EtsyClient:
        settings = self._settings
        return EtsyClient(
            base_url=settings.etsy_url,
            keystring=settings.etsy_keystring.get_secret_value(),
            shared_secret=settings.etsy_shared_secret.get_secret_value(),
            access_token=token,
            rate_per_second=settings.etsy_rate_per_second,
            timeout=settings.http_timeout_seconds,
            user_agent=settings.user_agent,
            limiter=self._etsy_limiter,
            token_refresher=refresher,
        )

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
            row = await tenancy.lock_integration(session, tenant_id=tenant_id, integration_id=key)
            if row.status != "active":
                raise _reauth_required()
            current = self._decrypt(row.access_token_enc, "etsy")
            if current != stale and not self._expiring(row):
                return current
            if not row.refresh_token_enc:
                await _mark_needs_reauth(session, row)
                raise _reauth_required()
            if self._oauth is None:
                self._oauth = self._etsy_client("")
            try:
                tokens = await self._oauth.request_tokens(
                    {
                        "grant_type": "refresh_token",
                        "refresh_token": self._decrypt(row.refresh_token_enc, "etsy"),
                    }
                )
            except VendorError as exc:
                if is_invalid_grant(exc):
                    await _mark_needs_reauth(session, row)
                    raise _reauth_required() from None
                raise vendor_failure(exc) from exc
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


def _reauth_required() -> ApplicationError:
    return ApplicationError(
        "Etsy no longer accepts this shop's authorization; connect the shop again",
        {"vendor": "etsy"},
        type="ETSY_REAUTH_REQUIRED",
        non_retryable=True,
    )


async def _mark_needs_reauth(session: AsyncSession, row: Integration) -> None:
    row.status = "needs_reauth"
    row.updated_at = utcnow()
    session.add(row)
    await session.commit()
