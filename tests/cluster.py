"""A small cluster (deploy/cluster.py) for tests, and what they read back from its stores."""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import sqlalchemy as sa

from deploy.cluster import Cluster, Settings
from tests.servers import HOST, LOOPBACK_LIMITS, MODEL, free_port

# Every test visitor comes from 127.0.0.1: the per-address limits would take them for a flood.
CLUSTER_TEST_ENV = {**LOOPBACK_LIMITS, "LEADS_PER_ADDRESS_PER_HOUR": "100000"}


def cluster_settings(state: Path, rasa_replicas: int = 2, actions_replicas: int = 2, web: bool = False) -> Settings:
    """A cluster on free loopback ports, its secrets and data under `state`, never the project's runtime/."""
    rasa_port, web_port = free_port(), free_port()
    return Settings(
        host=HOST,
        rasa_port=rasa_port,
        actions_port=free_port(),
        web_port=web_port,
        allowed_origins=(f"http://{HOST}:{web_port}",),
        assistant_url=f"http://{HOST}:{rasa_port}",
        rasa_replicas=rasa_replicas,
        actions_replicas=actions_replicas,
        model=MODEL,
        runtime=state,
        state=state / "cluster",
        web=web,
    )


@contextlib.contextmanager
def running_cluster(
    rasa_replicas: int = 2,
    actions_replicas: int = 2,
    web: bool = False,
    env: Mapping[str, str] | None = None,
    logs: Path | None = None,
) -> Iterator[Cluster]:
    """A started cluster, stopped and removed afterwards (its servers' logs copied to `logs`
    first, when given). Its folder is not pytest's (private to root): PostgreSQL runs as the
    postgres user there."""
    state = Path(tempfile.mkdtemp(prefix="cluster-"))
    state.chmod(0o755)
    settings = cluster_settings(state, rasa_replicas, actions_replicas, web)
    try:
        with Cluster(settings, env={**CLUSTER_TEST_ENV, **(env or {})}) as cluster:
            yield cluster
    finally:
        if logs is not None:
            shutil.copytree(settings.state / "logs", logs, dirs_exist_ok=True)
        shutil.rmtree(state, ignore_errors=True)


def stored_events(database_url: str, sender: str) -> list[dict]:
    """A conversation's events as the Rasa servers stored them in PostgreSQL, in order."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"), {"sender": sender}
            ).all()
    finally:
        engine.dispose()
    return [json.loads(row.data) for row in rows]


def user_texts(events: list[dict]) -> list[str]:
    """What the visitor said, once per stored message (a message processed twice appears twice)."""
    return [event.get("text") or "" for event in events if event.get("event") == "user"]
