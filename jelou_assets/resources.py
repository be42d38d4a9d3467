"""Resources bound to the environment: secrets through `EnvVar` (resolved only inside runs, never shown
in the UI), the other settings validated at load so a bad value fails before any request is sent."""

from __future__ import annotations

import logging
import os

from dagster import EnvVar

from jelou_assets import settings
from jelou_assets.alerts.sinks import AlertSinks
from jelou_assets.client import JelouResource
from jelou_assets.privacy.pseudonyms import MAKE_A_KEY, is_local_emulator
from jelou_assets.warehouse.resource import WarehouseResource, normalize_url


CREDENTIALS = {"JELOU_CLIENT_ID": "your-jelou-client-id", "JELOU_CLIENT_SECRET": "your-jelou-client-secret"}


def jelou_resource() -> JelouResource:
    # Not an error at load: the UI must open without secrets. Runs fail at start, before any request,
    # with Dagster's own message naming the variable; this says so early, with an example.
    for name, example in CREDENTIALS.items():
        if not os.environ.get(name):
            logging.getLogger("jelou_assets").warning(
                "%s is not set: every run will fail at start, before any request, until it is "
                "(e.g. export %s=%s).", name, name, example,
            )
    base_url = settings.base_url()
    if not os.environ.get("JELOU_PSEUDONYM_KEY") and not is_local_emulator(base_url):
        logging.getLogger("jelou_assets").warning(
            "JELOU_PSEUDONYM_KEY is not set: every run against %s will fail at start, before any request, until "
            "it is (make one with %s).", base_url, MAKE_A_KEY,
        )
    return JelouResource(
        base_url=base_url,
        client_id=EnvVar("JELOU_CLIENT_ID"),
        client_secret=EnvVar("JELOU_CLIENT_SECRET"),
        auth_scheme=settings.auth_scheme(),
        page_size=settings.positive_int("JELOU_PAGE_SIZE", maximum=1000),
        max_pages_in_flight=settings.positive_int("JELOU_MAX_PAGES_IN_FLIGHT", maximum=32),
        requests_per_second=settings.positive_float("JELOU_REQUESTS_PER_SECOND"),
        api_pool_limit=settings.positive_int("JELOU_API_POOL_LIMIT", maximum=64),
        max_rewalks=settings.positive_int("JELOU_MAX_REWALKS", maximum=20, minimum=0),
        # A secret like the credentials, bound only when set: unset, the emulator gets the demo key and the
        # real API a failure that says how to make one.
        pseudonym_key=EnvVar("JELOU_PSEUDONYM_KEY") if os.environ.get("JELOU_PSEUDONYM_KEY") else None,
    )


def warehouse_resource() -> WarehouseResource:
    # Checked now so a bad URL fails at load; bound through EnvVar when set, since it may hold a password.
    normalize_url(settings.env("JELOU_WAREHOUSE_URL"))
    if os.environ.get("JELOU_WAREHOUSE_URL"):
        return WarehouseResource(url=EnvVar("JELOU_WAREHOUSE_URL"))
    return WarehouseResource(url=settings.DEFAULTS["JELOU_WAREHOUSE_URL"])


def alert_sinks() -> AlertSinks:
    """Webhook URLs embed tokens too, so both are bound through EnvVar, and only when set."""

    def secret(name: str) -> EnvVar | None:
        return EnvVar(name) if os.environ.get(name) else None

    return AlertSinks(
        webhook_url=secret("JELOU_ALERT_WEBHOOK_URL"),
        slack_token=secret("SLACK_BOT_TOKEN"),
        slack_channel=os.environ.get("JELOU_SLACK_CHANNEL") or None,
    )
