"""Client-side request budget shared by every thread of one client: paces requests under what the server
allows, and learns what that is from its 429s and rate-limit headers.

Kept apart from the retry policy: urllib3's `Retry` decides whether and when one request is asked again;
this decides when any request may start. Every request, retries included, takes a slot here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping

from jelou_assets.client.aimd import AimdRate
from jelou_assets.client.rate_limit_headers import RateLimitHeaders, rate_limit_headers, retry_after_seconds


class RateLimiter:
    """Spaces request starts at least `1 / rate` apart, the rate adapting by AIMD (see `aimd`).

    No burst allowance: a server counting requests in one-second windows sees at most the rate, even when
    several pages are in flight at once. A 429 cuts the rate once for every request sent at the old rate
    (several in flight answered 429 together are one signal, as in TCP), and stops every thread until its
    `Retry-After` has passed (one interval at the new rate when it sends none); slots handed out before the
    429 are handed out again after the pause. `RateLimit-*`/`X-RateLimit-*` headers pace the client before
    it is refused: an exhausted quota pauses every thread until its reset, a low one spreads the requests
    left over the time to the reset, and a policy with a window (`w=`) caps the rate at what it allows.

    `share` is the part of the account's limit this client may use when several run at once: announced
    limits are scaled by it, and `learned_requests_per_second` reports the account-wide rate (rate / share).
    No pause or gap lasts longer than `max_pause_s` (the retry policy's longest wait), so an hour-long
    `Retry-After` or quota reset cannot stall a run beyond the documented worst case.
    `clock`, `sleep` and `wall_clock` are injectable so the arithmetic can be tested without waiting.
    """

    def __init__(
        self,
        requests_per_second: float,
        *,
        start_requests_per_second: float | None = None,
        share: float = 1.0,
        max_pause_s: float = 60.0,
        log: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be above 0")
        if not 0 < share <= 1:
            raise ValueError(f"share {share!r} must be above 0 and at most 1")
        start = requests_per_second if start_requests_per_second is None else start_requests_per_second
        self._aimd = AimdRate(ceiling=requests_per_second, rate=start)
        self.share = share
        self.max_pause_s = max_pause_s
        self.log = log or logging.getLogger(__name__)
        self._clock, self._sleep, self._wall_clock = clock, sleep, wall_clock
        self._lock = threading.Lock()
        self._local = threading.local()
        self._next_start = clock()
        self._paused_until = self._next_start
        self._generation = 0  # bumped by every pause: slots reserved before it are reserved again
        self._epoch = 0  # bumped by every cut: 429s to requests sent before it do not cut again
        # A rate known not to provoke a 429: where an earlier run's learning started this one, then the
        # rate right after each cut. None: nothing learned (the start is the ceiling).
        self._safe: float | None = None if start_requests_per_second is None else self._aimd.rate
        self.cuts = 0
        self.throttled = 0

    @property
    def ceiling(self) -> float:
        return self._aimd.ceiling

    @property
    def requests_per_second(self) -> float:
        """The rate this client paces at now."""
        with self._lock:
            return self._aimd.rate

    @property
    def learned_requests_per_second(self) -> float:
        """What the account allows, as far as this client has learned, scaled up from its share.

        The creep within a run is tested only against the server's burst allowance (a token bucket lets a
        client run a little above its rate for a while), so it is not what the next run should start at:
        after a cut, the rate right after the latest cut; in a run that started from an earlier run's rate
        and was never cut, that rate plus one increase step (runs creep up across days as requests do
        within one); with nothing learned, the rate now."""
        with self._lock:
            rate = self._aimd.rate
            if self._safe is not None:
                rate = min(rate, self._safe if self.cuts else self._safe + self._aimd.increase_step)
        return rate / self.share

    def acquire(self) -> float:
        """Blocks until this caller may start a request; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                start = max(now, self._next_start, self._paused_until)
                self._next_start = start + 1.0 / self._aimd.rate
                generation = self._generation
            if start > now:
                self._sleep(start - now)
                waited += start - now
            with self._lock:
                if self._generation == generation:
                    self._local.epoch = self._epoch
                    return waited

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """Learns from one answer (every attempt's, retries included): a 429 cuts, a success creeps."""
        now_wall = self._wall_clock()
        quota = rate_limit_headers(headers, now_wall)
        if status == 429:
            retry_after = retry_after_seconds(headers.get("Retry-After"), now_wall)
            if quota is not None and quota.exhausted and quota.reset_s is not None:
                retry_after = max(retry_after or 0.0, quota.reset_s)
            self._throttled(retry_after)
        elif 200 <= status < 400:  # a server error says nothing about the rate
            self._succeeded(quota)

    def _throttled(self, retry_after: float | None) -> None:
        with self._lock:
            self.throttled += 1
            before = self._aimd.rate
            cut = getattr(self._local, "epoch", self._epoch) == self._epoch
            if cut:
                self._safe = self._aimd.throttled()
                self._epoch += 1
                self.cuts += 1
            pause = 1.0 / self._aimd.rate if retry_after is None else retry_after
            self._pause(self._clock(), pause)
            after = self._aimd.rate
        if cut:
            self.log.warning(
                "rate limited (429): request budget cut from %.2f to %.2f requests/s; no request for %.1f s (%s)",
                before, after, pause, "its Retry-After" if retry_after is not None else "no Retry-After: one interval",
            )

    def _succeeded(self, quota: RateLimitHeaders | None) -> None:
        lowered = None
        with self._lock:
            now = self._clock()
            if quota is not None:
                sustained = quota.sustained_requests_per_second
                before = self._aimd.rate
                if sustained is not None and self._aimd.announce(sustained * self.share):
                    lowered = (sustained, before, self._aimd.rate)
                if quota.remaining is not None and quota.reset_s is not None:
                    if quota.exhausted:
                        self._pause(now, quota.reset_s)
                    elif quota.reset_s > 0:
                        # What is left of the window, spread over the time until it resets.
                        gap = min(self.max_pause_s, quota.reset_s / (quota.remaining * self.share))
                        self._next_start = max(self._next_start, now + gap)
            if getattr(self._local, "epoch", self._epoch) == self._epoch:
                self._aimd.succeeded()
        if lowered is not None:
            self.log.info(
                "the API's rate-limit headers allow %.2f requests/s: request budget lowered from %.2f to %.2f",
                *lowered,
            )

    def _pause(self, now: float, seconds: float) -> None:
        """No thread starts a request before `now + seconds`; then one every interval (lock held)."""
        until = now + min(seconds, self.max_pause_s)
        if until > self._paused_until:
            self._paused_until = until
        self._next_start = self._paused_until
        self._generation += 1
