"""Object storage for artwork, print files and previews, behind one small interface.

Local runs keep objects as files under `POD_HOME/storage`; deployments point at any
S3-compatible server (AWS, MinIO, moto). Keys are validated the same way for both, so a
key that works locally also works in S3 and can never escape the storage root.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from core.settings import Settings

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_s3 import S3Client

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
# Error codes S3-compatible servers use for a missing object or bucket (HEAD has no body,
# so only the status code "404" comes back).
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound", "NoSuchBucket"})


class ObjectNotFound(KeyError):
    """No object is stored under the key."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    location: str


class ObjectStorage(Protocol):
    """What activities need from storage: put, get, exists and where an object lives."""

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def locate(self, key: str) -> str: ...

    def check(self) -> None:
        """Raise when objects cannot be stored now (`/readyz`)."""
        ...


def validate_key(key: str) -> str:
    """`key` if it is a relative `/`-separated path of `[A-Za-z0-9._-]` segments.

    Raises ValueError for empty, absolute or `..`-containing keys, so no key can point
    outside the storage root.
    """
    segments = key.split("/")
    for segment in segments:
        if not _SEGMENT.fullmatch(segment) or segment in (".", ".."):
            raise ValueError(f"invalid storage key {key!r}: bad segment {segment!r}")
    return key


class LocalStorage:
    """Objects as files under `root`; writes are atomic (temp file, then rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Same directory as the target, so os.replace is an atomic rename: readers see
        # the old object or the new one, never a half-written file.
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return StoredObject(key, len(data), hashlib.sha256(data).hexdigest(), str(path))

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def locate(self, key: str) -> str:
        return str(self._path(key))

    def check(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.root} cannot be written")


class S3Storage:
    """Objects in one bucket of an S3-compatible server, through a boto3 client."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        # botocore's `ClientError`, from the client: boto3 is imported by `build_storage`
        # only when S3 is configured (0.25 s of every process's start otherwise).
        self._client_error = client.exceptions.ClientError

    def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        digest = hashlib.sha256(data).hexdigest()
        self.client.put_object(
            Bucket=self.bucket,
            Key=validate_key(key),
            Body=data,
            ContentType=content_type,
            Metadata={"sha256": digest},
        )
        return StoredObject(key, len(data), digest, self.locate(key))

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=validate_key(key))
        except self._client_error as exc:
            if _is_missing(exc):
                raise ObjectNotFound(key) from None
            raise
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=validate_key(key))
        except self._client_error as exc:
            if _is_missing(exc):
                return False
            raise
        return True

    def locate(self, key: str) -> str:
        return f"s3://{self.bucket}/{validate_key(key)}"

    def check(self) -> None:
        self.client.head_bucket(Bucket=self.bucket)

    def presigned_url(self, key: str, expires_in: int) -> str:
        """A GET URL for the object that works without credentials for `expires_in` s."""
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": validate_key(key)},
            ExpiresIn=expires_in,
        )
        return url

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet (idempotent)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except self._client_error as exc:
            if not _is_missing(exc):
                raise
        region = self.client.meta.region_name
        try:
            if region and region != "us-east-1":
                # Outside us-east-1, S3 wants the region named in the request body.
                self.client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": region},  # type: ignore[typeddict-item]
                )
            else:
                self.client.create_bucket(Bucket=self.bucket)
        except self._client_error as exc:
            # Another worker created it between our check and our create.
            if exc.response.get("Error", {}).get("Code") != "BucketAlreadyOwnedByYou":
                raise


def _is_missing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return error.get("Code") in _MISSING_CODES or status == 404


def build_storage(settings: Settings) -> ObjectStorage:
    """S3 when an endpoint and bucket are configured, else files under `POD_HOME/storage`.

    No network call is made here; call `S3Storage.ensure_bucket()` at start-up if the
    bucket may be missing.
    """
    if settings.s3_endpoint and settings.s3_bucket:
        import boto3
        from botocore.config import Config

        key_id = settings.aws_access_key_id
        secret = settings.aws_secret_access_key
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint,
            region_name=settings.s3_region,
            aws_access_key_id=key_id.get_secret_value() if key_id else None,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            # Path-style URLs: MinIO and other self-hosted servers do not serve
            # bucket sub-domains.
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
        )
        return S3Storage(client, settings.s3_bucket)
    return LocalStorage(settings.home / "storage")
