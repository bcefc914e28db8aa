"""A stand-in admissions CRM: a real HTTP server on loopback that can be made to fail."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeCRM:
    def __init__(self, secret: str, fail_first: int = 0) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.down = False
        self.requests = 0
        self.accepted: dict[str, dict] = {}  # idempotency key -> lead, as a CRM would dedupe
        self.accepted_posts: Counter = Counter()
        self.bad_signatures: list[str] = []
        self._lock = threading.Lock()
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with crm._lock:
                    crm.requests += 1
                    failing = crm.down or crm.requests <= crm.fail_first
                    key = self.headers["Idempotency-Key"]
                    expected = "sha256=" + hmac.new(crm.secret.encode(), body, hashlib.sha256).hexdigest()
                    if not hmac.compare_digest(expected, self.headers.get("X-Signature", "")):
                        crm.bad_signatures.append(key)
                    if not failing:
                        crm.accepted_posts[key] += 1
                        crm.accepted.setdefault(key, json.loads(body))
                self.send_response(503 if failing else 201)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/leads"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeCRM:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
