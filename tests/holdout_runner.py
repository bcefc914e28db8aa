"""Play the held-out conversations against a running assistant and say how many turns were right.

    .venv/bin/python -m tests.holdout_runner                      # against `make run` (127.0.0.1:5005)
    .venv/bin/python -m tests.holdout_runner --url http://127.0.0.1:5005/webhooks/rest/webhook

Each conversation is a new visitor (a fresh, random sender), spoken to over the REST webhook as
the widget does. Every turn is judged by the checks its line in tests/conversations_holdout.yml
states (tests/holdout_checks.py), whatever came before it. The report gives the share of turns
right overall and per category, then each miss: the turn, what was expected, what was said.
The exit status is 0 when the share reaches --min-share (issue 11's 95%), else 1.

A visitor's messages go at a person's pace only when the server asks for it: a 429 is waited
out (its Retry-After) and the message sent again, so `make run`'s rate limits do not count as
misses. Conversations that open the inquiry form are left before it is sent: no lead is stored.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from actions.knowledge import load_knowledge
from actions.knowledge.loader import DEFAULT_DIR
from tests.holdout_checks import Checker, Reply
from tests.holdout_file import (
    CATEGORIES,
    HOLDOUT_FILE,
    HoldoutFile,
    HoldoutFileError,
    PlayedTurn,
    load_holdout,
    turns,
)
from tests.replies import PROJECT_DOMAIN, load_replies

REQUIRED_SHARE = 0.95  # issue 11: the held-out conversations' gate
DEFAULT_URL = f"http://127.0.0.1:{os.environ.get('RASA_PORT', '5005')}/webhooks/rest/webhook"
MAX_WAIT_SECONDS = 60.0  # the longest Retry-After waited out before giving up on the run
# Sends one message of one conversation; returns the webhook's list of messages.
Send = Callable[[str, str], list[dict[str, Any]]]


@dataclass(frozen=True)
class Result:
    turn: PlayedTurn
    reply: Reply
    failures: tuple[str, ...]

    @property
    def right(self) -> bool:
        return not self.failures


def rest_sender(url: str, client: httpx.Client) -> Send:
    """POST to the REST webhook, waiting out a 429 as a visitor would."""

    def send(sender: str, text: str) -> list[dict[str, Any]]:
        while True:
            response = client.post(url, json={"sender": sender, "message": text}, timeout=60)
            if response.status_code != 429:
                response.raise_for_status()
                return list(response.json())
            wait = float(response.headers.get("Retry-After") or 1)
            if wait > MAX_WAIT_SECONDS:
                raise RuntimeError(f"the server asks to wait {wait:.0f}s before the next message")
            time.sleep(max(wait, 0.5))

    return send


def play(send: Send, holdout: HoldoutFile, checker: Checker) -> list[Result]:
    """Every turn of every conversation, each conversation from a new visitor."""
    results: list[Result] = []
    senders: dict[str, str] = {}
    for conversation, turn in turns(holdout):
        sender = senders.setdefault(conversation.id, f"holdout-{conversation.id}-{uuid.uuid4().hex}")
        reply = Reply.from_messages(send(sender, turn.say))
        failures = checker.turn_failures(turn.expect, turn.then, reply)
        results.append(Result(turn, reply, tuple(failures)))
    return results


@dataclass(frozen=True)
class Report:
    results: Sequence[Result]

    @property
    def share(self) -> float:
        return share(self.results)

    def by_category(self) -> dict[str, tuple[int, int]]:
        """category -> (right, turns), in the issue's order."""
        total = Counter(r.turn.category for r in self.results)
        right = Counter(r.turn.category for r in self.results if r.right)
        return {c: (right[c], total[c]) for c in CATEGORIES if total[c]}

    def summary(self) -> list[str]:
        right = sum(r.right for r in self.results)
        lines = [f"held-out conversations: {right}/{len(self.results)} turns right ({self.share:.1%})"]
        lines += [f"  {c:<15} {r:>3}/{n:<3} {r / n:6.1%}" for c, (r, n) in self.by_category().items()]
        return lines

    def misses(self) -> list[str]:
        lines: list[str] = []
        for result in self.results:
            if result.right:
                continue
            turn = result.turn
            lines.append(f"MISS {turn.conversation} turn {turn.index} [{turn.category}]: {turn.say!r}")
            lines.append(f"  expected: {turn.expect}" + (f" then {turn.then}" if turn.then else ""))
            lines += [f"  wrong:    {failure}" for failure in result.failures]
            lines.append(f"  got:      {result.reply.text!r}")
        return lines

    def transcript(self) -> list[str]:
        """Every turn, right or not, with what was said: to review what counts as right."""
        lines: list[str] = []
        for result in self.results:
            turn = result.turn
            lines.append(
                f"{'ok  ' if result.right else 'MISS'} {turn.conversation} turn {turn.index} [{turn.category}]"
            )
            lines.append(f"  visitor:  {turn.say!r}")
            lines.append(f"  expected: {turn.expect}" + (f" then {turn.then}" if turn.then else ""))
            lines += [f"  wrong:    {failure}" for failure in result.failures]
            lines.append(f"  got:      {result.reply.text!r}")
        return lines

    def text(self) -> str:
        return "\n".join([*self.summary(), *self.misses()])


def share(results: Sequence[Result]) -> float:
    return sum(r.right for r in results) / len(results) if results else 0.0


def run(url: str, checker: Checker, path: Path = HOLDOUT_FILE) -> Report:
    holdout = load_holdout(checker, path)
    with httpx.Client() as client:
        return Report(play(rest_sender(url, client), holdout, checker))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.holdout_runner", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help=f"the REST webhook (default {DEFAULT_URL})")
    parser.add_argument("--file", type=Path, default=HOLDOUT_FILE, help="the conversations")
    parser.add_argument("--knowledge", type=Path, default=DEFAULT_DIR, help="the knowledge/ the server reads")
    parser.add_argument("--domain", type=Path, default=PROJECT_DOMAIN, help="the domain the model was trained on")
    parser.add_argument("--min-share", type=float, default=REQUIRED_SHARE, help="exit 1 under this share")
    parser.add_argument("--show-all", action="store_true", help="print every turn, not only the misses")
    args = parser.parse_args(argv)
    checker = Checker(load_knowledge(args.knowledge), load_replies(args.domain.resolve()))
    try:
        report = run(args.url, checker, args.file)
    except HoldoutFileError as error:
        print(error, file=sys.stderr)
        return 2
    except httpx.TransportError as error:
        print(f"cannot reach {args.url} ({error}); start the assistant with `make run`", file=sys.stderr)
        return 2
    print("\n".join(report.summary() + (report.transcript() if args.show_all else report.misses())))
    return 0 if report.share >= args.min_share else 1


if __name__ == "__main__":
    sys.exit(main())
