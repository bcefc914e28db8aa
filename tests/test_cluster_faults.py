"""Losing a replica: 50 visitors are mid-conversation and mid-form when one Rasa server (then,
in another cluster, one action server) is killed with SIGKILL, as a crash or an OOM kill ends
it. Every visitor's next message must be answered by the others, every form completed, each
message processed once, and exactly 50 leads saved. The figures go to the test summary."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
import pytest

from actions.knowledge import load_knowledge
from deploy.cluster import Cluster
from tests.cluster import running_cluster, stored_events, user_texts
from tests.conftest import MEASUREMENTS
from tests.conversations import HEALTH_IT, Conversation, Person, Scripts, answered
from tests.replies import load_replies
from tests.servers import exported_leads, say, texts

pytestmark = pytest.mark.slow

SCRIPTS = Scripts(load_knowledge(), load_replies())
VISITORS = 50
# Messages each visitor has sent when the replica is killed: a question, "I'd like more info",
# the name and the email; the phone, the program... and the confirmation come after.
KILL_AFTER = 4


def conversation(person: Person) -> Conversation:
    health_it = SCRIPTS.program(HEALTH_IT)
    return [
        ("can I study health IT online?", SCRIPTS.delivery(health_it)),
        *SCRIPTS.form(person, health_it, discussed=True),
    ]


@dataclass
class Visitor:
    person: Person
    sender: str = field(default_factory=lambda: f"fault-{uuid.uuid4()}")
    latencies: list[float] = field(default_factory=list)  # seconds per message, in order
    errors: list[str] = field(default_factory=list)

    @property
    def turns(self) -> Conversation:
        return conversation(self.person)

    def speak(self, webhook: str, first: int, last: int | None = None) -> None:
        """Says turns[first:last], each checked against its expected reply; stops at the first failure."""
        for message, expected in self.turns[first:last]:
            started = time.monotonic()
            try:
                reply = texts(say(webhook, self.sender, message))
            except httpx.HTTPError as error:
                self.errors.append(f"{type(error).__name__} at turn {len(self.latencies)}")
                return
            self.latencies.append(time.monotonic() - started)
            if not answered(reply, expected):
                self.errors.append(f"unexpected reply at turn {len(self.latencies)}: {reply[:200]!r}")
                return


def crowd() -> list[Visitor]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [
        Visitor(
            Person(
                f"Kim {letters[n // 26].upper()}{letters[n % 26]}ley",
                f"fault{n}@example.com",
                f"(423) 555-{n:04d}",
                f"+1423555{n:04d}",
            )
        )
        for n in range(VISITORS)
    ]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def survive(cluster: Cluster, kill: Callable[[], None], what: str) -> None:
    visitors = crowd()
    with ThreadPoolExecutor(max_workers=VISITORS) as pool:
        list(pool.map(lambda v: v.speak(cluster.webhook, 0, KILL_AFTER), visitors))
        assert [v.errors for v in visitors if v.errors] == []  # all mid-form, nothing lost yet
        before = [latency for v in visitors for latency in v.latencies]
        kill()  # between two messages of every visitor: none is being answered
        list(pool.map(lambda v: v.speak(cluster.webhook, KILL_AFTER), visitors))
    errors = [f"{v.sender}: {error}" for v in visitors for error in v.errors]
    first_after = [v.latencies[KILL_AFTER] for v in visitors if len(v.latencies) > KILL_AFTER]
    after = [latency for v in visitors for latency in v.latencies[KILL_AFTER:]]

    leads = [lead for lead in exported_leads(cluster.leads_url) if lead["conversation_id"].startswith("fault-")]
    by_visitor = {v.sender: v.person for v in visitors}
    twice = 0
    for v in visitors:
        said = user_texts(stored_events(cluster.leads_url, v.sender))
        twice += max(0, len(said) - len(v.turns))
    MEASUREMENTS.append(
        f"cluster: {what} killed (SIGKILL) with {VISITORS} visitors mid-form: {len(errors)} errors; "
        f"next message p95 {p95(first_after):.2f} s (before the kill: p95 {p95(before):.2f} s), "
        f"rest of the forms p95 {p95(after):.2f} s; {len(leads)} leads of {VISITORS}; "
        f"{twice} messages stored twice"
    )
    assert errors == []
    assert len(first_after) == VISITORS
    stored = sorted((lead["conversation_id"], lead["email"]) for lead in leads)
    assert stored == sorted((sender, person.email) for sender, person in by_visitor.items())  # 50, once each
    for v in visitors:
        said = user_texts(stored_events(cluster.leads_url, v.sender))
        assert len(said) == len(v.turns), v.sender  # each message processed once, none lost


def test_fifty_visitors_finish_their_forms_when_a_rasa_server_is_killed():
    with running_cluster() as cluster:
        survive(cluster, cluster.rasa[0].kill, "a Rasa server")
        assert not cluster.rasa[0].running() and cluster.rasa[1].running()


def test_fifty_visitors_finish_their_forms_when_an_action_server_is_killed():
    with running_cluster() as cluster:
        survive(cluster, cluster.actions[0].kill, "an action server")
        assert not cluster.actions[0].running() and cluster.actions[1].running()
