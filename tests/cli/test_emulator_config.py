"""`pod emulators` accepts exactly the credentials the vendor clients are configured with."""

from __future__ import annotations

from pydantic import SecretStr

from cli.emulators import emulator_config
from core.settings import Settings
from sandbox.app import EmulatorConfig


def test_the_emulators_take_the_configured_credentials_as_plain_values() -> None:
    settings = Settings(
        emulator_port=8799,
        printify_api_token=SecretStr("printify-token"),
        printify_shop_id=42,
        etsy_keystring=SecretStr("keystring"),
        etsy_shared_secret=SecretStr("shared-secret"),
        etsy_access_token=SecretStr("4242.etsy-token"),
        etsy_shop_id=None,
        openai_api_key=SecretStr("openai-key"),
        pinterest_access_token=SecretStr("pinterest-token"),
    )

    assert emulator_config(settings) == EmulatorConfig(
        public_url="http://127.0.0.1:8799",
        printify_token="printify-token",
        printify_shop_id=42,
        etsy_keystring="keystring",
        etsy_shared_secret="shared-secret",
        etsy_access_token="4242.etsy-token",
        etsy_user_id=4242,
        openai_api_key="openai-key",
        pinterest_token="pinterest-token",
    )  # no Etsy shop id configured: the emulator keeps its own
