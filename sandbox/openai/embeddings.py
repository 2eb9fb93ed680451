"""Embeddings: words and character trigrams hashed into `dimensions` buckets (the model's
native size unless asked), L2-normalised, so similar texts lie closer."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from typing import Annotated, Any, Literal

from pydantic import Field

from sandbox.openai.base import ModelRequest, NonEmptyText, OpenAIError, count_tokens

NATIVE_DIMENSIONS = {"text-embedding-3-large": 3072}
DEFAULT_DIMENSIONS = 1536


class EmbeddingRequest(ModelRequest):
    input: NonEmptyText | Annotated[list[NonEmptyText], Field(min_length=1, max_length=2048)]
    dimensions: int | None = Field(default=None, ge=1)
    encoding_format: Literal["float", "base64"] = "float"


def embedding_list(request: EmbeddingRequest) -> dict[str, Any]:
    """The embeddings answer: one vector per input text, as floats or base64 float32."""
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
    tokens = sum(max(1, count_tokens(text)) for text in texts)
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
