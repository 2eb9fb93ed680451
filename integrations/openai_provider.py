"""OpenAI as a provider of briefs, content checks, images and embeddings (official SDK).

One `AsyncOpenAI` client per worker process. Every model name comes from a setting,
never a literal: models are shut down on a published schedule, and a model the API no
longer knows becomes a permanent error that names the setting to change.

- Briefs come from a forced, strict function call whose arguments follow `BRIEF_SCHEMA`.
  The answer is then held to the same Etsy title and tag rules as a local brief: it is
  cleaned (repaired) with `listing_rules`, and if it is still wrong the problems are sent
  back for another answer, a bounded number of times. An invalid brief is never returned.
- Moderation runs on the brief's text before any image call (`ContentScreen` in
  `integrations.safety` combines it with the local lists).
- Images are asked for with a transparent background as base64 PNG and checked to be a
  PNG; the print-file step upscales them onto the print area like local artwork.
- Embeddings use `dimensions=384`, the size of the `vector(384)` columns.

SDK errors are mapped once, in `vendor_error`, into the platform's `VendorError`.

Over 400 lines on purpose: one vendor's client, whose stages share the SDK client,
retries, prices and error mapping.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from PIL import Image, UnidentifiedImageError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.lazy import lazy_module
from core.metrics import metered_hooks
from domain.listing_rules import (
    MAX_TAGS,
    clean_description,
    clean_tags,
    clean_title,
    plain_text,
    validate_tags,
    validate_title,
)
from integrations.errors import RETRYABLE_STATUSES, VendorError, error_code
from integrations.safety import ModerationVerdict
from models.payloads import DesignBrief

if TYPE_CHECKING:
    import openai
    from openai import AsyncOpenAI
    from openai.types.chat import (
        ChatCompletionFunctionToolParam,
        ChatCompletionMessageParam,
        ChatCompletionNamedToolChoiceParam,
    )
else:
    # Loaded by `build_client`: a process without an OpenAI setting never imports the SDK.
    openai = lazy_module("openai")

VENDOR = "openai"
EMBEDDING_DIMENSIONS = 384
BRIEF_TOOL = "submit_design_brief"
# Answers asked for in all (the first and its corrections) before the attempt fails.
BRIEF_ANSWERS = 3
MIN_TAGS = 5
SLOGAN_MAX_CHARS = 32
# The model's IP-risk levels, lowest first; the last is refused.
IP_RISKS = ("low", "medium", "high")

_TEXT = {"type": "string"}


def _strings(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


# Strict structured output: every property required, no others allowed. Lengths are
# stated in descriptions and checked after the call (strict mode does not enforce them).
BRIEF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "concept",
        "slogan",
        "style",
        "palette",
        "audience",
        "image_prompt",
        "title",
        "tags",
        "description",
        "ip_risk",
        "ip_risk_reason",
    ],
    "properties": {
        "concept": _strings("One or two sentences: the idea of the design and who it is for."),
        "slogan": _strings(f"The words printed on the shirt, at most {SLOGAN_MAX_CHARS} chars."),
        "style": _strings("The lettering or illustration style, a short phrase."),
        "palette": {
            "type": "array",
            "description": "2 to 5 colours as #RRGGBB that stand out on dark garments.",
            "items": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
            "minItems": 2,
            "maxItems": 5,
        },
        "audience": _strings("Who buys this, a short phrase."),
        "image_prompt": _strings(
            "A prompt for an image model: the artwork alone on a transparent background, "
            "no mockup, no garment, high contrast, the slogan spelled exactly."
        ),
        "title": _strings("The Etsy listing title, at most 140 characters, no accents."),
        "tags": {
            "type": "array",
            "description": f"{MIN_TAGS} to {MAX_TAGS} distinct Etsy tags, each at most 20 "
            "characters of letters, numbers, spaces, - and '.",
            "items": _TEXT,
            "minItems": MIN_TAGS,
            "maxItems": MAX_TAGS,
        },
        "description": _strings("The Etsy listing description, 2 to 4 short paragraphs."),
        "ip_risk": {
            "type": "string",
            "enum": list(IP_RISKS),
            "description": "How likely the keyword or the design is to infringe a trademark, "
            "copyright or a person's likeness (a brand, franchise, character, team, artist, "
            "their slogans or nicknames): high when it names or evokes one.",
        },
        "ip_risk_reason": _strings("Why, in one sentence, naming the protected work if any."),
    },
}

SYSTEM_PROMPT = (
    "You write design briefs for print-on-demand t-shirts sold on Etsy. Given a trending "
    "keyword, call the tool once with an original design: a short slogan, a style, a "
    "palette for dark shirts, an image prompt for the artwork alone on a transparent "
    "background, and the listing copy. Never use brand names, trademarks, celebrities, "
    "sports leagues or copyrighted characters. Follow every length limit exactly."
)


class BriefAnswer(BaseModel):
    """The tool call's arguments, validated before anything else looks at them."""

    model_config = ConfigDict(extra="forbid")

    concept: str = Field(min_length=1, max_length=1000)
    slogan: str = Field(min_length=1, max_length=SLOGAN_MAX_CHARS)
    style: str = Field(min_length=1, max_length=200)
    palette: list[str] = Field(min_length=2, max_length=5)
    audience: str = Field(min_length=1, max_length=300)
    image_prompt: str = Field(min_length=1, max_length=4000)
    title: str = Field(min_length=1, max_length=300)
    tags: list[str] = Field(min_length=1, max_length=40)
    description: str = Field(min_length=1, max_length=5000)
    ip_risk: Literal["low", "medium", "high"]
    ip_risk_reason: str = Field(max_length=1000)


