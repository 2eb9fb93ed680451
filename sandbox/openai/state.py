"""What tests can see of the OpenAI emulator: calls and recent bodies per endpoint."""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, deque
from typing import Any, Literal, get_args

from fastapi import APIRouter, Response

Endpoint = Literal["chat.completions", "images.generations", "moderations", "embeddings"]
ENDPOINTS: tuple[Endpoint, ...] = get_args(Endpoint)


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
