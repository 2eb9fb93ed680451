"""API keys: `pod_<12 hex id>_<43 url-safe chars>` — random, shown once, stored hashed.

Only the public prefix (`pod_<id>`, used to find the key) and a SHA-256 of the whole
key are stored. A plain digest is the right tool here: the key carries 256 random bits,
so there is nothing for a slow password hash to protect against, and verification stays
cheap on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

KEY_PATTERN = re.compile(r"^(pod_[0-9a-f]{12})_[A-Za-z0-9_-]{43}$")


def generate_key() -> tuple[str, str, str]:
    """A new key as (key, public prefix, hash)."""
    prefix = f"pod_{secrets.token_hex(6)}"
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    return key, prefix, hash_key(key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str | None:
    """The public prefix of a well-formed key, else None."""
    match = KEY_PATTERN.match(key)
    return match.group(1) if match else None


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)
