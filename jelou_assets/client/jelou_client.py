"""HTTP to the attended-conversations endpoint: auth, budget, retries, typed errors, one window at a time."""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from jelou_assets.client.errors import (
    JelouAuthError,
    JelouBadPayloadError,
    JelouError,
    JelouRateLimitError,
    JelouServerError,
    JelouValidationError,
)
from jelou_assets.client.page_walker import Page, walk_pages
from jelou_assets.client.rate_limiter import RateLimiter
from jelou_assets.client.retry import budgeted_retry

ENDPOINT = "/v1/metrics/conversations/attended/external"


@dataclass
class RequestStats:
    """HTTP attempts as the server saw them, retries included. Thread-safe."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, requests_: int, retries: int, throttled: int) -> None:
        with self._lock:
            self.requests += requests_
            self.retries += retries
            self.throttled += throttled

    def snapshot(self) -> tuple[int, int, int]:
        with self._lock:
            return self.requests, self.retries, self.throttled


@dataclass(frozen=True)
class WindowResult:
    """Everything the assets need from one consistent window: the records plus numbers for checks and the UI."""

    start: datetime
    end: datetime
    records: list[dict[str, Any]]
    api_total: int
    pages: int
    walks: int
    requests: int
    retries: int
    throttled: int
    seconds: float


def authorization_header(client_id: str, client_secret: str, scheme: str) -> str:
    """`basic` is the reference's scheme; `raw` is the doc's curl example (`id:secret` as is)."""
    credentials = f"{client_id}:{client_secret}"
    if scheme == "raw":
        return credentials
    return "Basic " + base64.b64encode(credentials.encode()).decode()


class JelouClient:
    """One `requests.Session` with urllib3 retries, a shared `RateLimiter` and the page walker."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        auth_scheme: str = "basic",
        page_size: int = 50,
        max_pages_in_flight: int = 4,
        requests_per_second: float = 5.0,
        max_attempts: int = 6,
        backoff_s: float = 0.5,
        max_retry_wait_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 60.0,
        max_rewalks: int = 3,
        log: logging.Logger | None = None,
    ) -> None:
        if not client_id or not client_secret:
            raise JelouAuthError(
                "no credentials: set JELOU_CLIENT_ID and JELOU_CLIENT_SECRET "
                "(for the bundled emulator: JELOU_CLIENT_ID=demo JELOU_CLIENT_SECRET=demo-secret)."
            )
        self.url = base_url.rstrip("/") + ENDPOINT
        self.auth_scheme = auth_scheme
        self.page_size = page_size
        self.max_pages_in_flight = max_pages_in_flight
        self.max_attempts = max_attempts
        self.max_rewalks = max_rewalks
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.log = log or logging.getLogger(__name__)
        self.limiter = RateLimiter(requests_per_second)
        self.stats = RequestStats()
        self.session = requests.Session()
        adapter = HTTPAdapter(
            pool_connections=1,
            pool_maxsize=max_pages_in_flight,
            max_retries=budgeted_retry(max_attempts, self.limiter, backoff_s, max_retry_wait_s),
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {
                "Authorization": authorization_header(client_id, client_secret, auth_scheme),
                "Content-Type": "application/json",
                "Accept": "application/json",
            }
        )

    def close(self) -> None:
        self.session.close()

    def fetch_window(self, start: datetime, end: datetime) -> WindowResult:
        """All conversations of `[start, end]` (aware datetimes), proven complete, or a `JelouError`."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("window bounds must carry a UTC offset")
        body = {"startAt": start.isoformat(timespec="seconds"), "endAt": end.isoformat(timespec="seconds"), "getJson": True}
        before = self.stats.snapshot()
        began = time.monotonic()
        walk = walk_pages(
            lambda number: self._fetch_page(body, number),
            max_in_flight=self.max_pages_in_flight,
            max_rewalks=self.max_rewalks,
            log=self.log,
        )
        requests_, retries, throttled = (a - b for a, b in zip(self.stats.snapshot(), before))
        return WindowResult(
            start=start,
            end=end,
            records=walk.records,
            api_total=walk.api_total,
            pages=walk.pages,
            walks=walk.walks,
            requests=requests_,
            retries=retries,
            throttled=throttled,
            seconds=time.monotonic() - began,
        )

    def _fetch_page(self, body: dict[str, Any], number: int) -> Page:
        # urllib3 retries statuses and transport errors; a 200 whose body is cut short or not JSON
        # arrives after urllib3 is done, so that case is retried here, from the same budget.
        attempt = 1
        while True:
            try:
                return self._decode(number, self._post(body, number))
            except JelouBadPayloadError as error:
                if attempt == self.max_attempts:
                    raise
                attempt += 1
                self.stats.add(0, 1, 0)
                self.log.warning("%s; asking again (attempt %d of %d)", error, attempt, self.max_attempts)
                self.limiter.acquire()

    def _post(self, body: dict[str, Any], number: int) -> requests.Response:
        self.limiter.acquire()
        params = {"limit": self.page_size, "page": number}
        try:
            response = self.session.post(self.url, params=params, json=body, timeout=self.timeout)
        except requests.exceptions.ChunkedEncodingError as error:
            self.stats.add(1, 0, 0)
            raise JelouBadPayloadError(f"page {number}: response body cut short ({_first_line(error)})") from None
        except requests.exceptions.RequestException as error:
            raise JelouServerError(
                f"page {number}: no usable answer from {self.url} (connection errors and timeouts are retried up "
                f"to {self.max_attempts} attempts): {type(error).__name__}: {_first_line(error)}"
            ) from None
        history = response.raw.retries.history if response.raw is not None and response.raw.retries else ()
        self.stats.add(1 + len(history), len(history), sum(1 for h in history if h.status == 429) + (response.status_code == 429))
        status = response.status_code
        if status == 200:
            return response
        if status == 401:
            raise JelouAuthError(
                "the API answered 401 Authentication failed: check JELOU_CLIENT_ID and JELOU_CLIENT_SECRET, "
                f"and JELOU_AUTH_SCHEME (now {self.auth_scheme!r}; 'basic' sends Basic base64(id:secret), "
                "'raw' sends id:secret as in the API doc's curl example)."
            )
        if status == 422:
            raise JelouValidationError(
                f"the API rejected the request fields (422 E0422 VALIDATOR_ERROR) for startAt={body['startAt']}, "
                f"endAt={body['endAt']}, limit={self.page_size}, page={number}: if JELOU_PAGE_SIZE is above the "
                "API's cap, lower it (sibling Jelou endpoints cap `limit` at 50); check JELOU_TIMEZONE."
            )
        if status == 429:
            raise JelouRateLimitError(
                f"page {number}: still rate limited (429) after {self.max_attempts} attempts; lower "
                "JELOU_REQUESTS_PER_SECOND or JELOU_MAX_PAGES_IN_FLIGHT, or run fewer backfills at once."
            )
        if status >= 500:
            raise JelouServerError(f"page {number}: the API answered {status} after {self.max_attempts} attempts: {_short(response)}")
        raise JelouError(f"page {number}: unexpected HTTP {status} from {self.url}: {_short(response)}")

    def _decode(self, number: int, response: requests.Response) -> Page:
        try:
            payload = response.json()
        except ValueError:
            raise JelouBadPayloadError(
                f"page {number}: 200 response is not valid JSON ({len(response.content)} bytes, starts {response.text[:60]!r})"
            ) from None
        if not isinstance(payload, dict):
            raise JelouBadPayloadError(f"page {number}: 200 response is JSON but not an object")
        results, pagination = payload.get("results"), payload.get("pagination")
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise JelouBadPayloadError(f"page {number}: 200 response has no `results` list of objects")
        if not isinstance(pagination, dict):
            raise JelouBadPayloadError(f"page {number}: 200 response has no `pagination` object")
        try:
            total = int(pagination["total"])
            limit = int(pagination.get("limit") or self.page_size)
            total_pages = int(pagination["totalPages"])
            offset = None if pagination.get("offset") is None else int(pagination["offset"])
        except (KeyError, TypeError, ValueError):
            raise JelouBadPayloadError(
                f"page {number}: `pagination` lacks integer total/totalPages: {str(pagination)[:200]}"
            ) from None
        return Page(number=number, records=results, total=total, total_pages=total_pages, limit=limit, offset=offset)


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0][:300]


def _short(response: requests.Response) -> str:
    return response.text[:200].replace("\n", " ")
