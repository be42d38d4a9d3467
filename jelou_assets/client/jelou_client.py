"""HTTP to the attended-conversations endpoint: auth, budget, retries, typed errors, one window at a time."""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

import pyarrow as pa
import requests
from requests.utils import guess_json_utf

from jelou_assets.client.errors import (
    JelouAuthError,
    JelouBadPayloadError,
    JelouError,
    JelouRateLimitError,
    JelouServerError,
    JelouValidationError,
)
from jelou_assets.client.page_walker import Page, RecordColumns, Walk, walk_pages
from jelou_assets.client.rate_limiter import RateLimiter
from jelou_assets.client.retry import PageBudgetAdapter, budgeted_retry

ENDPOINT = "/v1/metrics/conversations/attended/external"
# Pages are decoded in the walker's threads. Arrow's default allocator (mimalloc) keeps a heap per thread
# and, measured on a 50,000-conversation day, held about 100 MB beyond the day's 20 MB of text; the
# system allocator holds what the day is.
PAGE_MEMORY = pa.system_memory_pool()


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
class WindowResult(RecordColumns):
    """Everything the assets need from one consistent window: the records plus numbers for checks and the UI.

    `payload_column` holds each record's JSON text exactly as the API sent it (what `raw_conversations`
    stores), as Arrow; `payloads` the same as Python strings, `ids` their `_id`s; `records` parses the texts
    on first use.
    """

    start: datetime
    end: datetime
    id_column: pa.ChunkedArray
    payload_column: pa.ChunkedArray
    api_total: int
    pages: int
    walks: int
    requests: int
    retries: int
    throttled: int
    seconds: float
    # The account's rate as the client's budget had learned it when the walk ended (see RateLimiter).
    learned_requests_per_second: float | None = None

    @property
    def rows(self) -> int:
        return len(self.id_column)

    @cached_property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(text) for text in self.payloads]


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
        auth_scheme: str,
        page_size: int,
        max_pages_in_flight: int,
        requests_per_second: float,
        start_requests_per_second: float | None,
        rate_share: float,
        max_attempts: int,
        retry_backoff_s: float,
        max_retry_wait_s: float,
        connect_timeout_s: float,
        read_timeout_s: float,
        max_rewalks: int,
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
        # The ceiling is the setting; the start is what an earlier run learned, when one did.
        self.limiter = RateLimiter(
            requests_per_second, start_requests_per_second=start_requests_per_second, share=rate_share,
            max_pause_s=max_retry_wait_s, log=self.log,
        )
        self.stats = RequestStats()
        self.session = requests.Session()
        self._adapter = adapter = PageBudgetAdapter(
            pool_connections=1,
            pool_maxsize=max_pages_in_flight,
            max_retries=budgeted_retry(max_attempts, self.limiter, retry_backoff_s, max_retry_wait_s),
        )
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # The environment's proxies and CA bundle, read once instead of on every request (with ~/.netrc
        # look-ups, a measurable share of a fast walk). netrc is not consulted: it would replace our
        # Authorization header.
        settings = self.session.merge_environment_settings(self.url, {}, None, None, None)
        self.session.proxies.update(settings["proxies"])
        self.session.verify = settings["verify"]
        self.session.trust_env = False
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
        if end.timestamp() < start.timestamp():  # a local day that never happened: nothing to ask for
            nothing = pa.chunked_array([], pa.string())
            walk = Walk(id_column=nothing, payload_column=nothing, api_total=0, pages=0, walks=0)
        else:
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
            id_column=walk.id_column,
            payload_column=walk.payload_column,
            api_total=walk.api_total,
            pages=walk.pages,
            walks=walk.walks,
            requests=requests_,
            retries=retries,
            throttled=throttled,
            seconds=time.monotonic() - began,
            learned_requests_per_second=self.limiter.learned_requests_per_second,
        )

    def _fetch_page(self, body: dict[str, Any], number: int) -> Page:
        # urllib3 retries statuses and transport errors; a 200 whose body is cut short or not JSON
        # arrives after urllib3 is done, so that case is retried here. Both spend one budget of
        # `max_attempts` per page: urllib3 is only allowed the attempts the page has left.
        left = self.max_attempts
        try:
            while True:
                self._adapter.attempts_left(left)
                try:
                    response, used = self._post(body, number)
                    left -= used
                    return self._decode(number, response)
                except JelouBadPayloadError as error:
                    left -= error.attempts  # a body cut short: _post could not return its count
                    if left <= 0:
                        raise
                    self.stats.add(0, 1, 0)
                    self.log.warning("%s; asking again (%d of %d attempts left)", error, left, self.max_attempts)
                    self.limiter.acquire()
        finally:
            self._adapter.attempts_left(None)

    def _post(self, body: dict[str, Any], number: int) -> tuple[requests.Response, int]:
        """The answer to one request (urllib3's retries included) and how many attempts it took."""
        self.limiter.acquire()
        params = {"limit": self.page_size, "page": number}
        try:
            # Streamed, so the body is read below, where the retries already spent are still known.
            response = self.session.post(self.url, params=params, json=body, timeout=self.timeout, stream=True)
        except requests.exceptions.RequestException as error:
            raise JelouServerError(
                f"page {number}: no usable answer from {self.url} (connection errors and timeouts are retried up "
                f"to {self.max_attempts} attempts): {type(error).__name__}: {_first_line(error)}"
            ) from None
        history = response.raw.retries.history if response.raw is not None and response.raw.retries else ()
        attempts = 1 + len(history)
        self.stats.add(attempts, len(history), sum(1 for h in history if h.status == 429) + (response.status_code == 429))
        self.limiter.observe(response.status_code, response.headers)  # the retried answers were shown by BudgetedRetry
        try:
            response.content  # noqa: B018 - reads the whole body
        except requests.exceptions.RequestException as error:  # cut short, or stalled past the read timeout
            response.close()
            raise JelouBadPayloadError(f"page {number}: response body cut short ({_first_line(error)})", attempts) from None
        status = response.status_code
        if status == 200:
            return response, attempts
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
            # As `response.json()` decodes: the declared charset, else the JSON encoding the bytes show.
            encoding = response.encoding or guess_json_utf(response.content) or "utf-8"
            text = response.text if response.encoding else response.content.decode(encoding)
            payload, results, payloads = split_page(text)
        except ValueError:
            raise JelouBadPayloadError(
                f"page {number}: 200 response is not valid JSON ({len(response.content)} bytes, starts {response.text[:60]!r})"
            ) from None
        if payload is None:
            raise JelouBadPayloadError(f"page {number}: 200 response is JSON but not an object")
        pagination = payload.get("pagination")
        if not isinstance(pagination, dict):
            raise JelouBadPayloadError(f"page {number}: 200 response has no `pagination` object")
        try:
            # JSON numbers or numeric strings; `page`, `offset` and `links` may be absent.
            total = int(pagination["total"])
            limit = int(pagination.get("limit") or self.page_size)
            total_pages = int(pagination["totalPages"])
            offset = None if pagination.get("offset") in (None, "") else int(pagination["offset"])
        except (KeyError, TypeError, ValueError):
            raise JelouBadPayloadError(
                f"page {number}: `pagination` lacks integer total/totalPages: {str(pagination)[:200]}"
            ) from None
        if results is None and total == 0:
            results = []  # an empty window may come without `results`, or with `results: null`
        if results is None or not all(isinstance(r, dict) for r in results):
            raise JelouBadPayloadError(f"page {number}: 200 response has no `results` list of objects")
        # Ids and texts become Arrow here, in the page's thread, and the page's Python objects are freed: a
        # day is then held once, compactly, in the form it is written in, not as strings scattered in the heap.
        ids = [r.get("_id") for r in results]
        return Page(
            number=number, ids=pa.array(ids, pa.string(), memory_pool=PAGE_MEMORY)
            if all(type(i) is str for i in ids) else ids,
            payloads=pa.array(payloads, pa.string(), memory_pool=PAGE_MEMORY), total=total,
            total_pages=total_pages, limit=limit, offset=offset,
        )


