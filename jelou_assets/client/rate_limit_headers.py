"""What an API's rate-limit headers say: `Retry-After`, the IETF draft's `RateLimit-*` and `X-RateLimit-*`.

Jelou documents its 429 but no headers; these are read whenever they appear, so a gateway in front of
the API that sends them lets the client slow down before it is refused. Unreadable values are ignored
(a tolerant reader): they can only make the client wait less cleverly, never send more.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

# X-RateLimit-Reset is delta-seconds in most APIs but a Unix time in some (GitHub's): a value this large
# cannot be a sane delay, so it is taken as an instant.
_UNIX_TIME_FROM = 1_000_000_000
_FIRST_INTEGER = re.compile(r"^\s*(\d+)")
_PARAMETER = re.compile(r";\s*([a-z]+)\s*=\s*(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class RateLimitHeaders:
    """One response's quota as the server reported it; None where a header was absent or unreadable."""

    limit: int | None = None  # requests allowed per window
    remaining: int | None = None  # requests left in the current window
    reset_s: float | None = None  # seconds until the window's quota is restored
    window_s: float | None = None  # the window's length, when a policy names it (`w=`)

    @property
    def sustained_requests_per_second(self) -> float | None:
        """The rate the quota allows in the long run, when both the limit and its window are known."""
        if self.limit and self.window_s:
            return self.limit / self.window_s
        return None

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """`Retry-After` as seconds from `now` (Unix time): delta-seconds or an HTTP-date; None if unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        instant = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if instant.tzinfo is None:  # an HTTP-date is GMT by definition
        return None
    return max(0.0, instant.timestamp() - now)


def rate_limit_headers(headers: Mapping[str, str], now: float) -> RateLimitHeaders | None:
    """The quota a response's headers describe (`headers` looked up case-insensitively, as `requests` and
    urllib3 hold them), or None when it sends none. The draft's spellings win over the `X-` ones."""
    structured = _structured(headers.get("RateLimit"), headers.get("RateLimit-Policy"))
    # Draft-06's policy `100;w=60` names the limit too.
    limit = _integer(headers.get("RateLimit-Limit"), headers.get("X-RateLimit-Limit"), headers.get("RateLimit-Policy"))
    remaining = _integer(headers.get("RateLimit-Remaining"), headers.get("X-RateLimit-Remaining"))
    reset_s = _reset(headers.get("RateLimit-Reset"), headers.get("X-RateLimit-Reset"), now)
    window_s = _parameter(headers.get("RateLimit-Policy"), "w") or _parameter(headers.get("RateLimit-Limit"), "w")
    found = RateLimitHeaders(
        limit=limit if limit is not None else structured.limit,
        remaining=remaining if remaining is not None else structured.remaining,
        reset_s=reset_s if reset_s is not None else structured.reset_s,
        window_s=window_s or structured.window_s,
    )
    return None if found == RateLimitHeaders() else found


def _integer(*values: str | None) -> int | None:
    """The first list member of the first header present: `10` or `10, 10;w=1, 50;w=60` (draft-06 lists)."""
    for value in values:
        if value is not None:
            match = _FIRST_INTEGER.match(value)
            return int(match.group(1)) if match else None
    return None


def _reset(draft: str | None, common: str | None, now: float) -> float | None:
    seconds = _integer(draft, common)
    if seconds is None:
        return None
    if draft is None and seconds >= _UNIX_TIME_FROM:
        return max(0.0, seconds - now)
    return float(seconds)


def _parameter(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    for key, number in _PARAMETER.findall(value.lower()):
        if key == name:
            return float(number)
    return None


def _structured(ratelimit: str | None, policy: str | None) -> RateLimitHeaders:
    """The later draft's structured fields: `RateLimit: "default";r=45;t=30` and
    `RateLimit-Policy: "default";q=100;w=60` (first policy only)."""
    quota = _parameter(policy, "q")
    remaining = _parameter(ratelimit, "r")
    reset = _parameter(ratelimit, "t")
    return RateLimitHeaders(
        limit=None if quota is None else int(quota),
        remaining=None if remaining is None else int(remaining),
        reset_s=reset,
        window_s=_parameter(policy, "w"),
    )
