"""A stand-in admissions CRM: a real HTTP server on loopback that can be made to fail."""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import standardwebhooks

# A valid LEADS_WEBHOOK_SECRET (whsec_ and 32 bytes in base64), the same for us and the CRM.
SECRET = "whsec_" + base64.b64encode(b"test-only secret, 32 bytes long!").decode()


@dataclass(frozen=True)
class Received:
    """One POST as it arrived: what a receiver verifies."""

    key: str
    headers: dict[str, str]
    body: bytes


def lead_id_of(body: bytes) -> str:
    """The payload's lead id, or "" for a body that is not a lead."""
    try:
        payload = json.loads(body)
    except ValueError:
        return ""
    return str(payload.get("lead_id", "")) if isinstance(payload, dict) else ""


class FakeCRM:
    """Takes leads as the real CRM would: JSON signed as Standard Webhooks specify, verified with
    the `standardwebhooks` library, filed by the payload's `lead_id`: a repeat of an
    Idempotency-Key changes nothing, a new key for the same lead (the visitor updated it)
    replaces the record.

    While it fails (`down`, or for its first `fail_first` requests) it answers `failure_status`
    with `failure_headers` (e.g. a Retry-After): 503 for an outage, or e.g. 401 for a CRM that
    refuses our key. `refuse` answers a status per lead id, every time (422 for a lead it finds
    invalid). A failure's body echoes the lead, as some CRMs do: it must never reach our
    records. A lead it takes is answered `success_status`. `delay` makes it answer that many
    seconds late (a slow CRM). A body not declared as JSON is refused with 415, as a webhook
    endpoint refuses what it cannot parse.
    """

    def __init__(
        self,
        secret: str = SECRET,
        fail_first: int = 0,
        failure_status: int = 503,
        success_status: int = 201,
        delay: float = 0.0,
        failure_headers: Mapping[str, str] | None = None,
        refuse: Mapping[str, int] | None = None,
    ) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.failure_status = failure_status
        self.success_status = success_status
        self.delay = delay
        self.failure_headers = dict(failure_headers or {})
        self.refuse = dict(refuse or {})
        self.down = False
        self.requests = 0
        self.accepted: dict[str, dict] = {}  # lead id -> its latest version, as a CRM would keep it
        self.idempotency_keys: set[str] = set()
        self.accepted_posts: Counter = Counter()
        self.posts: Counter = Counter()  # every POST per lead, answered 2xx or not
        self.bad_signatures: list[str] = []
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                is_json = self.headers.get("Content-Type", "").split(";")[0].strip().lower() == "application/json"
                headers = dict(self.headers.items())
                with crm._lock:
                    crm.requests += 1
                    key = lead_id_of(body)
                    crm.posts[key] += 1
                    crm.received.append(Received(key, headers, body))
                    try:
                        standardwebhooks.Webhook(crm.secret).verify(body, headers)
                    except Exception:  # a wrong, missing or stale signature: what a receiver refuses
                        crm.bad_signatures.append(key)
                    status = crm.refuse.get(key) or (
                        crm.failure_status if crm.down or crm.requests <= crm.fail_first else None
                    )
                    if status is None and is_json:
                        crm.accepted_posts[key] += 1
                        if self.headers["Idempotency-Key"] not in crm.idempotency_keys:
                            crm.idempotency_keys.add(self.headers["Idempotency-Key"])
                            crm.accepted[key] = json.loads(body)
                    status = status or (crm.success_status if is_json else 415)
                crm._closing.wait(crm.delay)
                failed = not 200 <= status < 300
                answer = b'{"error": "cannot take this lead", "lead": ' + body + b"}" if failed else b""
                try:
                    self.send_response(status)
                    for name, value in (crm.failure_headers if failed else {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
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
