"""The OpenAI emulator through the official `openai` SDK, over HTTP.

Over 400 lines on purpose: what the emulator accepts and refuses, endpoint by endpoint."""

from __future__ import annotations

import base64
import io
import json
import math
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import httpx
import openai
import pydantic
import pytest
from openai.types import ModerationMultiModalInputParam
from openai.types.chat import ChatCompletionMessageFunctionToolCall
from PIL import Image

from core.http_server import ThreadedServer
from sandbox.app import EmulatorConfig, create_emulator_app
from sandbox.json_schema_example import example, violating_example
from sandbox.openai import INVALID_JSON_MARKER, MODERATION_CATEGORIES

CONFIG = EmulatorConfig()
CHAT_MODEL = "gpt-6-sol"
IMAGE_MODEL = "gpt-image-2.6-flare"
EMBEDDING_MODEL = "text-embedding-3-small"

Tag = Annotated[str, pydantic.Field(min_length=2, max_length=20)]
HexColour = Annotated[str, pydantic.Field(pattern=r"^#[0-9A-F]{6}$")]


class DesignBrief(pydantic.BaseModel):
    """A print-on-demand design idea."""

    title: str = pydantic.Field(min_length=10, max_length=140)
    tags: list[Tag] = pydantic.Field(min_length=1, max_length=13)
    palette: list[HexColour] = pydantic.Field(min_length=2, max_length=5)
    style: Literal["retro", "minimal", "bold"]
    price: float = pydantic.Field(ge=5, le=60)
    note: str | None


