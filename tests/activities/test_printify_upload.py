"""A print file goes to Printify by URL when there is one, and must above 5 MB; variants
out of stock at the provider are left out of the product, not a reason to fail.

The real activity against the Printify emulator and Postgres: from S3 (a moto server)
Printify fetches the object by its presigned URL; from the local directory the URL is
the API's signed link (checked at `/v1/files`), and without any URL a file over 5 MB
fails the step with a clear, permanent error instead of a refusal from Printify.
"""

from __future__ import annotations

import dataclasses
import io
import os
import secrets

import boto3
import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from temporalio.testing import ActivityEnvironment

from activities.printify import PrintifyActivities
from core.db import SessionFactory
from core.settings import Settings
from core.signed_urls import FileUrls, settings_secret
from core.storage import LocalStorage, S3Storage
from domain import errors
from domain.errors import DomainError
from integrations.local.brief_writer import write_brief
from integrations.printify import MAX_BASE64_UPLOAD_BYTES
from models.payloads import (
    CreateProductInput,
    PrintAreaInput,
    PrintFile,
    ProductTemplate,
    UploadImageInput,
)
from sandbox.app import EmulatorConfig
from services.vendors import VendorGateway
from tests.accounts import Account
from tests.conftest import api_client


def big_png() -> bytes:
    """A PNG just over Printify's 5 MB inline limit (noise does not compress)."""
    side = 1320
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    data = buffer.getvalue()
    assert len(data) > MAX_BASE64_UPLOAD_BYTES
    return data


def print_file(key: str, data: bytes) -> PrintFile:
    return PrintFile(
        design_id=secrets.token_hex(8),
        storage_key=key,
        preview_key=key,
        sha256=secrets.token_hex(32),
        width=1320,
        height=1320,
        dpi=300,
        size_bytes=len(data),
    )


async def upload(
    activities: PrintifyActivities, account: Account, file: PrintFile
) -> tuple[str, str]:
    workflow_id = f"dtl-{account.tenant_id}-{secrets.token_hex(4)}"
    data = UploadImageInput(account.tenant_id, workflow_id, account.integrations["printify"], file)
    uploaded = await ActivityEnvironment().run(activities.upload_image, data)
    return workflow_id, uploaded.image_id


async def test_a_big_print_file_on_s3_goes_up_by_its_presigned_url(
    s3_endpoint: str,
    sessions: SessionFactory,
    settings: Settings,
    account: Account,
    emulator_config: EmulatorConfig,
) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    storage = S3Storage(client, "print-files")
    storage.ensure_bucket()
    data = big_png()
    storage.put("designs/big.png", data, "image/png")
    clients = VendorGateway(sessions, settings, settings.cipher)
    activities = PrintifyActivities(
        sessions, storage, clients, file_urls=FileUrls(storage, b"unused", None)
    )
    try:
        _, image_id = await upload(activities, account, print_file("designs/big.png", data))
        printify = await clients.printify(account.tenant_id, account.integrations["printify"])
        stored = await printify.get_upload(image_id)
    finally:
        await clients.aclose()
    assert (stored["width"], stored["height"], stored["size"]) == (1320, 1320, len(data))


async def test_without_a_url_a_big_file_fails_clearly_and_a_small_one_goes_inline(
    sessions: SessionFactory, settings: Settings, account: Account, storage: LocalStorage
) -> None:
    data = big_png()
    storage.put("designs/too-big.png", data, "image/png")
    clients = VendorGateway(sessions, settings, settings.cipher)
    activities = PrintifyActivities(sessions, storage, clients, file_urls=None)
    try:
        with pytest.raises(DomainError) as refused:
            await upload(activities, account, print_file("designs/too-big.png", data))
        assert refused.value.error is errors.PRINT_FILE_NEEDS_URL
        assert not refused.value.error.retryable

        small = Image.new("RGBA", (300, 300), (200, 40, 40, 255))
        buffer = io.BytesIO()
        small.save(buffer, format="PNG")
        storage.put("designs/small.png", buffer.getvalue(), "image/png")
        _, image_id = await upload(
            activities, account, print_file("designs/small.png", buffer.getvalue())
        )
        printify = await clients.printify(account.tenant_id, account.integrations["printify"])
        assert (await printify.get_upload(image_id))["width"] == 300
    finally:
        await clients.aclose()


