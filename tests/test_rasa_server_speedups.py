"""The Rasa server's speedups (channels/speedups.py): installed only by the entry point, only
on the Rasa they were written for, and called by Rasa's own code where Rasa's functions were.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import json
import logging
import re
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import aiohttp
import pytest
import rasa
import sqlalchemy as sa
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

from actions.privacy import log_masking
from channels import patching, privacy_patches, server, speedups, tracker_store
from channels.patching import Patch, RefusedPatches
from channels.tracker_store import SQLTrackerStore
from tests.conftest import ROOT
from tests.servers import ACTIONS_AUTH, HOST, action_server, free_port, rasa_server, say, texts

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
        self.headers: list[dict[str, str]] = []  # of each request
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keeps connections open, as the action server (Sanic) does

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                stub.client_ports.append(self.client_address[1])
                stub.headers.append(dict(self.headers))
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
        Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()  # quick to shut down
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


async def run_remote_action(
    url: str,
    tracker: DialogueStateTracker,
    domain: Domain,
    name: str = "action_answer_duration",
    times: int = 1,
    endpoint: EndpointConfig | None = None,
    pause: float = 0.0,
) -> list[list[Event]]:
    """RemoteAction.run, Rasa's own code for calling the action server, `times` times in this
    event loop (`pause` seconds apart), through `endpoint` (default: a plain one for `url`)."""
    endpoint = endpoint or EndpointConfig(url)
    action = RemoteAction(name, endpoint)
    results: list[list[Event]] = []
    try:
        for call in range(times):
            if call:
                await asyncio.sleep(pause)
            nlg = TemplatedNaturalLanguageGenerator(domain.responses)
            results.append(await action.run(CollectingOutputChannel(), nlg, tracker, domain))
        return results
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
    on, off = f"Rasa speedups: on ({len(speedups.PATCHES)} patches)", f"Rasa speedups: off ({speedups.SWITCH}=off)"
    logged = [record.getMessage() for record in caplog.records if record.name == "channels.speedups"]
    assert logged == [on if installed else off]


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


def test_a_refusal_says_nothing_was_changed_and_lists_each_problem_on_its_own_line(monkeypatch):
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(RefusedPatches) as refused:
        speedups.install()
    headline, *listed, how_to_switch_off = str(refused.value).splitlines()
    assert "nothing was changed" in headline
    assert listed == [f"- {problem}" for patch in speedups.PATCHES for problem in patching.problems(patch)]
    assert f"{speedups.SWITCH}=off" in how_to_switch_off


def test_install_refuses_a_value_that_is_not_a_function_and_says_what_it_is(monkeypatch):
    patch = speedups.KEPT_CONNECTIONS
    monkeypatch.setattr(patch.owner, patch.attribute, "not a function")
    with pytest.raises(RefusedPatches) as refused:
        speedups.install()
    _assert_refusal_names(refused.value, [patch])
    assert repr("not a function") in str(refused.value)


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


@contextlib.contextmanager
def bare_root_logger() -> Iterator[None]:
    """The root logger as in a new process (no handlers, so logging.basicConfig acts), with
    pytest's own handlers put back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers.clear()
    try:
        yield
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def test_the_entry_point_logs_the_speedups_line_as_rasa_logs_then_starts_rasa(monkeypatch, capsys):
    """Rasa sets up its logging only after parsing its arguments: the entry point's own INFO
    line must already reach the log, in the layout of Rasa's lines around it."""
    started: list[list[str]] = []
    monkeypatch.setattr("rasa.__main__.main", lambda: started.append(sys.argv[1:]))
    monkeypatch.setattr(sys, "argv", ["rasa", "run", "--enable-api"])
    monkeypatch.setenv(speedups.SWITCH, "off")
    try:
        with bare_root_logger():
            server.main()
    finally:  # what the entry point installs besides the speedups, so later tests find plain Rasa
        privacy_patches.uninstall()
        log_masking.uninstall()
    assert started == [["run", "--enable-api"]]
    layout = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO     channels\.speedups  - "
    logged = capsys.readouterr().err.splitlines()
    assert [line for line in logged if re.fullmatch(layout + r"Rasa speedups: off \(RASA_SPEEDUPS=off\)", line)]


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


def test_the_replacement_validates_as_rasas_own_does(calls):
    rasas = patching.rasa_function(speedups.RESPONSE_SCHEMA_CHECKED_ONCE)
    action = RemoteAction("action_answer_duration", EndpointConfig(f"http://{HOST}:9/webhook"))
    valid: dict[str, Any] = {"events": [{"event": "slot", "name": "program", "value": None}], "responses": []}
    assert action._validate_action_result(valid) is True and rasas(action, valid) is True
    for invalid in ({"events": [{"event": "slot"}], "responses": "not a list"}, {"events": "none"}):
        with pytest.raises(ValidationError) as ours:
            action._validate_action_result(invalid)
        with pytest.raises(ValidationError) as theirs:
            rasas(action, invalid)
        assert ours.value.message == theirs.value.message


