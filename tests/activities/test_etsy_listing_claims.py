"""An Etsy draft belongs to one run: a run never takes a listing it did not make.

Etsy has no idempotency key, so a retry after a lost answer finds its draft by copy
(ADR 0003). These tests run the real activity against the emulator and Postgres and pin
who may adopt what: a first attempt never adopts, a retry adopts only an unrecorded
draft made since the step was first scheduled, and recording a draft another run
already holds fails retryably.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from temporalio.testing import ActivityEnvironment

from activities.errors import activity_failure
from activities.etsy import ETSY_CLOCK_SKEW, EtsyActivities
from activities.refs import ExternalRefs
from core.db import SessionFactory
from core.settings import Settings
from core.storage import LocalStorage
from domain.errors import DomainError
from integrations.etsy import EtsyClient
from integrations.local.brief_writer import write_brief
from models.payloads import CreateDraftListingInput, ListingRef
from models.repositories.refs import ExternalRefTaken
from models.tables import RefKind
from sandbox.app import EmulatorConfig
from sandbox.etsy import READINESS_STATE_ID, RETURN_POLICY_ID, SHIPPING_PROFILE_ID
from services.vendors import VendorGateway
from tests.accounts import Account
from tests.images import png


@dataclass
class Setup:
    """A tenant's Etsy activities as the worker builds them, its client, and a draft's
    input with copy of its own."""

    activities: EtsyActivities
    client: EtsyClient
    refs: ExternalRefs
    data: CreateDraftListingInput
    # When Temporal first scheduled the step: before any draft the tests make.
    scheduled: datetime = field(default_factory=lambda: datetime.now(UTC))

    async def hand_made(self, price_cents: int | None = None) -> int:
        """A draft with the run's exact copy that no run made (a seller's, another
        tenant's in a shared shop, or what a lost POST answer left behind), at the run's
        price unless told otherwise."""
        made = await self.client.create_draft_listing(
            self.data.shop_id,
            title=self.data.brief.title,
            description=self.data.brief.description,
            price_cents=self.data.price_cents if price_cents is None else price_cents,
            quantity=1,
            tags=[],
            taxonomy_id=482,
            shipping_profile_id=SHIPPING_PROFILE_ID,
            readiness_state_id=READINESS_STATE_ID,
            return_policy_id=RETURN_POLICY_ID,
        )
        return int(made["listing_id"])

    async def attempt(self, number: int) -> ListingRef:
        """Attempt `number` of the create step (Temporal counts attempts from 1)."""
        env = ActivityEnvironment()
        env.info = dataclasses.replace(env.info, attempt=number, scheduled_time=self.scheduled)
        return await env.run(self.activities.create_draft_listing, self.data)


@pytest.fixture
async def etsy(
    sessions: SessionFactory,
    settings: Settings,
    storage: LocalStorage,
    account: Account,
    emulator_config: EmulatorConfig,
) -> AsyncIterator[Setup]:
    clients = VendorGateway(sessions, settings, settings.cipher)
    data = CreateDraftListingInput(
        tenant_id=account.tenant_id,
        workflow_id=f"dtl-{account.tenant_id}-{secrets.token_hex(4)}",
        integration_id=account.integrations["etsy"],
        shop_id=emulator_config.etsy_shop_id,
        brief=write_brief(f"harbour pilot {secrets.token_hex(3)}"),
        price_cents=2499,
    )
    try:
        yield Setup(
            EtsyActivities.from_settings(sessions, storage, clients, settings),
            await clients.etsy(account.tenant_id, data.integration_id),
            ExternalRefs(sessions),
            data,
        )
    finally:
        await clients.aclose()


async def test_a_first_attempt_makes_its_own_draft_even_when_the_copy_exists(
    etsy: Setup,
) -> None:
    theirs = await etsy.hand_made()

    ours = await etsy.attempt(1)

    assert ours.listing_id != theirs
    assert (await etsy.client.get_listing(theirs))["state"] == "draft"  # left as it was
    again = await etsy.attempt(1)
    assert again.listing_id == ours.listing_id  # the record answers a repeat


async def test_a_retry_adopts_only_a_draft_no_run_has_recorded(etsy: Setup) -> None:
    lost = await etsy.hand_made()  # what a lost POST answer leaves behind
    newer = await etsy.hand_made()
    await etsy.refs.put("another-tenant", "dtl-another-run", RefKind.ETSY_LISTING, str(newer))

    adopted = await etsy.attempt(2)

    assert adopted.listing_id == lost  # the newest one is another run's, so not that
    owners = await etsy.refs.owners(RefKind.ETSY_LISTING, [str(lost), str(newer)])
    assert owners == {str(lost): etsy.data.workflow_id, str(newer): "dtl-another-run"}


async def test_a_retry_leaves_a_draft_older_than_the_step_alone(etsy: Setup) -> None:
    sellers = await etsy.hand_made()
    etsy.scheduled = datetime.now(UTC) + ETSY_CLOCK_SKEW * 1.5  # the step began after it

    ours = await etsy.attempt(2)

    assert ours.listing_id != sellers
    assert (await etsy.client.get_listing(ours.listing_id))["title"] == etsy.data.brief.title
    assert (
        await etsy.refs.owners(RefKind.ETSY_LISTING, [str(sellers)]) == {}
    )  # not taken, so never deleted


async def test_a_retry_adopts_a_draft_made_within_the_clock_skew_before_the_step(
    etsy: Setup,
) -> None:
    lost = await etsy.hand_made()
    etsy.scheduled = datetime.now(UTC) + ETSY_CLOCK_SKEW / 2  # Etsy's clock runs behind

    assert (await etsy.attempt(2)).listing_id == lost


async def test_a_retry_leaves_a_draft_at_another_price_alone(etsy: Setup) -> None:
    other_price = await etsy.hand_made(price_cents=etsy.data.price_cents + 100)

    ours = await etsy.attempt(2)

    assert ours.listing_id != other_price
    assert await etsy.refs.owners(RefKind.ETSY_LISTING, [str(other_price)]) == {}


async def test_a_retry_never_adopts_an_active_listing(etsy: Setup) -> None:
    live = await etsy.hand_made()  # made since the step began, but no longer a draft
    await etsy.client.upload_listing_image(
        etsy.data.shop_id, live, image=png(), file_name="live.png"
    )
    await etsy.client.activate_listing(etsy.data.shop_id, live)

    ours = await etsy.attempt(2)

    assert ours.listing_id != live
    assert (await etsy.client.get_listing(live))["state"] == "active"
    assert await etsy.refs.owners(RefKind.ETSY_LISTING, [str(live)]) == {}


async def test_recording_a_draft_another_run_holds_fails_and_the_next_attempt_makes_one(
    etsy: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    contested = await etsy.hand_made()
    await etsy.refs.put(
        etsy.data.tenant_id, "dtl-the-other-run", RefKind.ETSY_LISTING, str(contested)
    )
    real_owners = ExternalRefs.owners

    async def before_the_other_recorded(
        self: ExternalRefs, kind: str, ids: object
    ) -> dict[str, str]:
        return {}  # the lookup ran in the moment before the other run wrote its record

    monkeypatch.setattr(ExternalRefs, "owners", before_the_other_recorded)
    with pytest.raises(DomainError) as claimed:
        await etsy.attempt(2)
    assert (
        claimed.value.code == "LISTING_CLAIMED"
        and not activity_failure(claimed.value).non_retryable
    )
    assert str(contested) in str(claimed.value)

    monkeypatch.setattr(ExternalRefs, "owners", real_owners)
    ours = await etsy.attempt(3)
    assert ours.listing_id != contested
    owners = await etsy.refs.owners(RefKind.ETSY_LISTING, [str(contested), str(ours.listing_id)])
    assert owners == {
        str(contested): "dtl-the-other-run",
        str(ours.listing_id): etsy.data.workflow_id,
    }


async def test_a_vendor_id_has_one_owner(sessions: SessionFactory) -> None:
    refs = ExternalRefs(sessions)
    vendor_id = secrets.token_hex(8)
    assert await refs.put("t-a", "wf-a", RefKind.ETSY_LISTING, vendor_id) == vendor_id
    assert (
        await refs.put("t-a", "wf-a", RefKind.ETSY_LISTING, "a-later-id") == vendor_id
    )  # first wins
    with pytest.raises(ExternalRefTaken):
        await refs.claim("t-b", "wf-b", RefKind.ETSY_LISTING, vendor_id)  # the draft step's race
    with pytest.raises(DomainError) as taken:
        await refs.put(
            "t-b", "wf-b", RefKind.ETSY_LISTING, vendor_id
        )  # any other step: stop the run
    assert taken.value.code == "EXTERNAL_REF_TAKEN" and activity_failure(taken.value).non_retryable
    assert taken.value.details == {"kind": RefKind.ETSY_LISTING, "external_id": vendor_id}
    assert await refs.get("t-b", "wf-b", RefKind.ETSY_LISTING) is None
    assert await refs.put("t-b", "wf-b", "printify_product", vendor_id) == vendor_id  # per kind