async def test_the_apis_signed_link_serves_the_file_until_it_expires(
    app: FastAPI, settings: Settings, storage: LocalStorage
) -> None:
    storage.put("designs/linked.png", b"\x89PNG-bytes", "image/png")
    urls = FileUrls(storage, settings_secret(settings), "https://pod.example")
    url = urls.url_for("designs/linked.png")
    assert url is not None and url.startswith("https://pod.example/v1/files/designs/linked.png?")
    path = httpx.URL(url)
    async with api_client(app) as anyone:  # no key: the signature is the proof
        served = await anyone.get(path.path, params=dict(path.params))
        assert served.status_code == 200 and served.content == b"\x89PNG-bytes"
        assert served.headers["content-type"] == "image/png"
        forged = dict(path.params) | {"signature": "0" * 64}
        refused = await anyone.get(path.path, params=forged)
        assert refused.status_code == 403 and refused.json()["code"] == "FILE_LINK_INVALID"
        other = await anyone.get("/v1/files/designs/other.png", params=dict(path.params))
        assert other.status_code == 403  # the signature names its key
        expired = httpx.URL(urls.url_for("designs/linked.png", now=0) or "")
        late = await anyone.get(expired.path, params=dict(expired.params))
        assert late.status_code == 403
    # Local storage without a public URL: a link only where one is needed.
    local = FileUrls(storage, b"k", None, local_url="http://127.0.0.1:8000")
    assert local.url_for("designs/linked.png") is None
    assert (local.url_for("designs/linked.png", needed=True) or "").startswith(
        "http://127.0.0.1:8000/v1/files/"
    )


async def test_out_of_stock_variants_are_left_out_of_the_product(
    sessions: SessionFactory,
    settings: Settings,
    account: Account,
    storage: LocalStorage,
    emulator_config: EmulatorConfig,
) -> None:
    clients = VendorGateway(sessions, settings, settings.cipher)
    activities = PrintifyActivities(sessions, storage, clients)
    tenant, integration = account.tenant_id, account.integrations["printify"]
    try:
        small = Image.new("RGBA", (300, 300), (10, 40, 200, 255))
        buffer = io.BytesIO()
        small.save(buffer, format="PNG")
        storage.put("designs/navy.png", buffer.getvalue(), "image/png")
        _, image_id = await upload(
            activities, account, print_file("designs/navy.png", buffer.getvalue())
        )
        template = ProductTemplate(
            blueprint_id=6, print_provider_id=29, variant_ids=[18110, 18111, 18112]
        )
        data = CreateProductInput(
            tenant,
            f"dtl-{tenant}-{secrets.token_hex(4)}",
            integration,
            emulator_config.printify_shop_id,
            write_brief("navy harbour"),
            template,
            image_id,
        )
        area = await ActivityEnvironment().run(
            activities.get_print_area,
            PrintAreaInput(tenant, integration, 6, 29, template.variant_ids, "front"),
        )
        assert (area.width, area.height) == (4200, 4800)  # the whole range has its area
        product = await ActivityEnvironment().run(activities.create_product, data)
        assert product.left_out_variant_ids == [18112]
        printify = await clients.printify(tenant, integration)
        made = await printify.get_product(emulator_config.printify_shop_id, product.product_id)
        enabled = sorted(v["id"] for v in made["variants"] if v["is_enabled"])
        assert enabled == [18110, 18111]
        again = await ActivityEnvironment().run(activities.create_product, data)  # a retry
        assert again == product

        everything_gone = dataclasses.replace(
            data,
            template=dataclasses.replace(template, variant_ids=[18112]),
            workflow_id=f"{data.workflow_id}-x",
        )
        with pytest.raises(DomainError) as refused:
            await ActivityEnvironment().run(activities.create_product, everything_gone)
        assert refused.value.error is errors.VARIANTS_OUT_OF_STOCK
    finally:
        await clients.aclose()
