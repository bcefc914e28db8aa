"""Simulated visitors: conversation scripts and a closed-loop load driver over the REST webhook.

A turn is one POST to the webhook and waiting for its reply. Each visitor runs whole
conversations back to back (a new sender each), and each level stops after a fixed number
of turns or a wall-clock cap, whichever comes first. A turn fails on an HTTP error, a
timeout, an empty reply, or a reply without the expected words.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from actions.knowledge import load_knowledge
from tests.conversations import Conversation, Expected, Scripts, Turn, answered
from tests.replies import load_replies

# Our assistant: knowledge questions, follow-ups that rely on context, and complete inquiries,
# expecting what knowledge/ and domain.yml say today. Every inquiry is the same person's, so
# after the first each updates the lead of the day (actions/inquiry/intake.py): either thanks.
ADMISSIONS: list[Conversation] = Scripts(load_knowledge(), load_replies()).admissions(repeat=None)

# `rasa init --no-prompt`'s assistant, on its own training messages; conversations of the
# same lengths as ours, cycling through its exchanges.
_INIT_EXCHANGES: list[Turn] = [
    ("hello", ("Hey! How are you?",)),
    ("I am very sad", ("Did that help you?",)),
    ("yes", ("Great, carry on!",)),
    ("are you a bot?", ("I am a bot, powered by Rasa.",)),
    ("great", ("Great, carry on!",)),
    ("goodbye", ("Bye",)),
]
BASELINE: list[Conversation] = [
    [turn for turn, _ in zip(itertools.cycle(_INIT_EXCHANGES), ours)] for ours in ADMISSIONS
]
# Every conversation here runs in the mix; the form is one in three conversations.
MIX = (0, 1, 2)


@dataclass
class LevelResult:
    concurrency: int
    latencies: list[float] = field(default_factory=list)  # seconds, successful or not
    errors: int = 0
    wrong_answers: int = 0
    conversations: int = 0
    seconds: float = 0.0
    first_failures: list[str] = field(default_factory=list)

    def add(self, other: LevelResult) -> None:
        """Fold in another round at the same concurrency."""
        self.latencies += other.latencies
        self.errors += other.errors
        self.wrong_answers += other.wrong_answers
        self.conversations += other.conversations
        self.seconds += other.seconds
        self.first_failures = (self.first_failures + other.first_failures)[:5]

    def fail(self, reason: str) -> None:
        self.errors += 1
        if len(self.first_failures) < 5:
            self.first_failures.append(reason)


def reply_text(replies: object) -> str:
    if not isinstance(replies, list):
        return ""
    return "\n".join(str(r.get("text") or r.get("image") or "") for r in replies if isinstance(r, dict))


class Visitor:
    """One simulated visitor: whole conversations back to back, a new sender for each.

    The visitor keeps its place between rounds, so a conversation interrupted when a round's
    budget runs out goes on in the next round.
    """

    def __init__(self, number: int, scripts: Sequence[Conversation]) -> None:
        self.number, self.scripts = number - 1, scripts
        self._next_conversation()

    def _next_conversation(self) -> None:
        self.number += 1
        self.script = self.scripts[MIX[self.number % len(MIX)]]
        self.sender, self.turn, self.started = f"bench-{uuid.uuid4()}", 0, False

    async def talk(self, client: httpx.AsyncClient, webhook: str, budget: _Budget, result: LevelResult) -> None:
        while budget.take():
            if not self.started:
                result.conversations += 1
                self.started = True
            message, expected = self.script[self.turn]
            if await self._say(client, webhook, message, expected, result):
                self.turn += 1
                if self.turn < len(self.script):
                    continue
            self._next_conversation()  # finished, or its state is unknown after a failure

    async def _say(
        self, client: httpx.AsyncClient, webhook: str, message: str, expected: Expected, result: LevelResult
    ) -> bool:
        started = time.perf_counter()
        try:
            response = await client.post(webhook, json={"sender": self.sender, "message": message})
            status, body = response.status_code, (response.json() if response.status_code == 200 else None)
        except (httpx.HTTPError, ValueError) as error:
            result.latencies.append(time.perf_counter() - started)
            result.fail(f"{message!r}: {type(error).__name__}")
            return False
        result.latencies.append(time.perf_counter() - started)
        text = reply_text(body)
        if status != 200 or not text:
            result.fail(f"{message!r}: HTTP {status}, reply {text[:80]!r}")
            return False
        if not answered(text, expected):
            result.wrong_answers += 1
            result.fail(f"{message!r}: expected {expected!r}, got {text[:120]!r}")
            return False
        return True


def crowd(size: int, scripts: Sequence[Conversation]) -> list[Visitor]:
    return [Visitor(number, scripts) for number in range(size)]


class _Budget:
    """At most `turns` turns, none started after the deadline."""

    def __init__(self, turns: int, seconds: float) -> None:
        self.left = turns
        self.deadline = time.monotonic() + seconds

    def take(self) -> bool:
        if self.left <= 0 or time.monotonic() > self.deadline:
            return False
        self.left -= 1
        return True


async def run_level(
    webhook: str, visitors: Sequence[Visitor], turns: int, seconds: float, timeout: float = 30.0
) -> LevelResult:
    """The visitors talk at once until `turns` turns are taken or `seconds` have passed."""
    result = LevelResult(len(visitors))
    limits = httpx.Limits(max_connections=len(visitors), max_keepalive_connections=len(visitors))
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        budget = _Budget(turns, seconds)
        started = time.perf_counter()
        await asyncio.gather(*(visitor.talk(client, webhook, budget, result) for visitor in visitors))
        result.seconds = time.perf_counter() - started
    return result


def first_answer(webhook: str, message: str, give_up_at: float) -> float | None:
    """Send one real message until it is answered; returns the time.monotonic() of the answer."""
    while time.monotonic() < give_up_at:
        try:
            response = httpx.post(
                webhook, json={"sender": f"bench-cold-{uuid.uuid4()}", "message": message}, timeout=30
            )
            if response.status_code == 200 and reply_text(response.json()):
                return time.monotonic()
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return None
