"""Native processes for the production test: started with logs on disk, waited on with bounded polls,
always stopped (their whole process group: the code server's run workers included)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
BIN = Path(sys.executable).parent


def native(argv: Sequence[str]) -> list[str]:
    """A compose command as this venv runs it: `python` and the Dagster CLIs from the venv, same arguments."""
    head, *rest = argv
    if head == "python":
        return [sys.executable, *rest]
    return [str(BIN / head), *rest]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without any project or Dagster setting, so only what a service is given counts."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JELOU_", "DAGSTER_", "SLACK_", "DBT_"))}
    base["PATH"] = os.pathsep.join([str(BIN), base.get("PATH", "")])
    base["PYTHONUNBUFFERED"] = "1"
    return {**base, **extra}


class Processes:
    def __init__(self, log_dir: Path, cwd: Path) -> None:
        self.log_dir, self.cwd = log_dir, cwd
        self.started: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            native(argv), env=dict(env), cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,  # its own group: stop() reaches its children
        )
        log.close()
        self.started[name] = process
        return process

    def run(self, name: str, argv: Sequence[str], env: Mapping[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
        """A one-shot command (a health check, the pool-limit init), its output kept for the failure report."""
        result = subprocess.run(native(argv), env=dict(env), cwd=self.cwd, capture_output=True, text=True, timeout=timeout)
        with open(self.log_dir / f"{name}.log", "a") as log:
            log.write(f"$ {' '.join(argv)}\nexit {result.returncode}\n{result.stdout}{result.stderr}\n")
        return result

    def assert_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.started.items() if p.poll() is not None}
        assert not dead, f"processes exited early: {dead}\n{self.logs()}"

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0) -> T:
        """Polls `probe` until it returns something truthy; fails naming `what`, with every log, after `timeout` s."""
        deadline = time.monotonic() + timeout
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            self.assert_alive()
            try:
                value = probe()
                if value:
                    return value
            except Exception as error:  # noqa: BLE001 - reported if the wait times out
                last_error = error
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error!r})\n{self.logs()}")

    def logs(self, tail: int = 60) -> str:
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            lines = path.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"----- {path.name} (last {len(lines)} lines) -----\n" + "\n".join(lines))
        return "\n".join(parts)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM each process group (last started first), then SIGKILL whatever is left."""
        for process in reversed(list(self.started.values())):
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.started.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in self.started.values():
            _signal_group(process, signal.SIGKILL)  # stragglers in the group (run workers) too
            if process.poll() is None:
                process.wait(timeout=10)


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)  # the group this process leads (start_new_session=True)
    except (ProcessLookupError, PermissionError):
        pass
