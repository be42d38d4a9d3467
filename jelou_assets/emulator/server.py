"""A real HTTP emulator of Jelou's attended-conversations metrics endpoint.

Speaks the endpoint as the API documentation describes it (auth, validation, page
pagination, 401/422/429/500 bodies) over stdlib `http.server`, and adds knobs the real
API only shows on a bad day: rate limiting, latency, random and planned faults, and
conversations arriving while a client walks the pages ("drift").

Configuration is read on every request, so tests can flip knobs on a running server
(`emu.config.fault_plan = {1: "503"}`).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import hmac
import json
import math
import random
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .dataset import TEAM_FIELDS, TIMESTAMP_FORMS, SyntheticDataset
from .rate_limit import HEADER_MODES, RETRY_AFTER_MODES, TokenBucket, quota_headers, retry_after_headers

__all__ = ["EmulatorConfig", "JelouEmulator", "ENDPOINT", "FAULTS"]

ENDPOINT = "/v1/metrics/conversations/attended/external"

# Bodies exactly as documented.
BODY_401 = {"message": "Authentication failed"}
BODY_422 = {
    "message": ["The values entered are not correct."],
    "statusMessage": "failed",
    "status": 0,
    "error": {"code": "E0422", "key": "VALIDATOR_ERROR"},
}
BODY_429 = {"message": "Rate limit exceeded"}
BODY_500 = {
    "message": ["We are having trouble processing your request. Please try again later."],
    "statusMessage": "failed",
    "status": 0,
}
_SUCCESS_HEAD = '{"message":["Retrieving conversations succeeded"],"status":"success","results":['

# Faults answered before the request is looked at (like a gateway in front of the API).
_EARLY_FAULTS = frozenset({"401", "422", "500", "502", "503", "429", "429-no-retry-after", "reset"})
# Faults that corrupt what would have been a 200.
_PAYLOAD_FAULTS = frozenset({"truncated", "incomplete", "malformed", "no_results", "no_pagination"})
# Well-formed 200s whose page does not fit the rest of the walk (the data itself is unchanged):
# "duplicate_id" replaces the page's last record by one of another page (same total);
# "short_page" leaves out the page's last record; "bad_total_pages" reports one page too few
# (one too many for a single-page window), so a client trusting totalPages would miss records.
_PAGE_FAULTS = frozenset({"duplicate_id", "short_page", "bad_total_pages"})
FAULTS = _EARLY_FAULTS | _PAYLOAD_FAULTS | _PAGE_FAULTS | {"timeout"}

_EMPTY_RESULTS = ("empty", "missing", "null")
_POSITIVE_INT = re.compile(r"^[0-9]+$")
_MAX_LOG = 100_000  # the log is for tests; bound it so benchmarks cannot exhaust memory


@dataclass
class EmulatorConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = ephemeral
    client_id: str = "demo"
    client_secret: str = field(default="demo-secret", repr=False)
    accepted_auth_schemes: tuple[str, ...] = ("basic", "raw")
    # dataset (changing these on a running server regenerates the data)
    seed: int = 7
    per_day: int = 300
    timezone: str = "America/Guayaquil"
    response_timezone: str = "UTC"
    now: datetime | None = None  # the emulator's clock; None = real time
    edge_conversations: bool = True
    # a deterministic tenth of records each: timeRepliedOperator null, a numeric string or "n/a";
    # a closed state "transferred" (not in the doc's list); see SyntheticDataset
    type_drift: bool = False
    # protocol
    max_limit: int = 50
    max_window_days: int | None = 366  # wider windows get a 422 (the doc asks for bounded ones)
    # bad days
    rate_limit_rps: float | None = None
    retry_after: str | None = "seconds"  # "seconds" | "http-date" | None (header absent)
    rate_limit_headers: str | None = None  # "ratelimit" | "x-ratelimit" | None: quota headers (see rate_limit)
    latency_ms: int = 0
    error_rate: float = 0.0
    fault_plan: dict[int, str] = field(default_factory=dict)  # request number (1-based) -> fault
    timeout_sleep_s: float = 5.0
    drift: int = 0
    drift_after_request: int = 1
    omit_pagination_page: bool = False  # the doc's own example has no pagination.page
    omit_offset: bool = False
    # Other readings of the documentation, each a real server's plausible answer (see dataset.py):
    first_day: date | None = None  # days before the account's first conversation are empty
    timestamp_form: str = "naive"  # "naive" | "iso-utc" | "iso-offset"
    team_field: str = "assignation"  # "assignation" | "operator"
    upper_case_states: bool = False  # "CLOSED", "EXPIRED", ... as Jelou's web client compares them
    empty_total_pages: int = 0  # an empty window's totalPages: 0, or 1 as `Math.ceil(total / limit) || 1`
    empty_results: str = "empty"  # an empty window's results: "empty" ([]) | "missing" (no key) | "null"
    pagination_as_strings: bool = False  # "total": "61" instead of 61
    omit_links: bool = False
    office_holidays: tuple[date, ...] = ()  # days the office-hours team (Soporte) does not work

    def validate(self) -> None:
        if self.retry_after not in RETRY_AFTER_MODES:
            raise ValueError(f"retry_after must be one of {RETRY_AFTER_MODES}")
        if self.rate_limit_headers not in HEADER_MODES:
            raise ValueError(f"rate_limit_headers must be one of {HEADER_MODES}")
        unknown = set(self.accepted_auth_schemes) - {"basic", "raw"}
        if unknown:
            raise ValueError(f"unknown auth schemes: {sorted(unknown)}")
        bad = {f for f in self.fault_plan.values() if f not in FAULTS}
        if bad:
            raise ValueError(f"unknown faults {sorted(bad)}; known: {sorted(FAULTS)}")
        if self.max_limit < 1:
            raise ValueError("max_limit must be >= 1")
        if self.timestamp_form not in TIMESTAMP_FORMS:
            raise ValueError(f"timestamp_form must be one of {TIMESTAMP_FORMS}")
        if self.team_field not in TEAM_FIELDS:
            raise ValueError(f"team_field must be one of {TEAM_FIELDS}")
        if self.empty_total_pages not in (0, 1):
            raise ValueError("empty_total_pages must be 0 or 1")
        if self.empty_results not in _EMPTY_RESULTS:
            raise ValueError(f"empty_results must be one of {_EMPTY_RESULTS}")


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    action: str | None = None  # "reset" (no response) | "incomplete" (cut body, close)


def _json_reply(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> _Reply:
    return _Reply(status, json.dumps(payload, ensure_ascii=False).encode(), headers=headers or [])


class _ValidationError(Exception):
    pass


@functools.lru_cache(maxsize=4096)
def _links_json(limit: int, total_pages: int) -> str:
    return json.dumps(
        [{"number": n, "url": f"{ENDPOINT}?limit={limit}&page={n}"} for n in range(1, total_pages + 1)]
    )


def _auth_scheme_of(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() == "basic" and rest.strip():
        return "basic"
    if ":" in header:
        return "raw"
    return None


def _parse_instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise _ValidationError
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _ValidationError from None
    if parsed.tzinfo is None:  # an offset is required: the window must be unambiguous
        raise _ValidationError
    return parsed


def _parse_int(query: dict[str, list[str]], name: str, default: int, low: int, high: int | None) -> int:
    values = query.get(name)
    if values is None:
        return default
    raw = values[0].strip()
    if not _POSITIVE_INT.match(raw):
        raise _ValidationError
    value = int(raw)
    if value < low or (high is not None and value > high):
        raise _ValidationError
    return value


class JelouEmulator:
    """The endpoint on a real socket. `with JelouEmulator(per_day=50) as emu: emu.url`."""

    def __init__(self, config: EmulatorConfig | None = None, **overrides: Any) -> None:
        self.config = dataclasses.replace(config or EmulatorConfig(), **overrides)
        self.config.validate()
        self._dataset_key: tuple | None = None
        self._dataset: SyntheticDataset | None = None
        self._applied_now: datetime | None = None
        self._dataset_lock = threading.Lock()
        self._log_lock = threading.Lock()
        self._log: deque[dict] = deque(maxlen=_MAX_LOG)
        self._counters: dict[str, int] = {"requests": 0}
        self._request_number = 0
        self._drift_lock = threading.Lock()
        self._ok_answers = 0
        self._arrivals = 0
        self._bucket = TokenBucket()
        self._error_rng = random.Random(f"{self.config.seed}:errors")
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sync_dataset()

    # ---- lifecycle -----------------------------------------------------------------

    def start(self) -> JelouEmulator:
        if self._httpd is not None:
            return self
        self._httpd = _Server((self.config.host, self.config.port), _Handler)
        self._httpd.emulator = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name="jelou-emulator", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()  # idle keep-alive connections would otherwise linger
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> JelouEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("emulator not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    # ---- observability ------------------------------------------------------------

    @property
    def dataset(self) -> SyntheticDataset:
        return self._sync_dataset()

    @property
    def requests(self) -> list[dict]:
        with self._log_lock:
            return [dict(entry) for entry in self._log]

    @property
    def counters(self) -> dict[str, int]:
        with self._log_lock:
            return dict(self._counters)

    def reset_log(self) -> None:
        """Clears the log and counters and restarts request numbering (fault_plan keys)
        and drift counting."""
        with self._log_lock:
            self._log.clear()
            self._counters = {"requests": 0}
            self._request_number = 0
        with self._drift_lock:
            self._ok_answers = 0
            self._arrivals = 0

    # ---- request handling ---------------------------------------------------------

    def _sync_dataset(self) -> SyntheticDataset:
        cfg = self.config
        key = (cfg.seed, cfg.per_day, cfg.timezone, cfg.response_timezone, cfg.edge_conversations, cfg.type_drift,
               cfg.first_day, cfg.timestamp_form, cfg.team_field, cfg.upper_case_states, cfg.office_holidays)
        with self._dataset_lock:
            if key != self._dataset_key or self._dataset is None:
                self._dataset = SyntheticDataset(
                    seed=cfg.seed, per_day=cfg.per_day, timezone=cfg.timezone,
                    response_timezone=cfg.response_timezone, now=cfg.now,
                    edge_conversations=cfg.edge_conversations, type_drift=cfg.type_drift,
                    first_day=cfg.first_day, timestamp_form=cfg.timestamp_form, team_field=cfg.team_field,
                    upper_case_states=cfg.upper_case_states, office_holidays=cfg.office_holidays,
                )
                self._dataset_key = key
                self._applied_now = cfg.now
            elif cfg.now != self._applied_now:
                # config.now wins only when it changes, so emu.dataset.now = ... also works
                self._dataset.now = cfg.now
                self._applied_now = cfg.now
            return self._dataset

    def _arrive(self, method: str, target: str, headers: Any, raw_body: bytes) -> tuple[dict, dict]:
        split = urlsplit(target)
        query = parse_qs(split.query, keep_blank_values=True)
        try:
            body = json.loads(raw_body) if raw_body else None
        except (ValueError, UnicodeDecodeError):
            body = None
        entry = {
            "n": 0, "method": method, "path": split.path,
            "query": {k: v[0] for k, v in query.items()}, "body": body,
            "auth_scheme": _auth_scheme_of(headers.get("Authorization")),
            "status": None, "fault": None, "at": time.monotonic(),
        }
        with self._log_lock:
            self._request_number += 1
            entry["n"] = self._request_number
            self._counters["requests"] += 1
            self._log.append(entry)
        return entry, {"method": method, "split": split, "query": query, "body": body}

    def _finish(self, entry: dict, reply: _Reply, fault: str | None) -> None:
        with self._log_lock:
            entry["fault"] = fault
            if reply.action == "reset":
                key = "reset"
            else:
                entry["status"] = reply.status
                key = str(reply.status)
            self._counters[key] = self._counters.get(key, 0) + 1

    def _handle(self, method: str, target: str, headers: Any, raw_body: bytes) -> _Reply:
        """Turns one HTTP request into a reply; the handler only does socket I/O."""
        entry, parsed = self._arrive(method, target, headers, raw_body)
        cfg = self.config
        fault = cfg.fault_plan.get(entry["n"])
        entry["fault"] = fault  # visible while a "timeout" fault is still sleeping
        try:
            if cfg.latency_ms:
                time.sleep(cfg.latency_ms / 1000)
            if fault == "timeout":
                time.sleep(cfg.timeout_sleep_s)  # then answer normally, long after the client gave up
            if fault in _EARLY_FAULTS:
                reply = self._fault_reply(fault, cfg)
            elif fault is not None and fault not in FAULTS:
                print(f"jelou emulator: unknown fault {fault!r}", file=sys.stderr)
                reply = _json_reply(500, BODY_500)
            else:
                reply = self._normal_reply(parsed, headers, cfg, fault if fault in _PAGE_FAULTS else None)
                if fault in _PAYLOAD_FAULTS:
                    if reply.status == 200:
                        reply = self._corrupt(reply, fault)
                    else:
                        fault = None  # nothing to corrupt: the planned fault did not apply
                elif fault in _PAGE_FAULTS and reply.status != 200:
                    fault = None
        except Exception:  # a bug here must look like the API's 500, not a hung socket
            traceback.print_exc()
            reply = _json_reply(500, BODY_500)
        self._finish(entry, reply, fault)
        return reply

    def _normal_reply(self, parsed: dict, headers: Any, cfg: EmulatorConfig, page_fault: str | None = None) -> _Reply:
        if parsed["split"].path != ENDPOINT:
            return _json_reply(404, {"message": "Not Found"})
        if parsed["method"] != "POST":
            return _json_reply(405, {"message": "Method Not Allowed"}, [("Allow", "POST")])
        quota: list[tuple[str, str]] = []
        if cfg.rate_limit_rps:
            verdict = self._bucket.take(cfg.rate_limit_rps)
            quota = quota_headers(verdict, cfg.rate_limit_headers)
            if verdict.wait > 0:
                return self._rate_limited(verdict.wait, cfg.retry_after, quota)
        if cfg.error_rate > 0:
            with self._log_lock:
                unlucky = self._error_rng.random() < cfg.error_rate
            if unlucky:
                return _json_reply(500, BODY_500)
        if not self._authenticated(headers.get("Authorization"), cfg):
            return _json_reply(401, BODY_401)
        try:
            start, end, limit, page = self._validate(parsed, cfg)
        except _ValidationError:
            return _json_reply(422, BODY_422)
        reply = self._page(start, end, limit, page, cfg, page_fault)
        reply.headers.extend(quota)
        return reply

    @staticmethod
    def _authenticated(header: str | None, cfg: EmulatorConfig) -> bool:
        scheme = _auth_scheme_of(header)
        if scheme is None or scheme not in cfg.accepted_auth_schemes:
            return False
        expected = f"{cfg.client_id}:{cfg.client_secret}".encode()
        if scheme == "basic":
            try:
                given = base64.b64decode(header.strip().partition(" ")[2].strip(), validate=True)
            except (binascii.Error, ValueError):
                return False
        else:
            given = header.strip().encode()
        return hmac.compare_digest(given, expected)

    @staticmethod
    def _validate(parsed: dict, cfg: EmulatorConfig) -> tuple[datetime, datetime, int, int]:
        body = parsed["body"]
        if not isinstance(body, dict):
            raise _ValidationError
        start = _parse_instant(body.get("startAt"))
        end = _parse_instant(body.get("endAt"))
        if end < start or body.get("getJson") is not True:
            raise _ValidationError
        if cfg.max_window_days is not None and (end - start).total_seconds() > cfg.max_window_days * 86_400:
            raise _ValidationError
        limit = _parse_int(parsed["query"], "limit", 10, 1, cfg.max_limit)
        page = _parse_int(parsed["query"], "page", 1, 1, None)
        return start, end, limit, page

    def _page(
        self, start: datetime, end: datetime, limit: int, page: int, cfg: EmulatorConfig, fault: str | None = None
    ) -> _Reply:
        dataset = self._sync_dataset()
        with self._drift_lock:
            nth_ok = self._ok_answers
            self._ok_answers += 1
            arrive = cfg.drift > 0 and nth_ok >= cfg.drift_after_request and self._arrivals < cfg.drift
            if arrive:
                self._arrivals += 1
                # At the window's first whole second, sorting before everything there:
                # every page of this window shifts by one, as when a walk races new data.
                dataset.add_conversation(datetime.fromtimestamp(math.ceil(start.timestamp()), start.tzinfo))
        window = dataset.window(start.timestamp(), end.timestamp())
        total = window.total
        offset = (page - 1) * limit
        total_pages = math.ceil(total / limit)
        records = window.page_json(offset, limit)
        if fault == "duplicate_id" and records:
            # Another page's record: the next page's first, else the first page's first.
            other = window.page_json(offset + limit, 1) if offset + limit < total else window.page_json(0, 1)
            records[-1] = other[0]
        elif fault == "short_page" and records:
            records.pop()
        reported_pages = total_pages if total else cfg.empty_total_pages
        if fault == "bad_total_pages":
            reported_pages = total_pages - 1 if total_pages > 1 else total_pages + 1
        pagination: dict[str, int | str] = {"limit": limit}
        if not cfg.omit_pagination_page:
            pagination["page"] = page
        pagination["total"] = total
        if not cfg.omit_offset:
            pagination["offset"] = offset
        pagination["totalPages"] = reported_pages
        if cfg.pagination_as_strings:
            pagination = {key: str(value) for key, value in pagination.items()}
        results = _SUCCESS_HEAD + ",".join(records) + "],"
        if not records and cfg.empty_results != "empty":
            results = _SUCCESS_HEAD[: -len('"results":[')] + ('"results":null,' if cfg.empty_results == "null" else "")
        links = "" if cfg.omit_links else ',"links":' + _links_json(limit, max(total_pages, reported_pages))
        text = "".join((results, '"pagination":', json.dumps(pagination), links, "}"))
        return _Reply(200, text.encode())

    @staticmethod
    def _rate_limited(wait: float, mode: str | None, quota: list[tuple[str, str]] | None = None) -> _Reply:
        return _json_reply(429, BODY_429, retry_after_headers(wait, mode) + (quota or []))

    def _fault_reply(self, fault: str, cfg: EmulatorConfig) -> _Reply:
        if fault == "401":  # credentials revoked mid-walk
            return _json_reply(401, BODY_401)
        if fault == "422":
            return _json_reply(422, BODY_422)
        if fault == "500":
            return _json_reply(500, BODY_500)
        if fault == "502":
            html = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
            return _Reply(502, html, content_type="text/html")
        if fault == "503":
            return _json_reply(503, {"message": "Service Unavailable"})
        if fault == "429":
            return self._rate_limited(1.0, cfg.retry_after)
        if fault == "429-no-retry-after":
            return self._rate_limited(1.0, None)
        return _Reply(0, action="reset")

    @staticmethod
    def _corrupt(reply: _Reply, fault: str) -> _Reply:
        if fault == "truncated":  # a complete HTTP message whose JSON stops halfway
            return _Reply(200, reply.body[: len(reply.body) // 2])
        if fault == "incomplete":  # Content-Length promises the whole body; the socket closes halfway
            return _Reply(200, reply.body, action="incomplete")
        if fault == "malformed":
            return _Reply(200, b"<html><body><h1>Service temporarily unavailable</h1></body></html>",
                          content_type="text/html")
        payload = json.loads(reply.body)
        payload.pop("results" if fault == "no_results" else "pagination")
        return _json_reply(200, payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # benchmarks open many connections at once
    emulator: JelouEmulator

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._connections: set[socket.socket] = set()
        self._reset: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn) that can stall.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-answer (timeouts, benchmarks) is normal, not a server bug.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._conn_lock:
            (self._connections.add if alive else self._connections.discard)(conn)

    def mark_reset(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._reset.add(conn)

    def shutdown_request(self, request: socket.socket) -> None:
        with self._conn_lock:
            reset = request in self._reset
            self._reset.discard(request)
        if reset:
            # SO_LINGER 0 + close sends a TCP RST instead of an orderly FIN.
            request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_request(request)
        else:
            super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so a requests.Session reuses connections
    server_version = "jelou-emulator/1.0"
    disable_nagle_algorithm = True
    wbufsize = -1  # buffered: status line, headers and body leave in one write
    timeout = 120  # idle keep-alive connections are dropped after this
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is emu.requests; stderr noise slows benchmarks

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        try:
            raw_body = self._read_body()
        except ValueError:
            self.close_connection = True
            raw_body = b""
        reply = emulator._handle(self.command, self.path, self.headers, raw_body)
        if reply.action == "reset":
            self.close_connection = True
            self.server.mark_reset(self.connection)
            return
        body = reply.body
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.action == "incomplete":
            self.send_header("Connection", "close")
            self.close_connection = True
            body = body[: len(body) // 2]
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _dispatch
