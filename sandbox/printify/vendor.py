"""What every Printify answer looks like: the error shape, body parsing, paging, timestamps.

Errors always use Printify's shape `{status, code, message, errors:{reason, code}}`;
request validation failures are 400 with code 8150.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, ValidationError

VALIDATION_CODE = 8150
LOCKED_CODE = 8252


class PrintifyApiError(Exception):
    """An error answer in Printify's shape."""

    def __init__(
        self,
        status: int,
        message: str,
        reason: str,
        code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason
        self.code = code if code is not None else status
        self.headers = headers

    def response(self) -> JSONResponse:
        body = {
            "status": "error",
            "code": self.code,
            "message": self.message,
            "errors": {"reason": self.reason, "code": self.code},
        }
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def invalid(reason: str) -> PrintifyApiError:
    """A 400 validation failure (code 8150) saying `reason`."""
    return PrintifyApiError(400, "Validation failed.", reason, VALIDATION_CODE)


def not_found(what: str) -> PrintifyApiError:
    """A 404 saying `what` was not found."""
    return PrintifyApiError(404, "Not found.", f"{what} not found")


def validation_reason(errors: Sequence[Any]) -> str:
    """`field.path: message` of the first pydantic/FastAPI validation error."""
    first = errors[0] if errors else {}
    loc = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = str(first.get("msg", "invalid request"))
    return f"{loc}: {message}" if loc else message


class VendorRoute(APIRoute):
    """Answers every error of a Printify route, the guard's included, in Printify's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def vendor_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except PrintifyApiError as exc:
                return exc.response()
            except RequestValidationError as exc:
                return invalid(validation_reason(exc.errors())).response()

        return vendor_handler


class Body(BaseModel):
    """A request body; fields Printify would ignore are ignored."""

    model_config = ConfigDict(extra="ignore")


async def parse_body[M: BaseModel](request: Request, model: type[M]) -> M:
    """Parse the JSON body into `model`, mapping every failure to a vendor 400."""
    raw = await request.body()
    try:
        data = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise invalid("Body is not valid JSON") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise invalid(validation_reason(exc.errors())) from None


def now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """Printify's timestamp spelling."""
    return moment.strftime("%Y-%m-%d %H:%M:%S+00:00")


def public(record: dict[str, Any]) -> dict[str, Any]:
    """The record without the emulator's internal `_` fields."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


def paginate(items: list[dict[str, Any]], page: int, limit: int) -> dict[str, Any]:
    """Printify's pagination envelope around one page of `items`."""
    total = len(items)
    last = max(1, math.ceil(total / limit))
    start = (page - 1) * limit
    data = items[start : start + limit]
    return {
        "current_page": page,
        "data": data,
        "first_page_url": "/?page=1",
        "prev_page_url": f"/?page={page - 1}" if page > 1 else None,
        "next_page_url": f"/?page={page + 1}" if page < last else None,
        "last_page_url": f"/?page={last}",
        "last_page": last,
        "total": total,
        "per_page": limit,
        "from": start + 1 if data else None,
        "to": start + len(data) if data else None,
        "path": "/",
    }
