"""`JelouResource`: the API's settings as Dagster config; hands out a `JelouClient` for a run."""

from __future__ import annotations

import logging

from dagster import ConfigurableResource, InitResourceContext
from pydantic import Field, field_validator

from jelou_assets.client.jelou_client import JelouClient
from jelou_assets.privacy.pseudonyms import pseudonym_key
from jelou_assets.settings import AUTH_SCHEMES, Settings


class JelouResource(ConfigurableResource):
    """Jelou's attended-conversations endpoint. Credentials come from `EnvVar`s and stay out of the UI."""

    base_url: str = Field(default=Settings.base_url, description="API root (JELOU_BASE_URL).")
    client_id: str = Field(description="JELOU_CLIENT_ID")
    client_secret: str = Field(description="JELOU_CLIENT_SECRET")
    auth_scheme: str = Field(default=Settings.auth_scheme, description="'basic' (Basic base64(id:secret)) or 'raw' (id:secret).")
    page_size: int = Field(default=Settings.page_size, ge=1, le=1000, description="`limit` per page (JELOU_PAGE_SIZE).")
    max_pages_in_flight: int = Field(default=Settings.max_pages_in_flight, ge=1, le=32, description="Pages fetched at once after page 1.")
    requests_per_second: float = Field(
        default=Settings.requests_per_second, gt=0, description="Ceiling of the client-side budget, per step (JELOU_REQUESTS_PER_SECOND)."
    )
    api_pool_limit: int = Field(
        default=Settings.api_pool_limit, ge=1, le=64,
        description="How many steps may call the API at once (JELOU_API_POOL_LIMIT, the `jelou_api` pool's limit): "
        "each starts at that share of the learned rate.",
    )
    max_attempts: int = Field(default=6, ge=1, description="Tries per request, first included.")
    retry_backoff_s: float = Field(
        default=0.5, gt=0, description="Wait before the first retry when the API gives no Retry-After; doubles each retry."
    )
    max_retry_wait_s: float = Field(default=60.0, gt=0, description="Longest single wait before a retry.")
    connect_timeout_s: float = Field(default=10.0, gt=0)
    read_timeout_s: float = Field(default=60.0, gt=0)
    max_rewalks: int = Field(default=Settings.max_rewalks, ge=0, description="Extra walks of a window whose pages did not add up.")
    pseudonym_key: str | None = Field(
        default=None,
        description="JELOU_PSEUDONYM_KEY: the secret of the customers' user_key pseudonyms; required against the "
        "real API, a fixed demo key against the bundled emulator.",
    )

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Run start, before any request: customers' ids are not fetched unless they can be pseudonymised.
        self.user_key_secret()

    def user_key_secret(self) -> str:
        """The key that pseudonymises this account's customers (see `jelou_assets.privacy.pseudonyms`)."""
        return pseudonym_key(self.pseudonym_key, self.base_url)

    @field_validator("auth_scheme")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if value.lower() not in AUTH_SCHEMES:
            raise ValueError(f"auth_scheme {value!r}: use 'basic' or 'raw' (JELOU_AUTH_SCHEME)")
        return value.lower()

    def get_client(
        self, log: logging.Logger | None = None, learned_requests_per_second: float | None = None
    ) -> JelouClient:
        """A client for one run. `learned_requests_per_second`: the account-wide rate an earlier run settled
        on; this client starts at its share of it (never above the ceiling) instead of at the ceiling, so the
        `api_pool_limit` steps that may run at once together start at what one learned."""
        share = 1.0 / self.api_pool_limit
        start = None if learned_requests_per_second is None else learned_requests_per_second * share
        # Every field but the two that only decide how this client is made is the client's own setting.
        settings = self.model_dump(exclude={"api_pool_limit", "pseudonym_key"})
        return JelouClient(**settings, start_requests_per_second=start, rate_share=share, log=log)
