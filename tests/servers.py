"""Start the real action server and Rasa server on loopback for end-to-end tests."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

from tests.conversations import Expected, answered

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "admissions.tar.gz"
HOST = "127.0.0.1"
# The secret the test servers share, as `make run` generates one (actions/server_auth.py).
ACTIONS_TOKEN = "test-actions-token-0123456789abcdefghijklmnop"
ACTIONS_AUTH = {"Authorization": f"Bearer {ACTIONS_TOKEN}"}  # what the Rasa server sends with each call


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _wait_until_up(process: subprocess.Popen, url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"server not up after {timeout}s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def _process(args, url: str, log: Path, env: dict[str, str], timeout: float) -> Iterator[subprocess.Popen]:
    with log.open("w") as out:
        process = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=quiet_env(**env))
    try:
        _wait_until_up(process, url, log, timeout)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def action_server_process(
    workdir: Path,
    knowledge_dir: Path | None = None,
    leads_url: str | None = None,
    port: int | None = None,
    **extra_env: str,
) -> Iterator[tuple[subprocess.Popen, str]]:
    """Yields the process (so a test can kill it) and the action webhook URL.

    Leads go to `leads_url` (default: a file in workdir). A fixed `port` lets a test start
    the server again where the Rasa server expects it. Every visitor of a test comes from
    127.0.0.1, so the leads-per-address limit is lifted unless `extra_env` sets it.
    """
    port = port or free_port()
    # Retention and the expiry sweep act on the conversations of this workdir's Rasa server,
    # never on the project's runtime/ files.
    endpoints = workdir / "endpoints-actions.yml"
    endpoints.write_text(project_endpoints("http://unused/webhook", workdir / "conversations.sqlite3"))
    env = {
        "ACTIONS_HOST": HOST,
        "ACTIONS_TOKEN": ACTIONS_TOKEN,
        "LEADS_PER_ADDRESS_PER_HOUR": "100000",
        "LEADS_DATABASE_URL": leads_url or f"sqlite:///{workdir / 'leads.sqlite3'}",
        "ENDPOINTS_FILE": str(endpoints),
        **extra_env,
    }
    if knowledge_dir:
        env["KNOWLEDGE_DIR"] = str(knowledge_dir)
    args = [sys.executable, "-m", "actions", "--port", str(port)]
    with _process(
        args, f"http://{HOST}:{port}/health", workdir / f"actions-{port}-{time.monotonic_ns()}.log", env, 90
    ) as process:
        yield process, f"http://{HOST}:{port}/webhook"


@contextlib.contextmanager
def action_server(
    workdir: Path, knowledge_dir: Path | None = None, leads_url: str | None = None, **extra_env: str
) -> Iterator[str]:
    """Yields the action webhook URL. Leads go to `leads_url` (default: a file in workdir)."""
    with action_server_process(workdir, knowledge_dir, leads_url, None, **extra_env) as (_, url):
        yield url


@contextlib.contextmanager
def rasa_server(
    workdir: Path,
    action_url: str,
    model: Path = MODEL,
    port: int | None = None,
    cors_origins: Sequence[str] = (),
    **extra_env: str,
) -> Iterator[str]:
    """Yields the REST webhook URL of a Rasa server using the given action server.

    Conversations are stored in workdir/conversations.sqlite3, so a server started again on
    the same workdir continues them. Browsers from `cors_origins` may call it (as run.sh).
    """
    cors = ["--cors", *cors_origins] if cors_origins else []
    endpoints = project_endpoints(action_url, workdir / "conversations.sqlite3")
    with rasa_process(workdir, endpoints, model, port, extra_args=cors, env=extra_env) as (_, url):
        yield url


def action_call(
    action: str, sender: str, slots: Mapping[str, Any], metadata: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The body the Rasa server posts to run `action` for a conversation with these slots,
    the latest message carrying `metadata` (as a channel adds it)."""
    latest = {"text": "yes", "intent": {"name": "affirm", "confidence": 1.0}, "metadata": dict(metadata or {})}
    tracker = {
        "sender_id": sender,
        "slots": dict(slots),
        "latest_message": latest,
        "events": [{"event": "user", **latest, "parse_data": latest}],
        "active_loop": {},
        "latest_action_name": "inquiry_form",
    }
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())  # Rasa sends its domain with the call
    return {"next_action": action, "sender_id": sender, "tracker": tracker, "domain": domain, "version": "3.6.21"}


