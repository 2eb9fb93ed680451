"""An Etsy draft belongs to one run: a run never takes a listing it did not make.

Etsy has no idempotency key, so a retry after a lost answer finds its draft by copy
(ADR 0003). These tests run the real activity against the emulator and Postgres and pin
who may adopt what: a first attempt never adopts, a retry adopts only an unrecorded
draft, and recording a draft another run already holds fails retryably.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.etsy import LISTING, EtsyActivities
from activities.refs import ExternalRefs
from activities.vendors import VendorClients
from core.db import SessionFactory
from core.settings import Settings
from core.storage import LocalStorage
from integrations.etsy import EtsyClient
from integrations.local.brief_writer import write_brief
from models.payloads import CreateDraftListingInput
from models.repositories import ExternalRefTaken
from sandbox.app import EmulatorConfig
from sandbox.etsy import SHIPPING_PROFILE_ID
from tests.accounts import Account


@pytest.fixture
async def clients(sessions: SessionFactory, settings: Settings) -> AsyncIterator[VendorClients]:
    built = VendorClients(sessions, settings, settings.cipher)
    try:
        yield built
    finally:
        await built.aclose()


def listing_input(account: Account, shop_id: int, workflow_id: str) -> CreateDraftListingInput:
    brief = write_brief(f"harbour pilot {secrets.token_hex(3)}")
    return CreateDraftListingInput(
        tenant_id=account.tenant_id,
        workflow_id=workflow_id,
        integration_id=account.integrations["etsy"],
        shop_id=shop_id,
        brief=brief,
        price_cents=2499,
    )


def etsy_activities(
    sessions: SessionFactory, storage: LocalStorage, clients: VendorClients, settings: Settings
) -> EtsyActivities:
    """The activities as the worker builds them."""
    return EtsyActivities(
        sessions,
        storage,
        clients,
        taxonomy_id=settings.etsy_taxonomy_id,
        shipping_profile_id=settings.etsy_shipping_profile,
        return_policy_id=settings.etsy_return_policy,
    )


def attempt(number: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


async def hand_made(client: EtsyClient, data: CreateDraftListingInput) -> int:
    """A draft with the run's exact copy that no run made (a seller's, another tenant's)."""
    made = await client.create_draft_listing(
        data.shop_id,
        title=data.brief.title,
        description=data.brief.description,
        price_cents=1000,
        quantity=1,
        tags=[],
        taxonomy_id=482,
        shipping_profile_id=SHIPPING_PROFILE_ID,
    )
    return int(made["listing_id"])


async def test_a_first_attempt_makes_its_own_draft_even_when_the_copy_exists(
    sessions: SessionFactory,
    settings: Settings,
    storage: LocalStorage,
    clients: VendorClients,
    account: Account,
    emulator_config: EmulatorConfig,
) -> None:
    shop_id = emulator_config.etsy_shop_id
    data = listing_input(account, shop_id, f"dtl-{account.tenant_id}-first")
    client = await clients.etsy(account.tenant_id, data.integration_id)
    theirs = await hand_made(client, data)
    activities = etsy_activities(sessions, storage, clients, settings)

    ours = await attempt(1).run(activities.create_draft_listing, data)

    assert ours.listing_id != theirs
    assert (await client.get_listing(theirs))["state"] == "draft"  # left as it was
    again = await attempt(1).run(activities.create_draft_listing, data)
    assert again.listing_id == ours.listing_id  # the record answers a repeat


async def test_a_retry_adopts_only_a_draft_no_run_has_recorded(
    sessions: SessionFactory,
    settings: Settings,
    storage: LocalStorage,
    clients: VendorClients,
    account: Account,
    emulator_config: EmulatorConfig,
) -> None:
    shop_id = emulator_config.etsy_shop_id
    data = listing_input(account, shop_id, f"dtl-{account.tenant_id}-retry")
    client = await clients.etsy(account.tenant_id, data.integration_id)
    lost = await hand_made(client, data)  # what a lost POST answer leaves behind
    newer = await hand_made(client, data)
    refs = ExternalRefs(sessions)
    await refs.put("another-tenant", "dtl-another-run", LISTING, str(newer))
    activities = etsy_activities(sessions, storage, clients, settings)

    adopted = await attempt(2).run(activities.create_draft_listing, data)

    assert adopted.listing_id == lost  # the newest one is another run's, so not that
    owners = await refs.owners(LISTING, [str(lost), str(newer)])
    assert owners == {str(lost): data.workflow_id, str(newer): "dtl-another-run"}


async def test_recording_a_draft_another_run_holds_fails_and_the_next_attempt_makes_one(
    sessions: SessionFactory,
    settings: Settings,
    storage: LocalStorage,
    clients: VendorClients,
    account: Account,
    emulator_config: EmulatorConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop_id = emulator_config.etsy_shop_id
    data = listing_input(account, shop_id, f"dtl-{account.tenant_id}-race")
    client = await clients.etsy(account.tenant_id, data.integration_id)
    contested = await hand_made(client, data)
    refs = ExternalRefs(sessions)
    await refs.put(account.tenant_id, "dtl-the-other-run", LISTING, str(contested))
    activities = etsy_activities(sessions, storage, clients, settings)
    real_owners = ExternalRefs.owners

    async def before_the_other_recorded(
        self: ExternalRefs, kind: str, ids: object
    ) -> dict[str, str]:
        return {}  # the lookup ran in the moment before the other run wrote its record

    monkeypatch.setattr(ExternalRefs, "owners", before_the_other_recorded)
    with pytest.raises(ApplicationError) as claimed:
        await attempt(2).run(activities.create_draft_listing, data)
    assert claimed.value.type == "LISTING_CLAIMED" and not claimed.value.non_retryable
    assert str(contested) in str(claimed.value)

    monkeypatch.setattr(ExternalRefs, "owners", real_owners)
    ours = await attempt(3).run(activities.create_draft_listing, data)
    assert ours.listing_id != contested
    owners = await refs.owners(LISTING, [str(contested), str(ours.listing_id)])
    assert owners == {str(contested): "dtl-the-other-run", str(ours.listing_id): data.workflow_id}


async def test_a_vendor_id_has_one_owner(sessions: SessionFactory) -> None:
    refs = ExternalRefs(sessions)
    vendor_id = secrets.token_hex(8)
    assert await refs.put("t-a", "wf-a", LISTING, vendor_id) == vendor_id
    assert await refs.put("t-a", "wf-a", LISTING, "a-later-id") == vendor_id  # first wins
    with pytest.raises(ExternalRefTaken):
        await refs.put("t-b", "wf-b", LISTING, vendor_id)
    assert await refs.get("t-b", "wf-b", LISTING) is None
    assert await refs.put("t-b", "wf-b", "printify_product", vendor_id) == vendor_id  # per kind