@dataclass
class Usage:
    """What the calls of one piece of work consumed."""

    model: str = ""
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    images: int = 0

    def add(self, model: str, input_tokens: int, output_tokens: int, images: int = 0) -> None:
        self.model = self.model or model
        self.calls += 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.images += images


@dataclass
class WrittenBrief:
    brief: DesignBrief
    usage: Usage
    corrections: int  # answers that had to be sent back


@dataclass
class GeneratedImage:
    png: bytes
    width: int
    height: int
    usage: Usage


@dataclass(frozen=True)
class OpenAIConfig:
    """The models and request options; built from settings by the worker."""

    chat_model: str
    image_model: str
    moderation_model: str = "omni-moderation-latest"
    embedding_model: str = "text-embedding-3-small"
    image_size: Literal["1024x1024", "1536x1024", "1024x1536", "auto"] = "1024x1536"
    image_quality: Literal["low", "medium", "high", "auto"] = "high"


# The setting that names the model of each kind of call, for "model not found" errors.
MODEL_SETTINGS = {
    "chat": "OPENAI_CHAT_MODEL",
    "image": "OPENAI_IMAGE_MODEL",
    "moderation": "OPENAI_MODERATION_MODEL",
    "embedding": "OPENAI_EMBEDDING_MODEL",
}


def build_client(
    *, api_key: str, base_url: str | None, timeout: float, max_retries: int = 2
) -> AsyncOpenAI:
    """The process's client. The SDK retries 408/409/429/5xx itself, honouring
    `retry-after`; what still fails is raised and retried by Temporal."""
    return openai.AsyncOpenAI(
        api_key=api_key,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        # Each exchange, the SDK's own retries and 429s included, is counted.
        http_client=openai.DefaultAsyncHttpxClient(event_hooks=metered_hooks("openai")),
    )


def vendor_error(exc: openai.OpenAIError, kind: str) -> VendorError:
    """One mapping of SDK errors: rate limits, 5xx and lost connections are retryable;
    bad requests, auth and unknown models are not."""
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        body = exc.body if isinstance(exc.body, dict) else {}
        details = {
            "request_id": exc.request_id,
            "type": body.get("type"),
            "code": body.get("code"),
            "param": body.get("param"),
        }
        message = str(body.get("message") or exc.message)
        if status == 404 and body.get("code") == "model_not_found":
            setting = MODEL_SETTINGS[kind]
            message = f"{message} Set {setting} to a model this account can use."
            details["setting"] = setting
        return VendorError(
            VENDOR,
            message,
            status=status,
            code=error_code(VENDOR, status),
            retryable=status in RETRYABLE_STATUSES or status == 409,
            retry_after=_retry_after(exc.response.headers),
            details={key: value for key, value in details.items() if value is not None},
        )
    if isinstance(exc, openai.APIConnectionError):
        return VendorError(
            VENDOR,
            f"{kind} call failed: {type(exc).__name__}",
            code=error_code(VENDOR, None),
            retryable=True,
        )
    return VendorError(VENDOR, f"{kind} answer unusable: {exc}", code="OPENAI_INVALID_ANSWER")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    milliseconds = headers.get("retry-after-ms")
    seconds = headers.get("retry-after")
    try:
        if milliseconds is not None:
            return float(milliseconds) / 1000
        if seconds is not None:
            return float(seconds)
    except ValueError:
        return None
    return None


