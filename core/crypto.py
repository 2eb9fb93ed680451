"""Encryption at rest for integration tokens (Fernet, rotatable with MultiFernet).

`POD_ENCRYPTION_KEYS` holds one or more Fernet keys separated by commas: the first
encrypts, every one decrypts. To rotate without downtime, put a new key first, deploy,
run `pod secrets rotate` (re-encrypts every stored token with the first key), then drop
the old key.
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# For development only: settings refuse it outside `ENVIRONMENT=development`.
DEVELOPMENT_KEY = "cG9kLWF1dG9tYXRvci1kZXZlbG9wbWVudC1rZXktMDE="


class DecryptionError(ValueError):
    """A stored secret cannot be decrypted with any configured key."""


class TokenCipher:
    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in keys.split(",") if part.strip()]
        if not parts:
            raise ValueError("POD_ENCRYPTION_KEYS is empty")
        try:
            self._fernet = MultiFernet([Fernet(part.encode()) for part in parts])
        except ValueError:
            raise ValueError("POD_ENCRYPTION_KEYS holds a key that is not a Fernet key") from None
        self.key_count = len(parts)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        return self._apply(self._fernet.decrypt, ciphertext)

    def rotate(self, ciphertext: str) -> str:
        """The same secret encrypted with the first (newest) key."""
        return self._apply(self._fernet.rotate, ciphertext)

    @staticmethod
    def _apply(operation: Callable[[bytes], bytes], ciphertext: str) -> str:
        try:
            return operation(ciphertext.encode()).decode()
        except InvalidToken:
            raise DecryptionError(
                "stored secret cannot be decrypted with the configured keys"
            ) from None


def new_key() -> str:
    return Fernet.generate_key().decode()
