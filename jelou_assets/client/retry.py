"""urllib3's Retry, with every retry drawn from the client's request budget."""

from __future__ import annotations

import random
import threading
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from jelou_assets.client.rate_limiter import RateLimiter

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class BudgetedRetry(Retry):
    """Retries 429/5xx/connection errors/timeouts of our POST (a read, so safe to repeat).

    Differences from `Retry`: the first retry backs off too (a 429 without `Retry-After` should not be
    repeated at once), every answer it retries is shown to the shared `RateLimiter` first (a 429 cuts the
    budget of every thread, not just this request's), and each retry waits for a slot of that limiter so
    retries cannot exceed the budget.
    """

    def __init__(self, *args: Any, limiter: RateLimiter | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limiter = limiter

    def new(self, **kw: Any) -> "BudgetedRetry":
        retry = super().new(**kw)
        retry.limiter = self.limiter
        return retry

    def get_backoff_time(self) -> float:
        # urllib3 sleeps 0 before the first retry; we want backoff_factor there already.
        if len(self.history) == 1:
            return min(self.backoff_max, self.backoff_factor + self.backoff_jitter * random.random())
        return super().get_backoff_time()

    def sleep(self, response: Any = None) -> None:
        if self.limiter is not None and response is not None:
            self.limiter.observe(response.status, response.headers)
        super().sleep(response)
        if self.limiter is not None:
            self.limiter.acquire()


class PageBudgetAdapter(HTTPAdapter):
    """An `HTTPAdapter` whose retries, in the calling thread, stop at the attempts its page has left.

    urllib3 retries statuses and transport errors; the client asks again for 200s whose body is unusable.
    Both spend one budget per page (`attempts_left`), so a page costs at most `max_attempts` requests
    whatever mix of faults the API serves, not `max_attempts` squared.
    """

    def __init__(self, **kwargs: Any) -> None:
        self._local = threading.local()
        super().__init__(**kwargs)

    @property
    def max_retries(self) -> Retry:  # read by HTTPAdapter.send for every request
        attempts = getattr(self._local, "attempts", None)
        if attempts is None:
            return self._retry
        left = max(0, attempts - 1)
        return self._retry.new(total=left, connect=left, read=left, status=left)

    @max_retries.setter
    def max_retries(self, retry: Retry) -> None:
        self._retry = retry

    def attempts_left(self, attempts: int | None) -> None:
        """Caps this thread's next requests at `attempts` tries in all (None: the full retry budget)."""
        self._local.attempts = attempts


def budgeted_retry(
    attempts: int, limiter: RateLimiter, backoff_s: float, max_wait_s: float
) -> BudgetedRetry:
    """At most `attempts` tries in all; no single wait longer than `max_wait_s`, so a permanently
    failing API costs at most `(attempts - 1) * max_wait_s` seconds of waiting per request."""
    return BudgetedRetry(
        total=attempts - 1,
        connect=attempts - 1,
        read=attempts - 1,
        status=attempts - 1,
        other=0,
        redirect=0,
        allowed_methods=frozenset({"POST"}),
        status_forcelist=RETRYABLE_STATUSES,
        backoff_factor=backoff_s,
        backoff_jitter=backoff_s,
        backoff_max=max_wait_s,
        retry_after_max=max_wait_s,
        respect_retry_after_header=True,
        raise_on_status=False,
        limiter=limiter,
    )


def worst_case_request_s(attempts: int, max_wait_s: float, connect_timeout_s: float, read_timeout_s: float) -> float:
    """Longest one page request can take against a permanently failing API: every attempt uses its whole
    connect and read timeout, and every wait before a retry its cap. With the defaults (6 attempts, 60 s,
    10 s, 60 s): 6 x 70 + 5 x 60 = 720 s. Bad payloads share the same attempts (`JelouClient._fetch_page`)."""
    return attempts * (connect_timeout_s + read_timeout_s) + (attempts - 1) * max_wait_s


def worst_case_backoff_s(attempts: int, backoff_s: float, max_wait_s: float) -> float:
    """Longest total wait before the retries of one request when the API sends no `Retry-After`: backoff
    `backoff_s * 2**(n-1)` before retry n, plus up to `backoff_s` of jitter, each capped at `max_wait_s`.
    With the defaults (6 attempts, 0.5 s, 60 s): 1 + 1.5 + 2.5 + 4.5 + 8.5 = 18 s."""
    return sum(min(max_wait_s, backoff_s * 2 ** (n - 1) + backoff_s) for n in range(1, attempts))
