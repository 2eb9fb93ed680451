"""An httpx transport that sends requests over real HTTP and keeps each exchange, so a test
can check what a vendor client sent and what the emulator answered against a contract."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int
    answer: bytes


class RecordingTransport(httpx.AsyncBaseTransport):
    """Real HTTP through `httpx.AsyncHTTPTransport`; every exchange lands in `exchanges`."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self._inner.handle_async_request(request)
        answer = await response.aread()
        await response.aclose()
        self.exchanges.append(
            Exchange(
                request.method,
                str(request.url),
                {key.lower(): value for key, value in request.headers.items()},
                body,
                response.status_code,
                answer,
            )
        )
        dropped = {"content-encoding", "content-length", "transfer-encoding"}
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in dropped]
        return httpx.Response(response.status_code, headers=headers, content=answer)

    async def aclose(self) -> None:
        await self._inner.aclose()
