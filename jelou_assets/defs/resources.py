"""Resources bound to the environment: secrets through `EnvVar` (resolved only inside runs, never shown
in the UI), the other settings validated at load so a bad value fails before any request is sent."""

from __future__ import annotations

import logging
import os

from dagster import Definitions, EnvVar, definitions

from jelou_assets.alerts.sinks import AlertSinks
from jelou_assets.client import JelouResource
from jelou_assets.privacy.pseudonyms import MAKE_A_KEY, is_local_emulator
from jelou_assets.settings import Settings
from jelou_assets.sla.dbt_project import dbt_cli_resource
from jelou_assets.warehouse.resource import WarehouseResource

# The settings that are `JelouResource` fields of the same name.
API_SETTINGS = ("base_url", "auth_scheme", "page_size", "max_pages_in_flight", "requests_per_second", "api_pool_limit",
                "max_rewalks")
CREDENTIALS = {"JELOU_CLIENT_ID": "your-jelou-client-id", "JELOU_CLIENT_SECRET": "your-jelou-client-secret"}


def secret(name: str) -> EnvVar | None:
    """`name` bound through EnvVar (resolved only inside a run), and only when it is set."""
    return EnvVar(name) if os.environ.get(name) else None


def jelou_resource(settings: Settings) -> JelouResource:
    # Not an error at load: the UI must open without secrets. Runs fail at start, before any request,
    # with Dagster's own message naming the variable; this says so early, with an example.
    log = logging.getLogger("jelou_assets")
    for name, example in CREDENTIALS.items():
        if not os.environ.get(name):
            log.warning("%s is not set: every run will fail at start, before any request, until it is "
                        "(e.g. export %s=%s).", name, name, example)
    if not os.environ.get("JELOU_PSEUDONYM_KEY") and not is_local_emulator(settings.base_url):
        log.warning("JELOU_PSEUDONYM_KEY is not set: every run against %s will fail at start, before any request, "
                    "until it is (make one with %s).", settings.base_url, MAKE_A_KEY)
    return JelouResource(
        client_id=EnvVar("JELOU_CLIENT_ID"),
        client_secret=EnvVar("JELOU_CLIENT_SECRET"),
        **{name: getattr(settings, name) for name in API_SETTINGS},
        # Unset, the emulator gets the demo key and the real API a failure that says how to make one.
        pseudonym_key=secret("JELOU_PSEUDONYM_KEY"),
    )


def warehouse_resource(settings: Settings) -> WarehouseResource:
    # Bound through EnvVar when set, since the URL may hold a password (it was validated in the settings).
    return WarehouseResource(url=secret("JELOU_WAREHOUSE_URL") or settings.warehouse_url)


def alert_sinks() -> AlertSinks:
    """Webhook URLs embed tokens too, so both are bound through EnvVar, and only when set."""
    return AlertSinks(
        webhook_url=secret("JELOU_ALERT_WEBHOOK_URL"),
        slack_token=secret("SLACK_BOT_TOKEN"),
        slack_channel=os.environ.get("JELOU_SLACK_CHANNEL") or None,
    )


@definitions
def defs() -> Definitions:
    settings = Settings.from_env()
    return Definitions(
        resources={
            "jelou": jelou_resource(settings),
            "warehouse": warehouse_resource(settings),
            "dbt": dbt_cli_resource(),
            "alerts": alert_sinks(),
        }
    )
