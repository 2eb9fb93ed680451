"""Access control for the Etsy emulator: API key, rate limits, OAuth 2.0 PKCE and tokens.

- Every application route needs `x-api-key: <keystring>:<shared_secret>` and is counted
  against a per-key budget (QPS and a rolling 24 h QPD window).
- OAuth routes also need `Authorization: Bearer <user_id>.<token>`: the configured token
  or one issued by `POST /public/oauth/token` that has not expired.
- `GET /oauth/connect` approves at once and redirects with a single-use code; the token
  endpoint checks the PKCE S256 verifier and rotates refresh tokens. The emulator has no
  login page: the user who approves is named by the emulator-only `as_user` query
  parameter (an Etsy user id), else it is the configured user.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute

from sandbox.etsy_rules import EtsyError, form_values
from sandbox.etsy_shops import EtsyShops
from sandbox.store import JsonStore

if TYPE_CHECKING:
    from sandbox.app import EmulatorConfig

# Defaults a test may lower before building an app (read when the router is built).
DEFAULT_QPS = 10
DEFAULT_QPD = 10_000
# Read at issue time, so a test can shorten them on a running emulator.
ACCESS_TOKEN_TTL = 3600
REFRESH_TOKEN_TTL = 90 * 24 * 3600
CODE_TTL = 600
SCOPES = frozenset(
    {"address_r", "address_w", "billing_r", "cart_r", "cart_w", "email_r", "favorites_r"}
    | {"favorites_w", "feedback_r", "listings_d", "listings_r", "listings_w", "profile_r"}
    | {"profile_w", "recommend_r", "recommend_w", "shops_r", "shops_w", "transactions_r"}
    | {"transactions_w"}
)
DAY = 86_400.0


class RateLimiter:
    """Per-key sliding windows: `per_second` in the last second, `per_day` in the last 24 h."""

    def __init__(
        self, per_second: int, per_day: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_second
        self.per_day = per_day
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> dict[str, str]:
        """Count one request and return the `x-limit-*` headers, or raise a 429."""
        with self._lock:
            now = self._clock()
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - DAY:
                hits.popleft()
            this_second = 0
            for moment in reversed(hits):
                if moment <= now - 1 or this_second >= self.per_second:
                    break
                this_second += 1
            if len(hits) >= self.per_day:
                wait = max(1, math.ceil(hits[0] + DAY - now))
                raise EtsyError(
                    429, {"error": "Daily rate limit exceeded."}, {"retry-after": str(wait)}
                )
            if this_second >= self.per_second:
                raise EtsyError(429, {"error": "Rate limit exceeded."}, {"retry-after": "1"})
            hits.append(now)
            return {
                "x-limit-per-second": str(self.per_second),
                "x-remaining-this-second": str(self.per_second - this_second - 1),
                "x-limit-per-day": str(self.per_day),
                "x-remaining-today": str(self.per_day - len(hits)),
            }


def _validation_error(exc: RequestValidationError) -> EtsyError:
    first = exc.errors()[0] if exc.errors() else {}
    where = "/".join(str(part) for part in first.get("loc", ())[1:]) or "request"
    return EtsyError.field(where, str(first.get("msg", "invalid request")))


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def etsy_route_class(before: Callable[[Request], dict[str, str]] | None = None) -> type[APIRoute]:
    """A route class that answers errors in Etsy's shape; `before` gates each request.

    `before` runs ahead of the endpoint and returns headers to add to its answer.
    """

    class EtsyRoute(APIRoute):
        def get_route_handler(self) -> Handler:
            endpoint = super().get_route_handler()

            async def handle(request: Request) -> Response:
                try:
                    headers = before(request) if before else {}
                    response = await endpoint(request)
                except RequestValidationError as exc:
                    return _error_response(_validation_error(exc))
                except EtsyError as exc:
                    return _error_response(exc)
                response.headers.update(headers)
                return response

            return handle

    return EtsyRoute


def _error_response(exc: EtsyError) -> Response:
    return JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)


class Gate:
    """Checks the API key (then counts it) and OAuth bearer tokens."""

    def __init__(self, store: JsonStore, config: EmulatorConfig, limiter: RateLimiter) -> None:
        self._store = store
        self._config = config
        self._limiter = limiter

    def api_key(self, request: Request) -> dict[str, str]:
        """Accept `keystring:shared_secret`, count the call, return the `x-limit-*` headers."""
        key = request.headers.get("x-api-key")
        if not key:
            raise EtsyError.plain(401, "Missing x-api-key header.")
        expected = f"{self._config.etsy_keystring}:{self._config.etsy_shared_secret}"
        if not hmac.compare_digest(key.encode(), expected.encode()):
            raise EtsyError.plain(
                403, "Invalid API key: x-api-key must be 'keystring:shared_secret'."
            )
        return self._limiter.hit(self._config.etsy_keystring)

    def scopes_of(self, token: str) -> list[str]:
        """`tokenScopes`: what a live access token was granted (none for an unknown or
        expired one); the configured development token has every scope."""
        if hmac.compare_digest(token.encode(), self._config.etsy_access_token.encode()):
            return sorted(SCOPES)
        record = self._store.collection("access_tokens").get(_digest(token))
        if record is None or time.time() >= record["expires_at"]:
            return []
        return sorted(str(record.get("scope", "")).split())

    def user_id(self, request: Request, scope: str | None = None) -> int:
        """The user behind `Authorization: Bearer <user_id>.<token>`, or a 401; with
        `scope`, a 403 when the token was not granted it (the configured token has all)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise EtsyError.oauth(401, "invalid_token", "a Bearer access token is required")
        token = token.strip()
        if hmac.compare_digest(token.encode(), self._config.etsy_access_token.encode()):
            return self._config.etsy_user_id
        record = self._store.collection("access_tokens").get(_digest(token))
        if record is None:
            raise EtsyError.oauth(401, "invalid_token", "access token is invalid")
        if time.time() >= record["expires_at"]:
            raise EtsyError.oauth(401, "invalid_token", "access token is expired")
        if scope is not None and scope not in str(record.get("scope", "")).split():
            raise EtsyError.oauth(
                403, "insufficient_scope", f"the access token was not granted {scope}"
            )
        return int(record["user_id"])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _require(values: dict[str, str], *names: str) -> list[str]:
    missing = [name for name in names if not values.get(name)]
    if missing:
        raise EtsyError.oauth(400, "invalid_request", f"missing parameter(s): {', '.join(missing)}")
    return [values[name] for name in names]