@pytest.fixture
def client(emulator: ThreadedServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(
        api_key=CONFIG.openai_api_key, base_url=f"{emulator.url}/openai/v1", max_retries=0
    ) as client:
        yield client


@pytest.fixture
def admin(emulator: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url) as admin:
        yield admin


def user(text: str) -> list[Any]:
    return [
        {"role": "system", "content": "You write POD briefs."},
        {"role": "user", "content": text},
    ]


def tool_arguments(client: openai.OpenAI, text: str) -> str:
    tool = openai.pydantic_function_tool(DesignBrief, name="submit_brief")
    completion = client.chat.completions.create(
        model=CHAT_MODEL,
        messages=user(text),
        tools=[tool],
        tool_choice={"type": "function", "function": {"name": "submit_brief"}},
    )
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    (call,) = choice.message.tool_calls
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    assert call.function.name == "submit_brief"
    return call.function.arguments


def test_a_forced_strict_tool_gets_arguments_that_fit_its_schema(client: openai.OpenAI) -> None:
    arguments = tool_arguments(client, "Retro cat sunset tee for cat lovers")
    brief = DesignBrief.model_validate_json(arguments)
    assert "Cat" in brief.title
    assert "cat" in brief.tags and len(set(brief.tags)) == len(brief.tags)
    assert tool_arguments(client, "Retro cat sunset tee for cat lovers") == arguments


def test_parse_with_a_pydantic_response_format(client: openai.OpenAI) -> None:
    completion = client.chat.completions.parse(
        model=CHAT_MODEL, messages=user("Minimal mountain line art"), response_format=DesignBrief
    )
    assert completion.id.startswith("chatcmpl-") and completion.object == "chat.completion"
    assert completion.choices[0].finish_reason == "stop"
    parsed = completion.choices[0].message.parsed
    assert isinstance(parsed, DesignBrief) and "Mountain" in parsed.title
    assert completion.usage is not None
    usage = completion.usage
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens > 0


def test_plain_chat_answers_text(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=CHAT_MODEL, messages=user("Say hello"))
    assert completion.choices[0].finish_reason == "stop"
    assert "Say hello" in (completion.choices[0].message.content or "")


def test_the_invalid_json_marker_breaks_the_first_answer_only(client: openai.OpenAI) -> None:
    text = f"Space otter {uuid.uuid4().hex[:8]} {INVALID_JSON_MARKER}"
    with pytest.raises(pydantic.ValidationError):
        DesignBrief.model_validate_json(tool_arguments(client, text))
    DesignBrief.model_validate_json(tool_arguments(client, text))

    other = f"Cosmic toast {uuid.uuid4().hex[:8]} {INVALID_JSON_MARKER}"
    with pytest.raises(pydantic.ValidationError):
        client.chat.completions.parse(
            model=CHAT_MODEL, messages=user(other), response_format=DesignBrief
        )
    retried = client.chat.completions.parse(
        model=CHAT_MODEL, messages=user(other), response_format=DesignBrief
    )
    assert isinstance(retried.choices[0].message.parsed, DesignBrief)


def decode(b64: str | None) -> Image.Image:
    assert b64 is not None
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def test_images_are_real_files_of_the_asked_size_and_background(
    client: openai.OpenAI, admin: httpx.Client
) -> None:
    model, prompt = IMAGE_MODEL, f"A retro cat in sunglasses {uuid.uuid4().hex[:8]}"
    result = client.images.generate(
        model=model,
        prompt=prompt,
        size="1536x1024",
        background="transparent",
        output_format="png",
        quality="high",
    )
    assert result.data is not None and result.size == "1536x1024"
    assert result.background == "transparent" and result.usage is not None
    image = decode(result.data[0].b64_json)
    assert (image.format, image.size, image.mode) == ("PNG", (1536, 1024), "RGBA")
    alpha = image.getchannel("A")
    assert alpha.getpixel((0, 0)) == 0 and alpha.getextrema() == (0, 255)
    sent = admin.get("/__admin/openai/requests", params={"endpoint": "images.generations"})
    assert {"model": model, "prompt": prompt} in [
        {key: body[key] for key in ("model", "prompt")} for body in sent.json()
    ]

    opaque = client.images.generate(
        model=model, prompt=prompt, size="auto", output_format="jpeg", n=2
    )
    assert opaque.data is not None and len(opaque.data) == 2 and opaque.size == "1024x1024"
    image = decode(opaque.data[1].b64_json)
    assert (image.format, image.size, image.mode) == ("JPEG", (1024, 1024), "RGB")


def test_image_requests_are_validated(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as failure:
        client.images.generate(
            model=IMAGE_MODEL, prompt="a cat", background="transparent", output_format="jpeg"
        )
    assert failure.value.param == "background"
    with pytest.raises(openai.BadRequestError) as failure:
        client.images.generate(model=IMAGE_MODEL, prompt="a cat", n=11)
    assert failure.value.param == "n" and failure.value.type == "invalid_request_error"


def test_shut_down_models_are_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as image_failure:
        client.images.generate(model="gpt-image-1", prompt="a cat")
    with pytest.raises(openai.NotFoundError) as chat_failure:
        client.chat.completions.create(model="gpt-5", messages=user("hello"))
    for failure in (image_failure, chat_failure):
        assert failure.value.code == "model_not_found" and failure.value.param == "model"


def test_moderation_flags_configured_words_as_whole_words(client: openai.OpenAI) -> None:
    word, category = CONFIG.openai_flagged_words[0].split(":")
    result = client.moderations.create(
        model="omni-moderation-latest",
        input=[f"I will {word.upper()} this look", f"{word}er whale art", "A cosy cat tee"],
    )
    assert result.id.startswith("modr-")
    flagged, longer_word, clean = result.results
    assert flagged.flagged and flagged.categories.model_dump(by_alias=True)[category]
    assert flagged.category_scores.model_dump(by_alias=True)[category] >= 0.9
    assert set(flagged.category_scores.model_dump(by_alias=True)) == set(MODERATION_CATEGORIES)
    for result_item in (longer_word, clean):
        assert not result_item.flagged
        assert not any(result_item.categories.model_dump(by_alias=True).values())


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(value * value for value in vector))


def dot(left: list[float], right: list[float]) -> float:
    return sum(a * b for a, b in zip(left, right, strict=True))


def test_embeddings_honour_dimensions_and_place_similar_texts_closer(
    client: openai.OpenAI, admin: httpx.Client
) -> None:
    texts = ["retro sunset cat t-shirt", "retro sunset cat tee shirt", "quarterly tax deadline"]
    floats = client.embeddings.create(
        model=EMBEDDING_MODEL, input=texts, dimensions=384, encoding_format="float"
    )
    vectors = [item.embedding for item in floats.data]
    assert [len(vector) for vector in vectors] == [384, 384, 384]
    assert all(math.isclose(norm(vector), 1.0, rel_tol=1e-5) for vector in vectors)
    assert dot(vectors[0], vectors[1]) > dot(vectors[0], vectors[2]) + 0.3
    assert floats.usage.prompt_tokens > 0

    # Without `encoding_format` the SDK asks for base64 and decodes it itself.
    decoded = client.embeddings.create(model=EMBEDDING_MODEL, input=texts, dimensions=384)
    assert [item.embedding for item in decoded.data] == vectors
    sent = admin.get("/__admin/openai/requests", params={"endpoint": "embeddings"}).json()
    assert sent[-1]["encoding_format"] == "base64"

    native = client.embeddings.create(model=EMBEDDING_MODEL, input="cat")
    assert len(native.data[0].embedding) == 1536
    with pytest.raises(openai.BadRequestError) as failure:
        client.embeddings.create(model=EMBEDDING_MODEL, input="cat", dimensions=4096)
    assert failure.value.param == "dimensions"


def test_a_wrong_key_is_refused_and_every_answer_has_a_request_id(
    client: openai.OpenAI, emulator: ThreadedServer
) -> None:
    with (
        openai.OpenAI(
            api_key="wrong-key", base_url=f"{emulator.url}/openai/v1", max_retries=0
        ) as stranger,
        pytest.raises(openai.AuthenticationError) as failure,
    ):
        stranger.moderations.create(input="hello")
    assert failure.value.code == "invalid_api_key"
    assert failure.value.request_id is not None and failure.value.request_id.startswith("req_")

    raw = client.moderations.with_raw_response.create(input="hello")
    assert raw.headers["x-request-id"].startswith("req_")
    assert int(raw.headers["x-ratelimit-remaining-requests"]) > 0
    assert not raw.parse().results[0].flagged


def test_unknown_paths_and_bad_bodies_answer_in_openai_error_shape(
    emulator: ThreadedServer,
) -> None:
    auth = {"Authorization": f"Bearer {CONFIG.openai_api_key}"}
    with httpx.Client(base_url=f"{emulator.url}/openai/v1", headers=auth) as http:
        missing = http.post("/assistants-of-the-future", json={})
        assert missing.status_code == 404 and missing.headers["x-request-id"].startswith("req_")
        assert missing.json()["error"]["type"] == "invalid_request_error"
        empty = http.post("/chat/completions", json={"model": CHAT_MODEL, "messages": []})
        assert empty.status_code == 400
        assert empty.json()["error"]["param"] == "messages"
        no_model = http.post("/embeddings", json={"input": "cat"})
        assert no_model.json() == {
            "error": {
                "message": "Missing required parameter: 'model'.",
                "type": "invalid_request_error",
                "param": "model",
                "code": None,
            }
        }


def test_an_injected_rate_limit_looks_like_openai_and_the_sdk_waits_it_out(
    client: openai.OpenAI, admin: httpx.Client, clear_faults: None
) -> None:
    rule = {"path_regex": "^/openai/v1/moderations$", "status": 429, "retry_after": 1}
    assert admin.post("/__admin/faults", json=rule).status_code == 204
    with pytest.raises(openai.RateLimitError) as failure:
        client.moderations.create(input="hello")
    assert failure.value.code == "rate_limit_exceeded"
    assert failure.value.response.headers["retry-after"] == "1"
    assert failure.value.request_id is not None

    assert admin.post("/__admin/faults", json=rule).status_code == 204
    started = time.monotonic()
    result = client.with_options(max_retries=2).moderations.create(input="hello")
    assert time.monotonic() - started >= 0.9  # the SDK honoured retry-after
    assert not result.results[0].flagged
    log = admin.get("/__admin/requests").json()
    assert [row["status"] for row in log if row["path"].endswith("/moderations")] == [429, 429, 200]


def test_the_call_counter_counts_each_endpoint_and_resets(
    client: openai.OpenAI, admin: httpx.Client
) -> None:
    assert admin.delete("/__admin/openai/calls").status_code == 204
    client.moderations.create(input="hello")
    client.embeddings.create(model=EMBEDDING_MODEL, input="hello")
    client.embeddings.create(model=EMBEDDING_MODEL, input="again")
    assert admin.get("/__admin/openai/calls").json() == {
        "chat.completions": 0,
        "images.generations": 0,
        "moderations": 1,
        "embeddings": 2,
    }
    assert admin.delete("/__admin/openai/calls").status_code == 204
    assert set(admin.get("/__admin/openai/calls").json().values()) == {0}
    assert admin.get("/__admin/openai/requests", params={"endpoint": "embeddings"}).json() == []


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        (
            "/chat/completions",
            {"model": CHAT_MODEL, "messages": user("x"), "stream": True},
            "stream",
        ),
        (
            "/chat/completions",
            {
                "model": CHAT_MODEL,
                "messages": user("x"),
                "tools": [{"type": "function", "function": {"name": "a"}}],
                "tool_choice": {"type": "function", "function": {"name": "b"}},
            },
            "tool_choice",
        ),
        (
            "/chat/completions",
            {
                "model": CHAT_MODEL,
                "messages": user("x"),
                "response_format": {"type": "json_schema", "json_schema": {"name": "x"}},
            },
            "response_format.json_schema.schema",
        ),
        ("/chat/completions", {"model": CHAT_MODEL, "messages": [{"content": "x"}]}, "messages"),
        ("/images/generations", {"model": IMAGE_MODEL, "prompt": "x" * 32_001}, "prompt"),
        ("/moderations", {"input": []}, "input"),
        ("/embeddings", {"model": EMBEDDING_MODEL, "input": ["ok", ""]}, "input"),
        ("/chat/completions", b"{not json", None),
    ],
)
def test_bad_requests_name_the_parameter(
    emulator: ThreadedServer, path: str, body: dict[str, Any] | bytes, param: str | None
) -> None:
    auth = {"Authorization": f"Bearer {CONFIG.openai_api_key}"}
    url = f"{emulator.url}/openai/v1{path}"
    if isinstance(body, bytes):
        answer = httpx.post(url, content=body, headers=auth)
    else:
        answer = httpx.post(url, json=body, headers=auth)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert error["message"]


