"""Object storage: local files and a real S3-compatible server (moto) behind one interface."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from uuid import uuid4

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from pydantic import SecretStr

from core.settings import Settings
from core.storage import (
    LocalStorage,
    ObjectNotFound,
    ObjectStorage,
    S3Storage,
    StoredObject,
    build_storage,
    validate_key,
)

BAD_KEYS = [
    "",
    "/abs/key.png",
    "a//b",
    "a/../b",
    "..",
    ".",
    "a/./b",
    "trailing/",
    "sp ace",
    "é.png",
]


def _client(endpoint: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def s3(s3_endpoint: str) -> S3Storage:
    storage = S3Storage(_client(s3_endpoint), f"bucket-{uuid4().hex[:12]}")
    storage.ensure_bucket()
    return storage


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


# --- keys -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["a.png", "tenant-1/designs/abc_123.png", "x/y/z/.hidden"])
def test_valid_keys_pass(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize("key", BAD_KEYS)
def test_invalid_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="invalid storage key"):
        validate_key(key)


# --- local ------------------------------------------------------------------------------


def test_local_round_trip(local: LocalStorage, tmp_path: Path) -> None:
    data = b"\x89PNG fake bytes"
    stored = local.put("t1/designs/d1.png", data, "image/png")

    path = tmp_path / "storage" / "t1" / "designs" / "d1.png"
    assert stored == StoredObject(
        key="t1/designs/d1.png",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        location=str(path),
    )
    assert path.read_bytes() == data
    assert local.get("t1/designs/d1.png") == data
    assert local.exists("t1/designs/d1.png")
    assert local.locate("t1/designs/d1.png") == str(path)


def test_local_overwrite_is_atomic_and_leaves_no_temp_files(local: LocalStorage) -> None:
    local.put("k/file.bin", b"old", "application/octet-stream")
    local.put("k/file.bin", b"new", "application/octet-stream")
    assert local.get("k/file.bin") == b"new"
    assert [p.name for p in (local.root / "k").iterdir()] == ["file.bin"]


def test_local_failed_write_cleans_up(local: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("core.storage.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        local.put("k/file.bin", b"data", "application/octet-stream")
    assert list((local.root / "k").iterdir()) == []


def test_local_missing_key(local: LocalStorage) -> None:
    assert not local.exists("nope/missing.png")
    with pytest.raises(ObjectNotFound) as caught:
        local.get("nope/missing.png")
    assert isinstance(caught.value, KeyError)
    # A "directory" is not an object either.
    local.put("dir/inner.png", b"x", "image/png")
    assert not local.exists("dir")
    with pytest.raises(ObjectNotFound):
        local.get("dir")


@pytest.mark.parametrize("key", ["../escape.png", "/etc/passwd", "a/../../b", ""])
def test_local_refuses_path_traversal(local: LocalStorage, tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        local.put(key, b"x", "image/png")
    with pytest.raises(ValueError):
        local.get(key)
    with pytest.raises(ValueError):
        local.exists(key)
    assert not (tmp_path / "escape.png").exists()


# --- S3 ---------------------------------------------------------------------------------


def test_s3_round_trip_with_metadata(s3: S3Storage) -> None:
    data = b"\x89PNG fake print file"
    stored = s3.put("t1/print/p1.png", data, "image/png")

    digest = hashlib.sha256(data).hexdigest()
    assert stored == StoredObject(
        "t1/print/p1.png", len(data), digest, f"s3://{s3.bucket}/t1/print/p1.png"
    )
    assert s3.get("t1/print/p1.png") == data
    assert s3.exists("t1/print/p1.png")
    head = s3.client.head_object(Bucket=s3.bucket, Key="t1/print/p1.png")
    assert head["ContentType"] == "image/png"
    assert head["Metadata"] == {"sha256": digest}
    assert head["ContentLength"] == len(data)


def test_s3_missing_key(s3: S3Storage) -> None:
    assert not s3.exists("missing.png")
    with pytest.raises(ObjectNotFound):
        s3.get("missing.png")


def test_s3_refuses_bad_keys(s3: S3Storage) -> None:
    with pytest.raises(ValueError):
        s3.put("../x.png", b"x", "image/png")
    with pytest.raises(ValueError):
        s3.locate("/abs")


def test_s3_missing_bucket_reads_as_missing_object(s3_endpoint: str) -> None:
    storage = S3Storage(_client(s3_endpoint), f"absent-{uuid4().hex[:12]}")
    assert not storage.exists("x.png")
    with pytest.raises(ObjectNotFound):
        storage.get("x.png")


@pytest.mark.parametrize("operation", ["get_object", "head_object", "head_bucket"])
def test_s3_access_errors_are_not_hidden(s3: S3Storage, operation: str) -> None:
    # moto grants everything, so a permission failure is stubbed at the client boundary.
    with Stubber(s3.client) as stubber:
        stubber.add_client_error(operation, "AccessDenied", "Access Denied", 403)
        with pytest.raises(ClientError, match="AccessDenied"):
            if operation == "get_object":
                s3.get("x.png")
            elif operation == "head_object":
                s3.exists("x.png")
            else:
                s3.ensure_bucket()


def test_ensure_bucket_creates_once_and_is_idempotent(s3_endpoint: str) -> None:
    client = _client(s3_endpoint)
    storage = S3Storage(client, f"new-{uuid4().hex[:12]}")
    assert storage.bucket not in _bucket_names(client)
    storage.ensure_bucket()
    storage.ensure_bucket()
    assert storage.bucket in _bucket_names(client)


def test_ensure_bucket_outside_us_east_1(s3_endpoint: str) -> None:
    client = _client(s3_endpoint, region="eu-west-1")
    storage = S3Storage(client, f"eu-{uuid4().hex[:12]}")
    storage.ensure_bucket()
    location = client.get_bucket_location(Bucket=storage.bucket)
    assert location["LocationConstraint"] == "eu-west-1"


def test_ensure_bucket_tolerates_a_concurrent_create(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Outside us-east-1, S3 answers a repeated create with BucketAlreadyOwnedByYou
    # (us-east-1 quietly answers 200).
    client = _client(s3_endpoint, region="eu-west-1")
    storage = S3Storage(client, f"race-{uuid4().hex[:12]}")
    storage.ensure_bucket()
    # Pretend the bucket was missing when checked, as if another worker created it since.
    response: Any = {"Error": {"Code": "404"}, "ResponseMetadata": {"HTTPStatusCode": 404}}
    missing = ClientError(response, "HeadBucket")

    def head_bucket(**kwargs: Any) -> None:
        raise missing

    monkeypatch.setattr(client, "head_bucket", head_bucket)
    storage.ensure_bucket()  # BucketAlreadyOwnedByYou is swallowed


def test_ensure_bucket_surfaces_create_errors(s3: S3Storage) -> None:
    with Stubber(s3.client) as stubber:
        stubber.add_client_error("head_bucket", "404", "Not Found", 404)
        stubber.add_client_error("create_bucket", "TooManyBuckets", "Too many buckets", 400)
        with pytest.raises(ClientError, match="TooManyBuckets"):
            s3.ensure_bucket()


def _bucket_names(client: Any) -> set[str]:
    return {bucket["Name"] for bucket in client.list_buckets()["Buckets"]}


# --- build_storage ----------------------------------------------------------------------


def test_build_storage_defaults_to_local(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, pod_home=tmp_path, s3_endpoint=None, s3_bucket=None)  # type: ignore[call-arg]
    storage: ObjectStorage = build_storage(settings)
    assert isinstance(storage, LocalStorage)
    assert storage.root == tmp_path.resolve() / "storage"
    stored = storage.put("a/b.txt", b"hi", "text/plain")
    assert Path(stored.location).read_bytes() == b"hi"


def test_build_storage_needs_both_endpoint_and_bucket(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, pod_home=tmp_path, s3_endpoint="http://x", s3_bucket=None)  # type: ignore[call-arg]
    assert isinstance(build_storage(settings), LocalStorage)


def test_build_storage_uses_s3_with_credentials(s3_endpoint: str) -> None:
    bucket = f"built-{uuid4().hex[:12]}"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        s3_endpoint=s3_endpoint,
        s3_bucket=bucket,
        s3_region="us-east-1",
        aws_access_key_id=SecretStr("testing"),
        aws_secret_access_key=SecretStr("testing"),
    )
    storage = build_storage(settings)
    assert isinstance(storage, S3Storage)
    assert storage.client.meta.endpoint_url == s3_endpoint
    credentials = storage.client._request_signer._credentials  # type: ignore[attr-defined]
    assert credentials.access_key == "testing"
    storage.ensure_bucket()
    storage.put("k.txt", b"data", "text/plain")
    assert storage.get("k.txt") == b"data"
    assert storage.locate("k.txt") == f"s3://{bucket}/k.txt"
