"""Signed, expiring URLs for stored files, so a vendor can fetch one without an API key.

Printify takes a print file by URL (and asks for one above 5 MB). With S3 storage the URL
is S3's own presigned GET; with the local directory it is the API's
`GET /v1/files/{key}?expires=…&signature=…`, signed here with an HMAC-SHA256 of the key
and the expiry under a secret derived from `POD_ENCRYPTION_KEYS` (so no new secret to
keep, and rotating the keys also voids every URL handed out).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from core.settings import Settings
from core.storage import ObjectStorage, S3Storage, validate_key

# Long enough for Printify to fetch the file after an upload call that is retried, short
# enough that a leaked URL soon stops working.
DEFAULT_EXPIRY_SECONDS = 24 * 3600
FILES_PATH = "/v1/files/"


def _mac(secret: bytes, key: str, expires: int) -> str:
    message = f"{validate_key(key)}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def derive_secret(encryption_key: str) -> bytes:
    """The URL-signing secret for one encryption key (never the key itself)."""
    return hashlib.sha256(b"pod-signed-file-url\0" + encryption_key.encode()).digest()


def settings_secret(settings: Settings) -> bytes:
    """The URL-signing secret of these settings (from the first encryption key)."""
    keys = settings.encryption_keys.get_secret_value()
    return derive_secret(next(k.strip() for k in keys.split(",") if k.strip()))


def verify(secret: bytes, key: str, expires: int, signature: str, now: float | None = None) -> bool:
    """Whether `signature` is ours for `key` and `expires` has not passed."""
    if expires < (time.time() if now is None else now):
        return False
    try:
        expected = _mac(secret, key, expires)
    except ValueError:
        return False
    return hmac.compare_digest(expected, signature)


@dataclass(frozen=True)
class FileUrls:
    """Where a vendor fetches a stored file: S3's presigned URL, or the API's signed one.

    `public_url` is the API's configured public URL (`PUBLIC_BASE_URL`); `local_url` the
    development fallback (the API on this machine), offered only for what cannot go inline
    (`url_for(..., needed=True)`), since an in-process test stack serves no API there.
    """

    storage: ObjectStorage
    secret: bytes
    public_url: str | None
    local_url: str | None = None
    expiry_seconds: int = DEFAULT_EXPIRY_SECONDS

    @classmethod
    def from_settings(cls, storage: ObjectStorage, settings: Settings) -> FileUrls:
        explicit = settings.public_base_url.rstrip("/") if settings.public_base_url else None
        return cls(storage, settings_secret(settings), explicit, settings.public_url)

    def url_for(self, key: str, *, needed: bool = False, now: float | None = None) -> str | None:
        """A URL for `key`, or None when there is none to give (`needed`: no inline upload
        is possible, so the development fallback is used too)."""
        if isinstance(self.storage, S3Storage):
            return self.storage.presigned_url(key, self.expiry_seconds)
        base = self.public_url or (self.local_url if needed else None)
        if base is None:
            return None
        expires = int((time.time() if now is None else now) + self.expiry_seconds)
        query = urlencode({"expires": expires, "signature": _mac(self.secret, key, expires)})
        return f"{base}{FILES_PATH}{quote(validate_key(key))}?{query}"
