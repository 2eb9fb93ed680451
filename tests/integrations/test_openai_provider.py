"""The OpenAI provider against the OpenAI emulator over HTTP, with the real SDK client."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from PIL import Image

from core.http_server import ThreadedServer
from domain.listing_rules import validate_tags, validate_title
from integrations.errors import VendorError
from integrations.ip_screen import IpMatcher, load_protected_names
from integrations.openai_provider import (
    BRIEF_TOOL,
    EMBEDDING_DIMENSIONS,
    BriefRejected,
    OpenAIConfig,
    OpenAIProvider,
    build_client,
)
from integrations.safety import ContentScreen, ProfanityScreen, load_terms
from sandbox.openai import INVALID_JSON_MARKER

KEY = "local-openai-key"
IMAGE_MODEL = "test-image-model-2"


def make_provider(
    emulator: ThreadedServer, *, key: str = KEY, image_model: str = IMAGE_MODEL, retries: int = 0
) -> OpenAIProvider:
    client = build_client(
        api_key=key, base_url=f"{emulator.url}/openai/v1", timeout=30, max_retries=retries
    )
    return OpenAIProvider(client, OpenAIConfig(chat_model="test-chat", image_model=image_model))


@pytest.fixture
async def provider(emulator: ThreadedServer) -> AsyncIterator[OpenAIProvider]:
    made = make_provider(emulator)
    yield made
    await made.aclose()


@pytest.fixture
def admin(emulator: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url) as client:
        client.delete("/__admin/openai/calls")
        yield client


def calls(admin: httpx.Client) -> dict[str, int]:
    counted: dict[str, int] = admin.get("/__admin/openai/calls").json()
    return counted


async def test_brief_comes_from_a_forced_strict_tool_call_and_meets_etsy_rules(
    provider: OpenAIProvider, admin: httpx.Client
) -> None:
    written = await provider.write_brief("pickleball grandma")

    brief = written.brief
    assert brief.keyword == "pickleball grandma"
    assert validate_title(brief.title) == []
    assert validate_tags(brief.tags) == []
    assert 5 <= len(brief.tags) <= 13
    assert all(colour.startswith("#") and len(colour) == 7 for colour in brief.palette)
    assert written.corrections == 0
    assert written.usage.calls == 1 and written.usage.input_tokens > 0
    [request] = admin.get(
        "/__admin/openai/requests", params={"endpoint": "chat.completions"}
    ).json()
    assert request["model"] == "test-chat"
    assert request["tool_choice"] == {"type": "function", "function": {"name": BRIEF_TOOL}}
    [tool] = request["tools"]
    assert tool["function"]["strict"] is True
    schema = tool["function"]["parameters"]
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == set(schema["properties"])


async def test_an_answer_that_breaks_the_schema_is_sent_back_and_never_returned(
    provider: OpenAIProvider, admin: httpx.Client
) -> None:
    written = await provider.write_brief(f"retro camping {INVALID_JSON_MARKER}")

    assert written.corrections == 1
    assert written.usage.calls == 2
    requests = admin.get("/__admin/openai/requests", params={"endpoint": "chat.completions"}).json()
    first, second = requests[-2:]
    assert len(second["messages"]) == len(first["messages"]) + 2
    feedback = second["messages"][-1]
    assert feedback["role"] == "tool"
    assert feedback["content"].startswith("Rejected.")
    assert validate_title(written.brief.title) == []


async def test_moderation_flags_a_configured_word_with_its_category(
    provider: OpenAIProvider,
) -> None:
    flagged = await provider.moderate(["a shirt about gore and mayhem"])
    clean = await provider.moderate(["a shirt about sourdough bread"])

    assert flagged.flagged is True
    assert set(flagged.categories) == {"violence/graphic"}
    assert clean.flagged is False and clean.categories == {}


async def test_image_is_a_transparent_png_from_the_configured_model(
    provider: OpenAIProvider, admin: httpx.Client
) -> None:
    image = await provider.generate_image("the words 'Camp Vibes' in retro lettering")

    with Image.open(io.BytesIO(image.png)) as decoded:
        assert decoded.format == "PNG"
        assert decoded.mode == "RGBA"
        assert decoded.size == (image.width, image.height) == (1024, 1536)
        assert decoded.getpixel((0, 0))[3] == 0  # type: ignore[index]
    assert image.usage.images == 1
    [request] = admin.get(
        "/__admin/openai/requests", params={"endpoint": "images.generations"}
    ).json()
    assert request["model"] == IMAGE_MODEL
    assert request["background"] == "transparent"
    assert request["output_format"] == "png"


async def test_a_shut_down_model_is_a_permanent_error_naming_the_setting(
    emulator: ThreadedServer,
) -> None:
    provider = make_provider(emulator, image_model="gpt-image-1")
    try:
        with pytest.raises(VendorError) as raised:
            await provider.generate_image("anything")
    finally:
        await provider.aclose()
    assert raised.value.code == "OPENAI_NOT_FOUND"
    assert raised.value.retryable is False
    assert "OPENAI_IMAGE_MODEL" in raised.value.message
    assert raised.value.details["setting"] == "OPENAI_IMAGE_MODEL"
    assert raised.value.details["request_id"]


async def test_embeddings_have_384_dimensions(provider: OpenAIProvider) -> None:
    vectors, usage = await provider.embed(["cat mom shirt", "funny cat mom"])

    assert [len(vector) for vector in vectors] == [EMBEDDING_DIMENSIONS] * 2
    assert usage.calls == 1 and usage.input_tokens > 0


async def test_a_wrong_key_is_permanent_and_is_not_echoed(emulator: ThreadedServer) -> None:
    provider = make_provider(emulator, key="sk-wrong-secret-value")
    try:
        with pytest.raises(VendorError) as raised:
            await provider.embed(["x"])
    finally:
        await provider.aclose()
    assert raised.value.code == "OPENAI_AUTH"
    assert raised.value.retryable is False
    assert "sk-wrong-secret-value" not in json.dumps([str(raised.value), raised.value.details])


@pytest.mark.usefixtures("clear_faults")
async def test_a_rate_limit_is_retryable_with_the_vendors_wait(
    emulator: ThreadedServer, provider: OpenAIProvider
) -> None:
    rule = {"method": "POST", "path_regex": "^/openai/v1/embeddings$", "status": 429}
    httpx.post(f"{emulator.url}/__admin/faults", json={**rule, "retry_after": 7})

    with pytest.raises(VendorError) as raised:
        await provider.embed(["x"])

    assert raised.value.code == "OPENAI_RATE_LIMITED"
    assert raised.value.retryable is True
    assert raised.value.retry_after == 7


@pytest.mark.usefixtures("clear_faults")
async def test_the_sdk_waits_out_a_short_rate_limit_itself(emulator: ThreadedServer) -> None:
    rule = {"method": "POST", "path_regex": "^/openai/v1/embeddings$", "status": 429}
    httpx.post(f"{emulator.url}/__admin/faults", json={**rule, "retry_after": 1})
    provider = make_provider(emulator, retries=2)
    try:
        vectors, _ = await provider.embed(["x"])
    finally:
        await provider.aclose()
    assert len(vectors[0]) == EMBEDDING_DIMENSIONS


async def test_screen_refuses_a_trademark_without_asking_the_moderation_endpoint(
    provider: OpenAIProvider, admin: httpx.Client
) -> None:
    screen = ContentScreen(
        ProfanityScreen(load_terms()), IpMatcher(load_protected_names()), provider.moderate
    )

    trademark = await screen.check({"slogan": "Just Do It Nike Style"})
    flagged = await screen.check({"slogan": "Gore Fest"})
    clean = await screen.check({"slogan": "Camp Vibes"})

    assert not trademark.safe
    assert trademark.moderation is None
    assert trademark.details["categories"] == ["trademark"]
    assert trademark.details["matches"] == {"just do it": ["slogan"], "nike": ["slogan"]}
    assert not flagged.safe
    assert flagged.details["categories"] == ["violence/graphic"]
    assert clean.safe and clean.moderation is not None
    assert calls(admin)["moderations"] == 2


async def test_the_brief_carries_the_models_ip_judgement_and_high_risk_is_refused(
    provider: OpenAIProvider, admin: httpx.Client
) -> None:
    written = await provider.write_brief("sourdough baker")
    assert (written.brief.ip_risk, written.brief.ip_risk_reason) == (
        "low",
        "no protected work named",
    )

    with pytest.raises(BriefRejected) as refused:
        await provider.write_brief("retro star wars tee")
    assert refused.value.refused and refused.value.ip_risk == "high"
    assert "star wars" in str(refused.value)
    assert calls(admin)["chat.completions"] == 2  # a refusal is not asked again
