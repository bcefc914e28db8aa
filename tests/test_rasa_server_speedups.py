"""The Rasa server's speedups (channels/speedups.py): installed only by the entry point, only
on the Rasa they were written for, and called by Rasa's own code where Rasa's functions were.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest
import rasa
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from channels import patching, server, speedups
from channels.patching import Patch, RefusedPatches
from channels.tracker_store import SQLTrackerStore
from tests.conftest import ROOT
from tests.servers import HOST, action_server, free_port, rasa_server, say, texts

# Rasa's own functions, as the test session found them (importing `channels` must not change them).
RASAS_OWN = {patch: vars(patch.owner).get(patch.attribute) for patch in speedups.PATCHES}
DOMAIN = Domain.load(str(ROOT / "domain.yml"))


def rasa_untouched() -> bool:
    return all(vars(patch.owner).get(patch.attribute) is own for patch, own in RASAS_OWN.items())


@pytest.fixture(autouse=True)
def leaves_rasa_as_it_was() -> Iterator[None]:
    yield
    assert rasa_untouched(), "a test left Rasa patched"


def _count_calls(patch: Patch) -> list[tuple]:
    """Wraps the installed replacement, which still does the work, to record each call Rasa makes."""
    assert patching.is_installed(patch), f"{patch.target} is not the installed speedup"
    installed = vars(patch.owner)[patch.attribute]
    function = getattr(installed, "__func__", installed)
    calls: list[tuple] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return function(*args, **kwargs)

    setattr(patch.owner, patch.attribute, staticmethod(counting) if isinstance(installed, staticmethod) else counting)
    return calls


@pytest.fixture
def calls() -> Iterator[dict[Patch, list[tuple]]]:
    """The speedups installed as the entry point installs them, each counting Rasa's calls to it."""
    speedups.install()
    try:
        yield {patch: _count_calls(patch) for patch in speedups.PATCHES}
    finally:
        speedups.uninstall()


class ActionServerStub:
    """A real HTTP/1.1 server on loopback that answers every POST with `reply` and notes the
    client port of each request (one port per TCP connection)."""

    def __init__(self, reply: dict[str, Any]) -> None:
        self.client_ports: list[int] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps connections open, as the action server (Sanic) does

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                stub.client_ports.append(self.client_address[1])
                body = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self._server.server_port}/webhook"

    def __enter__(self) -> ActionServerStub:
        Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


async def run_remote_action(
    url: str, tracker: DialogueStateTracker, domain: Domain, name: str = "action_answer_duration", times: int = 1
) -> list[list[Event]]:
    """RemoteAction.run, Rasa's own code for calling the action server, `times` times in this event loop."""
    endpoint = EndpointConfig(url)
    action = RemoteAction(name, endpoint)
    try:
        return [
            await action.run(
                CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain
            )
            for _ in range(times)
        ]
    finally:
        async with endpoint.session() as session:  # the kept one, when installed: closed with its loop
            await session.close()


def empty_tracker() -> DialogueStateTracker:
    return DialogueStateTracker("visitor", [])


# Installing, refusing, switching off


def test_importing_what_rasa_loads_from_the_project_patches_nothing():
    for module in ("channels", "channels.visitor_rest", "channels.tracker_store", "channels.speedups"):
        importlib.import_module(module)
    assert all(patching.is_rasas_own(patch) for patch in speedups.PATCHES)


@pytest.mark.parametrize("switch, installed", [(None, True), ("on", True), ("OFF", False), ("off", False)])
def test_installed_unless_switched_off_and_logged_once_either_way(caplog, switch, installed):
    environ = {} if switch is None else {speedups.SWITCH: switch}
    caplog.set_level("INFO", logger="channels.speedups")
    try:
        assert speedups.install_as_configured(environ) is installed
        assert all(patching.is_installed(patch) for patch in speedups.PATCHES) is installed
        assert rasa_untouched() is not installed
    finally:
        speedups.uninstall()
    expected = f"Rasa speedups: on ({len(speedups.PATCHES)} patches)" if installed else "Rasa speedups: off"
    logged = [record.getMessage() for record in caplog.records if record.name == "channels.speedups"]
    assert len(logged) == 1 and logged[0].startswith(expected)


