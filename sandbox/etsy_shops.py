"""Etsy users and their shops in the emulator, each with its own shipping profiles, return
policies and processing profiles (readiness state definitions).

The configured user and shop (`EmulatorConfig.etsy_user_id`/`etsy_shop_id`, profile ids
7001, 8001 and 9001) exist from the start; `POST /__admin/etsy/shops` adds more, each
with fresh ids, so tests can connect several tenants to several shops. A shop's
`shop_location_country_iso` decides whether it is in the EU (an EU shop may activate a
physical listing without a return policy; no other may).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from domain.shop_setup import EU_COUNTRIES
from sandbox.etsy_rules import EtsyError
from sandbox.store import JsonStore

if TYPE_CHECKING:
    from sandbox.app import EmulatorConfig

SHIPPING_PROFILE_ID = 7001
RETURN_POLICY_ID = 8001
READINESS_STATE_ID = 9001
# Ids of added users, shops, profiles, policies and readiness states count up from here.
_ID_BASE = {"user": 2000, "shop": 66600000, "shipping": 7100, "return": 8100, "readiness": 9100}
_CREATED = 1_700_000_000


class NewShop(BaseModel):
    """`POST /__admin/etsy/shops`: a new user with one shop and its policies."""

    shop_name: str = Field(default="", max_length=60)
    country_iso: str = Field(default="US", pattern="^[A-Z]{2}$")
    shipping_profiles: int = Field(default=1, ge=0, le=5)
    return_policies: int = Field(default=1, ge=0, le=5)
    readiness_states: int = Field(default=1, ge=0, le=5)


def _shipping_profile(profile_id: int, user_id: int, country: str, n: int) -> dict[str, Any]:
    return {
        "shipping_profile_id": profile_id,
        "title": f"Standard shipping {n}",
        "user_id": user_id,
        "origin_country_iso": country,
        "is_deleted": False,
        "shipping_profile_destinations": [],
        "shipping_profile_upgrades": [],
        "origin_postal_code": None,
        "profile_type": "manual",
        "domestic_handling_fee": 0,
        "international_handling_fee": 0,
    }


def _return_policy(policy_id: int, shop_id: int) -> dict[str, Any]:
    return {
        "return_policy_id": policy_id,
        "shop_id": shop_id,
        "accepts_returns": True,
        "accepts_exchanges": True,
        "return_deadline": 30,
    }


def _readiness_state(state_id: int, shop_id: int, n: int) -> dict[str, Any]:
    low, high = n, n + 4
    return {
        "readiness_state_id": state_id,
        "shop_id": shop_id,
        "readiness_state": "made_to_order",
        "min_processing_days": low,
        "max_processing_days": high,
        "processing_days_display_label": f"{low}-{high} days",
    }


class EtsyShops:
    """The emulator's users and shops, kept in the store (`etsy_users`, `etsy_shops`)."""

    def __init__(self, store: JsonStore, config: EmulatorConfig) -> None:
        self.store = store
        self.config = config
        self.users = store.collection("etsy_users")
        self.shops = store.collection("etsy_shops")
        with store.lock:
            if str(config.etsy_shop_id) not in self.shops:
                self._seed_default()

    def _seed_default(self) -> None:
        user_id, shop_id, country = self.config.etsy_user_id, self.config.etsy_shop_id, "US"
        self._put(
            user_id,
            shop_id,
            f"LocalShop{shop_id}",
            country,
            [_shipping_profile(SHIPPING_PROFILE_ID, user_id, country, 1)],
            [_return_policy(RETURN_POLICY_ID, shop_id)],
            [_readiness_state(READINESS_STATE_ID, shop_id, 1)],
        )

    def _put(
        self,
        user_id: int,
        shop_id: int,
        name: str,
        country: str,
        shipping: list[dict[str, Any]],
        returns: list[dict[str, Any]],
        readiness: list[dict[str, Any]],
    ) -> dict[str, Any]:
        shop = {
            "shop_id": shop_id,
            "user_id": user_id,
            "shop_name": name,
            "country_iso": country,
            "shipping_profiles": shipping,
            "return_policies": returns,
            "readiness_states": readiness,
        }
        with self.store.lock:
            self.users[str(user_id)] = {"user_id": user_id, "shop_id": shop_id}
            self.shops[str(shop_id)] = shop
            self.store.save()
        return shop

    def add(self, new: NewShop) -> dict[str, Any]:
        """A new user and shop with fresh ids for it and its profiles and policies."""
        with self.store.lock:
            user_id = self.store.next_id("etsy_user", _ID_BASE["user"])
            shop_id = self.store.next_id("etsy_shop", _ID_BASE["shop"])
            country = new.country_iso
            shipping = [
                _shipping_profile(
                    self.store.next_id("etsy_shipping", _ID_BASE["shipping"]), user_id, country, n
                )
                for n in range(1, new.shipping_profiles + 1)
            ]
            returns = [
                _return_policy(self.store.next_id("etsy_return", _ID_BASE["return"]), shop_id)
                for _ in range(new.return_policies)
            ]
            readiness = [
                _readiness_state(
                    self.store.next_id("etsy_readiness", _ID_BASE["readiness"]), shop_id, n
                )
                for n in range(1, new.readiness_states + 1)
            ]
            name = new.shop_name or f"LocalShop{shop_id}"
            return self._put(user_id, shop_id, name, country, shipping, returns, readiness)

    def get(self, shop_id: int) -> dict[str, Any]:
        """The shop's record, or Etsy's 404."""
        shop: dict[str, Any] | None = self.shops.get(str(shop_id))
        if shop is None:
            raise EtsyError.plain(404, f"Could not find a Shop with shop_id = {shop_id}.")
        return shop

    def owned(self, shop_id: int, user_id: int) -> dict[str, Any]:
        """The shop, if `user_id` owns it; Etsy answers 403 to anyone else."""
        shop = self.get(shop_id)
        if shop["user_id"] != user_id:
            raise EtsyError.plain(403, f"The user does not own shop {shop_id}.")
        return shop

    def user_shop(self, user_id: int) -> int | None:
        """The shop of a user, if it has one."""
        user = self.users.get(str(user_id))
        return None if user is None else user.get("shop_id")

    def known_user(self, user_id: int) -> bool:
        return str(user_id) in self.users

    def check_ids(self, shop: dict[str, Any], fields: dict[str, Any]) -> None:
        """Refuse a shipping profile, return policy or readiness state of another shop."""
        owned = {
            "shipping_profile_id": [p["shipping_profile_id"] for p in shop["shipping_profiles"]],
            "return_policy_id": [p["return_policy_id"] for p in shop["return_policies"]],
            "readiness_state_id": [p["readiness_state_id"] for p in shop["readiness_states"]],
        }
        for name, ids in owned.items():
            value = fields.get(name)
            if value is not None and value not in ids:
                what = name.removesuffix("_id").replace("_", " ")
                raise EtsyError.field(name, f"The {what} {value} was not found in this shop.")

    def in_eu(self, shop: dict[str, Any]) -> bool:
        return shop["country_iso"] in EU_COUNTRIES

    def resource(self, shop: dict[str, Any], active_listings: int) -> dict[str, Any]:
        """The shop as Etsy's `Shop` resource."""
        shop_id = shop["shop_id"]
        return {
            "shop_id": shop_id,
            "user_id": shop["user_id"],
            "shop_name": shop["shop_name"],
            "title": f"{shop['shop_name']} (Etsy emulator)",
            "currency_code": "USD",
            "url": f"{self.config.public_url}/etsy/shop/{shop_id}",
            "listing_active_count": active_listings,
            "num_favorers": 0,
            "transaction_sold_count": 0,
            "review_count": 0,
            "review_average": None,
            "is_vacation": False,
            "shop_location_country_iso": shop["country_iso"],
            "create_date": _CREATED,
            "created_timestamp": _CREATED,
            "update_date": _CREATED,
            "updated_timestamp": _CREATED,
        }


def page(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Etsy's `{count, results}` envelope."""
    return {"count": len(items), "results": items}


def build_admin_router(shops: EtsyShops) -> APIRouter:
    """`POST /__admin/etsy/shops` (a new user and shop) and `GET` of all of them."""
    router = APIRouter(prefix="/__admin/etsy", include_in_schema=False)

    @router.post("/shops", status_code=201)
    def add_shop(new: NewShop) -> dict[str, Any]:
        return shops.add(new)

    @router.get("/shops")
    def list_shops() -> list[dict[str, Any]]:
        return list(shops.shops.values())

    return router