def test_known_event_names_are_resolved_without_walking_rasas_event_classes_again(monkeypatch):
    """What this speedup is for: Rasa walks every Event subclass for each event read back.
    Here the first lookup fills a table, so later ones walk nothing, and only a name Rasa
    does not know either reaches Rasa's own lookup (for its default or its error)."""
    monkeypatch.setattr(speedups, "_event_classes", {})  # as in a server just started
    walks: list[type] = []

    def counted_walk(cls: type) -> Any:
        walks.append(cls)
        return all_subclasses(cls)

    monkeypatch.setattr(speedups, "all_subclasses", counted_walk)
    asked_rasa: list[str] = []
    rasas_own = vars(Event)["resolve_by_type"].__func__  # the staticmethod's function

    @functools.wraps(rasas_own)  # still Rasa's by name, so the speedup may replace it
    def counted_rasas_own(type_name: str, default: Any = None) -> Any:
        asked_rasa.append(type_name)
        return rasas_own(type_name, default)

    monkeypatch.setattr(Event, "resolve_by_type", staticmethod(counted_rasas_own))
    names = sorted({cls.type_name for cls in all_subclasses(Event)})
    speedups.install()
    try:
        for _ in range(3):
            assert [Event.resolve_by_type(name).type_name for name in names] == names
        assert Event.resolve_by_type("nope", SlotSet) is SlotSet
    finally:
        speedups.uninstall()
    assert len(walks) == 2  # the first lookup's, and the unknown name's
    assert asked_rasa == ["nope"]


def test_an_endpoint_with_basic_auth_sends_its_credentials_through_rasas_own_session(calls):
    answer: dict[str, Any] = {"events": [], "responses": []}
    with ActionServerStub(answer) as stub:
        endpoint = EndpointConfig(stub.url, basic_auth={"username": "rasa", "password": "secret"})
        asyncio.run(run_remote_action(stub.url, empty_tracker(), Domain.empty(), endpoint=endpoint))
    assert [h["Authorization"] for h in stub.headers] == [aiohttp.BasicAuth("rasa", "secret").encode()]


def test_each_endpoint_keeps_a_session_with_its_own_headers_and_rasas_timeout(calls):
    """As Rasa's model-server pull does, requests made on EndpointConfig.session itself."""
    rasas_session = patching.rasa_function(speedups.KEPT_CONNECTIONS)

    async def post_on_each_session(url: str) -> list[bool]:
        endpoints = [EndpointConfig(url, headers={"X-Endpoint": name}) for name in ("first", "second", "first")]
        same_timeout = []
        for endpoint in endpoints:
            async with endpoint.session() as session, session.post(url, json={}) as response:
                assert await response.json() == {}
            async with rasas_session(endpoint) as rasas:
                same_timeout.append(session.timeout == rasas.timeout)
        for endpoint in endpoints:
            async with endpoint.session() as session:
                await session.close()
        return same_timeout

    with ActionServerStub({}) as stub:
        assert asyncio.run(post_on_each_session(stub.url)) == [True, True, True]
    assert [h["X-Endpoint"] for h in stub.headers] == ["first", "second", "first"]
    assert len(set(stub.client_ports)) == 2  # one kept connection per endpoint's session


def test_a_connection_idle_longer_than_the_keepalive_is_not_reused(calls, monkeypatch):
    """The client drops idle connections before the action server (Sanic: 5 s) would."""
    monkeypatch.setattr(speedups, "KEEPALIVE_SECONDS", 0.05)
    answer: dict[str, Any] = {"events": [], "responses": []}
    with ActionServerStub(answer) as stub:
        asyncio.run(run_remote_action(stub.url, empty_tracker(), Domain.empty(), times=2, pause=0.3))
    assert len(set(stub.client_ports)) == 2


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


def _stored_rows(store: SQLTrackerStore) -> list[tuple[str, str | None]]:
    """(type, text or action name) of every stored event row, in the order stored."""
    with store.session_scope() as session:
        rows = session.query(store.SQLEvent).order_by(store.SQLEvent.id).all()
        return [(row.type_name, row.action_name or json.loads(row.data).get("text")) for row in rows]


def _said(tracker: DialogueStateTracker) -> list[str | None]:
    return [event.text for event in tracker.events if isinstance(event, UserUttered)]


