"""`pod demo`: one keyword → one live listing, through the HTTP API, with progress."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
import uuid
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from cli import stack
from core.settings import Settings
from core.storage import build_storage
from services.accounts import dev_key_path, read_dev_key
from services.vendors import etsy_client

DEFAULT_KEYWORD = "retro hiking dog dad"
FINAL = {"completed", "failed", "rejected", "cancelled"}


def idempotency_key(keyword: str, new: bool) -> str:
    """Same keyword → same key (so a rerun shows the same listing); `--new` adds a nonce."""
    slug = re.sub(r"[^a-z0-9]+", "-", keyword.lower()).strip("-")[:120] or "keyword"
    return f"demo-{slug}" + (f"-{uuid.uuid4().hex[:8]}" if new else "")


def _poll(client: httpx.Client, workflow_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/workflows/{workflow_id}")
    response.raise_for_status()
    view: dict[str, Any] = response.json()
    return view


def follow(
    client: httpx.Client, workflow_id: str, console: Console, timeout: float
) -> dict[str, Any]:
    """Poll the run until it ends, drawing a progress bar on a terminal, lines otherwise."""
    deadline = time.monotonic() + timeout
    view = _poll(client, workflow_id)
    if console.is_terminal:
        columns = (TextColumn("{task.description:<32}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task(view["stage"], total=1.0)
            while view["status"] not in FINAL and time.monotonic() < deadline:
                progress.update(task, completed=view["progress"], description=view["stage"])
                time.sleep(0.3)
                view = _poll(client, workflow_id)
            progress.update(task, completed=view["progress"], description=view["stage"])
        return view
    last = ""
    while True:
        line = f"  {view['status']:<18} {view['stage']}"
        if line != last:
            console.print(line, highlight=False)
            last = line
        if view["status"] in FINAL or time.monotonic() > deadline:
            return view
        time.sleep(0.3)
        view = _poll(client, workflow_id)


async def _listing_state(settings: Settings, listing_id: int) -> dict[str, Any]:
    client = etsy_client(settings, settings.etsy_access_token.get_secret_value())
    try:
        return await client.get_listing(listing_id, includes=["Images"])
    finally:
        await client.aclose()


def run_demo(
    settings: Settings, keyword: str, *, as_json: bool, new: bool, timeout: float = 240.0
) -> int:
    console = Console(stderr=as_json)
    started_stack = False
    if not stack.api_healthy(settings):
        console.print(f"Starting the embedded stack in {settings.home} …")
        if stack.start_detached(settings) != 0:
            console.print("[red]the stack did not start[/red]")
            return 1
        started_stack = True
    api_key = read_dev_key(settings)
    if api_key is None:
        console.print(f"[red]no API key in {dev_key_path(settings)}; run `pod up` first[/red]")
        return 1
    key = idempotency_key(keyword, new)
    auth = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=settings.api_url, timeout=30.0, headers=auth) as client:
        response = client.post(
            "/v1/workflows/design-to-listing",
            json={"keyword": keyword},
            headers={"Idempotency-Key": key},
        )
        if response.status_code >= 400:
            console.print(
                f"[red]refused ({response.status_code})[/red] {describe_error(response)}",
                highlight=False,
            )
            return 1
        workflow_id = response.json()["workflow_id"]
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        console.print(
            f"Design-to-listing for [bold]{keyword}[/bold]: {workflow_id}"
            + (" (already requested with this key)" if replayed else "")
        )
        view = follow(client, workflow_id, console, timeout)
    ui_url = view["links"]["temporal_ui"]
    summary: dict[str, Any] = {
        "workflow_id": workflow_id,
        "status": view["status"],
        "keyword": keyword,
        "idempotency_key": key,
        "temporal_ui_url": ui_url,
    }
    if view["status"] != "completed":
        summary["error"] = view.get("error")
        _report(console, summary, as_json, started_stack)
        return 1
    result = view["result"] or {}
    listing = asyncio.run(_listing_state(settings, int(result["etsy_listing_id"])))
    summary.update(
        etsy_listing_id=result["etsy_listing_id"],
        listing_url=result["listing_url"],
        listing_state=listing.get("state"),
        listing_title=listing.get("title"),
        printify_product_id=result["printify_product_id"],
        print_file=build_storage(settings).locate(result["print_file"]),
        design_id=result["design_id"],
    )
    _report(console, summary, as_json, started_stack)
    return 0 if listing.get("state") == "active" else 1


def describe_error(response: httpx.Response) -> str:
    """An error answer as a person reads it: `CODE: message`, then each field's problem."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if not isinstance(body, dict) or "code" not in body:
        return response.text[:500]
    lines = [error_line(body)]
    details = body.get("details")
    for problem in details.get("errors", []) if isinstance(details, dict) else []:
        where = ".".join(str(part) for part in problem.get("loc", []))
        lines.append(f"  {where}: {problem.get('message', '')}")
    return "\n".join(lines)


def error_line(error: object) -> str:
    """A run's or an answer's `{code, message}` as `CODE: message`."""
    if isinstance(error, dict):
        return f"{error.get('code', 'ERROR')}: {error.get('message', '')}"
    return str(error)


def _report(console: Console, summary: dict[str, Any], as_json: bool, started: bool) -> None:
    labels = {
        "status": "Status",
        "listing_url": "Etsy listing",
        "etsy_listing_id": "Etsy listing id",
        "listing_state": "Listing state",
        "printify_product_id": "Printify product",
        "print_file": "Print file",
        "temporal_ui_url": "Temporal UI",
        "error": "Error",
    }
    for field, label in labels.items():
        if field in summary:
            value = error_line(summary[field]) if field == "error" else summary[field]
            console.print(f"{label + ':':<18} {value}", highlight=False, soft_wrap=True)
    if "workflow_id" in summary:
        console.print(f"{'Trace:':<18} pod trace {summary['workflow_id']}", highlight=False)
    if started:
        console.print("The stack keeps running in the background; `pod down` stops it.")
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
