"""Resources bound to the environment: secrets through `EnvVar` (resolved only inside runs, never shown
in the UI), the other settings validated at load so a bad value fails before any request is sent."""

from __future__ import annotations

from dagster import EnvVar

from jelou_assets import settings
from jelou_assets.client import JelouResource
from jelou_assets.warehouse.resource import WarehouseResource, normalize_url


def jelou_resource() -> JelouResource:
    return JelouResource(
        base_url=settings.base_url(),
        client_id=EnvVar("JELOU_CLIENT_ID"),
        client_secret=EnvVar("JELOU_CLIENT_SECRET"),
        auth_scheme=settings.auth_scheme(),
        page_size=settings.positive_int("JELOU_PAGE_SIZE", maximum=1000),
        max_pages_in_flight=settings.positive_int("JELOU_MAX_PAGES_IN_FLIGHT", maximum=32),
        requests_per_second=settings.positive_float("JELOU_REQUESTS_PER_SECOND"),
    )


def warehouse_resource() -> WarehouseResource:
    url = settings.env("JELOU_WAREHOUSE_URL")
    normalize_url(url)
    return WarehouseResource(url=url)
