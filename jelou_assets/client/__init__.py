"""Everything HTTP about the Jelou API: the client, its rate limiter, retries, page walker and typed errors."""

from jelou_assets.client.errors import (
    JelouAuthError,
    JelouBadPayloadError,
    JelouError,
    JelouPaginationError,
    JelouRateLimitError,
    JelouServerError,
    JelouValidationError,
)
from jelou_assets.client.jelou_client import JelouClient, WindowResult
from jelou_assets.client.resource import JelouResource

__all__ = [
    "JelouAuthError",
    "JelouBadPayloadError",
    "JelouClient",
    "JelouError",
    "JelouPaginationError",
    "JelouRateLimitError",
    "JelouResource",
    "JelouServerError",
    "JelouValidationError",
    "WindowResult",
]