_DECODER = json.JSONDecoder()
_SCAN = _DECODER.scan_once  # the json module's own (C) value scanner
_WHITESPACE = re.compile(r"[ \t\n\r]*")


def split_page(text: str) -> tuple[dict[str, Any] | None, list[Any] | None, list[str]]:
    """Parse a page like `json.loads`, also keeping the exact text of each element of `results`.

    Returns (the top-level object without `results`, or None when the document is not an object;
    `results` parsed, or None when it is missing or not an array; each element's JSON text as received).
    Every value is parsed by the json module's own scanner; this walks only the top-level object and the
    `results` array to note where each element starts and ends. Invalid JSON raises ValueError.
    """
    skip = _WHITESPACE.match
    index = skip(text, 0).end()
    if not text.startswith("{", index):
        _DECODER.decode(text)  # raises ValueError for invalid JSON
        return None, None, []
    obj: dict[str, Any] = {}
    results: list[Any] | None = None
    payloads: list[str] = []
    index = skip(text, index + 1).end()
    if text.startswith("}", index):
        index += 1
    else:
        while True:
            if not text.startswith('"', index):
                raise ValueError(f"expected a key at {index}")
            key, index = json.decoder.scanstring(text, index + 1)
            index = skip(text, index).end()
            if not text.startswith(":", index):
                raise ValueError(f"expected ':' at {index}")
            index = skip(text, index + 1).end()
            if key == "results" and text.startswith("[", index):
                results, payloads, index = _scan_array(text, index)
            else:
                value, index = _scan_value(text, index)
                obj[key] = value
                if key == "results":  # a later non-array `results` wins, as in json.loads
                    results, payloads = None, []
            index = skip(text, index).end()
            if text.startswith(",", index):
                index = skip(text, index + 1).end()
                continue
            if text.startswith("}", index):
                index += 1
                break
            raise ValueError(f"expected ',' or '}}' at {index}")
    if skip(text, index).end() != len(text):
        raise ValueError(f"extra data at {index}")
    return obj, results, payloads


def _scan_value(text: str, index: int) -> tuple[Any, int]:
    try:
        return _SCAN(text, index)
    except StopIteration:
        raise ValueError(f"expected a value at {index}") from None


def _scan_array(text: str, index: int) -> tuple[list[Any], list[str], int]:
    skip = _WHITESPACE.match
    values: list[Any] = []
    texts: list[str] = []
    index = skip(text, index + 1).end()
    if text.startswith("]", index):
        return values, texts, index + 1
    while True:
        value, end = _scan_value(text, index)
        values.append(value)
        texts.append(text[index:end])
        index = skip(text, end).end()
        if text.startswith(",", index):
            index = skip(text, index + 1).end()
            continue
        if text.startswith("]", index):
            return values, texts, index + 1
        raise ValueError(f"expected ',' or ']' at {index}")


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0][:300]


def _short(response: requests.Response) -> str:
    return response.text[:200].replace("\n", " ")
