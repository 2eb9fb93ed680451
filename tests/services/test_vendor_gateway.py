"""Vendor clients are built per integration from its encrypted token, loaded by id."""

from __future__ import annotations

import pytest

from activities.errors import activity_failure
from core.crypto import TokenCipher, new_key
from core.db import SessionFactory
from core.settings import Settings
from domain.errors import DomainError
from sandbox.app import EmulatorConfig
from services.vendors import VendorGateway
from tests.accounts import create_account


async def test_a_client_is_built_from_the_stored_token_and_reused(
    sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> None:
    account = await create_account(sessions, settings.cipher, emulator_config)
    clients = VendorGateway(sessions, settings, settings.cipher)
    try:
        printify = await clients.printify(account.tenant_id, account.integrations["printify"])
        shops = await printify.list_shops()  # the emulator accepts only the real token
        assert shops
        again = await clients.printify(account.tenant_id, account.integrations["printify"])
        assert again is printify
    finally:
        await clients.aclose()


@pytest.mark.parametrize("vendor", ["printify", "etsy"])
async def test_another_tenants_integration_is_not_loaded(
    sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig, vendor: str
) -> None:
    owner = await create_account(sessions, settings.cipher, emulator_config)
    other = await create_account(sessions, settings.cipher, emulator_config)
    clients = VendorGateway(sessions, settings, settings.cipher)
    load = clients.printify if vendor == "printify" else clients.etsy
    with pytest.raises(DomainError) as failure:
        await load(other.tenant_id, owner.integrations[vendor])
    assert failure.value.code == "INTEGRATION_MISSING"
    assert activity_failure(failure.value).non_retryable


async def test_a_token_the_keys_cannot_decrypt_fails_at_once(
    sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> None:
    account = await create_account(sessions, settings.cipher, emulator_config)
    wrong = VendorGateway(sessions, settings, TokenCipher(new_key()))
    with pytest.raises(DomainError) as failure:
        await wrong.etsy(account.tenant_id, account.integrations["etsy"])
    assert failure.value.code == "INTEGRATION_UNREADABLE"
    assert activity_failure(failure.value).non_retryable


async def test_a_vendor_mismatch_is_refused(
    sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> None:
    account = await create_account(sessions, settings.cipher, emulator_config)
    clients = VendorGateway(sessions, settings, settings.cipher)
    with pytest.raises(DomainError) as failure:
        await clients.printify(account.tenant_id, account.integrations["etsy"])
    assert failure.value.code == "INTEGRATION_MISMATCH"