def test_each_event_is_stored_once_across_turns_and_repeated_saves(store):
    added: list[Event] = [ActionExecuted("action_listen")]  # what get_or_create_tracker stores

    async def conversation() -> DialogueStateTracker:
        tracker = await store.get_or_create_tracker("visitor")
        for event in (ActionExecuted("action_session_start"), SessionStarted(), UserUttered("hi")):
            tracker.update(event)
            added.append(event)
        await store.save(tracker)
        for turn in range(3):
            tracker = await store.retrieve("visitor")
            for event in (ActionExecuted("action_answer_greet"), UserUttered(f"message {turn}")):
                tracker.update(event)
                added.append(event)
            await store.save(tracker)
            await store.save(tracker)  # a second save of the same tracker adds nothing
        return await store.retrieve("visitor")

    tracker = asyncio.run(conversation())
    assert _said(tracker) == ["hi", "message 0", "message 1", "message 2"]
    expected = [
        (event.type_name, getattr(event, "action_name", None) or getattr(event, "text", None)) for event in added
    ]
    assert _stored_rows(store) == expected


def test_the_whole_conversation_is_read_back_across_sessions(store):
    """Rasa reads the last session for a turn, and every session for an export or the API."""

    async def two_sessions() -> tuple[DialogueStateTracker, DialogueStateTracker]:
        tracker = await store.get_or_create_tracker("visitor")
        for said in ("in the first session", "in the second session"):
            for event in (ActionExecuted("action_session_start"), SessionStarted(), UserUttered(said)):
                tracker.update(event)
            await store.save(tracker)
            tracker = await store.retrieve("visitor")
        full = await store.retrieve_full_tracker("visitor")
        assert full is not None
        return tracker, full

    last_session, everything = asyncio.run(two_sessions())
    assert _said(last_session) == ["in the second session"]
    assert _said(everything) == ["in the first session", "in the second session"]


@contextlib.contextmanager
def counted_events(store: SQLTrackerStore) -> Iterator[list[str]]:
    """The SQL statements that count stored events, as the store runs them."""
    counts: list[str] = []

    def note(_connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "count(" in statement.lower():
            counts.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", note)
    try:
        yield counts
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", note)


async def _save_turn(store: SQLTrackerStore, tracker: DialogueStateTracker, text: str) -> None:
    tracker.update(UserUttered(text))
    await store.save(tracker)


def test_saving_a_turn_just_read_does_not_count_the_stored_events_again(store):
    """What the store is for: Rasa counts a conversation's stored events at every save,
    although the turn began by reading exactly those. A tracker not read first (or read by
    another server) is counted as Rasa does."""

    async def turns() -> tuple[list[str], list[str]]:
        await _save_turn(store, await store.get_or_create_tracker("visitor"), "hi")
        tracker = await store.retrieve("visitor")
        assert tracker is not None
        with counted_events(store) as after_reading:
            await _save_turn(store, tracker, "read, then saved")
        with counted_events(store) as not_read:
            await _save_turn(store, tracker, "saved again without reading")
        return after_reading, not_read

    after_reading, not_read = asyncio.run(turns())
    assert after_reading == [] and len(not_read) == 1
    assert _said(asyncio.run(store.retrieve("visitor"))) == ["hi", "read, then saved", "saved again without reading"]


def test_remembered_counts_are_bounded_and_the_oldest_is_forgotten_first(store, monkeypatch):
    monkeypatch.setattr(tracker_store, "MAX_REMEMBERED_COUNTS", 2)

    async def three_visitors() -> dict[str, int]:
        for visitor in ("first", "second", "third"):
            await _save_turn(store, await store.get_or_create_tracker(visitor), "hi")
        read = {visitor: await store.retrieve(visitor) for visitor in ("first", "second", "third")}
        counted = {}
        for visitor, tracker in read.items():
            with counted_events(store) as counts:
                await _save_turn(store, tracker, "again")
            counted[visitor] = len(counts)
        return counted

    assert asyncio.run(three_visitors()) == {"first": 1, "second": 0, "third": 0}


def test_one_sqlite_connection_is_kept_open_across_turns(store):
    """SQLAlchemy 1.4 would open and close one per session, checkpointing the log each time."""
    connections: list[object] = []
    sa.event.listen(store.engine, "connect", lambda connection, _record: connections.append(connection))

    async def turns() -> None:
        tracker = await store.get_or_create_tracker("visitor")
        for number in range(3):
            await _save_turn(store, tracker, f"message {number}")
            tracker = await store.retrieve("visitor")

    asyncio.run(turns())
    assert len(connections) == 1


def test_the_store_works_from_another_thread_than_the_one_that_opened_its_connection(store):
    asyncio.run(_save_turn(store, asyncio.run(store.get_or_create_tracker("visitor")), "hi"))
    with ThreadPoolExecutor(max_workers=1) as other_thread:
        tracker = other_thread.submit(asyncio.run, store.retrieve("visitor")).result()
    assert tracker is not None and _said(tracker) == ["hi"]


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
        endpoint = EndpointConfig(url, headers=ACTIONS_AUTH)  # as endpoints.yml configures it
        (events,) = asyncio.run(run_remote_action(url, tracker, DOMAIN, endpoint=endpoint))
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