class BriefRejected(Exception):
    """The model gave no usable brief after its corrections (or refused)."""

    def __init__(
        self, message: str, problems: list[str], *, refused: bool = False, ip_risk: str = ""
    ) -> None:
        super().__init__(message)
        self.problems = problems
        self.refused = refused
        self.ip_risk = ip_risk  # "high" when the refusal is the model's IP judgement


class OpenAIProvider:
    """Briefs, moderation, images and embeddings from one `AsyncOpenAI` client."""

    def __init__(self, client: AsyncOpenAI, config: OpenAIConfig) -> None:
        self._client = client
        self._config = config

    @property
    def config(self) -> OpenAIConfig:
        return self._config

    async def aclose(self) -> None:
        await self._client.close()

    # --- briefs ---------------------------------------------------------------------------

    async def write_brief(self, keyword: str, usage: Usage | None = None) -> WrittenBrief:
        """A brief for `keyword` from a forced strict tool call, repaired or asked again
        until it meets Etsy's rules; raises `BriefRejected` when it never does.

        Every answer's tokens are added to `usage` as they come, so a caller still knows
        what was spent when this raises."""
        tool: ChatCompletionFunctionToolParam = {
            "type": "function",
            "function": {
                "name": BRIEF_TOOL,
                "description": "Submit the design brief for the keyword.",
                "parameters": BRIEF_SCHEMA,
                "strict": True,
            },
        }
        choice: ChatCompletionNamedToolChoiceParam = {
            "type": "function",
            "function": {"name": BRIEF_TOOL},
        }
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Keyword: {json.dumps(keyword)}"},
        ]
        usage = usage if usage is not None else Usage()
        problems: list[str] = []
        for answer in range(BRIEF_ANSWERS):
            try:
                completion = await self._client.chat.completions.create(
                    model=self._config.chat_model,
                    messages=messages,
                    tools=[tool],
                    tool_choice=choice,
                    parallel_tool_calls=False,
                )
            except openai.OpenAIError as exc:
                raise vendor_error(exc, "chat") from exc
            if completion.usage is not None:
                usage.add(
                    completion.model,
                    completion.usage.prompt_tokens,
                    completion.usage.completion_tokens,
                )
            else:
                usage.add(completion.model, 0, 0)
            message = completion.choices[0].message
            if message.refusal or completion.choices[0].finish_reason == "content_filter":
                reason = message.refusal or "the answer was stopped by the content filter"
                raise BriefRejected(
                    f"the model refused the keyword: {reason}", [reason], refused=True
                )
            calls = [call for call in message.tool_calls or [] if call.type == "function"]
            arguments = calls[0].function.arguments if calls else (message.content or "")
            brief, problems = _brief_from(keyword, arguments)
            if brief is not None and brief.ip_risk == IP_RISKS[-1]:
                # The model's own judgement, on top of the local lists: not asked again.
                reason = f"the model rates the IP risk high: {brief.ip_risk_reason}"
                raise BriefRejected(reason, [reason], refused=True, ip_risk=brief.ip_risk)
            if brief is not None:
                return WrittenBrief(brief=brief, usage=usage, corrections=answer)
            said = message.model_dump(exclude_none=True)
            messages.append(cast("ChatCompletionMessageParam", said))
            if calls:
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": calls[0].id,
                        "content": "Rejected. Fix these problems and call the tool again: "
                        + "; ".join(problems),
                    }
                )
            else:
                messages.append(
                    {"role": "user", "content": "Call the tool. Problems: " + "; ".join(problems)}
                )
        raise BriefRejected(
            f"no valid brief after {BRIEF_ANSWERS} answers: {'; '.join(problems)}",
            problems,
        )

    # --- content safety -------------------------------------------------------------------

    async def moderate(self, texts: list[str]) -> ModerationVerdict:
        """The verdict over `texts` (flagged if any one is), with each flagged category's
        highest score. The endpoint is free, so it adds no cost line."""
        try:
            result = await self._client.moderations.create(
                model=self._config.moderation_model, input=texts
            )
        except openai.OpenAIError as exc:
            raise vendor_error(exc, "moderation") from exc
        categories: dict[str, float] = {}
        for item in result.results:
            if not item.flagged:
                continue
            flags = item.categories.model_dump(by_alias=True)
            scores = item.category_scores.model_dump(by_alias=True)
            for name, hit in flags.items():
                if hit:
                    categories[name] = max(categories.get(name, 0.0), float(scores.get(name, 1.0)))
        flagged = any(item.flagged for item in result.results)
        return ModerationVerdict(flagged=flagged, categories=categories)

    # --- images ---------------------------------------------------------------------------

    async def generate_image(self, prompt: str, usage: Usage | None = None) -> GeneratedImage:
        """One transparent PNG for `prompt`, checked to decode as an image; its tokens are
        added to `usage` before the check, so an unusable (but paid) answer counts."""
        try:
            result = await self._client.images.generate(
                model=self._config.image_model,
                prompt=prompt,
                n=1,
                size=self._config.image_size,
                quality=self._config.image_quality,
                background="transparent",
                output_format="png",
            )
        except openai.OpenAIError as exc:
            raise vendor_error(exc, "image") from exc
        usage = usage if usage is not None else Usage()
        tokens = result.usage
        usage.add(
            self._config.image_model,
            tokens.input_tokens if tokens else 0,
            tokens.output_tokens if tokens else 0,
            images=1,
        )
        encoded = result.data[0].b64_json if result.data else None
        if not encoded:
            raise VendorError(VENDOR, "the image answer has no b64_json", retryable=True)
        try:
            png = base64.b64decode(encoded, validate=True)
            with Image.open(io.BytesIO(png)) as image:
                if image.format != "PNG":
                    raise VendorError(VENDOR, f"asked for PNG, got {image.format}", retryable=True)
                width, height = image.size
        except (binascii.Error, UnidentifiedImageError, OSError) as exc:
            raise VendorError(
                VENDOR, f"the image answer is not a valid PNG: {exc}", retryable=True
            ) from exc
        return GeneratedImage(png=png, width=width, height=height, usage=usage)

    # --- embeddings -----------------------------------------------------------------------

    async def embed(self, texts: list[str]) -> tuple[list[list[float]], Usage]:
        """One `EMBEDDING_DIMENSIONS`-long vector per text, in order."""
        try:
            result = await self._client.embeddings.create(
                model=self._config.embedding_model,
                input=texts,
                dimensions=EMBEDDING_DIMENSIONS,
            )
        except openai.OpenAIError as exc:
            raise vendor_error(exc, "embedding") from exc
        usage = Usage()
        usage.add(result.model, result.usage.prompt_tokens, 0)
        vectors = [item.embedding for item in sorted(result.data, key=lambda item: item.index)]
        if len(vectors) != len(texts) or any(len(v) != EMBEDDING_DIMENSIONS for v in vectors):
            raise VendorError(
                VENDOR,
                f"asked for {len(texts)} vectors of {EMBEDDING_DIMENSIONS} dimensions, got "
                f"{[len(v) for v in vectors]}",
                retryable=False,
            )
        return vectors, usage