def test_a_switch_neither_on_nor_off_is_refused():
    with pytest.raises(RefusedPatches, match=f"{speedups.SWITCH} must be 'on' or 'off'"):
        speedups.install_as_configured({speedups.SWITCH: "fast"})
    assert rasa_untouched()


def _assert_refusal_names(refusal: RefusedPatches, patches: list[Patch]) -> None:
    message = str(refusal)
    for patch in patches:
        assert patch.purpose in message and patch.target in message
    assert f"{speedups.SWITCH}=off" in message


def test_install_refuses_another_rasa_version_and_changes_nothing(monkeypatch):
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(RefusedPatches) as refused:
        speedups.install()
    _assert_refusal_names(refused.value, list(speedups.PATCHES))
    assert f"written for Rasa {speedups.RASA_VERSION}, found Rasa 3.7.0" in str(refused.value)
    assert rasa_untouched()


@pytest.mark.parametrize("patch", speedups.PATCHES, ids=lambda patch: patch.attribute)
def test_install_refuses_when_a_replaced_function_is_gone_and_patches_no_other(monkeypatch, patch):
    monkeypatch.delattr(patch.owner, patch.attribute)
    with pytest.raises(RefusedPatches) as refused:
        speedups.install()
    _assert_refusal_names(refused.value, [patch])
    assert f"Rasa {rasa.__version__} has no {patch.owner.__qualname__}.{patch.attribute}" in str(refused.value)
    assert all(vars(p.owner)[p.attribute] is RASAS_OWN[p] for p in speedups.PATCHES if p is not patch)


@pytest.mark.parametrize("patch", speedups.PATCHES, ids=lambda patch: patch.attribute)
def test_install_refuses_a_function_that_is_no_longer_rasas(monkeypatch, patch):
    def someone_elses(*args: Any) -> None:
        return None

    monkeypatch.setattr(patch.owner, patch.attribute, someone_elses)
    with pytest.raises(RefusedPatches) as refused:
        speedups.install()
    _assert_refusal_names(refused.value, [patch])
    assert someone_elses.__qualname__ in str(refused.value)
    assert vars(patch.owner)[patch.attribute] is someone_elses
    assert all(vars(p.owner)[p.attribute] is RASAS_OWN[p] for p in speedups.PATCHES if p is not patch)


def test_installing_twice_keeps_rasas_functions_to_restore():
    speedups.install()
    try:
        speedups.install()  # already installed: nothing to check or change
        assert all(patching.is_installed(patch) for patch in speedups.PATCHES)
    finally:
        speedups.uninstall()
    assert rasa_untouched()


def test_the_entry_point_refuses_to_start_another_rasa(monkeypatch, capsys):
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    monkeypatch.setattr(sys, "argv", ["rasa", "--version"])  # were Rasa's CLI reached, it would print its version
    with pytest.raises(SystemExit) as stopped:
        server.main()
    assert "Cannot start Rasa" in str(stopped.value.code) and f"{speedups.SWITCH}=off" in str(stopped.value.code)
    assert "Rasa Version" not in capsys.readouterr().out
    assert rasa_untouched()


# Rasa's own code calls the replacements


def test_event_classes_are_found_by_name_as_rasa_finds_them(calls):
    rasas = patching.rasa_function(speedups.EVENT_CLASSES_BY_NAME)
    for type_name in {cls.type_name for cls in all_subclasses(Event)}:
        assert Event.resolve_by_type(type_name) is rasas(type_name)
    assert Event.resolve_by_type("topic") is None and Event.resolve_by_type("nope", SlotSet) is SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("nope")


def test_an_invalid_action_server_response_still_raises_rasas_validation_error(calls):
    invalid = {"events": [{"event": "slot"}], "responses": "not a list"}
    with (
        ActionServerStub(invalid) as stub,
        pytest.raises(ValidationError, match="Failed to validate Action server response"),
    ):
        asyncio.run(run_remote_action(stub.url, empty_tracker(), Domain.empty()))
    assert len(calls[speedups.RESPONSE_SCHEMA_CHECKED_ONCE]) == 1


