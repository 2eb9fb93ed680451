"""`pod buy`: a buyer buys an emulated Etsy listing, as a rehearsal of a real sale (issue
16). The Etsy emulator makes a paid, unshipped receipt with the buyer's address; the
order sync then reads it like any receipt of the seller's shop."""

from __future__ import annotations

import json
from typing import Any

import httpx

from core.settings import Settings

TIMEOUT_SECONDS = 10.0


def buy(
    settings: Settings, listing_id: int, *, sku: str | None, quantity: int, as_json: bool
) -> int:
    """Buy `quantity` of the listing's variant `sku` (the first for sale without one)."""
    purchase: dict[str, Any] = {"listing_id": listing_id, "quantity": quantity}
    if sku is not None:
        purchase["sku"] = sku
    url = f"{settings.emulator_url}/__admin/etsy/purchases"
    try:
        response = httpx.post(url, json=purchase, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        print(f"the Etsy emulator at {settings.emulator_url} did not answer: {exc}")
        return 1
    if response.status_code != 201:
        print(f"not bought ({response.status_code}): {_reason(response)}")
        return 1
    receipt = response.json()
    [item] = receipt["transactions"]
    summary = {
        "receipt_id": receipt["receipt_id"],
        "listing_id": item["listing_id"],
        "sku": item["sku"],
        "quantity": item["quantity"],
        "total": receipt["grandtotal"]["amount"] / receipt["grandtotal"]["divisor"],
        "currency": receipt["grandtotal"]["currency_code"],
        "buyer": receipt["name"],
    }
    if as_json:
        print(json.dumps(summary))
    else:
        print(
            f"Etsy receipt {summary['receipt_id']}: {summary['quantity']} x listing"
            f" {summary['listing_id']} ({summary['sku'] or 'no SKU'}) for"
            f" {summary['total']:.2f} {summary['currency']}, paid by {summary['buyer']}"
        )
    return 0


def _reason(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return json.dumps(body)[:300]
