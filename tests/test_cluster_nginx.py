"""nginx as `make cluster` configures it (deploy/nginx/admissions.conf), in front of small stand-in
replicas whose faults a test controls: which request is sent to another replica, which is not,
what address the Rasa servers are told, and the body limit. Real nginx; the replicas are tiny
HTTP servers that count what reaches them."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from channels import door
from deploy.cluster import NGINX, nginx_worker_user
from deploy.processes import Service, session_members
from deploy.render import LOOPBACK, Upstream, actions_nginx_config, nginx_config
from tests.servers import free_port

pytestmark = pytest.mark.slow


class Replica:
    """An HTTP server that answers every request with its name and keeps what it received."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        replica = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as nginx's upstream connections use

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                replica.received.append((self.command, dict(self.headers), body))
                reply = json.dumps({"replica": replica.name}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class DiesMidRequest:
    """A replica that reads each request whole, then its connection drops without an answer:
    what nginx sees of a Rasa server killed while it processes a message."""

    def __init__(self) -> None:
        self.received = 0
        self.sock = socket.create_server((LOOPBACK, 0))
        self.port = int(self.sock.getsockname()[1])
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            with connection:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                while len(body) < length:
                    chunk = connection.recv(65536)
                    if not chunk:
                        break
                    body += chunk
                if data:
                    self.received += 1

    def close(self) -> None:
        self.sock.close()


@contextlib.contextmanager
def _running(config: str, port: int) -> Iterator[str]:
    """nginx with a configuration rendered for `prefix`; yields its URL once it listens."""
    prefix = Path(tempfile.mkdtemp(prefix="nginx-"))
    prefix.chmod(0o755)
    (prefix / "nginx.conf").write_text(config.replace(PREFIX, str(prefix)))
    command = [str(NGINX), "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")]
    # Ready when it listens: any answer, even the 502 of a replica that refuses connections.
    service = Service("nginx", [*command, "-g", "daemon off;"], prefix / "nginx.log", lambda: _listens(port))
    service.start()
    try:
        service.wait_until_ready(30)
        yield f"http://{LOOPBACK}:{port}"
    finally:
        service.stop()
        assert session_members([service.pid]) == []
        shutil.rmtree(prefix, ignore_errors=True)


PREFIX = "/nginx-prefix"  # replaced by each nginx's own folder


@contextlib.contextmanager
def nginx(rasa: Sequence[Upstream], actions: Sequence[Upstream] = ()) -> Iterator[tuple[str, str]]:
    """The cluster's two nginx's: the visitors' and the actions'; yields their URLs."""
    public, actions_port = free_port(), free_port()
    user = nginx_worker_user()
    visitors = nginx_config(state=Path(PREFIX), host=LOOPBACK, rasa_port=public, rasa=rasa, worker_user=user)
    calls = actions_nginx_config(
        state=Path(PREFIX), actions_port=actions_port, actions=actions or rasa, worker_user=user
    )
    with _running(visitors, public) as url, _running(calls, actions_port) as actions_url:
        yield url, actions_url


def _listens(port: int) -> bool:
    try:
        socket.create_connection((LOOPBACK, port), timeout=1).close()
    except OSError:
        return False
    return True


HI = b'{"sender": "s", "message": "hi"}'


def post(url: str, body: bytes = HI, headers: dict[str, str] | None = None) -> httpx.Response:
    sent = {"Content-Type": "application/json", **(headers or {})}
    return httpx.post(f"{url}/webhooks/rest/webhook", content=body, headers=sent, timeout=30)


@pytest.fixture
def replicas() -> Iterator[list[Replica]]:
    made = [Replica("a"), Replica("b")]
    yield made
    for replica in made:
        replica.close()


def test_a_replica_that_refuses_connections_is_skipped_and_every_message_answered_once(replicas):
    alive = replicas[0]
    with nginx([Upstream(free_port()), Upstream(alive.port)], [Upstream(alive.port)]) as (url, _):
        statuses = [post(url).status_code for _ in range(10)]
    assert statuses == [200] * 10
    assert len(alive.received) == 10


def test_a_message_that_reached_a_replica_which_then_died_is_never_sent_to_another(replicas):
    dying, alive = DiesMidRequest(), replicas[0]
    try:
        with nginx([Upstream(dying.port), Upstream(alive.port)], [Upstream(alive.port)]) as (url, _):
            statuses = [post(url).status_code for _ in range(10)]
    finally:
        dying.close()
    assert dying.received >= 1  # round robin sent it some...
    assert statuses.count(502) == dying.received  # ...each answered 502, not retried elsewhere
    assert len(alive.received) == 10 - dying.received  # so no message was processed twice
    assert set(statuses) == {200, 502}


def test_a_get_is_retried_elsewhere_as_it_changes_nothing(replicas):
    dying, alive = DiesMidRequest(), replicas[0]
    try:
        with nginx([Upstream(dying.port), Upstream(alive.port)], [Upstream(alive.port)]) as (url, _):
            statuses = [httpx.get(f"{url}/", timeout=30).status_code for _ in range(4)]
    finally:
        dying.close()
    assert statuses == [200] * 4 and dying.received >= 1


def test_a_replica_taken_out_of_rotation_gets_nothing(replicas):
    out, kept = replicas
    with nginx([Upstream(out.port, down=True), Upstream(kept.port)], [Upstream(kept.port)]) as (url, _):
        for _ in range(6):
            assert post(url).json() == {"replica": "b"}
    assert out.received == []


def test_the_rasa_servers_are_told_the_visitors_address_and_never_what_the_visitor_wrote(replicas):
    alive = replicas[0]
    with nginx([Upstream(alive.port)], [Upstream(alive.port)]) as (url, _):
        post(url, headers={"X-Forwarded-For": "203.0.113.9"})
    [(_, headers, _)] = alive.received
    forwarded = headers["X-Forwarded-For"]
    assert forwarded == "127.0.0.1"  # nginx's own record of the peer, the visitor's header dropped
    # The Rasa servers of the cluster trust X-Forwarded-For from nginx's address only (TRUSTED_PROXIES).
    assert door.client_address(LOOPBACK, forwarded, door.parse_proxies(LOOPBACK)) == "127.0.0.1"


def test_a_body_over_16_kb_gets_the_rasa_servers_own_413_and_reaches_no_replica(replicas):
    alive = replicas[0]
    envelope = b'{"sender": "s", "message": "' + b'"}'
    with nginx([Upstream(alive.port)], [Upstream(alive.port)]) as (url, _):
        too_large = post(url, envelope[:-2] + b"a" * (door.MAX_BODY_BYTES - len(envelope) + 1) + envelope[-2:])
        at_the_limit = post(url, envelope[:-2] + b"a" * (door.MAX_BODY_BYTES - len(envelope)) + envelope[-2:])
    assert too_large.status_code == 413 and too_large.json() == {"error": door.TOO_LARGE}
    assert at_the_limit.status_code == 200
    assert [len(body) for _, _, body in alive.received] == [door.MAX_BODY_BYTES]


def test_action_calls_go_through_nginx_to_an_action_server_that_answers(replicas):
    rasa_side, actions_side = replicas
    with nginx([Upstream(rasa_side.port)], [Upstream(free_port()), Upstream(actions_side.port)]) as (_, actions):
        for _ in range(4):
            answer = httpx.post(f"{actions}/webhook", json={"next_action": "x"}, timeout=30)
            assert answer.json() == {"replica": "b"}
    assert len(actions_side.received) == 4 and rasa_side.received == []
