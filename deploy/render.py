"""The cluster's configuration files: nginx's from deploy/nginx/admissions.conf, and the
endpoints file every Rasa and action server of the cluster reads, derived from the project's
endpoints.yml so that a change there (a new section, a header) reaches the cluster too.

Secrets never appear in either file: the endpoints file names them as ${VARIABLES}, which
Rasa and the action server fill from their environment.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from actions import action_server
from channels import door

TEMPLATES = Path(__file__).resolve().parent / "nginx"
PUBLIC_TEMPLATE, ACTIONS_TEMPLATE = TEMPLATES / "admissions.conf", TEMPLATES / "actions.conf"
LOOPBACK = "127.0.0.1"
DATABASE = "admissions"  # the PostgreSQL database and user of conversations and leads
LOCK_KEY_PREFIX = "admissions"
LOCK_DB, RATE_LIMIT_DB = 0, 1  # Redis databases: the lock store's, the rate limits'
DB_PASSWORD_ENV = "CLUSTER_DB_PASSWORD"
REDIS_PASSWORD_ENV = "CLUSTER_REDIS_PASSWORD"

# A replica that refused a connection gets no request for this long, then is tried again.
FAIL_TIMEOUT_SECONDS = 10
# How long a visitor's message may take (the action calls and database writes included).
RASA_READ_TIMEOUT_SECONDS = 120
# An action may take the action server's own response timeout, and a little more to arrive.
ACTIONS_READ_TIMEOUT_SECONDS = action_server.RESPONSE_TIMEOUT + 5


class _NginxTemplate(string.Template):
    delimiter = "%"  # nginx's own variables start with $


@dataclass(frozen=True)
class Upstream:
    """One replica as nginx sees it; `down` takes it out of rotation (a rolling upgrade)."""

    port: int
    down: bool = False

    def line(self) -> str:
        state = " down" if self.down else ""
        return f"        server {LOOPBACK}:{self.port} max_fails=1 fail_timeout={FAIL_TIMEOUT_SECONDS}s{state};"


def _head(state: Path, worker_user: str | None) -> dict[str, object]:
    return {
        "user_directive": f"user {worker_user};" if worker_user else "# (workers run as the user who started nginx)",
        "state": state,
    }


def _in_rotation(name: str, servers: Sequence[Upstream]) -> str:
    if not any(not server.down for server in servers):
        raise ValueError(f"nginx needs at least one {name} server in rotation")
    return "\n".join(server.line() for server in servers)


def nginx_config(
    *, state: Path, host: str, rasa_port: int, rasa: Sequence[Upstream], worker_user: str | None = None
) -> str:
    """deploy/nginx/admissions.conf filled in; ValueError when no Rasa server would be in rotation."""
    return _NginxTemplate(PUBLIC_TEMPLATE.read_text(encoding="utf-8")).substitute(
        _head(state, worker_user),
        host=f"[{host}]" if ":" in host else host,  # an IPv6 address is bracketed before its port
        rasa_port=rasa_port,
        rasa_servers=_in_rotation("Rasa", rasa),
        # nginx closes an idle upstream connection before the server does, never the other way round.
        rasa_upstream_keepalive=door.KEEP_ALIVE_TIMEOUT_SECONDS - 5,
        max_body=door.MAX_BODY_BYTES,
        read_timeout=door.READ_TIMEOUT_SECONDS,
        keepalive_timeout=door.KEEP_ALIVE_TIMEOUT_SECONDS,
        rasa_read_timeout=RASA_READ_TIMEOUT_SECONDS,
        too_large_body=json.dumps({"error": door.TOO_LARGE}),
    )


def actions_nginx_config(
    *, state: Path, actions_port: int, actions: Sequence[Upstream], worker_user: str | None = None
) -> str:
    """deploy/nginx/actions.conf filled in; ValueError when no action server would be in rotation."""
    return _NginxTemplate(ACTIONS_TEMPLATE.read_text(encoding="utf-8")).substitute(
        _head(state, worker_user),
        actions_port=actions_port,
        actions_servers=_in_rotation("action", actions),
        actions_upstream_keepalive=action_server.KEEP_ALIVE_TIMEOUT - 1,
        actions_max_body=action_server.REQUEST_MAX_SIZE,
        actions_read_timeout=ACTIONS_READ_TIMEOUT_SECONDS,
    )


def cluster_endpoints(project_endpoints: Path, *, actions_port: int, postgres_port: int, redis_port: int) -> str:
    """The project's endpoints.yml for the cluster: actions through nginx, conversations in
    PostgreSQL, the conversation locks in Redis."""
    config: dict[str, Any] = yaml.safe_load(project_endpoints.read_text(encoding="utf-8"))
    config["action_endpoint"]["url"] = f"http://{LOOPBACK}:{actions_port}/webhook"
    config["tracker_store"] = {
        "type": "channels.tracker_store.SQLTrackerStore",
        "dialect": "postgresql",
        "url": LOOPBACK,
        "port": postgres_port,
        "db": DATABASE,
        "username": DATABASE,
        "password": f"${{{DB_PASSWORD_ENV}}}",
    }
    # Not Rasa's own `type: redis`: it reads and writes a lock with a plain GET then SET, so two
    # replicas could process one conversation at once (channels/lock_store.py).
    config["lock_store"] = {
        "type": "channels.lock_store.AtomicRedisLockStore",
        "url": LOOPBACK,
        "port": redis_port,
        "db": LOCK_DB,
        "key_prefix": LOCK_KEY_PREFIX,
        "password": f"${{{REDIS_PASSWORD_ENV}}}",
    }
    header = (
        "# Written by deploy/cluster.py from endpoints.yml at every start: edit that file, not this one.\n"
        f"# ${{{DB_PASSWORD_ENV}}} and ${{{REDIS_PASSWORD_ENV}}} come from the environment (runtime/cluster/).\n"
    )
    return header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True)


def rate_limit_storage(redis_port: int, password: str) -> str:
    """RATE_LIMIT_STORAGE of every process: one count shared by all replicas (actions/rate_limits.py)."""
    return f"redis://:{password}@{LOOPBACK}:{redis_port}/{RATE_LIMIT_DB}"


def database_url(postgres_port: int, password: str) -> str:
    """LEADS_DATABASE_URL of the action servers (and staff's `python -m actions.leads`)."""
    return f"postgresql://{DATABASE}:{password}@{LOOPBACK}:{postgres_port}/{DATABASE}"
