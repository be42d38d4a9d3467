"""Client-side request budget shared by every thread of one client, so we do not provoke 429s."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Spaces request starts at least `1 / requests_per_second` apart.

    No burst allowance: a server counting requests in one-second windows sees at most the budget,
    even when several pages are in flight at once.
    """

    def __init__(self, requests_per_second: float) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be above 0")
        self._interval = 1.0 / requests_per_second
        self._next_start = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Blocks until this caller may start a request; returns the seconds waited."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_start)
            self._next_start = start + self._interval
        wait = start - now
        if wait > 0:
            time.sleep(wait)
        return wait