class TokenBook:
    """Authorization codes, access tokens and refresh tokens, kept in the store by digest."""

    def __init__(self, store: JsonStore, config: EmulatorConfig) -> None:
        self._store = store
        self._config = config

    def new_code(self, challenge: str, redirect_uri: str, scope: str, user_id: int) -> str:
        code = secrets.token_urlsafe(24)
        with self._store.lock:
            self._store.collection("codes")[_digest(code)] = {
                "challenge": challenge,
                "redirect_uri": redirect_uri,
                "scope": scope,
                "user_id": user_id,
                "expires_at": time.time() + CODE_TTL,
            }
            self._store.save()
        return code

    def exchange_code(self, code: str, redirect_uri: str, verifier: str) -> dict[str, Any]:
        with self._store.lock:
            record = self._store.collection("codes").pop(_digest(code), None)
            self._store.save()
        if record is None or time.time() >= record["expires_at"]:
            raise EtsyError.oauth(400, "invalid_grant", "code is invalid, expired or already used")
        if record["redirect_uri"] != redirect_uri:
            raise EtsyError.oauth(400, "invalid_grant", "redirect_uri does not match")
        if not hmac.compare_digest(_s256(verifier), record["challenge"]):
            raise EtsyError.oauth(
                400, "invalid_grant", "code_verifier does not match the challenge"
            )
        return self._issue(int(record["user_id"]), record["scope"])

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        with self._store.lock:
            record = self._store.collection("refresh_tokens").get(_digest(refresh_token))
            if record is None:
                raise EtsyError.oauth(400, "invalid_grant", "refresh_token is invalid")
            if record.get("revoked"):
                raise EtsyError.oauth(400, "invalid_grant", "refresh_token is revoked")
            if time.time() >= record["expires_at"]:
                raise EtsyError.oauth(400, "invalid_grant", "refresh_token is expired")
            record["revoked"] = True
            return self._issue(int(record["user_id"]), record["scope"])

    def _issue(self, user_id: int, scope: str) -> dict[str, Any]:
        access = f"{user_id}.{secrets.token_urlsafe(32)}"
        refresh = f"{user_id}.{secrets.token_urlsafe(32)}"
        now = time.time()
        with self._store.lock:
            self._store.collection("access_tokens")[_digest(access)] = {
                "user_id": user_id,
                "scope": scope,
                "expires_at": now + ACCESS_TOKEN_TTL,
            }
            self._store.collection("refresh_tokens")[_digest(refresh)] = {
                "user_id": user_id,
                "scope": scope,
                "expires_at": now + REFRESH_TOKEN_TTL,
                "revoked": False,
            }
            self._store.save()
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_TTL,
            "refresh_token": refresh,
        }


