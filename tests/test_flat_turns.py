"""Flat per-turn cost changes nothing that is computed (channels/state_window.py through the
STATES_WINDOW speedup, channels/tracker_cache.py in the tracker store).

The trained model runs in this process with the speedups installed, on a real SQLite tracker
store and the real action server, over the project's test stories (their visitors' messages),
the benchmark's conversations and one long conversation. At every prediction, MemoizationPolicy
and RulePolicy predict twice on the same tracker: from the windowed states and from Rasa's own
`_prediction_states`; the two predictions must be equal. After every turn the tracker the store
hands out must be what Rasa's own read of the store gives. Every call to the action server is
also made with Rasa's own request (every event of the session): the action server's answers
must be the same (but for a new lead's random id).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from rasa.core import tracker_store as rasa_stores
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.tracker_store import TrackerStore
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from actions.knowledge import load_knowledge
from bench.turns import script
from channels import patching, speedups
from channels.tracker_store import SQLTrackerStore
from tests.conftest import ROOT
from tests.conversations import Scripts
from tests.replies import load_replies
from tests.servers import ACTIONS_AUTH, MODEL, action_server
from tests.test_tracker_cache import same_tracker

pytestmark = pytest.mark.slow

LONG_CONVERSATION_TURNS = 160
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


def story_messages(path: Path) -> list[list[str]]:
    """Each test story's visitor messages, without the entity annotations."""
    stories = yaml.safe_load(path.read_text())["stories"]
    return [
        [ANNOTATION.sub(r"\1", step["user"]).strip() for step in story["steps"] if "user" in step] for story in stories
    ]


def conversations() -> list[list[str]]:
    scripts = Scripts(load_knowledge(), load_replies())
    return [
        *story_messages(ROOT / "tests" / "test_stories.yml"),
        *story_messages(ROOT / "tests" / "test_form_stories.yml"),
        *[[message for message, _ in conversation] for conversation in scripts.admissions(repeat=None)],
        [message for message, _ in script(LONG_CONVERSATION_TURNS)],
    ]


class Comparisons:
    def __init__(self) -> None:
        self.count = 0
        self.differences: list[str] = []


@pytest.fixture
def compared(monkeypatch) -> Iterator[Comparisons]:
    """Each policy's prediction, checked against the one from Rasa's own states."""
    speedups.install()
    comparisons = Comparisons()
    windowed = vars(Policy)["_prediction_states"]
    rasas = patching.rasa_function(speedups.STATES_WINDOW)

    def checking(predict: Callable[..., PolicyPrediction]) -> Callable[..., PolicyPrediction]:
        def both(self: Policy, tracker: Any, domain: Any, **kwargs: Any) -> PolicyPrediction:
            ours = predict(self, tracker, domain, **kwargs)
            Policy._prediction_states = rasas
            try:
                theirs = predict(self, tracker, domain, **kwargs)
            finally:
                Policy._prediction_states = windowed
            comparisons.count += 1
            if ours != theirs:
                comparisons.differences.append(
                    f"{type(self).__name__} in {tracker.sender_id} after {len(tracker.events)} events: "
                    f"{ours.max_confidence_index} vs {theirs.max_confidence_index}, {ours.events} vs {theirs.events}"
                )
            return ours

        return both

    for policy in (MemoizationPolicy, RulePolicy):
        monkeypatch.setattr(
            policy, "predict_action_probabilities", checking(vars(policy)["predict_action_probabilities"])
        )
    try:
        yield comparisons
    finally:
        monkeypatch.undo()  # the wrappers first, so Rasa's own functions are what is put back
        speedups.uninstall()


def without_random_ids(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer without what differs between two calls: a new lead's id, a consent's time."""

    def steady(event: dict[str, Any]) -> dict[str, Any]:
        value = event.get("value")
        if event.get("event") != "slot":
            return event
        if event.get("name") == "lead_id":
            return {**event, "value": "<id>"}
        if isinstance(value, dict) and "at" in value:
            return {**event, "value": {**value, "at": "<time>"}}
        return event

    return {**answer, "events": [steady(event) for event in answer.get("events", [])]}


def check_action_calls(monkeypatch: pytest.MonkeyPatch, action_url: str) -> list[str]:
    """Each action call also made with Rasa's request; the differing answers, by action."""
    differences: list[str] = []
    ours = vars(RemoteAction)["_action_call_format"]
    rasas = patching.rasa_function(speedups.LATEST_TURN_TO_ACTIONS)

    def both(self: RemoteAction, tracker: Any, domain: Any) -> dict[str, Any]:
        body = ours(self, tracker, domain)
        if self.name() not in speedups.ACTIONS_READING_HISTORY:
            full = rasas(self, tracker, domain)
            assert len(full["tracker"]["events"]) >= len(body["tracker"]["events"])
            answers = [httpx.post(action_url, json=each, headers=ACTIONS_AUTH, timeout=30) for each in (body, full)]
            if [answer.status_code for answer in answers] != [200, 200] or without_random_ids(
                answers[0].json()
            ) != without_random_ids(answers[1].json()):
                differences.append(f"{self.name()} in {tracker.sender_id}: {[a.text for a in answers]}")
        return body

    monkeypatch.setattr(RemoteAction, "_action_call_format", both)
    return differences


def test_predictions_and_trackers_are_rasas_over_the_project_conversations(compared, tmp_path, monkeypatch):
    config = read_endpoint_config(str(ROOT / "endpoints.yml"), "tracker_store")
    config.kwargs["db"] = str(tmp_path / "conversations.sqlite3")
    store = TrackerStore.create(config)
    assert isinstance(store, SQLTrackerStore) and store._cache is not None
    with action_server(tmp_path) as action_url:
        action_differences = check_action_calls(monkeypatch, action_url)
        agent = Agent.load(
            str(MODEL), tracker_store=store, action_endpoint=EndpointConfig(action_url, headers=ACTIONS_AUTH)
        )
        walks_started = speedups._walks.started
        turns = 0
        reads_differing: list[str] = []

        async def talk() -> None:
            nonlocal turns
            for number, messages in enumerate(conversations()):
                sender = f"conversation-{number}"
                for message in messages:
                    await agent.handle_text(message, output_channel=CollectingOutputChannel(), sender_id=sender)
                    turns += 1
                    rasas = await rasa_stores.SQLTrackerStore._retrieve(store, sender, False)
                    if not same_tracker(await store.retrieve(sender), rasas):
                        reads_differing.append(f"{sender} after {message!r}")

        asyncio.run(talk())
    assert compared.differences == []
    assert reads_differing == []
    assert action_differences == []
    assert compared.count > 2 * turns  # both policies, several predictions a turn
    # The windows were built incrementally: new walks are the exception, not one per call.
    assert speedups._walks.started - walks_started < compared.count // 4
    assert store._cache.events > LONG_CONVERSATION_TURNS
