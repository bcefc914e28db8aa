"""Bursts of simultaneous messages for one conversation, sent alternately to two Rasa servers
that share a PostgreSQL tracker store and a Redis lock store, and what the stored tracker
says about them afterwards.

Used by tests/test_replicas.py with channels.lock_store.AtomicRedisLockStore; run on its own
it measures either lock store, Rasa's `type: redis` included (the "before" figure):
`python -m tests.replica_burst --lock-store rasa` (or `atomic`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml

from tests.servers import HOST, action_server, postgres_server, project_endpoints, rasa_process, redis_server

LOCK_STORES = {"atomic": "channels.lock_store.AtomicRedisLockStore", "rasa": "redis"}
# Questions answered from any point of a conversation; none starts the inquiry form.
QUESTIONS = (
    "how long is medical billing and coding?",
    "is it online?",
    "which campuses have health IT?",
    "what programs do you offer?",
    "how long are the programs?",
    "can I take health IT in Tulsa?",
)


def replica_endpoints(action_url: str, postgres_url: str, redis_port: int, lock_store: str) -> str:
    """endpoints.yml of every replica: the project's, with conversations on PostgreSQL and a
    Redis lock store (`lock_store`: a key of LOCK_STORES)."""
    endpoints = yaml.safe_load(project_endpoints(action_url, Path("unused")))
    url = sa.engine.make_url(postgres_url)
    endpoints["tracker_store"] = {
        "type": "channels.tracker_store.SQLTrackerStore",
        "dialect": "postgresql",
        "url": url.host,
        "port": url.port,
        "db": url.database,
        "username": url.username,
    }
    endpoints["lock_store"] = {
        "type": LOCK_STORES[lock_store],
        "url": HOST,
        "port": redis_port,
        "db": 0,
        "key_prefix": "admissions",
    }
    return yaml.safe_dump(endpoints, sort_keys=False)


@contextlib.contextmanager
def replicas(workdir: Path, lock_store: str, count: int = 2) -> Iterator[tuple[list[str], str]]:
    """`count` Rasa servers, one action server, PostgreSQL and Redis; yields the REST webhooks
    and the PostgreSQL URL."""
    with redis_server() as redis, postgres_server() as postgres, action_server(workdir) as actions:
        endpoints = replica_endpoints(actions, postgres.url, redis.port, lock_store)
        with contextlib.ExitStack() as servers:
            # One after the other: each creates the tables it needs if they are missing.
            webhooks = [servers.enter_context(rasa_process(workdir, endpoints))[1] for _ in range(count)]
            yield webhooks, postgres.url


@dataclass
class Reply:
    text: str
    status: int
    messages: list[dict[str, Any]]


async def burst(client: httpx.AsyncClient, webhooks: Sequence[str], sender: str, texts: Sequence[str]) -> list[Reply]:
    """Sends every text at once, the i-th to webhooks[i % len(webhooks)]."""

    async def send(index: int, text: str) -> Reply:
        response = await client.post(webhooks[index % len(webhooks)], json={"sender": sender, "message": text})
        return Reply(text, response.status_code, response.json() if response.status_code == 200 else [])

    return list(await asyncio.gather(*(send(index, text) for index, text in enumerate(texts))))


async def bursts(webhooks: Sequence[str], sender: str, count: int, size: int) -> list[Reply]:
    """`count` bursts of `size` distinct messages; each burst once the previous one is answered."""
    replies: list[Reply] = []
    limits = httpx.Limits(max_connections=size * 2, max_keepalive_connections=0)  # a connection per message
    async with httpx.AsyncClient(timeout=180, limits=limits) as client:
        for number in range(count):
            texts = [f"{QUESTIONS[i % len(QUESTIONS)]} ({number + 1}.{i + 1})" for i in range(size)]
            replies += await burst(client, webhooks, sender, texts)
    return replies


def stored_events(postgres_url: str, sender: str) -> list[dict[str, Any]]:
    """The conversation's events as stored, in the order they were written."""
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"), {"sender": sender}
            ).all()
    finally:
        engine.dispose()
    return [json.loads(row[0]) for row in rows]


@dataclass
class Outcome:
    """What the stored tracker shows of the messages sent; `sound` when nothing went wrong."""

    sent: int
    failed_requests: list[str] = field(default_factory=list)  # not answered 200 with a reply
    lost: list[str] = field(default_factory=list)  # sent, never stored
    duplicated: list[str] = field(default_factory=list)  # stored more than once
    broken_turns: list[str] = field(default_factory=list)  # not followed by exactly its answer and a listen
    stored_events: int = 0

    @property
    def sound(self) -> bool:
        return not (self.failed_requests or self.lost or self.duplicated or self.broken_turns)

    def summary(self) -> str:
        return (
            f"{self.sent} messages sent, {self.stored_events} events stored: {len(self.failed_requests)} requests "
            f"failed, {len(self.lost)} messages lost, {len(self.duplicated)} stored twice or more, "
            f"{len(self.broken_turns)} turns not followed by their own answer before the next message"
        )


def judge(replies: Sequence[Reply], events: Sequence[dict[str, Any]]) -> Outcome:
    """Each message must be stored once, followed by the bot messages its request was answered
    with and by action_listen, before the next visitor message."""
    outcome = Outcome(sent=len(replies), stored_events=len(events))
    answers = {reply.text: [m.get("text") for m in reply.messages] for reply in replies}
    outcome.failed_requests = [r.text for r in replies if r.status != 200 or not r.messages]
    starts = [i for i, event in enumerate(events) if event["event"] == "user"]
    stored = Counter(events[i].get("text") for i in starts)
    outcome.lost = [text for text in answers if stored[text] == 0]
    outcome.duplicated = [text for text in answers if stored[text] > 1]
    for start, end in zip(starts, [*starts[1:], len(events)], strict=True):
        text = events[start].get("text")
        turn = events[start + 1 : end]
        bot = [event.get("text") for event in turn if event["event"] == "bot"]
        listened = bool(turn) and turn[-1]["event"] == "action" and turn[-1].get("name") == "action_listen"
        if text not in answers or bot != answers[text] or not listened:
            outcome.broken_turns.append(str(text))
    return outcome


def measure(workdir: Path, lock_store: str, count: int = 10, size: int = 6, sender: str = "burst") -> Outcome:
    with replicas(workdir, lock_store) as (webhooks, postgres_url):
        replies = asyncio.run(bursts(webhooks, sender, count, size))
        return judge(replies, stored_events(postgres_url, sender))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lock-store", choices=sorted(LOCK_STORES), default="rasa")
    parser.add_argument("--bursts", type=int, default=10)
    parser.add_argument("--size", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="replica-burst-") as workdir:
        outcome = measure(Path(workdir), args.lock_store, args.bursts, args.size)
    print(f"lock store {LOCK_STORES[args.lock_store]}: {outcome.summary()}")
    for name in ("failed_requests", "lost", "duplicated", "broken_turns"):
        print(f"  {name}: {getattr(outcome, name)}")


if __name__ == "__main__":
    main()
