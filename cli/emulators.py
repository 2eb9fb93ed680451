"""What `pod emulators` accepts: the credentials the vendor clients are configured with.

It lives here, not in `sandbox/`, so the emulators take plain values and import no
product code.
"""

from __future__ import annotations

from core.settings import Settings
from sandbox.app import EmulatorConfig


def emulator_config(settings: Settings) -> EmulatorConfig:
    """The emulators accept exactly the credentials the clients are configured with."""
    defaults = EmulatorConfig()
    etsy_access_token = settings.etsy_access_token.get_secret_value()
    return EmulatorConfig(
        public_url=settings.emulator_url,
        printify_token=settings.printify_api_token.get_secret_value(),
        etsy_keystring=settings.etsy_keystring.get_secret_value(),
        etsy_shared_secret=settings.etsy_shared_secret.get_secret_value(),
        etsy_access_token=etsy_access_token,
        printify_shop_id=settings.printify_shop_id or defaults.printify_shop_id,
        etsy_shop_id=settings.etsy_shop_id or defaults.etsy_shop_id,
        etsy_user_id=int(etsy_access_token.split(".", 1)[0] or 0) or defaults.etsy_user_id,
        printify_production_seconds=settings.emulator_order_production_seconds,
        printify_shipping_seconds=settings.emulator_order_shipping_seconds,
        openai_api_key=settings.openai_api_key.get_secret_value(),
        pinterest_token=settings.pinterest_access_token.get_secret_value(),
    )