def project_endpoints(action_url: str, tracker_db: Path) -> str:
    """endpoints.yml as `make run` uses it, with this action server and tracker database."""
    text = (ROOT / "endpoints.yml").read_text()
    return text.replace("http://localhost:5055/webhook", action_url).replace(
        "runtime/conversations.sqlite3", str(tracker_db)
    )


# Every test speaks from 127.0.0.1, many conversations at a time and at machine speed: the
# door's rate limits (README "Limits") would refuse that as a flood. Tests of the limits set
# their own (tests/test_abuse_door.py); the turn cap and everything else stay as configured.
LOOPBACK_LIMITS = {"RATE_LIMIT_PER_CONVERSATION": "100000/minute", "RATE_LIMIT_PER_ADDRESS": "100000/minute"}


@contextlib.contextmanager
def rasa_process(
    workdir: Path,
    endpoints_yml: str,
    model: Path = MODEL,
    port: int | None = None,
    credentials: Path = ROOT / "credentials.yml",
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[tuple[subprocess.Popen, str]]:
    """A Rasa server with the given endpoints.yml text; yields the process and the REST webhook URL.

    Started as run.sh starts it, through the project's entry point (channels/server.py), so
    with the speedups unless `env` has RASA_SPEEDUPS=off, and with LOOPBACK_LIMITS unless `env`
    sets them. Its output goes to workdir/rasa-<port>.log.
    """
    port = port or free_port()
    endpoints = workdir / f"endpoints-{port}.yml"
    endpoints.write_text(endpoints_yml)
    args = [
        sys.executable,
        "-m",
        "channels.server",
        "run",
        "-m",
        str(model),
        "-i",
        HOST,
        "-p",
        str(port),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(credentials),
        *extra_args,
    ]
    server_env = {"ACTIONS_TOKEN": ACTIONS_TOKEN, **LOOPBACK_LIMITS, **(env or {})}  # endpoints.yml sends the token
    with _process(args, f"http://{HOST}:{port}/", workdir / f"rasa-{port}.log", server_env, 180) as process:
        yield process, f"http://{HOST}:{port}/webhooks/rest/webhook"


@contextlib.contextmanager
def web_server(
    workdir: Path, server_url: str, port: int | None = None, privacy_url: str | None = None
) -> Iterator[str]:
    """Yields the URL of the demo page, whose widget talks to the Rasa server at server_url."""
    port = port or free_port()
    args = [sys.executable, "-m", "web.serve", "--host", HOST, "--port", str(port), "--server-url", server_url]
    if privacy_url:
        args += ["--privacy-url", privacy_url]
    with _process(args, f"http://{HOST}:{port}/", workdir / f"web-{port}.log", {}, 60):
        yield f"http://{HOST}:{port}"


def server_url(webhook: str) -> str:
    """http://host:port of the Rasa server behind a REST webhook URL."""
    return webhook.split("/webhooks/", 1)[0]


def say(webhook: str, sender: str, text: str, **metadata) -> list:
    body: dict[str, Any] = {"sender": sender, "message": text}
    if metadata:
        body["metadata"] = metadata
    response = httpx.post(webhook, json=body, timeout=60)
    response.raise_for_status()
    return response.json()


def texts(replies: list) -> str:
    return "\n".join(r.get("text", "") for r in replies)


def converse(webhook: str, sender: str, turns: Iterable[tuple[str, str | Expected]], **metadata) -> None:
    """Say each message in turn; each reply must contain the words given with it (one of them, for several)."""
    for message, expected in turns:
        reply = texts(say(webhook, sender, message, **metadata))
        assert answered(reply, expected), f"after {message!r}: {reply}"


def _postgres_bin() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not candidates:
        raise RuntimeError("PostgreSQL server not installed: run `make setup` as root, or apt-get install postgresql")
    return candidates[-1].parent


class PostgresServer:
    """A throwaway PostgreSQL cluster on loopback that a test can stop and start again."""

    def __init__(self) -> None:
        binaries = _postgres_bin()
        # Its own folder: pytest's is private to root, and the server runs as another user.
        self.workdir = Path(tempfile.mkdtemp(prefix="leads-pg-"))
        self.workdir.chmod(0o755)
        self._data, sockets = self.workdir / "pgdata", self.workdir / "pgsock"
        sockets.mkdir(parents=True, exist_ok=True)
        # PostgreSQL refuses to run as root; CI runs as root, so run it as the postgres user.
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as_user:
            subprocess.run(["chown", "-R", "postgres", str(self.workdir)], check=True)
        port = free_port()
        self._pg_ctl = str(binaries / "pg_ctl")
        self._options = f"-c listen_addresses={HOST} -p {port} -k {sockets} -c fsync=off"
        self._run(str(binaries / "initdb"), "-D", str(self._data), "-U", "leads", "--auth=trust", "-E", "UTF8")
        self.start()
        self._run(str(binaries / "createdb"), "-h", HOST, "-p", str(port), "-U", "leads", "leads")
        self.url = f"postgresql://leads@{HOST}:{port}/leads"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as_user, *args], check=check, capture_output=True, text=True)

    def start(self) -> None:
        self._run(
            self._pg_ctl,
            "-D",
            str(self._data),
            "-o",
            self._options,
            "-l",
            str(self.workdir / "postgres.log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self._run(self._pg_ctl, "-D", str(self._data), "-m", "fast", "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server
    finally:
        server.remove()


class RedisServer:
    """A throwaway Redis (Debian's redis-server) on loopback, no persistence, that a test can kill."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("Redis server not installed: run `make setup` as root, or apt-get install redis-server")
        self.workdir = Path(tempfile.mkdtemp(prefix="redis-"))
        self.port = free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        log = self.workdir / "redis.log"
        self.process = subprocess.Popen(
            [
                binary,
                "--bind",
                HOST,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                "--logfile",
                str(log),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection((HOST, self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.remove()
                raise RuntimeError(f"redis-server did not start:\n{log.read_text() if log.exists() else ''}")
            time.sleep(0.1)

    def remove(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        yield server
    finally:
        server.remove()


def quiet_env(**extra: str) -> dict[str, str]:
    """The environment for Rasa and project commands, without libraries' deprecation noise."""
    return {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "PYTHONWARNINGS": "ignore::DeprecationWarning",
        **extra,
    }


def rasa_cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`rasa ...` run from the project folder, where config.yml's relative paths resolve."""
    return subprocess.run(
        [str(VENV_BIN / "rasa"), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=quiet_env()
    )


def failed_stories(model: Path, stories: str, out: Path, *options: str) -> str:
    """`rasa test core` on a stories file: empty when every story passes, else what failed."""
    result = rasa_cli(
        "test",
        "core",
        "-m",
        str(model),
        "--stories",
        stories,
        "--fail-on-prediction-errors",
        "--out",
        str(out),
        "--no-plot",
        *options,
    )
    if result.returncode == 0:
        return ""
    failed = out / "failed_test_stories.yml"
    return (result.stdout + result.stderr)[-3000:] + (failed.read_text()[:6000] if failed.exists() else "")


def leads_cli(leads_url: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m actions.leads ...` as staff run it."""
    env = quiet_env(LEADS_DATABASE_URL=leads_url)
    return subprocess.run(
        [sys.executable, "-m", "actions.leads", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def exported_leads(leads_url: str, conversation_id: str | None = None) -> list[dict]:
    """The leads `export --format jsonl` gives staff; only one conversation's when given."""
    result = leads_cli(leads_url, "export", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    leads = [json.loads(line) for line in result.stdout.splitlines()]
    return [lead for lead in leads if conversation_id in (None, lead["conversation_id"])]


def conversation_events(workdir: Path, sender: str) -> list[dict[str, Any]]:
    """The conversation as a test's Rasa server stored it in workdir (every session), oldest first."""
    engine = sa.create_engine(f"sqlite:///{workdir / 'conversations.sqlite3'}", future=True)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"), {"sender": sender}
        ).scalars()
        events = [json.loads(row) for row in rows]
    engine.dispose()
    return events
