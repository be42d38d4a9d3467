"""`user_key`: a keyed pseudonym of the API's `user.id`, the end customer (on WhatsApp, their phone number).

HMAC-SHA256 under a secret key (JELOU_PSEUDONYM_KEY): the same customer gets the same key every day, so
repeat contacts can still be counted, but nobody holding only the warehouse can recover the id. A plain
hash would not do: phone numbers are few enough to hash them all and look the result up.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlparse

from dagster import Failure

# Only for the bundled emulator's synthetic customers; never used against another host.
DEMO_PSEUDONYM_KEY = "jelou-sla-demo-pseudonym-key"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Where a redacted raw payload keeps the customer's pseudonym instead of `user.id`, so facts rebuilt from it
# are the same (see raw_retention).
PSEUDONYM_FIELD = "pseudonym"
MAKE_A_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def is_local_emulator(base_url: str) -> bool:
    """The bundled emulator listens on this machine; the real API never does."""
    return urlparse(base_url).hostname in LOCAL_HOSTS


def user_keys(user_ids: list[str | None], key: str) -> list[str | None]:
    """Each id's pseudonym (64 hex digits); None stays None."""
    secret = key.encode()
    # hmac.digest is the one-shot (OpenSSL) form of hmac.new(...).hexdigest(): no HMAC object per id.
    return [None if user_id is None else hmac.digest(secret, user_id.encode(), "sha256").hex() for user_id in user_ids]


def pseudonym_key(configured: str | None, base_url: str) -> str:
    """The key to use: the configured one; against the bundled emulator, the demo key; otherwise a
    `Failure` that says what the key is for and how to make one."""
    if configured:
        return configured
    if is_local_emulator(base_url):
        return DEMO_PSEUDONYM_KEY
    raise Failure(
        description=(
            "JELOU_PSEUDONYM_KEY is not set. It is the secret key of the pseudonym (HMAC-SHA256) that replaces "
            "each customer's user.id in conversation_facts and everything built from it, so that the warehouse "
            f"holds no customer identifier. Make one with `{MAKE_A_KEY}`, store it with the other secrets, and "
            "keep it: a new key changes every user_key (docs/PERSONAL_DATA.md)."
        ),
        allow_retries=False,
    )
