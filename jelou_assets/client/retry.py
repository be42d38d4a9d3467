"""urllib3's Retry, with every retry drawn from the client's request budget."""

from __future__ import annotations

import random
from typing import Any

from urllib3.util.retry import Retry

from jelou_assets.client.rate_limiter import RateLimiter

RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


class BudgetedRetry(Retry):
    """Retries 429/5xx/connection errors/timeouts of our POST (a read, so safe to repeat).

    Differences from `Retry`: the first retry backs off too (a 429 without `Retry-After` should not be
    repeated at once), and each retry waits for a slot of the shared `RateLimiter` so retries cannot
    exceed the budget.
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
        super().sleep(response)
        if self.limiter is not None:
            self.limiter.acquire()


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
