"""The model providers the ideation and image activities use, chosen by settings.

`POD_IDEATION_PROVIDER` and `POD_IMAGE_PROVIDER` pick `local` (bundled, offline) or
`openai`. When either is `openai`, OpenAI's moderation endpoint joins the local lists in
the content screen that runs before every image call. Built once per worker process.

Cost lines: what each attempt of a paid stage consumed, priced with the configured
price card, written to `cost_lines` (one per attempt and model; a repeat adds nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import activity

from core.db import SessionFactory
from core.settings import Settings
from integrations.ip_screen import IpMatcher, ProtectedName, load_protected_names
from integrations.openai_provider import OpenAIConfig, OpenAIProvider, Usage, build_client
from integrations.safety import ContentScreen, ProfanityScreen, load_terms
from models import repositories
from models.tables import CostLine

MICROS_PER_USD = 1_000_000


@dataclass(frozen=True)
class PriceCard:
    """USD per million tokens, per kind of call."""

    chat_input: float
    chat_output: float
    image_input: float
    image_output: float
    embedding: float

    def cost_micros(self, kind: str, usage: Usage) -> int:
        """The estimated cost of `usage` in millionths of a dollar."""
        rates = {
            "chat": (self.chat_input, self.chat_output),
            "image": (self.image_input, self.image_output),
            "embedding": (self.embedding, 0.0),
        }
        per_input, per_output = rates[kind]
        # USD per million tokens x tokens = micro-USD.
        return round(usage.input_tokens * per_input + usage.output_tokens * per_output)


@dataclass
class Providers:
    """What a worker's ideation and image activities call."""

    screen: ContentScreen
    prices: PriceCard
    openai: OpenAIProvider | None = None  # set when any provider setting says `openai`
    openai_briefs: bool = False
    openai_images: bool = False

    @property
    def brief_writer(self) -> OpenAIProvider | None:
        """OpenAI when it writes briefs; None for the local brief writer."""
        return self.openai if self.openai_briefs else None

    @property
    def image_maker(self) -> OpenAIProvider | None:
        """OpenAI when it makes artwork; None for the local renderer."""
        return self.openai if self.openai_images else None

    async def aclose(self) -> None:
        if self.openai is not None:
            await self.openai.aclose()


def build_local_screen(settings: Settings) -> ContentScreen:
    """The screen's local lists (profanity, the platform's protected names and the
    operator's extra files), without a moderation endpoint."""
    profanity = ProfanityScreen(load_terms(settings.blocklist_file))
    return ContentScreen(profanity, IpMatcher(load_protected_names(settings.trademark_file)))


async def tenant_names(sessions: SessionFactory, tenant_id: str) -> IpMatcher | None:
    """The tenant's own protected names as a matcher (None when it has none)."""
    async with sessions() as session:
        rows = await repositories.protected_names.all_names(session, tenant_id=tenant_id)
    if not rows:
        return None
    return IpMatcher(ProtectedName(row.name, "custom", tuple(row.context)) for row in rows)


def build_providers(settings: Settings) -> Providers:
    """The providers the settings ask for; one OpenAI client serves all OpenAI calls."""
    prices = PriceCard(
        chat_input=settings.openai_chat_input_usd_per_mtok,
        chat_output=settings.openai_chat_output_usd_per_mtok,
        image_input=settings.openai_image_input_usd_per_mtok,
        image_output=settings.openai_image_output_usd_per_mtok,
        embedding=settings.openai_embedding_usd_per_mtok,
    )
    if not settings.uses_openai:
        return Providers(screen=build_local_screen(settings), prices=prices)
    client = build_client(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout_seconds,
        max_retries=settings.openai_max_retries,
    )
    provider = OpenAIProvider(
        client,
        OpenAIConfig(
            chat_model=settings.openai_chat_model,
            image_model=settings.openai_image_model,
            moderation_model=settings.openai_moderation_model,
            embedding_model=settings.openai_embedding_model,
            image_size=settings.openai_image_size,
            image_quality=settings.openai_image_quality,
        ),
    )
    return Providers(
        screen=build_local_screen(settings).with_moderator(provider.moderate),
        prices=prices,
        openai=provider,
        openai_briefs=settings.ideation_provider == "openai",
        openai_images=settings.image_provider == "openai",
    )


async def record_cost(
    sessions: SessionFactory,
    prices: PriceCard,
    *,
    tenant_id: str,
    workflow_id: str,
    stage: str,
    kind: str,
    usage: Usage,
) -> None:
    """Write the cost line of this activity attempt (nothing when no call was made)."""
    if not usage.calls:
        return
    line = CostLine(
        tenant_id=tenant_id,
        workflow_id=workflow_id,
        stage=stage,
        attempt=activity.info().attempt,
        vendor="openai",
        model=usage.model[:100],
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        images=usage.images,
        calls=usage.calls,
        cost_micros=prices.cost_micros(kind, usage),
    )
    async with sessions() as session:
        await repositories.runs.add_cost_line(session, line=line)
        await session.commit()
