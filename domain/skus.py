"""The SKUs we give our Printify products' variants, which Etsy's listings carry too: a
buyer's transaction names the variant it bought by one of them."""

from __future__ import annotations

import hashlib

SKU_PREFIX = "POD"


def workflow_key(workflow_id: str) -> str:
    """A short, stable, vendor-safe token for a workflow (used in file names and SKUs)."""
    return hashlib.sha256(workflow_id.encode()).hexdigest()[:16]


def product_sku(workflow_id: str, variant_id: int) -> str:
    """The SKU of one variant of the product a run made."""
    return f"{SKU_PREFIX}-{workflow_key(workflow_id)}-{variant_id}"


def sku_variant(sku: str | None, workflow_id: str) -> int | None:
    """The variant a SKU names, when it is one the run `workflow_id` gave its product."""
    prefix = f"{SKU_PREFIX}-{workflow_key(workflow_id)}-"
    if not sku or not sku.startswith(prefix):
        return None
    tail = sku[len(prefix) :]
    return int(tail) if tail.isdigit() else None
