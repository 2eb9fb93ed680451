"""The account's shops: the first a custom (API) integration; `POST /__admin/printify/shops`
adds more, e.g. one connected to Etsy through Printify's own sales channel."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sandbox.printify.state import Printify, PrintifyState
from sandbox.printify.vendor import VendorRoute

router = APIRouter(route_class=VendorRoute)


@router.get("/shops.json")
def list_shops(state: Printify) -> list[dict[str, Any]]:
    return [
        {"id": shop["id"], "title": shop["title"], "sales_channel": shop["sales_channel"]}
        for shop in state.shops.values()
    ]


class NewShop(BaseModel):
    title: str = Field(default="", max_length=100)
    sales_channel: Literal["etsy", "custom_integration", "shopify", "disconnected"] = "etsy"
    # The Etsy emulator's shop the channel lists in (an Etsy-channel shop needs one).
    etsy_shop_id: int | None = Field(default=None, gt=0)


def build_admin_router(state: PrintifyState) -> APIRouter:
    """`POST /__admin/printify/shops`: another shop of the account."""
    admin = APIRouter(prefix="/__admin/printify", include_in_schema=False)

    @admin.post("/shops", status_code=201)
    def add_shop(new: NewShop) -> dict[str, Any]:
        with state.store.lock:
            shop_id = state.store.next_id("printify_shop", state.shop_id + 100)
            shop = {
                "id": shop_id,
                "title": new.title or f"Shop {shop_id}",
                "sales_channel": new.sales_channel,
                "etsy_shop_id": new.etsy_shop_id,
            }
            state.shops[str(shop_id)] = shop
            state.store.save()
        return shop

    return admin
