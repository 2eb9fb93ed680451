"""OIDC / JWT bearer tokens from a configured identity provider (optional).

When `OIDC_ISSUER` and `OIDC_AUDIENCE` are set with the issuer's public keys
(`OIDC_JWKS_FILE`, a JWKS document, or `OIDC_JWKS_URL`, fetched and cached), a bearer
token that is a JWT is verified here: signature with an asymmetric algorithm only
(RS256/ES256 — never a shared secret, so a public key cannot be used to forge one),
`iss`, `aud`, `exp` required. The token names the tenant (`OIDC_TENANT_CLAIM`,
default `pod_tenant`) and the person (`email`); the person must be a member of that
tenant, whose role then applies exactly as for an API key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

ALGORITHMS = ["RS256", "ES256"]


class InvalidIdentityToken(ValueError):
    """The token is not acceptable; the message says why (no token content)."""


@dataclass(frozen=True)
class Identity:
    tenant_id: str
    email: str
    subject: str


class OidcVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_file: Path | None = None,
        jwks_url: str | None = None,
        tenant_claim: str = "pod_tenant",
        leeway_seconds: int = 30,
    ) -> None:
        if (jwks_file is None) == (jwks_url is None):
            raise ValueError("set exactly one of OIDC_JWKS_FILE and OIDC_JWKS_URL")
        self._issuer = issuer
        self._audience = audience
        self._tenant_claim = tenant_claim
        self._leeway = leeway_seconds
        self._keys: dict[str, Any] = {}
        self._client: jwt.PyJWKClient | None = None
        if jwks_file is not None:
            document = json.loads(jwks_file.read_text())
            for jwk in jwt.PyJWKSet.from_dict(document).keys:
                self._keys[str(jwk.key_id)] = jwk.key
        else:
            self._client = jwt.PyJWKClient(str(jwks_url), cache_keys=True, lifespan=3600)

    def _key_for(self, token: str) -> Any:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidIdentityToken("the bearer token is not a well-formed JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise InvalidIdentityToken("the token's signing algorithm is not accepted")
        if self._client is not None:
            try:
                return self._client.get_signing_key_from_jwt(token).key
            except jwt.PyJWTError:
                raise InvalidIdentityToken("no issuer key matches the token") from None
        key = self._keys.get(str(header.get("kid")))
        if key is None:
            raise InvalidIdentityToken("no issuer key matches the token")
        return key

    def verify(self, token: str) -> Identity:
        key = self._key_for(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidIdentityToken("the token has expired") from None
        except jwt.PyJWTError:
            raise InvalidIdentityToken("the token is not valid for this service") from None
        tenant = claims.get(self._tenant_claim)
        email = claims.get("email")
        if not isinstance(tenant, str) or not isinstance(email, str) or not tenant or not email:
            raise InvalidIdentityToken(
                f"the token lacks the {self._tenant_claim!r} or 'email' claim"
            )
        return Identity(tenant_id=tenant, email=email.strip().lower(), subject=str(claims["sub"]))


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith("pod_")
