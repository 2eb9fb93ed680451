"""Stored files by signed, expiring link (public: the signature is the proof).

Printify fetches a print file from here when it is not on S3 (where S3's own presigned
URL is used): `core.signed_urls.FileUrls` makes the link, this route checks it.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.deps import SettingsDep, StorageDep
from api.hygiene import KnownQueryRoute
from api.schemas import ErrorBody
from core.signed_urls import settings_secret, verify
from core.storage import ObjectNotFound
from domain import errors
from domain.errors import DomainError

router = APIRouter(route_class=KnownQueryRoute, prefix="/v1/files", tags=["files"])
_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}


@router.get(
    "/{key:path}",
    operation_id="get_signed_file",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}}, "description": "The file"},
        403: {"model": ErrorBody, "description": "The link is not ours or has expired"},
        404: {"model": ErrorBody, "description": "No such file"},
    },
)
async def get_signed_file(
    key: Annotated[str, Path(min_length=1, max_length=500)],
    settings: SettingsDep,
    storage: StorageDep,
    expires: Annotated[int, Query(ge=0, le=2**40)],
    signature: Annotated[str, Query(min_length=64, max_length=64, pattern="^[0-9a-f]+$")],
) -> Response:
    """A stored file, for whoever holds a link signed by this service that has not expired
    (links are handed to vendors, e.g. Printify, to fetch a print file)."""
    if not verify(settings_secret(settings), key, expires, signature):
        raise DomainError(errors.FILE_LINK_INVALID, "the link is invalid or has expired")
    try:
        data = await asyncio.to_thread(storage.get, key)
    except ObjectNotFound:
        raise DomainError(errors.NOT_FOUND, "no such file") from None
    media = _TYPES.get(key.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    return Response(content=data, media_type=media, headers={"Cache-Control": "private"})