def _check_connect(values: dict[str, str], keystring: str) -> tuple[str, str, str, str]:
    response_type, client_id, redirect_uri, scope, state, challenge, method = _require(
        values,
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    )
    if response_type != "code":
        raise EtsyError.oauth(400, "unsupported_response_type", "response_type must be code")
    if client_id != keystring:
        raise EtsyError.oauth(400, "invalid_client", "unknown client_id")
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise EtsyError.oauth(400, "invalid_request", "The requested redirect URL is not permitted")
    unknown = sorted(set(scope.split()) - SCOPES)
    if unknown:
        raise EtsyError.oauth(400, "invalid_scope", f"unknown scope(s): {' '.join(unknown)}")
    if method != "S256":
        raise EtsyError.oauth(400, "invalid_request", "code_challenge_method must be S256")
    if not 43 <= len(challenge) <= 128:
        raise EtsyError.oauth(400, "invalid_request", "code_challenge must be 43-128 characters")
    return redirect_uri, scope, state, challenge


def _approving_user(as_user: str | None, shops: EtsyShops, default: int) -> int:
    """The user who approves the connection: `as_user` if given (it must exist)."""
    if as_user is None:
        return default
    if not as_user.isdigit() or not shops.known_user(int(as_user)):
        raise EtsyError.oauth(400, "invalid_request", f"unknown Etsy user {as_user!r}")
    return int(as_user)


def build_oauth_router(store: JsonStore, config: EmulatorConfig) -> APIRouter:
    """`GET /oauth/connect` and `POST /public/oauth/token` (no API key, not rate limited)."""
    router = APIRouter(route_class=etsy_route_class())
    book = TokenBook(store, config)
    shops = EtsyShops(store, config)

    @router.get("/oauth/connect")
    def connect(request: Request) -> Response:
        values = dict(request.query_params)
        redirect_uri, scope, state, challenge = _check_connect(values, config.etsy_keystring)
        user_id = _approving_user(values.get("as_user"), shops, config.etsy_user_id)
        code = book.new_code(challenge, redirect_uri, scope, user_id)
        joiner = "&" if urlsplit(redirect_uri).query else "?"
        query = urlencode({"code": code, "state": state})
        return RedirectResponse(f"{redirect_uri}{joiner}{query}", status_code=302)

    @router.post("/public/oauth/token")
    async def token(request: Request) -> dict[str, Any]:
        values = form_values(await request.form())
        grant_type, client_id = _require(values, "grant_type", "client_id")
        if client_id != config.etsy_keystring:
            raise EtsyError.oauth(401, "invalid_client", "unknown client_id")
        if grant_type == "authorization_code":
            redirect_uri, code, verifier = _require(values, "redirect_uri", "code", "code_verifier")
            return book.exchange_code(code, redirect_uri, verifier)
        if grant_type == "refresh_token":
            (refresh_token,) = _require(values, "refresh_token")
            return book.refresh(refresh_token)
        raise EtsyError.oauth(400, "unsupported_grant_type", f"unsupported grant_type {grant_type}")

    return router
