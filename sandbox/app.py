"""The vendor emulator server: Printify under `/printify/v1`, Etsy under `/etsy/v3`,
OpenAI under `/openai/v1`; the trend sources under `/google-trends`, `/reddit` and
`/pinterest/v5`.

One FastAPI app on 127.0.0.1:8700 by default (`pod emulators`). State persists under
`<state_dir>/emulators/`, so products and listings survive a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from sandbox import etsy, etsy_pages, etsy_receipts, etsy_shops, openai, printify, trend_sources
from sandbox.faults import FaultInjector, FaultMiddleware, admin_router
from sandbox.printify import webhook_delivery
from sandbox.store import JsonStore


@dataclass(frozen=True)
class EmulatorConfig:
    """Credentials the emulators accept and the public base URL they print in links."""

    public_url: str = "http://127.0.0.1:8700"
    printify_token: str = "local-printify-token"
    etsy_keystring: str = "local-keystring"
    etsy_shared_secret: str = "local-shared-secret"
    etsy_access_token: str = "1000.local-etsy-access-token"
    printify_shop_id: int = 12345678
    etsy_shop_id: int = 55501234
    etsy_user_id: int = 1000
    # Listing and listing image ids count up from here (another emulator beside it
    # starts elsewhere, so ids stay unique in one database, as Etsy's are).
    etsy_listing_ids_after: int = 1_500_000_000
    etsy_image_ids_after: int = 5_000_000_000
    # An order sent to production is made after this long, then shipped after this long.
    printify_production_seconds: float = 2.0
    printify_shipping_seconds: float = 3.0
    openai_api_key: str = "local-openai-key"
    pinterest_token: str = "local-pinterest-token"
    # `word:category` entries the moderation endpoint flags (whole word, any case).
    openai_flagged_words: tuple[str, ...] = (
        "kill:violence",
        "gore:violence/graphic",
        "nazi:hate",
        "porn:sexual",
        "suicide:self-harm",
    )


def create_emulator_app(state_dir: Path | None, config: EmulatorConfig | None = None) -> FastAPI:
    """Build the emulator app; `state_dir=None` keeps all state in memory."""
    config = config or EmulatorConfig()
    app = FastAPI(title="POD Automator vendor emulators", docs_url=None, redoc_url=None)
    injector = FaultInjector()
    app.state.faults = injector
    app.add_middleware(FaultMiddleware, injector=injector)
    printify_store = JsonStore(state_dir / "emulators" / "printify.json" if state_dir else None)
    etsy_store = JsonStore(state_dir / "emulators" / "etsy.json" if state_dir else None)
    printify_hooks = webhook_delivery.WebhookDispatcher(printify_store)
    app.state.printify = printify.PrintifyState(
        printify_store,
        shop_id=config.printify_shop_id,
        token=config.printify_token,
        webhooks=printify_hooks,
        production_seconds=config.printify_production_seconds,
        shipping_seconds=config.printify_shipping_seconds,
    )
    app.include_router(printify.router, prefix="/printify/v1")
    # One Etsy state for the API and for Printify's Etsy sales channel, which lists in it.
    app.state.etsy = etsy.EtsyState(etsy_store, config)
    app.include_router(etsy.build_router(etsy_store, config, app.state.etsy), prefix="/etsy/v3")
    app.include_router(etsy_pages.build_pages_router(etsy_store, config), prefix="/etsy")
    app.include_router(admin_router(injector))
    app.include_router(etsy_shops.build_admin_router(etsy_shops.EtsyShops(etsy_store, config)))
    app.include_router(etsy_receipts.build_admin_router(etsy_receipts.EtsyReceipts(app.state.etsy)))
    app.include_router(webhook_delivery.build_admin_router(printify_hooks))
    app.include_router(printify.shops.build_admin_router(app.state.printify))
    app.include_router(printify.orders.build_admin_router(app.state.printify))
    openai_state = openai.OpenAIState()
    app.include_router(openai.build_router(config, openai_state), prefix="/openai/v1")
    app.include_router(openai.build_admin_router(openai_state))
    app.include_router(trend_sources.build_google_trends_router(), prefix="/google-trends")
    app.include_router(trend_sources.build_reddit_router(), prefix="/reddit")
    app.include_router(trend_sources.build_pinterest_router(config), prefix="/pinterest/v5")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
