"""Image uploads: base64 contents or a loopback URL, checked to be PNG or JPEG, archivable."""

from __future__ import annotations

import base64
import binascii
import io
import secrets
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Query, Request
from PIL import Image, UnidentifiedImageError
from pydantic import Field

from sandbox.printify.state import Printify
from sandbox.printify.vendor import (
    Body,
    VendorRoute,
    invalid,
    not_found,
    now,
    paginate,
    parse_body,
    public,
)

_MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})
# Printify asks for a URL above 5 MB (docs/vendors/printify.md); the emulator refuses.
MAX_BASE64_BYTES = 5_000_000

router = APIRouter(route_class=VendorRoute)


class UploadIn(Body):
    file_name: str = Field(min_length=1)
    contents: str | None = None
    url: str | None = None


async def _image_bytes(body: UploadIn) -> bytes:
    """The uploaded file: decoded base64 `contents`, or fetched from a loopback `url`."""
    if (body.contents is None) == (body.url is None):
        raise invalid("Exactly one of contents or url is required")
    if body.contents is not None:
        try:
            data = base64.b64decode(body.contents, validate=True)
        except (binascii.Error, ValueError):
            raise invalid("contents: not valid base64") from None
        if len(data) > MAX_BASE64_BYTES:
            raise invalid("contents: files over 5 MB must be uploaded by url")
        return data
    url = str(body.url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in _LOCAL_HOSTS:
        raise invalid("url: the emulator only fetches http(s) URLs on 127.0.0.1/localhost")
    try:
        async with httpx.AsyncClient(timeout=10.0) as client:
            answer = await client.get(url)
    except httpx.HTTPError as exc:
        raise invalid(f"url: could not be fetched ({type(exc).__name__})") from None
    if not answer.is_success:
        raise invalid(f"url: answered {answer.status_code}")
    return answer.content


def _inspect_image(data: bytes) -> tuple[str, int, int]:
    """(mime type, width, height) of a PNG or JPEG; anything else is a validation error."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, (width, height) = image.format, image.size
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError):
        raise invalid("file: only PNG and JPEG images are accepted") from None
    mime = _MIME_TYPES.get(fmt or "")
    if mime is None:
        raise invalid("file: only PNG and JPEG images are accepted")
    return mime, width, height


@router.post("/uploads/images.json")
async def upload_image(request: Request, state: Printify) -> dict[str, Any]:
    body = await parse_body(request, UploadIn)
    data = await _image_bytes(body)
    mime, width, height = _inspect_image(data)
    upload_id = secrets.token_hex(12)
    extension = ".png" if mime == "image/png" else ".jpg"
    state.files.put(f"{upload_id}{extension}", data)  # mock-ups are drawn from it
    with state.store.lock:
        state.uploads[upload_id] = {
            "id": upload_id,
            "file_name": body.file_name,
            "height": height,
            "width": width,
            "size": len(data),
            "mime_type": mime,
            "preview_url": f"https://images.printify.local/uploads/{upload_id}{extension}",
            "upload_time": now().strftime("%Y-%m-%d %H:%M:%S"),
            "_seq": state.store.next_id("upload_seq", 0),
            "_archived": False,
            "_file": f"{upload_id}{extension}",
        }
        state.store.save()
        return public(state.uploads[upload_id])


@router.get("/uploads.json")
def list_uploads(
    state: Printify, page: int = Query(1, ge=1), limit: int = Query(10, ge=1, le=100)
) -> dict[str, Any]:
    with state.store.lock:
        live = [u for u in state.uploads.values() if not u["_archived"]]
    live.sort(key=lambda u: u["_seq"], reverse=True)
    return paginate([public(u) for u in live], page, limit)


@router.get("/uploads/{upload_id}.json")
def get_upload(upload_id: str, state: Printify) -> dict[str, Any]:
    upload = state.uploads.get(upload_id)
    if upload is None:
        raise not_found(f"Upload {upload_id}")
    return public(upload)


@router.post("/uploads/{upload_id}/archive.json")
def archive_upload(upload_id: str, state: Printify) -> dict[str, Any]:
    with state.store.lock:
        upload = state.uploads.get(upload_id)
        if upload is None:
            raise not_found(f"Upload {upload_id}")
        upload["_archived"] = True
        state.store.save()
    return {}
