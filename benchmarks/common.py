"""What every benchmark shares: the emulator in its own process, timing, RSS sampling, machine facts and
the generated blocks of `docs/BENCHMARKS.md`.

The emulator always runs as a separate process (`python -m jelou_assets.emulator --port 0`), so the
client under test never shares its GIL with the server: on this 2-core machine the server gets one core
and the client the other.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "BENCHMARKS.md"
ENDPOINT = "/v1/metrics/conversations/attended/external"
CLIENT_ID, CLIENT_SECRET = "demo", "demo-secret"
PAGE_SIZE = 50


class BenchmarkCannotRun(RuntimeError):
    """Something the benchmark needs is missing (a server, a package): the command exits non-zero."""


# ---- emulator in its own process -----------------------------------------------------------------


@dataclass
class EmulatorProcess:
    url: str
    process: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.process.pid


@contextlib.contextmanager
def emulator_process(per_day: int, *extra: str) -> Iterator[EmulatorProcess]:
    """`python -m jelou_assets.emulator --port 0 --per-day N ...` until the block ends."""
    command = [sys.executable, "-m", "jelou_assets.emulator", "--port", "0", "--per-day", str(per_day), *extra]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            raise BenchmarkCannotRun(f"the emulator did not start: {line!r}")
        yield EmulatorProcess(match.group(1), process)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def days_from(first: date, count: int) -> list[date]:
    return [first + timedelta(days=n) for n in range(count)]


def basic_auth() -> str:
    import base64

    return "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


def bare_fetch(url: str, days: Sequence[date], page_size: int = PAGE_SIZE) -> tuple[int, int]:
    """The physical limit: one `requests.Session`, every page fetched in turn and `json`-decoded, nothing kept.

    Returns (conversations, pages)."""
    from jelou_assets.day_windows import day_window
    from jelou_assets.settings import Settings

    session = requests.Session()
    session.headers.update({"Authorization": basic_auth(), "Content-Type": "application/json"})
    conversations = pages = 0
    try:
        for day in days:
            start, end = day_window(day, Settings().timezone)
            body = {"startAt": start.isoformat(timespec="seconds"), "endAt": end.isoformat(timespec="seconds"), "getJson": True}
            page, total_pages = 1, 1
            while page <= total_pages:
                response = session.post(url + ENDPOINT, params={"limit": page_size, "page": page}, json=body)
                response.raise_for_status()
                payload = json.loads(response.content)
                total_pages = payload["pagination"]["totalPages"]
                conversations += len(payload["results"])
                pages += 1
                page += 1
    finally:
        session.close()
    return conversations, pages


# ---- measuring -----------------------------------------------------------------------------------


@dataclass
class Timed:
    seconds: float
    value: object = None


def timed(function, *args, **kwargs) -> Timed:
    began = time.perf_counter()
    value = function(*args, **kwargs)
    return Timed(time.perf_counter() - began, value)


@dataclass
class RssSampler:
    """Peak RSS of a process tree (the process and all its descendants), sampled every `interval_s`.

    `peak_tree` is the highest sum over the tree at one instant; `peak_single` the highest of one process.
    Processes listed in `exclude` (and their descendants) are left out, e.g. the emulator.
    """

    root_pid: int
    interval_s: float = 0.05
    exclude: set[int] = field(default_factory=set)
    peak_tree: int = 0
    peak_single: int = 0
    peak_single_name: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.root_pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        excluded: set[int] = set()
        for pid in self.exclude:
            try:
                excluded |= {pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))}
            except psutil.NoSuchProcess:
                excluded.add(pid)
        return [p for p in processes if p.pid not in excluded]

    def sample(self) -> None:
        total = 0
        for process in self._tree():
            try:
                rss = process.memory_info().rss
                name = " ".join(process.cmdline()[1:4])[:60]
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            total += rss
            if rss > self.peak_single:
                self.peak_single, self.peak_single_name = rss, name
        self.peak_tree = max(self.peak_tree, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def peak_rss_self() -> int:
    """Peak RSS of this process so far (the kernel's high-water mark), in bytes."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def mb(value: float) -> str:
    return f"{value / 1_000_000:,.0f} MB"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


# ---- machine facts and the document --------------------------------------------------------------


def machine_facts() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = psutil.virtual_memory().total / 2**30
    versions = []
    for package in ("dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "dbt-postgres", "duckdb", "pandas", "pyarrow",
                    "requests", "psycopg", "dlt"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{package} {metadata.version(package)}")
    postgres = os.environ.get("BENCH_POSTGRES_VERSION", "")
    return (
        f"{cpu}, {os.cpu_count()} cores, {ram:.0f} GiB RAM; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}; " + ", ".join(versions) + (f"; PostgreSQL {postgres}" if postgres else "")
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def print_block(title: str, body: str) -> None:
    print(f"\n## {title}\n\n{body}\n", flush=True)


def write_block(name: str, body: str, command: str) -> None:
    """Replace the generated block `<!-- bench:name -->...<!-- /bench:name -->` in docs/BENCHMARKS.md.

    Everything outside the markers (the hand-written notes) is kept as it is."""
    stamp = time.strftime("%Y-%m-%d %H:%M %Z")
    content = f"<!-- bench:{name} -->\n_Generated by `{command}` on {stamp}._\n\n{body}\n<!-- /bench:{name} -->"
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: content, text)
    else:
        text = text.rstrip("\n") + f"\n\n{content}\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def record(name: str, title: str, body: str, command: str, write: bool) -> None:
    print_block(title, body)
    if write:
        write_block(name, body, command)
        print(f"(written to {DOC.relative_to(ROOT)}, block bench:{name})")


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "n/a"