def _brief_from(keyword: str, arguments: str) -> tuple[DesignBrief | None, list[str]]:
    """The repaired brief, or the problems that cleaning could not fix."""
    try:
        answer = BriefAnswer.model_validate_json(arguments)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'answer'}: {error['msg']}"
            for error in exc.errors()
        ]
        return None, problems
    # Repair what the rules can repair: the same cleaning a local brief gets, and no
    # markup or invisible characters anywhere (a keyword's `<b>` must not reach Etsy).
    title = clean_title(answer.title)
    tags = clean_tags(answer.tags)
    slogan = plain_text(answer.slogan)
    problems = validate_title(title) + validate_tags(tags)
    if not slogan:
        problems.append("slogan: no words left once markup is removed")
    if len(tags) < MIN_TAGS:
        problems.append(f"only {len(tags)} usable tags; give at least {MIN_TAGS} valid ones")
    palette = [colour.upper() for colour in answer.palette]
    bad_colours = [c for c in palette if not _is_hex_colour(c)]
    if bad_colours:
        problems.append(f"palette entries must be #RRGGBB: {bad_colours}")
    if problems:
        return None, problems
    return (
        DesignBrief(
            keyword=keyword,
            concept=plain_text(answer.concept),
            slogan=slogan,
            style=plain_text(answer.style),
            palette=palette,
            audience=plain_text(answer.audience),
            image_prompt=plain_text(answer.image_prompt),
            title=title,
            tags=tags,
            description=clean_description(answer.description),
            ip_risk=answer.ip_risk,
            ip_risk_reason=plain_text(answer.ip_risk_reason),
        ),
        [],
    )


def _is_hex_colour(value: str) -> bool:
    return len(value) == 7 and value[0] == "#" and all(c in "0123456789ABCDEF" for c in value[1:])
