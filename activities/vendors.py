"""Vendor clients per integration, built from the tenant's encrypted tokens.

Activities receive an integration id, never a token: the token is read from Postgres,
decrypted here and kept only in this process's memory, so it never enters a workflow
history. One client (one connection pool) is kept per integration and rebuilt when the
stored token changes. Etsy's rate limit is per application, so every Etsy client of the
process shares one limiter; Printify's is per account, so each client has its own.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiolimiter import AsyncLimiter
from temporalio.exceptions import ApplicationError

from core.crypto import DecryptionError, TokenCipher
from core.db import SessionFactory
from core.settings import Settings
from integrations.etsy import EtsyClient
from integrations.printify import PrintifyClient
from models import tenancy
from models.repositories import NotFoundError
from models.tables import Integration


class VendorClients:
    def __init__(self, sessions: SessionFactory, settings: Settings, cipher: TokenCipher) -> None:
        self._sessions = sessions
        self._settings = settings
        self._cipher = cipher
        self._printify: dict[uuid.UUID, tuple[str, PrintifyClient]] = {}
        self._etsy: dict[uuid.UUID, tuple[str, EtsyClient]] = {}
        self._etsy_limiter = AsyncLimiter(1, 1.0 / settings.etsy_rate_per_second)

    async def _token(
        self, tenant_id: str, integration_id: str, vendor: str
    ) -> tuple[uuid.UUID, str]:
        row = await self._load(tenant_id, integration_id, vendor)
        try:
            return row.id, self._cipher.decrypt(row.access_token_enc)
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
        key, token = await self._token(tenant_id, integration_id, "etsy")
        cached = self._etsy.get(key)
        if cached is not None and cached[0] == token:
            return cached[1]
        settings = self._settings
        client = EtsyClient(
            base_url=settings.etsy_url,
            keystring=settings.etsy_keystring.get_secret_value(),
            shared_secret=settings.etsy_shared_secret.get_secret_value(),
            access_token=token,
            rate_per_second=settings.etsy_rate_per_second,
            timeout=settings.http_timeout_seconds,
            user_agent=settings.user_agent,
            limiter=self._etsy_limiter,
        )
        await self._replace(self._etsy, key, token, client)
        return client

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
