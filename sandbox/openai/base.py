"""What the OpenAI endpoints share: the error body, the request base, refused models, tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

# Shut down per OpenAI's deprecations page (docs/external-apis.md §5).
SHUT_DOWN_MODELS = frozenset({"gpt-image-1", "gpt-5", "gpt-5-mini", "gpt-5-nano"})

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


class ModelRequest(BaseModel):
    """A request body naming a model; fields the emulator does not read are kept."""

    model_config = ConfigDict(extra="allow")
    model: NonEmptyText


def check_model(model: str) -> None:
    """Refuse a shut-down model as OpenAI does (404 `model_not_found`)."""
    if model in SHUT_DOWN_MODELS:
        raise OpenAIError(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            param="model",
            code="model_not_found",
        )


def count_tokens(text: str) -> int:
    """A rough token count: 1.3 tokens a word."""
    return round(len(text.split()) * 1.3)
