"""The OpenAI API emulator (mount at `/openai/v1`), enough for the official SDK offline.

- Every call needs `Authorization: Bearer <config.openai_api_key>`. Every answer carries
  `x-request-id`, successes also the `x-ratelimit-*` headers, and errors use OpenAI's
  body `{"error": {message, type, param, code}}`.
- A model in `SHUT_DOWN_MODELS` answers 404 `model_not_found`; any other name is served.
- Chat completions: a forced (or the only) function tool answers with one `tool_calls`
  entry, a `json_schema` response format with JSON content. Both conform to the schema
  (`sandbox.json_schema_example`) and are built from the last user message. When that
  message contains `INVALID_JSON_MARKER`, the first answer to it breaks the schema and
  later ones do not, so clients can test their repair and retry paths.
- Images: real PNG/JPEG/WebP files of the requested size, shapes and colours drawn from
  a hash of the prompt, transparent when asked.
- Moderations flag the `word:category` entries of `config.openai_flagged_words`.
- Embeddings: words and character trigrams hashed into `dimensions` buckets (the model's
  native size unless asked), L2-normalised, so similar texts lie closer.

`OpenAIState` counts calls and keeps recent request bodies per endpoint for tests;
`build_admin_router` serves them under `/__admin/openai`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import re
import secrets
import struct
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict, Field

from sandbox.json_schema_example import HEX_COLOURS, example, violating_example

if TYPE_CHECKING:
    from sandbox.app import EmulatorConfig

# Shut down per OpenAI's deprecations page (docs/external-apis.md §5).
SHUT_DOWN_MODELS = frozenset({"gpt-image-1", "gpt-5", "gpt-5-mini", "gpt-5-nano"})
INVALID_JSON_MARKER = "[emulator:invalid-json]"
Endpoint = Literal["chat.completions", "images.generations", "moderations", "embeddings"]
ENDPOINTS: tuple[Endpoint, ...] = get_args(Endpoint)
MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "5000",
    "x-ratelimit-limit-tokens": "2000000",
    "x-ratelimit-remaining-requests": "4999",
    "x-ratelimit-remaining-tokens": "1999000",
    "x-ratelimit-reset-requests": "12ms",
    "x-ratelimit-reset-tokens": "30ms",
}
SYSTEM_FINGERPRINT = "fp_emulator"
NATIVE_DIMENSIONS = {"text-embedding-3-large": 3072}
DEFAULT_DIMENSIONS = 1536
# gpt-image-1's output tokens per image: (square, portrait or landscape).
IMAGE_TOKENS = {"low": (272, 408), "medium": (1056, 1584), "high": (4160, 6240)}
# Images are drawn at 1/16 of their size and scaled up: fast, and the shapes stay crisp.
SKETCH_SCALE = 16
OPAQUE_BACKGROUND = "#F8F4EC"

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
NonEmptyText = Annotated[str, Field(min_length=1)]


class OpenAIError(Exception):
    """An error answered in OpenAI's body shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
        self.body = {"error": error}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body, status_code=self.status)


class OpenAIState:
    """Calls and recent request bodies per endpoint, and the marked prompts answered."""

    def __init__(self, keep: int = 50) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._bodies: dict[str, deque[Any]] = {name: deque(maxlen=keep) for name in ENDPOINTS}
        self._marked_answered: set[str] = set()

    def record(self, endpoint: Endpoint, body: Any) -> None:
        with self._lock:
            self._calls[endpoint] += 1
            self._bodies[endpoint].append(body)

    def calls(self) -> dict[str, int]:
        with self._lock:
            return {name: self._calls[name] for name in ENDPOINTS}

    def bodies(self, endpoint: Endpoint) -> list[Any]:
        with self._lock:
            return list(self._bodies[endpoint])

    def reset(self) -> None:
        """Forget calls and bodies (marked prompts stay answered: a retry stays valid)."""
        with self._lock:
            self._calls.clear()
            for bodies in self._bodies.values():
                bodies.clear()

    def first_answer(self, prompt: str) -> bool:
        """True the first time `prompt` is answered in this process."""
        key = hashlib.sha256(prompt.encode()).hexdigest()
        with self._lock:
            if key in self._marked_answered:
                return False
            self._marked_answered.add(key)
            return True


