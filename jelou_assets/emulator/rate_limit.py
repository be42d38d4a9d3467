"""The emulator's server-side rate limit: a token bucket across all connections, its 429 and, behind a
switch, the rate-limit headers some gateways send with every answer.

Header modes (`EmulatorConfig.rate_limit_headers`):
- None: no quota headers (Jelou documents none); the 429 carries `Retry-After` as `retry_after` says.
- "ratelimit": the IETF draft's `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (delta
  seconds until the bucket is full) and `RateLimit-Policy: <limit>;w=<window>`.
- "x-ratelimit": `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` as a Unix time (as
  GitHub sends it); no window, so a client can only pace by what remains.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate

RETRY_AFTER_MODES = ("seconds", "http-date", None)
HEADER_MODES = ("ratelimit", "x-ratelimit", None)


@dataclass(frozen=True)
class Verdict:
    """One request's fate: `wait` 0 when it may proceed, else seconds until a token is available."""

    wait: float
    limit: int
    remaining: int
    reset_s: float  # until the bucket is full again
    window_s: float  # the time the bucket takes to refill from empty


class TokenBucket:
    """Requests per second across all connections; capacity = one second of budget (at least one)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rate: float | None = None
        self._tokens = 0.0
        self._stamp = 0.0

    def take(self, rate: float) -> Verdict:
        with self._lock:
            now = time.monotonic()
            capacity = max(1.0, rate)
            if rate != self._rate:  # knob changed: start with a full bucket
                self._rate, self._tokens, self._stamp = rate, capacity, now
            self._tokens = min(capacity, self._tokens + (now - self._stamp) * rate)
            self._stamp = now
            wait = 0.0
            if self._tokens >= 1.0:
                self._tokens -= 1.0
            else:
                wait = (1.0 - self._tokens) / rate
            return Verdict(
                wait=wait, limit=math.floor(capacity), remaining=math.floor(self._tokens),
                reset_s=(capacity - self._tokens) / rate, window_s=capacity / rate,
            )


def quota_headers(verdict: Verdict, mode: str | None) -> list[tuple[str, str]]:
    """The headers every answer carries in `mode` (see the module's docstring)."""
    if mode == "ratelimit":
        return [
            ("RateLimit-Limit", str(verdict.limit)),
            ("RateLimit-Remaining", str(verdict.remaining)),
            ("RateLimit-Reset", str(math.ceil(verdict.reset_s))),
            ("RateLimit-Policy", f"{verdict.limit};w={verdict.window_s:g}"),
        ]
    if mode == "x-ratelimit":
        return [
            ("X-RateLimit-Limit", str(verdict.limit)),
            ("X-RateLimit-Remaining", str(verdict.remaining)),
            ("X-RateLimit-Reset", str(math.ceil(time.time() + verdict.reset_s))),
        ]
    return []


def retry_after_headers(wait: float, mode: str | None) -> list[tuple[str, str]]:
    """`Retry-After` for a 429 that should be retried after `wait` seconds, in `mode`'s form, if any."""
    seconds = max(1, math.ceil(wait))
    if mode == "seconds":
        return [("Retry-After", str(seconds))]
    if mode == "http-date":
        # HTTP dates have whole-second resolution: round up so waiting until the date is enough.
        return [("Retry-After", formatdate(math.ceil(time.time()) + seconds, usegmt=True))]
    return []
