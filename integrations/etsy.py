"""Etsy Open API v3 client (works against https://api.etsy.com/v3 and the local emulator).

Every call sends `x-api-key: <keystring>:<shared_secret>`; application calls also send
`Authorization: Bearer <user_id>.<token>`. Bodies are form-encoded as Etsy expects
(tags as one comma-separated string), images go as multipart. Errors become
`VendorError(vendor="etsy")` through the shared `VendorHttp` core, with the message
parsed from any of Etsy's error shapes and the credentials never echoed.
"""

from __future__ import annotations

import html
import mimetypes
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from decimal import Decimal
from typing import Any

import httpx

from integrations.errors import VendorError
from integrations.http import Limit, VendorHttp, steady_rate

VENDOR = "etsy"
PAGE_SIZE = 100
EARLIEST_TIMESTAMP = 946_684_800  # the lowest timestamp filter Etsy's document allows


TokenRefresher = Callable[[str], Awaitable[str]]  # the refused token -> a fresh one


def is_invalid_token(exc: VendorError) -> bool:
    """Etsy refused the access token (expired or revoked): `401 invalid_token`."""
    return exc.status == 401 and exc.details.get("error") == "invalid_token"


def is_invalid_grant(exc: VendorError) -> bool:
    """The refresh token (or code) is revoked, expired or unknown: `400 invalid_grant`."""
    return exc.status == 400 and exc.details.get("error") == "invalid_grant"


def is_insufficient_scope(exc: VendorError) -> bool:
    """The token was not granted the operation's scope (`transactions_r` to read receipts,
    `transactions_w` to post tracking): the seller must connect the shop again."""
    error = str(exc.details.get("error", ""))
    return exc.status == 403 and (error == "insufficient_scope" or "scope" in exc.message)


def parse_etsy_error(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    """Message and details from `{"error"}`, `{"error","error_description"}` or `[{path,...}]`."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:200]
        return (text or response.reason_phrase or "no details"), {}
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        description = body.get("error_description")
        if isinstance(description, str):
            details = {"error": body["error"], "error_description": description}
            return f"{body['error']}: {description}", details
        return body["error"], {"error": body["error"]}
    if isinstance(body, list) and body and all(isinstance(item, dict) for item in body):
        errors = [
            {key: item.get(key) for key in ("path", "type", "message") if key in item}
            for item in body
        ]
        message = "; ".join(
            f"{e.get('path', '')} : {e.get('message', e.get('type', ''))}" for e in errors
        )
        return message, {"errors": errors}
    return str(body)[:200], {}


def price_string(cents: int) -> str:
    """Cents as Etsy's decimal price string, e.g. 1999 -> "19.99"."""
    return str(Decimal(cents).scaleb(-2))


def price_cents(listing: dict[str, Any]) -> int | None:
    """A listing's price (`{amount, divisor}` Money) in cents, if it has one."""
    price = listing.get("price")
    if not isinstance(price, dict) or not price.get("divisor"):
        return None
    return int(Decimal(int(price["amount"]) * 100) / int(price["divisor"]))


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(item) for item in value)
    return str(value)


def _form(fields: dict[str, Any]) -> dict[str, str]:
    return {name: _form_value(value) for name, value in fields.items() if value is not None}


def listing_url(listing: dict[str, Any]) -> str:
    """The page a person opens for a listing: its `url`, else the etsy.com listing URL."""
    url = listing.get("url")
    if isinstance(url, str) and url:
        return url
    return f"https://www.etsy.com/listing/{listing['listing_id']}"


