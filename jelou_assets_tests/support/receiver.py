"""A real local HTTP receiver standing in for a webhook or Slack's Web API in tests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class Receiver:
    """Collects request bodies; answers 500 to the next `failures` requests."""

    def __init__(self, slack: bool = False) -> None:
        self.bodies: list[dict] = []
        self.paths: list[str] = []
        self.failures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if receiver.failures > 0:
                    receiver.failures -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                is_json = self.headers.get("Content-Type", "").startswith("application/json")
                body = json.loads(raw) if is_json else {k: v[0] for k, v in parse_qs(raw).items()}
                receiver.bodies.append(body)
                receiver.paths.append(self.path)
                answer = json.dumps({"ok": True, "channel": "C1", "ts": "1"} if slack else {"received": True}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
