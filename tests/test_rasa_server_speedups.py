"""The Rasa server's speedups (channels/) compute what Rasa computes, only faster."""

from __future__ import annotations

import asyncio

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SessionStarted, SlotSet, UserUttered
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

import channels  # noqa: F401  (installs the speedups, as the Rasa server does)
from channels.tracker_store import SQLTrackerStore
from tests.conftest import ROOT


def test_action_responses_are_still_validated():
    action = RemoteAction("action_answer_duration", None)
    assert action._validate_action_result(
        {"events": [{"event": "slot", "name": "program", "value": "x"}], "responses": [{"text": "hi"}]}
    )
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": [{"event": "slot"}], "responses": "not a list"})


def test_event_classes_are_found_by_name_as_before():
    assert Event.resolve_by_type("user") is UserUttered and Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("topic") is None and Event.resolve_by_type("nope", SlotSet) is SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("nope")


def test_action_server_connections_are_kept_and_sessions_not_closed():
    async def two_sessions():
        endpoint = EndpointConfig("http://127.0.0.1:1/webhook")
        async with endpoint.session() as first:
            pass
        async with endpoint.session() as second:
            assert second is first and not first.closed
        await first.close()

    asyncio.run(two_sessions())


@pytest.fixture
def store(tmp_path) -> SQLTrackerStore:
    config = read_endpoint_config(str(ROOT / "endpoints.yml"), "tracker_store")
    config.kwargs["db"] = str(tmp_path / "conversations.sqlite3")
    created = TrackerStore.create(config, domain=Domain.load(str(ROOT / "domain.yml")))
    assert isinstance(created, SQLTrackerStore), "endpoints.yml must name an importable tracker store"
    return created


def test_sqlite_runs_in_wal_mode(store):
    with store.session_scope() as session:
        connection = session.connection()
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_each_event_is_stored_once_across_turns_and_repeated_saves(store):
    async def conversation():
        tracker = await store.get_or_create_tracker("visitor")
        for event in (
            ActionExecuted("action_session_start"),
            SessionStarted(),
            ActionExecuted("action_listen"),
            UserUttered("hi"),
        ):
            tracker.update(event)
        await store.save(tracker)
        for turn in range(3):
            tracker = await store.retrieve("visitor")
            tracker.update(ActionExecuted("action_answer_greet"))
            tracker.update(UserUttered(f"message {turn}"))
            await store.save(tracker)
            await store.save(tracker)  # a second save of the same tracker adds nothing
        return await store.retrieve("visitor")

    tracker = asyncio.run(conversation())
    with store.session_scope() as session:
        stored = [row.type_name for row in session.query(store.SQLEvent).order_by(store.SQLEvent.id)]
    texts = [e.text for e in tracker.events if isinstance(e, UserUttered)]
    assert texts == ["hi", "message 0", "message 1", "message 2"]
    assert stored.count("user") == 4 and stored.count("action") == len(stored) - 5  # + session_started
