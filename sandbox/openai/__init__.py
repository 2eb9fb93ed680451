"""The OpenAI API emulator (mount at `/openai/v1`), enough for the official SDK offline.

- Every call needs `Authorization: Bearer <config.openai_api_key>`. Every answer carries
  `x-request-id`, successes also the `x-ratelimit-*` headers, and errors use OpenAI's
  body `{"error": {message, type, param, code}}` (`base`).
- A model in `SHUT_DOWN_MODELS` answers 404 `model_not_found`; any other name is served.
- One module per endpoint: `chat` (tool calls and JSON answers that fit their schema,
  broken once on purpose for `INVALID_JSON_MARKER`), `images`, `moderations`,
  `embeddings`.

`OpenAIState` counts calls and keeps recent request bodies per endpoint for tests;
`build_admin_router` serves them under `/__admin/openai` (`state`).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from sandbox.openai import chat, embeddings, images, moderations
from sandbox.openai.base import SHUT_DOWN_MODELS, OpenAIError, check_model
from sandbox.openai.chat import ALWAYS_INVALID_MARKER, INVALID_JSON_MARKER
from sandbox.openai.moderations import MODERATION_CATEGORIES
from sandbox.openai.state import ENDPOINTS, OpenAIState, build_admin_router

if TYPE_CHECKING:
    from sandbox.app import EmulatorConfig

__all__ = [
    "ALWAYS_INVALID_MARKER",
    "INVALID_JSON_MARKER",
    "MODERATION_CATEGORIES",
    "SHUT_DOWN_MODELS",
    "OpenAIState",
    "build_admin_router",
    "build_router",
]

RATE_LIMIT_HEADERS = {
    "x-ratelimit-limit-requests": "5000",
    "x-ratelimit-limit-tokens": "2000000",
    "x-ratelimit-remaining-requests": "4999",
    "x-ratelimit-remaining-tokens": "1999000",
    "x-ratelimit-reset-requests": "12ms",
    "x-ratelimit-reset-tokens": "30ms",
}

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def build_router(config: EmulatorConfig, state: OpenAIState) -> APIRouter:
    """The OpenAI v1 routes, to be mounted at `/openai/v1`."""
    flagged = moderations.flag_patterns(config.openai_flagged_words)
    router = APIRouter(route_class=_route_class(config.openai_api_key, state))

    @router.post("/chat/completions", name="chat.completions")
    def create_chat_completion(request: chat.ChatRequest) -> dict[str, Any]:
        check_model(request.model)
        if request.stream:
            raise OpenAIError(
                400, "The emulator does not stream; send stream=false.", param="stream"
            )
        return chat.completion(request, state)

    @router.post("/images/generations", name="images.generations")
    def generate_images(request: images.ImageRequest) -> dict[str, Any]:
        check_model(request.model)
        return images.generation(request)

    @router.post("/moderations", name="moderations")
    def create_moderation(request: moderations.ModerationRequest) -> dict[str, Any]:
        check_model(request.model)
        return moderations.moderation(request, flagged)

    @router.post("/embeddings", name="embeddings")
    def create_embeddings(request: embeddings.EmbeddingRequest) -> Response:
        check_model(request.model)
        # Returned as a ready response: thousands of floats are slow through FastAPI's encoder.
        return JSONResponse(embeddings.embedding_list(request))

    @router.api_route(
        "/{unknown:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    def unknown_route(unknown: str, request: Request) -> Response:
        raise OpenAIError(404, f"Invalid URL ({request.method} /v1/{unknown})")

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
