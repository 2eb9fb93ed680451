"""What a recorded request was: the digest that tells a repeat from another request, and
the workflow input recorded with a run (used by the API and by campaigns alike)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from temporalio.converter import value_to_type

from models.payloads import DesignToListingInput
from models.tables import WorkflowRun


def body_digest(data: dict[str, Any]) -> str:
    """The digest of a request body that tells a repeat from a different request."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def recorded_input(run: WorkflowRun) -> DesignToListingInput:
    """The workflow input as recorded with the run (what a repeated request starts)."""
    data = dict(run.input or {})
    # Runs recorded before integrations existed (0.1.0) have no ids; such a run was
    # started then, so a repeat only finds it in Temporal and never starts it again.
    data.setdefault("printify_integration_id", "")
    data.setdefault("etsy_integration_id", "")
    # Temporal's own conversion: nested payloads (template, brief, print file) included.
    recorded: DesignToListingInput = value_to_type(DesignToListingInput, data)
    return recorded