def test_json_object_webp_and_multi_part_inputs(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model=CHAT_MODEL, messages=user("Neon frog"), response_format={"type": "json_object"}
    )
    assert json.loads(reply.choices[0].message.content or "") == {"reply": "Neon frog"}

    webp = client.images.generate(
        model=IMAGE_MODEL, prompt="Neon frog", background="transparent", output_format="webp"
    )
    assert webp.data is not None
    image = decode(webp.data[0].b64_json)
    assert (image.format, image.mode) == ("WEBP", "RGBA")

    parts: list[ModerationMultiModalInputParam] = [
        {"type": "text", "text": "A frog with a"},
        {"type": "image_url", "image_url": {"url": "https://example.com/frog.png"}},
        {"type": "text", "text": "NAZI armband"},
    ]
    (result,) = client.moderations.create(input=parts).results
    assert result.flagged and result.categories.hate


def test_a_flagged_word_needs_a_known_category() -> None:
    with pytest.raises(ValueError, match="word:<category>"):
        create_emulator_app(None, EmulatorConfig(openai_flagged_words=("meh:rudeness",)))


def test_the_schema_generator_follows_refs_unions_formats_and_bounds() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "$defs": {
            "Base": {
                "type": "object",
                "properties": {"id": {"type": "string", "format": "uuid"}},
                "required": ["id"],
            }
        },
        "properties": {
            "item": {
                "allOf": [
                    {"$ref": "#/$defs/Base"},
                    {
                        "properties": {
                            "score": {
                                "type": "number",
                                "exclusiveMinimum": 0,
                                "exclusiveMaximum": 1,
                            }
                        },
                        "required": ["score"],
                    },
                ]
            },
            "kind": {"const": "poster"},
            "count": {"type": ["integer", "null"], "minimum": 3, "maximum": 3},
            "choice": {"oneOf": [{"type": "null"}, {"type": "boolean"}]},
            "code": {"type": "string", "pattern": "^[A-Z]+$"},
            "long": {"type": "string", "minLength": 40, "maxLength": 45},
            "site_url": {"type": "string"},
            "loose": {},
        },
        "required": ["item", "kind", "count", "choice", "code", "long"],
    }
    value = example(schema, "Neon frog poster")
    assert uuid.UUID(value["item"]["id"]) and 0 < value["item"]["score"] < 1
    assert (value["kind"], value["count"], value["choice"]) == ("poster", 3, True)
    assert value["code"].isalpha() and value["code"].isupper()
    assert 40 <= len(value["long"]) <= 45
    assert value["site_url"].startswith("https://") and isinstance(value["loose"], str)
    assert example(schema, "Neon frog poster") == value

    broken = violating_example(schema, "Neon frog poster")
    assert "item" not in broken
    assert violating_example({"type": "string"}, "x") == []


class Node(pydantic.BaseModel):
    name: str
    children: list[Node] = pydantic.Field(max_length=2)


def test_recursive_schemas_end() -> None:
    schema = openai.pydantic_function_tool(Node)["function"].get("parameters", {})
    Node.model_validate(example(schema, "family tree"))


def test_a_slogan_keeps_to_the_length_its_description_states_and_to_the_quoted_subject() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "slogan": {"type": "string", "description": "The words, at most 32 chars."},
            "title": {"type": "string"},
        },
    }
    keyword = "grandpa fishing club since nineteen eighty"  # 42 characters
    value = example(schema, f"Keyword: {json.dumps(keyword)}")
    assert len(value["slogan"]) <= 32 and value["slogan"].startswith("Grandpa Fishing")
    assert value["title"] == keyword.title()  # the subject, not "Keyword: ..."
    assert "Keyword" not in value["slogan"]
