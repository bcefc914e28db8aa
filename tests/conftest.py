"""Shared fixtures: the real knowledge base, and a way to run an action like Rasa does."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import rate_limits
from actions.knowledge import KnowledgeBase, load_knowledge
from actions.knowledge.loader import DEFAULT_DIR
from actions.language import KnowledgeMatcher
from actions.question_actions import ANSWER_ACTIONS
from channels import speedups
from tests.replies import Replies, load_replies
from tests.servers import ACTIONS_TOKEN

# endpoints.yml names ${ACTIONS_TOKEN}; Rasa's reader refuses the file without it, as `make run` sets it.
os.environ.setdefault("ACTIONS_TOKEN", ACTIONS_TOKEN)

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
PHONE = load_knowledge(DEFAULT_DIR).admissions.phone  # test_knowledge checks it against the article


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    """Each test counts its own messages and leads (the default storage is this process's memory)."""
    rate_limits.storage(None).reset()  # the storage every RateLimit without its own URI counts in


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_knowledge(DEFAULT_DIR)


@pytest.fixture(scope="session")
def replies() -> Replies:
    """The project's responses, filled by Rasa's own generator (see tests/replies.py)."""
    return load_replies()


@pytest.fixture(scope="session")
def matcher(kb: KnowledgeBase) -> KnowledgeMatcher:
    return KnowledgeMatcher(kb)


@pytest.fixture
def knowledge_copy(tmp_path: Path) -> Path:
    """A private copy of knowledge/ that a test may edit."""
    target = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_DIR, target)
    return target


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def tracker(
    text: str, intent: str, entities: list[dict[str, Any]] | None = None, slots: dict[str, Any] | None = None
) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or []}
    return Tracker("test-visitor", dict(slots or {}), message, [], False, None, {}, "action_listen")


def render(message: dict[str, Any]) -> str:
    """The text Rasa sends for an action's message: the domain response filled by Rasa's own
    generator, failing on any placeholder left unfilled.

    Deterministic: a response with several variations always gives its first (see Replies).
    """
    return load_replies().message_text(message)


class Turn:
    """What one action did: the rendered messages, their buttons, and the events."""

    def __init__(self, messages: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
        self.messages = messages
        self.texts = [render(m) for m in messages]
        self.text = "\n".join(self.texts)
        self.events = events
        self.buttons = [b for m in messages for b in m.get("buttons", [])]

    def slot(self, name: str) -> Any:
        values = [e["value"] for e in self.events if e.get("event") == "slot" and e["name"] == name]
        return values[-1] if values else "<unset>"


def run_action(
    topic: str, text: str, intent: str, *, entities=None, slots=None, kb: KnowledgeBase | None = None
) -> Turn:
    action = ANSWER_ACTIONS[topic](kb=kb) if kb else ANSWER_ACTIONS[topic]()
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker(text, intent, entities, slots), DOMAIN))
    return Turn(dispatcher.messages, events)


def wait_for(condition: Callable[[], bool], timeout: float, pause: float = 0.05) -> bool:
    """Poll until the condition holds (True) or the timeout passes (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(pause)
    return True


# Figures a test measured (e.g. the NLU held-out score), printed at the end of the run.
MEASUREMENTS: list[str] = []


def pytest_terminal_summary(terminalreporter) -> None:
    for line in MEASUREMENTS:
        terminalreporter.write_line(line)


@pytest.fixture
def with_speedups() -> Iterator[None]:
    """Rasa patched as the server runs it (channels/speedups.py); the patches are global, so
    Rasa's own functions are put back after the test."""
    speedups.install()
    try:
        yield
    finally:
        speedups.uninstall()


@pytest.fixture
def clock_west_of_utc() -> Iterator[None]:
    """The server's local time zone five hours behind UTC (Chattanooga in winter): every time
    must still be stored as UTC, which SQLite keeps as text without its offset."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "EST+05"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