class _ModelRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: NonEmptyText


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["developer", "system", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(_ModelRequest):
    messages: list[ChatMessage] = Field(min_length=1)
    tools: list[dict[str, Any]] = Field(default_factory=list)
    tool_choice: str | dict[str, Any] = "auto"
    response_format: dict[str, Any] | None = None
    n: int = Field(default=1, ge=1, le=8)
    stream: bool = False


class ImageRequest(_ModelRequest):
    prompt: str = Field(min_length=1, max_length=32_000)
    n: int = Field(default=1, ge=1, le=10)
    size: Literal["1024x1024", "1536x1024", "1024x1536", "auto"] = "auto"
    background: Literal["transparent", "opaque", "auto"] = "auto"
    output_format: Literal["png", "jpeg", "webp"] = "png"
    output_compression: int = Field(default=100, ge=0, le=100)
    quality: Literal["low", "medium", "high", "auto"] = "auto"
    moderation: Literal["low", "auto"] = "auto"


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ImageUrlPart(BaseModel):
    type: Literal["image_url"]
    image_url: dict[str, Any]


class ModerationRequest(_ModelRequest):
    model: NonEmptyText = "omni-moderation-latest"
    input: str | list[str] | list[TextPart | ImageUrlPart] = Field(min_length=1)


class EmbeddingRequest(_ModelRequest):
    input: NonEmptyText | Annotated[list[NonEmptyText], Field(min_length=1, max_length=2048)]
    dimensions: int | None = Field(default=None, ge=1)
    encoding_format: Literal["float", "base64"] = "float"


def build_router(config: EmulatorConfig, state: OpenAIState) -> APIRouter:
    """The OpenAI v1 routes, to be mounted at `/openai/v1`."""
    flagged = _flag_patterns(config.openai_flagged_words)
    router = APIRouter(route_class=_route_class(config.openai_api_key, state))

    @router.post("/chat/completions", name="chat.completions")
    def create_chat_completion(request: ChatRequest) -> dict[str, Any]:
        _check_model(request.model)
        if request.stream:
            raise OpenAIError(
                400, "The emulator does not stream; send stream=false.", param="stream"
            )
        return _chat_completion(request, state)

    @router.post("/images/generations", name="images.generations")
    def generate_images(request: ImageRequest) -> dict[str, Any]:
        _check_model(request.model)
        return _images(request)

    @router.post("/moderations", name="moderations")
    def create_moderation(request: ModerationRequest) -> dict[str, Any]:
        _check_model(request.model)
        if isinstance(request.input, str):
            texts = [request.input]
        elif all(isinstance(item, str) for item in request.input):
            texts = [str(item) for item in request.input]
        else:  # the parts of one multi-modal input make one result
            texts = [" ".join(p.text for p in request.input if isinstance(p, TextPart))]
        return {
            "id": f"modr-{secrets.token_hex(12)}",
            "model": request.model,
            "results": [_moderation_result(text, flagged) for text in texts],
        }

    @router.post("/embeddings", name="embeddings")
    def create_embeddings(request: EmbeddingRequest) -> Response:
        _check_model(request.model)
        # Returned as a ready response: thousands of floats are slow through FastAPI's encoder.
        return JSONResponse(_embeddings(request))

    @router.api_route(
        "/{unknown:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    def unknown_route(unknown: str, request: Request) -> Response:
        raise OpenAIError(404, f"Invalid URL ({request.method} /v1/{unknown})")

    return router


def build_admin_router(state: OpenAIState) -> APIRouter:
    """Test helpers at `/__admin/openai`: call counts per endpoint and recent bodies."""
    router = APIRouter(prefix="/__admin/openai", include_in_schema=False)

    @router.get("/calls")
    def count_calls() -> dict[str, int]:
        return state.calls()

    @router.delete("/calls", status_code=204)
    def reset_calls() -> Response:
        state.reset()
        return Response(status_code=204)

    @router.get("/requests")
    def recent_requests(endpoint: Endpoint) -> list[Any]:
        return state.bodies(endpoint)

    return router


def _route_class(api_key: str, state: OpenAIState) -> type[APIRoute]:
    class OpenAIRoute(APIRoute):
        """Checks the API key, counts the call and answers every error in OpenAI's shape."""

        def get_route_handler(self) -> Handler:
            handler = super().get_route_handler()
            endpoint = next((name for name in ENDPOINTS if name == self.name), None)

            async def openai_handler(request: Request) -> Response:
                try:
                    _authorise(request, api_key)
                    if endpoint is not None:
                        state.record(endpoint, _json_or_none(await request.body()))
                    response = await handler(request)
                    response.headers.update(RATE_LIMIT_HEADERS)
                except OpenAIError as exc:
                    response = exc.response()
                except RequestValidationError as exc:
                    response = _invalid(exc).response()
                response.headers["x-request-id"] = f"req_{secrets.token_hex(16)}"
                return response

            return openai_handler

    return OpenAIRoute


def _authorise(request: Request, api_key: str) -> None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(key.encode(), api_key.encode()):
        raise OpenAIError(
            401,
            "Incorrect API key provided. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _invalid(exc: RequestValidationError) -> OpenAIError:
    error = exc.errors()[0]
    location = [str(part) for part in error["loc"][1:]]  # after "body"
    if error["type"] == "json_invalid" or not location:
        return OpenAIError(400, "We could not parse the JSON body of your request.")
    param = location[0]
    if error["type"] == "missing" and len(location) == 1:
        return OpenAIError(400, f"Missing required parameter: '{param}'.", param=param)
    return OpenAIError(400, f"Invalid value for '{param}': {error['msg']}.", param=param)


def _check_model(model: str) -> None:
    if model in SHUT_DOWN_MODELS:
        raise OpenAIError(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )


def _tokens(text: str) -> int:
    """A rough token count: 1.3 tokens a word."""
    return round(len(text.split()) * 1.3)


def _message_text(message: ChatMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    parts = message.content or []
    return " ".join(str(part.get("text", "")) for part in parts if part.get("type") == "text")


def _chat_completion(request: ChatRequest, state: OpenAIState) -> dict[str, Any]:
    prompt = next((_message_text(m) for m in reversed(request.messages) if m.role == "user"), "")
    text = " ".join(prompt.replace(INVALID_JSON_MARKER, " ").split())
    broken = INVALID_JSON_MARKER in prompt and state.first_answer(prompt)
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    tool = _forced_tool(request.tools, request.tool_choice)
    if tool is not None:
        schema = tool.get("parameters") or {"type": "object", "properties": {}}
        output = json.dumps(violating_example(schema, text) if broken else example(schema, text))
        call = {"name": tool.get("name", ""), "arguments": output}
        message["tool_calls"] = [
            {"id": f"call_{secrets.token_hex(12)}", "type": "function", "function": call}
        ]
        finish_reason = "tool_calls"
    else:
        output = message["content"] = _reply(request.response_format, text, broken)
        finish_reason = "stop"
    prompt_tokens = sum(_tokens(_message_text(m)) for m in request.messages)
    completion_tokens = _tokens(output) * request.n
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {"index": index, "message": message, "logprobs": None, "finish_reason": finish_reason}
            for index in range(request.n)
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": SYSTEM_FINGERPRINT,
        "service_tier": "default",
    }


def _forced_tool(
    tools: list[dict[str, Any]], choice: str | dict[str, Any]
) -> dict[str, Any] | None:
    """The function to call: the one `choice` names or requires, or the only one offered."""
    functions = [t["function"] for t in tools if isinstance(t.get("function"), dict)]
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        named = [function for function in functions if function.get("name") == name]
        if not named:
            raise OpenAIError(
                400,
                f"Invalid value for 'tool_choice': no tool named {name!r}.",
                param="tool_choice",
            )
        return named[0]
    if functions and (choice == "required" or (choice == "auto" and len(functions) == 1)):
        return functions[0]
    return None


def _reply(response_format: dict[str, Any] | None, text: str, broken: bool) -> str:
    response_format = response_format or {}
    kind = response_format.get("type", "text")
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            param = "response_format.json_schema.schema"
            raise OpenAIError(400, f"Missing required parameter: '{param}'.", param=param)
        return json.dumps(violating_example(schema, text) if broken else example(schema, text))
    if kind == "json_object":
        return json.dumps({"reply": text})
    return f"Emulated reply to: {text}"


def _images(request: ImageRequest) -> dict[str, Any]:
    if request.background == "transparent" and request.output_format == "jpeg":
        raise OpenAIError(
            400,
            "Transparent background is not supported for output format 'jpeg'; "
            "use 'png' or 'webp'.",
            param="background",
        )
    size = "1024x1024" if request.size == "auto" else request.size
    width, height = (int(side) for side in size.split("x"))
    quality = "medium" if request.quality == "auto" else request.quality
    background = "opaque" if request.background == "auto" else request.background
    images = [
        _render(
            request.prompt,
            index,
            (width, height),
            transparent=background == "transparent",
            output_format=request.output_format,
            compression=request.output_compression,
        )
        for index in range(request.n)
    ]
    text_tokens = _tokens(request.prompt)
    output_tokens = IMAGE_TOKENS[quality][0 if width == height else 1] * request.n
    return {
        "created": int(time.time()),
        "data": [
            {"b64_json": base64.b64encode(image).decode("ascii"), "revised_prompt": request.prompt}
            for image in images
        ],
        "background": background,
        "output_format": request.output_format,
        "quality": quality,
        "size": size,
        "usage": {
            "input_tokens": text_tokens,
            "input_tokens_details": {"image_tokens": 0, "text_tokens": text_tokens},
            "output_tokens": output_tokens,
            "total_tokens": text_tokens + output_tokens,
        },
    }


def _render(
    prompt: str,
    index: int,
    size: tuple[int, int],
    *,
    transparent: bool,
    output_format: str,
    compression: int,
) -> bytes:
    """Four shapes inside a margin (corners stay background), placed by the prompt's hash."""
    digest = hashlib.sha256(f"{index}\0{prompt}".encode()).digest()
    width, height = size[0] // SKETCH_SCALE, size[1] // SKETCH_SCALE
    sketch = Image.new("RGBA", (width, height), (0, 0, 0, 0) if transparent else OPAQUE_BACKGROUND)
    draw = ImageDraw.Draw(sketch)
    margin_x, margin_y = width // 8, height // 8
    span_x, span_y = width - 2 * margin_x, height - 2 * margin_y
    for shape in range(4):
        x, y, w, h, colour, kind = digest[1 + 6 * shape : 7 + 6 * shape]
        left = margin_x + x % (span_x // 2)
        top = margin_y + y % (span_y // 2)
        right = min(width - margin_x, left + span_x // 4 + w % (span_x // 2))
        bottom = min(height - margin_y, top + span_y // 4 + h % (span_y // 2))
        fill = HEX_COLOURS[colour % len(HEX_COLOURS)]
        if kind % 3 == 0:
            draw.ellipse((left, top, right, bottom), fill=fill)
        elif kind % 3 == 1:
            draw.rectangle((left, top, right, bottom), fill=fill)
        else:
            draw.polygon([(left, bottom), (right, bottom), ((left + right) // 2, top)], fill=fill)
    picture = sketch.resize(size, Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    if output_format == "jpeg":
        picture.convert("RGB").save(buffer, "JPEG", quality=compression)
    elif output_format == "webp":
        picture.save(buffer, "WEBP", quality=compression)
    else:
        (picture if transparent else picture.convert("RGB")).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def _flag_patterns(entries: tuple[str, ...]) -> list[tuple[re.Pattern[str], str]]:
    """`word:category` entries as whole-word, case-insensitive patterns."""
    patterns = []
    for entry in entries:
        word, _, category = entry.partition(":")
        if not word or category not in MODERATION_CATEGORIES:
            raise ValueError(f"openai_flagged_words: {entry!r} is not `word:<category>`")
        patterns.append((re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE), category))
    return patterns


def _score(text: str, category: str, low: float, spread: float) -> float:
    digest = hashlib.sha256(f"{category}\0{text}".encode()).digest()
    return round(low + spread * digest[0] / 255, 6)


def _moderation_result(text: str, flagged: list[tuple[re.Pattern[str], str]]) -> dict[str, Any]:
    hits = {category for pattern, category in flagged if pattern.search(text)}
    return {
        "flagged": bool(hits),
        "categories": {category: category in hits for category in MODERATION_CATEGORIES},
        "category_scores": {
            category: _score(text, category, 0.9, 0.09)
            if category in hits
            else _score(text, category, 0.00001, 0.01)
            for category in MODERATION_CATEGORIES
        },
        "category_applied_input_types": {key: ["text"] for key in MODERATION_CATEGORIES},
    }


def _embeddings(request: EmbeddingRequest) -> dict[str, Any]:
    native = NATIVE_DIMENSIONS.get(request.model, DEFAULT_DIMENSIONS)
    dimensions = request.dimensions or native
    if dimensions > native:
        raise OpenAIError(
            400,
            f"Invalid value for 'dimensions': {request.model} supports at most {native}.",
            param="dimensions",
        )
    texts = [request.input] if isinstance(request.input, str) else request.input
    data = []
    for index, text in enumerate(texts):
        packed = struct.pack(f"<{dimensions}f", *_embed(text, dimensions))
        # Floats go out at float32 precision too, so both encodings carry the same vector.
        embedding: list[float] | str = (
            base64.b64encode(packed).decode("ascii")
            if request.encoding_format == "base64"
            else list(struct.unpack(f"<{dimensions}f", packed))
        )
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(max(1, _tokens(text)) for text in texts)
    return {
        "object": "list",
        "data": data,
        "model": request.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _embed(text: str, dimensions: int) -> list[float]:
    """Words and character trigrams hashed into signed buckets, scaled to unit length."""
    lowered = " ".join(text.lower().split())
    padded = f" {lowered} "
    features = [(word, 1.0) for word in re.findall(r"\w+", lowered)]
    features += [(padded[i : i + 3], 0.5) for i in range(len(padded) - 2)]
    vector = [0.0] * dimensions
    for feature, weight in features:
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % dimensions
        vector[bucket] += weight if digest[4] & 1 else -weight
    norm = math.sqrt(sum(value * value for value in vector))
    if norm == 0:  # the features cancelled out (only possible with very few dimensions)
        return [1.0] + [0.0] * (dimensions - 1)
    return [value / norm for value in vector]
