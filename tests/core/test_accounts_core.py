"""Account internals without HTTP: token encryption and its rotation, the settings that
refuse development secrets, secret files, and the development tenant bootstrap."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import func
from sqlmodel import col, select

from core.apikeys import hash_key
from core.crypto import DEVELOPMENT_KEY, DecryptionError, TokenCipher, new_key
from core.db import SessionFactory
from core.settings import Settings
from models.tables import ApiKey, Integration
from sandbox.app import EmulatorConfig
from services import accounts
from tests.accounts import create_account

PLATFORM_SECRETS = (
    "POD_ENCRYPTION_KEYS",
    "ETSY_KEYSTRING",
    "ETSY_SHARED_SECRET",
    "PRINTIFY_WEBHOOK_SECRET",
)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- TokenCipher -------------------------------------------------------------------------


def test_cipher_round_trip() -> None:
    cipher = TokenCipher(new_key())
    secret = f"token-{uuid.uuid4().hex}"
    encrypted = cipher.encrypt(secret)
    assert secret not in encrypted
    assert cipher.decrypt(encrypted) == secret
    assert cipher.encrypt(secret) != encrypted  # random IV: equal secrets look different


def test_cipher_counts_its_keys_and_ignores_blanks() -> None:
    a, b = new_key(), new_key()
    assert TokenCipher(f" {a} , ,{b},").key_count == 2


def test_rotation_moves_a_secret_to_the_new_key() -> None:
    a, b = new_key(), new_key()
    old = TokenCipher(a).encrypt("printify-token")

    rotated = TokenCipher(f"{b},{a}").rotate(old)

    assert TokenCipher(b).decrypt(rotated) == "printify-token"
    with pytest.raises(DecryptionError):
        TokenCipher(a).decrypt(rotated)


def test_a_cipher_with_both_keys_still_reads_old_secrets() -> None:
    a, b = new_key(), new_key()
    old = TokenCipher(a).encrypt("etsy-token")
    assert TokenCipher(f"{b},{a}").decrypt(old) == "etsy-token"


def test_secret_of_an_unknown_key_cannot_be_decrypted_or_rotated() -> None:
    foreign = TokenCipher(new_key()).encrypt("secret")
    cipher = TokenCipher(new_key())
    with pytest.raises(DecryptionError):
        cipher.decrypt(foreign)
    with pytest.raises(DecryptionError):
        cipher.rotate(foreign)
    with pytest.raises(DecryptionError):
        cipher.decrypt("not a fernet token")


@pytest.mark.parametrize("keys", ["not-a-fernet-key", f"{DEVELOPMENT_KEY},short"])
def test_a_non_fernet_key_is_refused(keys: str) -> None:
    with pytest.raises(ValueError, match="not a Fernet key"):
        TokenCipher(keys)


@pytest.mark.parametrize("keys", ["", " , "])
def test_no_key_at_all_is_refused(keys: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        TokenCipher(keys)


# --- rotate_encryption over stored rows --------------------------------------------------


async def test_rotate_encryption_re_encrypts_stored_tokens_with_the_new_key(
    sessions: SessionFactory, settings: Settings, emulator_config: EmulatorConfig
) -> None:
    account = await create_account(sessions, settings.cipher, emulator_config)
    refresh = f"refresh-{uuid.uuid4().hex}"
    async with sessions() as session:
        await accounts.store_integration(
            session,
            settings.cipher,
            tenant_id=account.tenant_id,
            vendor="etsy",
            access_token=emulator_config.etsy_access_token,
            refresh_token=refresh,
        )
        await session.commit()
    current = settings.encryption_keys.get_secret_value()
    newest = new_key()

    async with sessions() as session:
        # Every tenant's rows are rotated: checked inside the transaction, then rolled back
        # so the rest of the session keeps reading them with `settings.cipher`.
        changed = await accounts.rotate_encryption(session, TokenCipher(f"{newest},{current}"))
        await session.flush()
        query = select(Integration).where(Integration.tenant_id == account.tenant_id)
        stored = {
            row.vendor: (row.access_token_enc, row.refresh_token_enc)
            for row in (await session.exec(query)).all()
        }
        await session.rollback()

    assert changed >= 2
    new_only, old_only = TokenCipher(newest), TokenCipher(current)
    printify_access, _ = stored["printify"]
    etsy_access, etsy_refresh = stored["etsy"]
    assert new_only.decrypt(printify_access) == emulator_config.printify_token
    assert new_only.decrypt(etsy_access) == emulator_config.etsy_access_token
    assert etsy_refresh is not None
    assert new_only.decrypt(etsy_refresh) == refresh
    with pytest.raises(DecryptionError):
        old_only.decrypt(printify_access)


# --- settings ----------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No platform secret or environment name leaks in from the environment or a `.env`."""
    monkeypatch.chdir(tmp_path)  # `.env` is read from the working directory
    for name in (*PLATFORM_SECRETS, "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("environment", ["staging", "production"])
def test_default_secrets_are_refused_outside_development(
    environment: Literal["staging", "production"],
) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(environment=environment)
    for name in PLATFORM_SECRETS:
        assert name in str(raised.value)


@pytest.mark.usefixtures("clean_env")
def test_only_the_secrets_still_at_their_defaults_are_named() -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(environment="production", POD_ENCRYPTION_KEYS=SecretStr(new_key()))
    message = str(raised.value)
    assert "ETSY_KEYSTRING" in message
    assert "ETSY_SHARED_SECRET" in message
    assert "POD_ENCRYPTION_KEYS" not in message


@pytest.mark.usefixtures("clean_env")
def test_production_settings_with_real_secrets_are_accepted() -> None:
    key = new_key()
    settings = Settings(
        environment="production",
        POD_ENCRYPTION_KEYS=SecretStr(key),
        etsy_keystring=SecretStr("prod-keystring"),
        etsy_shared_secret=SecretStr("prod-shared-secret"),
        printify_webhook_secret=SecretStr("prod-webhook-secret"),
        public_base_url="https://pod.example.com",
    )
    assert settings.cipher.key_count == 1
    assert settings.etsy_redirect_url == "https://pod.example.com/v1/integrations/etsy/callback"
    assert TokenCipher(key).decrypt(settings.cipher.encrypt("x")) == "x"


@pytest.mark.usefixtures("clean_env")
def test_production_secrets_are_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("POD_ENCRYPTION_KEYS", new_key())
    monkeypatch.setenv("ETSY_KEYSTRING", "env-keystring")
    monkeypatch.setenv("ETSY_SHARED_SECRET", "env-shared-secret")
    monkeypatch.setenv("PRINTIFY_WEBHOOK_SECRET", "env-webhook-secret")
    monkeypatch.setenv("ETSY_REDIRECT_URI", "https://pod.example.com/etsy/back")
    settings = Settings()
    assert settings.environment == "production"
    assert settings.etsy_keystring.get_secret_value() == "env-keystring"


@pytest.mark.usefixtures("clean_env")
def test_the_etsy_redirect_must_be_https_outside_development() -> None:
    secrets: dict[str, Any] = {
        "POD_ENCRYPTION_KEYS": SecretStr(new_key()),
        "etsy_keystring": SecretStr("prod-keystring"),
        "etsy_shared_secret": SecretStr("prod-shared-secret"),
        "printify_webhook_secret": SecretStr("prod-webhook-secret"),
    }
    plain: list[dict[str, Any]] = [{}, {"etsy_redirect_uri": "http://pod.example.com/cb"}]
    for redirect in plain:
        with pytest.raises(ValidationError, match="https"):
            Settings(environment="production", **secrets, **redirect)
    chosen = Settings(environment="production", **secrets, etsy_redirect_uri="https://p.test/cb")
    assert chosen.etsy_redirect_url == "https://p.test/cb"
    assert Settings(environment="development").etsy_redirect_url.startswith("http://")


@pytest.mark.usefixtures("clean_env")
def test_development_allows_the_default_secrets() -> None:
    settings = Settings(environment="development")
    assert settings.encryption_keys.get_secret_value() == DEVELOPMENT_KEY


# --- secret files ------------------------------------------------------------------------


def test_secret_file_is_created_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "secret"
    accounts.write_secret_file(path, "s3cret")
    assert path.read_text() == "s3cret\n"
    assert mode_of(path) == 0o600


def test_secret_file_replaces_a_more_open_file(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("old and longer content")
    path.chmod(0o644)
    accounts.write_secret_file(path, "new")
    assert path.read_text() == "new\n"
    assert mode_of(path) == 0o600


# --- the development tenant --------------------------------------------------------------


def dev_settings(settings: Settings, home: Path) -> Settings:
    """The session's settings with their own POD_HOME and development tenant.

    Built anew rather than with `model_copy`: that keeps the cached `home` of the original.
    """
    fields = settings.model_dump()
    fields.update(pod_home=home, default_tenant=f"dev{uuid.uuid4().hex[:10]}")
    return Settings(**fields)


async def bootstrap(sessions: SessionFactory, settings: Settings) -> str:
    async with sessions() as session:
        plain = await accounts.ensure_dev_tenant(session, settings, settings.cipher)
        await session.commit()
    return plain


async def key_rows(sessions: SessionFactory, tenant_id: str) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(ApiKey).where(ApiKey.tenant_id == tenant_id)
        return int((await session.exec(query)).one())


async def test_dev_tenant_writes_an_owner_only_key_file(
    sessions: SessionFactory, settings: Settings, tmp_path: Path
) -> None:
    dev = dev_settings(settings, tmp_path)
    plain = await bootstrap(sessions, dev)

    path = tmp_path / "dev-api-key"
    assert accounts.dev_key_path(dev) == path
    assert path.read_text() == plain + "\n"
    assert mode_of(path) == 0o600
    assert accounts.read_dev_key(dev) == plain
    async with sessions() as session:
        query = select(ApiKey).where(ApiKey.tenant_id == dev.default_tenant)
        (row,) = (await session.exec(query)).all()
    assert row.secret_hash == hash_key(plain)
    assert row.revoked_at is None


async def test_dev_tenant_is_idempotent(
    sessions: SessionFactory, settings: Settings, tmp_path: Path
) -> None:
    dev = dev_settings(settings, tmp_path)
    first = await bootstrap(sessions, dev)
    second = await bootstrap(sessions, dev)
    assert second == first
    assert await key_rows(sessions, dev.default_tenant) == 1


async def test_dev_tenant_issues_a_new_key_when_the_file_is_gone(
    sessions: SessionFactory, settings: Settings, tmp_path: Path
) -> None:
    dev = dev_settings(settings, tmp_path)
    first = await bootstrap(sessions, dev)
    accounts.dev_key_path(dev).unlink()

    second = await bootstrap(sessions, dev)

    assert second != first
    assert accounts.read_dev_key(dev) == second
    assert mode_of(accounts.dev_key_path(dev)) == 0o600
    assert await key_rows(sessions, dev.default_tenant) == 2


async def test_dev_tenant_stores_both_integrations_encrypted(
    sessions: SessionFactory, settings: Settings, tmp_path: Path
) -> None:
    dev = dev_settings(settings, tmp_path)
    await bootstrap(sessions, dev)

    async with sessions() as session:
        query = (
            select(Integration)
            .where(Integration.tenant_id == dev.default_tenant)
            .order_by(col(Integration.vendor))
        )
        rows = {row.vendor: row for row in (await session.exec(query)).all()}
    expected = {
        "printify": dev.printify_api_token.get_secret_value(),
        "etsy": dev.etsy_access_token.get_secret_value(),
    }
    assert set(rows) == set(expected)
    for vendor, token in expected.items():
        assert token not in rows[vendor].access_token_enc
        assert dev.cipher.decrypt(rows[vendor].access_token_enc) == token
