"""Connecting an Etsy shop with OAuth 2.0 Authorization Code + PKCE (S256).

`start` makes a random state and code verifier, keeps the verifier (encrypted) and the
state's digest for `OAUTH_STATE_TTL`, and returns Etsy's authorization URL. Etsy sends
the seller back to our callback with `code` and `state`; `finish` takes the state once,
exchanges the code with the verifier, and stores the tokens encrypted on the tenant's
Etsy integration, with their expiry and the Etsy user id (the tokens' numeric prefix).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlmodel.ext.asyncio.session import AsyncSession

from core.crypto import TokenCipher
from core.settings import Settings
from domain.errors import CATALOGUE, DomainError
from integrations.errors import VendorError
from integrations.etsy import EtsyClient
from models import repositories
from models.tables import Integration, OAuthState, utcnow
from services.accounts import store_integration

OAUTH_STATE_TTL = timedelta(minutes=10)


class ConnectError(DomainError):
    """The callback cannot complete the connection; `code` (`OAUTH_*`) says why."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(CATALOGUE[code], message, details)


@dataclass(frozen=True)
class Authorization:
    url: str
    state: str
    expires_at: datetime


def challenge_for(verifier: str) -> str:
    """base64url(SHA-256(verifier)) without padding (RFC 7636, S256)."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def state_digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


async def start(
    session: AsyncSession,
    settings: Settings,
    cipher: TokenCipher,
    *,
    tenant_id: str,
    member_id: uuid.UUID,
) -> Authorization:
    """A pending authorization for the tenant and the URL to send the seller to."""
    state = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)  # 86 characters, within RFC 7636's 43-128
    expires_at = utcnow() + OAUTH_STATE_TTL
    await repositories.integrations.purge_expired_oauth_states(session, tenant_id=tenant_id)
    await repositories.integrations.add_oauth_state(
        session,
        tenant_id=tenant_id,
        state=OAuthState(
            state_hash=state_digest(state),
            tenant_id=tenant_id,
            member_id=member_id,
            vendor="etsy",
            verifier_enc=cipher.encrypt(verifier),
            redirect_uri=settings.etsy_redirect_url,
            expires_at=expires_at,
        ),
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.etsy_keystring.get_secret_value(),
            "redirect_uri": settings.etsy_redirect_url,
            "scope": settings.etsy_oauth_scopes,
            "state": state,
            "code_challenge": challenge_for(verifier),
            "code_challenge_method": "S256",
        }
    )
    return Authorization(f"{settings.etsy_connect_url}?{query}", state, expires_at)


async def finish(
    session: AsyncSession,
    cipher: TokenCipher,
    client: EtsyClient,
    *,
    state: str,
    code: str,
) -> Integration:
    """Complete the connection: the state once, the code exchanged, the tokens stored."""
    pending = await repositories.integrations.take_oauth_state(
        session, state_hash=state_digest(state)
    )
    if pending is None or pending.vendor != "etsy" or pending.expires_at <= utcnow():
        await session.commit()  # an expired state is used up as well
        raise ConnectError(
            "OAUTH_STATE_INVALID", "the authorization is unknown, used or expired; start again"
        )
    try:
        tokens = await client.exchange_code(
            code, pending.redirect_uri, cipher.decrypt(pending.verifier_enc)
        )
        access = str(tokens["access_token"])
        client.use_token(access)
        me = await client.get_me()
    except VendorError as exc:
        await session.commit()
        raise ConnectError(
            "OAUTH_EXCHANGE_FAILED", f"Etsy refused the authorization: {exc.message}"
        ) from None
    integration = await store_integration(
        session,
        cipher,
        tenant_id=pending.tenant_id,
        vendor="etsy",
        access_token=access,
        refresh_token=str(tokens["refresh_token"]),
        token_expires_at=utcnow() + timedelta(seconds=int(tokens.get("expires_in", 3600))),
        shop_id=int(me["shop_id"]) if me.get("shop_id") else None,
        external_user_id=access.split(".", 1)[0],
    )
    await session.commit()
    return integration