def test_two_action_calls_share_one_tcp_connection(calls):
    answer: dict[str, Any] = {"events": [], "responses": []}
    with ActionServerStub(answer) as stub:
        asyncio.run(run_remote_action(stub.url, empty_tracker(), Domain.empty(), times=2))
    assert len(stub.client_ports) == 2 and len(set(stub.client_ports)) == 1
    assert len(calls[speedups.RESPONSE_SCHEMA_CHECKED_ONCE]) == 2

    speedups.uninstall()  # Rasa's own session: a new connection per call, which this test tells apart
    with ActionServerStub(answer) as stub:
        asyncio.run(run_remote_action(stub.url, empty_tracker(), Domain.empty(), times=2))
    assert len(set(stub.client_ports)) == 2


@pytest.fixture
def store(tmp_path) -> SQLTrackerStore:
    config = read_endpoint_config(str(ROOT / "endpoints.yml"), "tracker_store")
    config.kwargs["db"] = str(tmp_path / "conversations.sqlite3")
    created = TrackerStore.create(config, domain=DOMAIN)
    assert isinstance(created, SQLTrackerStore), "endpoints.yml must name an importable tracker store"
    return created


def test_events_read_back_from_the_sql_store_are_resolved_by_our_lookup(store, calls):
    events = [ActionExecuted("action_listen"), UserUttered("hi"), SlotSet("program", "x"), BotUttered("hello")]

    async def save_and_read_back() -> DialogueStateTracker:
        tracker = await store.get_or_create_tracker("visitor")
        for event in events:
            tracker.update(event)
        await store.save(tracker)
        calls[speedups.EVENT_CLASSES_BY_NAME].clear()
        found = await store.retrieve("visitor")
        assert found is not None
        return found

    read = asyncio.run(save_and_read_back())
    looked_up = [args[0] for args in calls[speedups.EVENT_CLASSES_BY_NAME]]
    assert [type(event) for event in list(read.events)[-len(events) :]] == [type(event) for event in events]
    assert sorted(looked_up) == sorted(event.type_name for event in read.events)


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


# Real servers


@pytest.mark.slow
def test_rasa_validates_the_action_servers_responses_with_the_installed_validator(tmp_path, calls, kb):
    program = kb.programs[0]
    tracker = DialogueStateTracker.from_events(
        "visitor",
        [
            ActionExecuted("action_listen"),
            UserUttered(f"how long is {program.name}?", intent={"name": "ask_duration", "confidence": 1.0}),
        ],
        slots=DOMAIN.slots,
    )
    with action_server(tmp_path) as url:
        (events,) = asyncio.run(run_remote_action(url, tracker, DOMAIN))
    said = " ".join(event.text or "" for event in events if isinstance(event, BotUttered))
    assert program.name in said and str(program.duration_months) in said
    assert len(calls[speedups.RESPONSE_SCHEMA_CHECKED_ONCE]) == 1
    looked_up = {args[0] for args in calls[speedups.EVENT_CLASSES_BY_NAME]}
    assert {event.type_name for event in events if not isinstance(event, BotUttered)} <= looked_up


@pytest.mark.slow
def test_rasa_through_the_entry_point_answers_alike_with_speedups_on_and_off(tmp_path, kb):
    program = kb.programs[0]
    conversation = [
        "hi",
        f"how long is {program.name}?",
        "is it online?",
        "which campuses have it?",
        "I'd like more info",
    ]
    replies, logs = {}, {}
    with action_server(tmp_path) as actions:
        for switch in ("on", "off"):
            workdir = tmp_path / switch
            workdir.mkdir()
            port = free_port()
            with rasa_server(workdir, actions, port=port, RASA_SPEEDUPS=switch) as url:
                replies[switch] = [texts(say(url, "visitor", message)) for message in conversation]
            logs[switch] = (workdir / f"rasa-{port}.log").read_text()
    assert logs["on"].count("Rasa speedups: ") == 1
    assert f"Rasa speedups: on ({len(speedups.PATCHES)} patches)" in logs["on"]
    assert logs["off"].count("Rasa speedups: ") == 1 and "Rasa speedups: off" in logs["off"]
    assert all(replies["off"]) and replies["off"] == replies["on"]
    assert program.name in replies["off"][1] and str(program.duration_months) in replies["off"][1]