class EtsyClient:
    """Async Etsy v3 client; methods return Etsy's JSON as plain dicts."""

    def __init__(
        self,
        *,
        base_url: str,
        keystring: str,
        shared_secret: str,
        access_token: str,
        rate_per_second: float = 10.0,
        timeout: float = 30.0,
        max_attempts: int = 4,
        backoff_base: float = 0.25,
        transport: httpx.AsyncBaseTransport | None = None,
        limits: Sequence[Limit] | None = None,
        user_agent: str = "pod-automator",
        token_refresher: TokenRefresher | None = None,
    ) -> None:
        """Etsy limits per application: `limits` are shared by every client of the app;
        without them the client keeps its own at `rate_per_second`."""
        scope = tuple(limits) if limits is not None else steady_rate(rate_per_second)
        self._keystring = keystring
        self._access_token = access_token
        self._token_refresher = token_refresher
        self._http = VendorHttp(
            VENDOR,
            base_url=base_url,
            headers={
                "x-api-key": f"{keystring}:{shared_secret}",
                "user-agent": user_agent,
                "accept": "application/json",
            },
            limits=lambda _method, _path: scope,
            error_message=parse_etsy_error,
            timeout=timeout,
            max_attempts=max_attempts,
            backoff_base=backoff_base,
            transport=transport,
            secrets=(keystring, shared_secret, access_token),
        )

    async def aclose(self) -> None:
        """Close the pooled HTTP connections."""
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self._access_token}"}
        try:
            return await self._http.request(method, path, headers=headers, **kwargs)
        except VendorError as exc:
            # Etsy refused the token before acting: refresh it once and send again.
            if self._token_refresher is None or not is_invalid_token(exc):
                raise
        self.use_token(await self._token_refresher(self._access_token))
        headers = {"authorization": f"Bearer {self._access_token}"}
        return await self._http.request(method, path, headers=headers, **kwargs)

    def use_token(self, access_token: str) -> None:
        """Send `access_token` from now on (a refreshed one); it is redacted like the first."""
        self._access_token = access_token
        self._http.add_secret(access_token)

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = (await self._call(method, path, **kwargs)).json()
        return data

    async def ping(self) -> dict[str, Any]:
        """`GET /application/openapi-ping`: `{"application_id": int}`."""
        return await self._json("GET", "application/openapi-ping")

    async def token_scopes(self) -> list[str]:
        """tokenScopes: the scopes the client's access token was granted (API key only; the
        token travels in the form, never in a URL)."""
        response = await self._http.request(
            "POST", "application/scopes", data={"token": self._access_token}
        )
        return sorted(str(scope) for scope in response.json().get("scopes") or [])

    async def get_me(self) -> dict[str, Any]:
        """The token's user: `{"user_id", "shop_id"}`."""
        return await self._json("GET", "application/users/me")

    async def get_shop(self, shop_id: int) -> dict[str, Any]:
        """The Shop resource."""
        return await self._json("GET", f"application/shops/{shop_id}")

    async def get_shipping_profiles(self, shop_id: int) -> list[dict[str, Any]]:
        """getShopShippingProfiles: the shop's ShopShippingProfile list."""
        page = await self._json("GET", f"application/shops/{shop_id}/shipping-profiles")
        return list(page.get("results") or [])

    async def get_return_policies(self, shop_id: int) -> list[dict[str, Any]]:
        """getShopReturnPolicies: the shop's ShopReturnPolicy list."""
        page = await self._json("GET", f"application/shops/{shop_id}/policies/return")
        return list(page.get("results") or [])

    async def get_readiness_state_definitions(self, shop_id: int) -> list[dict[str, Any]]:
        """getShopReadinessStateDefinitions: every processing profile of the shop (paged)."""
        found: list[dict[str, Any]] = []
        while True:
            params = {"limit": PAGE_SIZE, "offset": len(found)}
            path = f"application/shops/{shop_id}/readiness-state-definitions"
            page = await self._json("GET", path, params=params)
            results = list(page.get("results") or [])
            found += results
            if not results or len(found) >= int(page.get("count", 0)):
                return found

    async def create_draft_listing(
        self,
        shop_id: int,
        *,
        title: str,
        description: str,
        price_cents: int,
        quantity: int,
        tags: list[str],
        taxonomy_id: int,
        who_made: str = "i_did",
        when_made: str = "made_to_order",
        is_supply: bool = False,
        shipping_profile_id: int | None = None,
        return_policy_id: int | None = None,
        readiness_state_id: int | None = None,
        materials: list[str] | None = None,
    ) -> dict[str, Any]:
        """createDraftListing (form-encoded); returns the new draft ShopListing.

        `who_made`, `when_made` and `is_supply` always go together (Etsy's rule); a
        physical listing names the shop's shipping profile and processing profile
        (`readiness_state_id`). Not retried after a 5xx (a POST may have created the
        draft): look it up with `drafts_with_copy` before creating it again.
        """
        fields = {
            "quantity": quantity,
            "title": title,
            "description": description,
            "price": price_string(price_cents),
            "who_made": who_made,
            "when_made": when_made,
            "is_supply": is_supply,
            "taxonomy_id": taxonomy_id,
            "tags": tags,
            "shipping_profile_id": shipping_profile_id,
            "return_policy_id": return_policy_id,
            "readiness_state_id": readiness_state_id,
            "materials": materials,
        }
        return await self._json("POST", f"application/shops/{shop_id}/listings", data=_form(fields))

    async def list_shop_listings(
        self, shop_id: int, state: str = "active", limit: int = 100, offset: int = 0
    ) -> dict[str, Any]:
        """getListingsByShop: `{"count", "results"}`, newest first."""
        params = {
            "state": state,
            "limit": limit,
            "offset": offset,
            "sort_on": "created",
            "sort_order": "desc",
        }
        return await self._json("GET", f"application/shops/{shop_id}/listings", params=params)

    async def drafts_with_copy(
        self, shop_id: int, *, title: str, description: str, created_since: int
    ) -> list[dict[str, Any]]:
        """Drafts with exactly this title and description made at or after
        `created_since` (epoch seconds), newest first.

        Used to find a draft a lost POST answer already created. Drafts come newest
        first, so paging stops at the first older one. Etsy may return HTML-escaped
        text, so the copy is compared unescaped and trimmed.
        """
        found = []
        async with aclosing(self._all_listings(shop_id, "draft")) as drafts:
            async for listing in drafts:
                if _created(listing) < created_since:
                    break
                if _same_text(listing.get("title"), title) and _same_text(
                    listing.get("description"), description
                ):
                    found.append(listing)
        return sorted(found, key=_age_key, reverse=True)

    async def _all_listings(self, shop_id: int, state: str) -> AsyncGenerator[dict[str, Any]]:
        offset = 0
        while True:
            page = await self.list_shop_listings(shop_id, state, PAGE_SIZE, offset)
            results = page.get("results") or []
            for listing in results:
                yield listing
            offset += len(results)
            if not results or offset >= int(page.get("count", 0)):
                return

    async def listing_counters(self, shop_id: int) -> dict[int, tuple[int, int]]:
        """getListingsByShop, active, every page: each listing's views and favourites
        (`views`, `num_favorers`), by listing id."""
        return {
            int(listing["listing_id"]): (
                int(listing.get("views") or 0),
                int(listing.get("num_favorers") or 0),
            )
            async for listing in self._all_listings(shop_id, "active")
        }

    async def get_listing(
        self, listing_id: int, includes: list[str] | str | None = None
    ) -> dict[str, Any]:
        """getListing; `includes` such as `["Images"]` adds those associations."""
        params = {"includes": _form_value(includes)} if includes else None
        return await self._json("GET", f"application/listings/{listing_id}", params=params)

    async def get_listing_inventory(self, listing_id: int) -> dict[str, Any]:
        """getListingInventory: `{products: [{product_id, sku, offerings, property_values}],
        price_on_property, quantity_on_property, sku_on_property}`."""
        return await self._json("GET", f"application/listings/{listing_id}/inventory")

    async def update_listing_inventory(
        self,
        listing_id: int,
        products: list[dict[str, Any]],
        *,
        price_on_property: Sequence[int] = (),
        quantity_on_property: Sequence[int] = (),
        sku_on_property: Sequence[int] = (),
    ) -> dict[str, Any]:
        """updateListingInventory (PUT, JSON): the listing's products replace its old ones.

        Each product is `{sku, property_values: [{property_id, property_name, value_ids,
        values}], offerings: [{price, quantity, is_enabled, readiness_state_id}]}` with the
        price as a decimal number; repeating the same call changes nothing.
        """
        body = {
            "products": products,
            "price_on_property": list(price_on_property),
            "quantity_on_property": list(quantity_on_property),
            "sku_on_property": list(sku_on_property),
        }
        return await self._json("PUT", f"application/listings/{listing_id}/inventory", json=body)

    async def get_listing_images(self, listing_id: int) -> dict[str, Any]:
        """getListingImages: `{"count", "results": [ListingImage]}`."""
        return await self._json("GET", f"application/listings/{listing_id}/images")

    async def upload_listing_image(
        self,
        shop_id: int,
        listing_id: int,
        *,
        image: bytes,
        file_name: str,
        rank: int = 1,
        alt_text: str = "",
    ) -> dict[str, Any]:
        """uploadListingImage (multipart); returns the ListingImage."""
        content_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        files = {"image": (file_name, image, content_type)}
        data = {"rank": str(rank), "alt_text": alt_text}
        path = f"application/shops/{shop_id}/listings/{listing_id}/images"
        return await self._json("POST", path, files=files, data=data)

    async def update_listing(self, shop_id: int, listing_id: int, **fields: Any) -> dict[str, Any]:
        """updateListing (PATCH, form-encoded); list values are comma-joined."""
        path = f"application/shops/{shop_id}/listings/{listing_id}"
        return await self._json("PATCH", path, data=_form(fields))

    async def activate_listing(self, shop_id: int, listing_id: int) -> dict[str, Any]:
        """Publish a listing (`state=active`; Etsy needs at least one image)."""
        return await self.update_listing(shop_id, listing_id, state="active")

    async def deactivate_listing(self, shop_id: int, listing_id: int) -> dict[str, Any]:
        """Take a listing off sale (`state=inactive`)."""
        return await self.update_listing(shop_id, listing_id, state="inactive")

    async def delete_listing(self, listing_id: int) -> None:
        """deleteListing."""
        await self._call("DELETE", f"application/listings/{listing_id}")

    async def receipts_to_ship(
        self, shop_id: int, *, modified_since: int | None = None
    ) -> list[dict[str, Any]]:
        """getShopReceipts: the shop's paid, unshipped, not canceled receipts changed at or
        after `modified_since` (epoch seconds; at least 2000-01-01 as the document asks),
        oldest change first, every page (OAuth `transactions_r`)."""
        params: dict[str, Any] = {
            "was_paid": "true",
            "was_shipped": "false",
            "was_canceled": "false",
            "sort_on": "updated",
            "sort_order": "asc",
            "limit": PAGE_SIZE,
        }
        if modified_since is not None:
            params["min_last_modified"] = max(modified_since, EARLIEST_TIMESTAMP)
        found: list[dict[str, Any]] = []
        while True:
            path = f"application/shops/{shop_id}/receipts"
            page = await self._json("GET", path, params=params | {"offset": len(found)})
            results = list(page.get("results") or [])
            found += results
            if not results or len(found) >= int(page.get("count", 0)):
                return found

    async def get_receipt(self, shop_id: int, receipt_id: int) -> dict[str, Any]:
        """getShopReceipt: one ShopReceipt with its transactions (`transactions_r`)."""
        return await self._json("GET", f"application/shops/{shop_id}/receipts/{receipt_id}")

    async def create_receipt_shipment(
        self, shop_id: int, receipt_id: int, *, tracking_code: str, carrier_name: str
    ) -> dict[str, Any]:
        """createReceiptShipment: the tracking code and carrier on the receipt, which Etsy
        then marks shipped and tells the buyer (`transactions_w`). Not idempotent: each
        call adds a shipment, so the caller records that it sent one."""
        body = {"tracking_code": tracking_code, "carrier_name": carrier_name}
        path = f"application/shops/{shop_id}/receipts/{receipt_id}/tracking"
        return await self._json("POST", path, json=body)

    async def refresh_access_token(self, refresh_token: str) -> dict[str, Any]:
        """Exchange a refresh token; returns `{access_token, expires_in, refresh_token, ...}`.

        Etsy rotates refresh tokens: store the returned one, the old one is revoked.
        This client uses the new access token for its later calls.
        """
        tokens = await self.request_tokens(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )
        self.use_token(str(tokens["access_token"]))
        return tokens

    async def exchange_code(self, code: str, redirect_uri: str, verifier: str) -> dict[str, Any]:
        """The tokens for an authorization code (OAuth 2.0 with PKCE: the code verifier)."""
        return await self.request_tokens(
            {
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
                "code": code,
                "code_verifier": verifier,
            }
        )

    async def request_tokens(self, form: dict[str, str]) -> dict[str, Any]:
        """`POST /public/oauth/token` with this app's client id; the tokens are redacted
        from any later error of this client."""
        body = {**form, "client_id": self._keystring}
        response = await self._http.request("POST", "public/oauth/token", data=body)
        tokens: dict[str, Any] = response.json()
        for name in ("access_token", "refresh_token"):
            self._http.add_secret(str(tokens.get(name) or ""))
        return tokens


def _same_text(found: Any, wanted: str) -> bool:
    return isinstance(found, str) and html.unescape(found).strip() == wanted.strip()


def _created(listing: dict[str, Any]) -> int:
    """When the listing was made (Etsy names the field both ways); 0 when neither is
    given, which ends a newest-first scan there: nothing is adopted, a draft is made."""
    return int(listing.get("created_timestamp") or listing.get("creation_timestamp") or 0)


def _age_key(listing: dict[str, Any]) -> tuple[int, int]:
    return _created(listing), int(listing["listing_id"])
