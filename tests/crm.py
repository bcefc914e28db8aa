"""A stand-in admissions CRM: a real HTTP server on loopback that can be made to fail."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeCRM:
    """Takes leads as the real CRM would: signed JSON, deduplicated by Idempotency-Key.

    While it fails (`down`, or for its first `fail_first` requests) it answers `failure_status`:
    503 for an outage, or e.g. 401 for a CRM that refuses our key. A lead it takes is answered
    `success_status`. `delay` makes it answer that many seconds late (a slow CRM). A body not
    declared as JSON is refused with 415, as a webhook endpoint refuses what it cannot parse.
    """

    def __init__(
        self,
        secret: str,
        fail_first: int = 0,
        failure_status: int = 503,
        success_status: int = 201,
        delay: float = 0.0,
    ) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.failure_status = failure_status
        self.success_status = success_status
        self.delay = delay
        self.down = False
        self.requests = 0
        self.accepted: dict[str, dict] = {}  # idempotency key -> lead, as a CRM would dedupe
        self.accepted_posts: Counter = Counter()
        self.bad_signatures: list[str] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                is_json = self.headers.get("Content-Type", "").split(";")[0].strip().lower() == "application/json"
                with crm._lock:
                    crm.requests += 1
                    failing = crm.down or crm.requests <= crm.fail_first
                    key = self.headers["Idempotency-Key"]
                    expected = "sha256=" + hmac.new(crm.secret.encode(), body, hashlib.sha256).hexdigest()
                    if not hmac.compare_digest(expected, self.headers.get("X-Signature", "")):
                        crm.bad_signatures.append(key)
                    if is_json and not failing:
                        crm.accepted_posts[key] += 1
                        crm.accepted.setdefault(key, json.loads(body))
                    status = crm.failure_status if failing else crm.success_status if is_json else 415
                crm._closing.wait(crm.delay)
                try:
                    self.send_response(status)
                    self.end_headers()
                except OSError:  # the client stopped waiting (its timeout): nothing to answer
                    pass

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/leads"
        # Polling for shutdown every 50 ms instead of 500 lets a test end as soon as it is done.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> FakeCRM:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closing.set()  # a delayed answer is given now
        self._server.shutdown()
        self._server.server_close()
