"""The cluster's two stores as child processes: Debian's PostgreSQL (conversations and leads,
kept between runs) and Debian's Redis (conversation locks and rate-limit counts, which only
matter while the servers run, so never written to disk).

Both listen on loopback only and require a password, generated once into the cluster's state
folder (readable by its owner only): the leads database holds visitors' contact details, and
the lock store decides which replica may answer a conversation.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

import psycopg2
import redis

from deploy.processes import Service
from deploy.render import DATABASE, LOOPBACK


class StoreSetupFailed(RuntimeError):
    """A store cannot be set up here; the message says what to do."""


def secret(path: Path, make: str = "hex") -> str:
    """The secret kept in `path`, made there (owner-only) on first use, as scripts/run.sh keeps its own."""
    if path.exists() and path.read_text().strip():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32) if make == "hex" else secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    return value


def _postgres_binaries() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not candidates:
        raise StoreSetupFailed("PostgreSQL is not installed: run `make setup` as root, or apt-get install postgresql")
    return candidates[-1].parent


def _server_user() -> str | None:
    """PostgreSQL refuses to run as root: then it runs as Debian's postgres user."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise StoreSetupFailed("running as root needs the postgres user (apt-get install postgresql)") from None
    return "postgres"


def _chown(path: Path, user: str | None) -> None:
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def postgres(state: Path, port: int, password: str, environ: Mapping[str, str]) -> Service:
    """PostgreSQL on loopback with its data in state/postgres/data (made on first use, then kept)."""
    binaries = _postgres_binaries()
    user = _server_user()
    home = state / "postgres"
    data = home / "data"
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    _chown(home, user)
    if not (data / "PG_VERSION").exists():
        _initdb(binaries, home, data, password, user)
    args = [
        str(binaries / "postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-c",
        f"listen_addresses={LOOPBACK}",
        "-c",
        "unix_socket_directories=",  # TCP on loopback only: no socket file to place or protect
    ]
    return Service(
        name="postgres",
        args=args,
        log=state / "logs" / "postgres.log",
        ready=lambda: _postgres_answers(port, password),
        env=dict(environ),
        cwd=home,  # readable by the server's user, whatever the launcher's folder
        user=user,
        port=port,
        stop_signal=signal.SIGINT,  # "fast" shutdown: sessions are ended, the data is safe
    )


def _initdb(binaries: Path, home: Path, data: Path, password: str, user: str | None) -> None:
    shutil.rmtree(data, ignore_errors=True)  # an earlier initdb that did not finish
    password_file = home / "initdb-password"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password + "\n")
    _chown(password_file, user)
    try:
        result = subprocess.run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                DATABASE,
                "--auth=scram-sha-256",
                f"--pwfile={password_file}",
                "-E",
                "UTF8",
            ],
            cwd=home,
            user=user,
            capture_output=True,
            text=True,
        )
    finally:
        password_file.unlink(missing_ok=True)
    if result.returncode != 0:
        raise StoreSetupFailed(f"initdb failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")


def _postgres_answers(port: int, password: str) -> bool:
    try:
        psycopg2.connect(
            host=LOOPBACK, port=port, user=DATABASE, password=password, dbname="postgres", connect_timeout=2
        ).close()
    except psycopg2.OperationalError:
        return False
    return True


def create_database(port: int, password: str) -> None:
    """The database of conversations and leads, on first start (Rasa and the lead store make their tables)."""
    connection = psycopg2.connect(host=LOOPBACK, port=port, user=DATABASE, password=password, dbname="postgres")
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        connection.close()


def redis_server(state: Path, port: int, password: str, environ: Mapping[str, str]) -> Service:
    """Redis on loopback, nothing saved to disk; its password is in its config file, not its command line."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise StoreSetupFailed("Redis is not installed: run `make setup` as root, or apt-get install redis-server")
    home = state / "redis"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "redis.conf"
    lines = [
        f"bind {LOOPBACK}",
        f"port {port}",
        f"requirepass {password}",
        'save ""',
        "appendonly no",
        f"dir {home}",
        "daemonize no",
        'logfile ""',
    ]
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
    return Service(
        name="redis",
        args=[binary, str(config)],
        log=state / "logs" / "redis.log",
        ready=lambda: _redis_answers(port, password),
        env=dict(environ),
        port=port,
    )


def _redis_answers(port: int, password: str) -> bool:
    client = redis.Redis(host=LOOPBACK, port=port, password=password, socket_connect_timeout=2, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
