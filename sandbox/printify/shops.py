"""The account's shops: the emulator serves exactly one, a custom integration."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sandbox.printify.state import Printify
from sandbox.printify.vendor import VendorRoute

router = APIRouter(route_class=VendorRoute)


@router.get("/shops.json")
def list_shops(state: Printify) -> list[dict[str, Any]]:
    return [
        {
            "id": state.shop_id,
            "title": "POD Automator (local)",
            "sales_channel": "custom_integration",
        }
    ]
