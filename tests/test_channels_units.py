"""The Rasa server's channel code in quick, in-process tests (issue 15): what the slow server
suites show over loopback, checked here too so that the quick suite (and mutation testing,
which runs only it) notices when it breaks.

- the REST webhook (channels/visitor_rest.py) over ASGI, as tests/test_channel.py runs it:
  the session turn cap, a visitor who left, the exact 4xx reasons and log lines, and replies
  rendered for the channel Rasa renders the domain's responses for;
- the door's settings and address rules (channels/door.py) at their edges;
- the turn count (channels/turn_cap.py): on the store the agent really holds, session
  expiry at its edges, and one cheap query instead of a tracker load on SQL stores;
- the entry point's refusal of a malformed door setting, and the patch refusal's wording.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import ipaddress
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import rasa
import sqlalchemy as sa
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage, register
from rasa.core.tracker_store import InMemoryTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from channels import door, patching, privacy_patches, server, speedups
from channels.door import DoorSettings, client_address, parse_address, parse_proxies
from channels.tracker_store import SQLTrackerStore
from channels.turn_cap import visitor_messages_in_session
from channels.visitor_rest import MAX_MESSAGE_LENGTH, MAX_SENDER_LENGTH, VisitorRestInput, problem_with
from tests.conftest import DOMAIN
from tests.replies import Replies, load_replies

WEBHOOK = "/webhooks/rest/webhook"
SECRET = "00112233445566778899"
EXPIRY_MINUTES = 30  # domain.yml's session_expiration_time, checked below
Handler = Callable[[UserMessage], Awaitable[Any]]


# The REST webhook, in-process


class Visitor(Agent):
    """A Rasa Agent on a domain (the project's unless given), whose handling of a message is the
    test's (by default: one answer), and which records the messages it was given."""

    def __init__(
        self,
        handle: Handler | None = None,
        tracker_store: TrackerStore | None = None,
        domain: Domain | None = None,
    ) -> None:
        super().__init__(domain=domain or load_replies().domain, tracker_store=tracker_store)
        self._handle = handle
        self.handled: list[str] = []

    async def handle_message(self, message: UserMessage) -> Any:
        self.handled.append(message.text or "")
        if self._handle is not None:
            return await self._handle(message)
        await message.output_channel.send_text_message(message.sender_id, "an answer")
        return None


@contextlib.asynccontextmanager
async def webhook(agent: Agent | None, **env: str) -> AsyncIterator[httpx.AsyncClient]:
    """The channel registered on a Sanic app as the Rasa server registers it, over ASGI."""
    test_mode, Sanic.test_mode = Sanic.test_mode, True
    try:
        app = Sanic(f"channels-units-{uuid.uuid4().hex}", configure_logging=False)
        app.ctx.agent = agent
        register([VisitorRestInput(DoorSettings.from_env({"CLIENT_KEY_SECRET": SECRET, **env}))], app, "/webhooks/")
        await app._startup()
        transport = httpx.ASGITransport(app=app, client=("198.51.100.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://rasa.test") as client:
            yield client
    finally:
        Sanic.test_mode = test_mode


def post(agent: Agent | None, *bodies: dict[str, Any], **env: str) -> list[httpx.Response]:
    async def send() -> list[httpx.Response]:
        async with webhook(agent, **env) as client:
            return [await client.post(WEBHOOK, json=body) for body in bodies]

    return asyncio.run(send())


def session(sender: str, messages: int, started_ago: float, last_ago: float) -> DialogueStateTracker:
    """One session of `messages` visitor messages, begun `started_ago` seconds ago; its last
    event (the bot listening again) `last_ago` seconds ago."""
    now = time.time()
    start = now - started_ago
    events: list[Any] = [ActionExecuted("action_session_start", timestamp=start), SessionStarted(timestamp=start)]
    for i in range(messages):
        events += [UserUttered(f"question {i}", timestamp=start + 1 + i), ActionExecuted("action_listen")]
        events[-1].timestamp = start + 1.5 + i
    events[-1].timestamp = now - last_ago
    return DialogueStateTracker.from_events(sender, events)


def stored(tmp_path: Path, *trackers: DialogueStateTracker) -> SQLTrackerStore:
    """The project's conversation store (SQLite) holding these conversations."""
    store = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "conversations.sqlite3"))

    async def save() -> None:
        for tracker in trackers:
            await store.save(tracker)

    asyncio.run(save())
    return store


def channel_lines(caplog) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "channels.visitor_rest"]


def test_the_domain_expires_sessions_after_the_minutes_these_tests_assume(replies: Replies):
    assert replies.domain.session_config.session_expiration_time == EXPIRY_MINUTES


def test_at_the_turn_cap_the_visitor_is_offered_a_fresh_start_instead_of_an_answer(tmp_path, kb, replies, caplog):
    caplog.set_level(logging.INFO)
    store = stored(tmp_path, session("v-capped", 3, started_ago=600, last_ago=60))
    agent = Visitor(tracker_store=store)
    [response] = post(agent, {"sender": "v-capped", "message": "one more question"}, SESSION_TURN_CAP="3")
    assert response.status_code == 200
    [offer] = response.json()
    assert offer["recipient_id"] == "v-capped"
    assert offer["text"] in replies.variations("reply_session_turn_cap", phone=kb.admissions.phone)
    assert [(b["title"], b["payload"]) for b in offer["buttons"]] == [("Start a fresh conversation", "/session_start")]
    assert agent.handled == []  # not processed: the offer replaces the answer
    assert channel_lines(caplog) == [
        (logging.INFO, "conversation v-capped: session turn cap reached; offering a fresh start")
    ]


def test_one_message_under_the_turn_cap_is_answered(tmp_path):
    store = stored(tmp_path, session("v-under", 2, started_ago=600, last_ago=60))
    agent = Visitor(tracker_store=store)
    [response] = post(agent, {"sender": "v-under", "message": "next question"}, SESSION_TURN_CAP="3")
    assert response.json() == [{"recipient_id": "v-under", "text": "an answer"}]
    assert agent.handled == ["next question"]


def test_the_turn_cap_counts_the_senders_own_conversation_only(tmp_path):
    store = stored(tmp_path, session("v-busy", 5, started_ago=600, last_ago=60))
    agent = Visitor(tracker_store=store)
    [busy, other] = post(
        agent, {"sender": "v-busy", "message": "more"}, {"sender": "v-other", "message": "hi"}, SESSION_TURN_CAP="3"
    )
    assert "buttons" in busy.json()[0] and other.json() == [{"recipient_id": "v-other", "text": "an answer"}]
    assert agent.handled == ["hi"]


def test_a_capped_session_left_idle_past_the_domains_expiry_is_answered_as_a_new_one(tmp_path):
    idle = (EXPIRY_MINUTES + 5) * 60
    store = stored(tmp_path, session("v-back", 5, started_ago=idle + 600, last_ago=idle))
    agent = Visitor(tracker_store=store)
    [response] = post(agent, {"sender": "v-back", "message": "I'm back"}, SESSION_TURN_CAP="3")
    assert response.json() == [{"recipient_id": "v-back", "text": "an answer"}]


def test_a_reset_command_at_the_turn_cap_is_passed_on_to_rasa(tmp_path):
    store = stored(tmp_path, session("v-reset", 5, started_ago=600, last_ago=60))
    agent = Visitor(handle=lambda message: asyncio.sleep(0), tracker_store=store)
    [response] = post(agent, {"sender": "v-reset", "message": "/session_start"}, SESSION_TURN_CAP="3")
    assert response.json() == [] and agent.handled == ["/session_start"]


def test_a_visitor_who_left_before_the_reply_is_logged_by_conversation_id_only_and_gets_no_apology(caplog):
    async def left(message: UserMessage) -> None:
        raise asyncio.CancelledError

    typed = "call me on (706) 555-0199"
    [response] = post(Visitor(handle=left), {"sender": "v-left", "message": typed})
    assert response.status_code == 200 and response.json() == []
    assert channel_lines(caplog) == [(logging.WARNING, "conversation v-left: the visitor left before the reply")]
    assert "555-0199" not in caplog.text


def test_the_failure_and_apology_log_lines_name_the_conversation_and_nothing_typed(kb, replies, caplog):
    async def fails(message: UserMessage) -> None:
        raise RuntimeError("the action server could not be reached")

    [response] = post(Visitor(handle=fails), {"sender": "v-fail", "message": "my email is dana@example.com"})
    assert response.json()[0]["text"] in replies.variations("reply_service_trouble", phone=kb.admissions.phone)
    assert channel_lines(caplog) == [
        (logging.ERROR, "Handling a message in conversation v-fail failed"),
        (logging.ERROR, "No reply to a message in conversation v-fail; sending the apology"),
    ]


def test_the_apology_uses_the_domains_variation_for_the_channel_rasa_renders_responses_for(kb):
    """Rasa picks a response's variation by the output channel's name ("collector" for this
    webhook): a variation written for it applies to the channel's own replies as to Rasa's."""
    project = copy.deepcopy(DOMAIN)
    apology = project["responses"]["reply_service_trouble"]
    channel = CollectingOutputChannel.name()
    project["responses"]["reply_service_trouble"] = [
        *apology,
        {"text": "Webhook sorry; call {phone}.", "channel": channel},
        {"text": "Other channel sorry; call {phone}.", "channel": VisitorRestInput.name()},
    ]
    agent = Visitor(handle=lambda message: asyncio.sleep(0), domain=Domain.from_dict(project))
    [response] = post(agent, {"sender": "v-variation", "message": "hello"})
    assert response.json() == [{"recipient_id": "v-variation", "text": f"Webhook sorry; call {kb.admissions.phone}."}]


@pytest.mark.parametrize(
    "body, status, reason",
    [
        (b"[1]", 400, "the body must be a JSON object"),
        (b'{"sender": "v", "message": ["hi"]}', 400, "'message' must be a string"),
        (
            b'{"sender": "v", "message": "\\ud800"}',
            400,
            "'message' must be valid Unicode text (it holds a lone UTF-16 surrogate)",
        ),
        (b'{"sender": "v", "message": " "}', 400, "'message' is empty"),
        (b'{"sender": "v", "message": "hi", "metadata": [1]}', 400, "'metadata' must be an object"),
        (
            b'{"sender": " ", "message": "hi"}',
            400,
            f"'sender' must be a non-empty string of at most {MAX_SENDER_LENGTH} printable characters",
        ),
        (
            b'{"sender": "v", "message": "' + b"m" * (MAX_MESSAGE_LENGTH + 1) + b'"}',
            413,
            f"'message' is longer than {MAX_MESSAGE_LENGTH} characters",
        ),
    ],
)
def test_each_unusable_body_gets_its_reason_in_plain_words(body, status, reason):
    assert problem_with(body) == (status, reason)


# The door's settings and address rules at their edges


def test_trusted_proxies_may_be_written_with_stray_commas_and_networks_with_host_bits():
    assert parse_proxies(", 10.0.0.5,,10.1.2.3/16 ,") == (
        ipaddress.ip_network("10.0.0.5"),
        ipaddress.ip_network("10.1.0.0/16"),
    )


def test_a_bracketed_ipv6_address_a_proxy_recorded_counts_as_its_64_network():
    proxies = parse_proxies("10.0.0.5")
    assert parse_address(" [2001:db8:1:2::7] ") == ipaddress.ip_address("2001:db8:1:2::7")
    assert client_address("10.0.0.5", "[2001:db8:1:2::7]", proxies) == "2001:db8:1:2::/64"


def test_a_peer_that_is_no_ip_address_counts_as_itself():
    """A server behind a UNIX socket has no peer address: every request counts as that one."""
    assert client_address("unix:/run/rasa.sock", None, ()) == "unix:/run/rasa.sock"
    assert client_address("", "198.51.100.1", parse_proxies("10.0.0.5")) == ""


@pytest.mark.parametrize("secret", ["0123456789abcdef", "0123456789ABCDEF", "00112233445566778899aAbBcCdDeEfF"])
def test_a_client_key_secret_of_16_or_more_hex_digits_in_either_case_is_taken_as_written(secret):
    assert door.client_secret({"CLIENT_KEY_SECRET": f" {secret} "}) == secret.encode()


def test_a_turn_cap_of_one_message_is_allowed():
    assert door.turn_cap({"SESSION_TURN_CAP": "1"}) == 1
    assert door.turn_cap({"SESSION_TURN_CAP": " "}) == door.DEFAULT_TURN_CAP


def test_the_entry_point_refuses_a_malformed_door_setting_naming_it(monkeypatch):
    monkeypatch.setenv(speedups.SWITCH, "off")
    monkeypatch.setenv("SESSION_TURN_CAP", "lots")
    monkeypatch.setattr("sys.argv", ["rasa", "--version"])  # were Rasa's CLI reached, it would print its version
    try:
        with pytest.raises(SystemExit) as stopped:
            server.main()
    finally:
        privacy_patches.uninstall()  # installed before the settings are read
    assert (
        stopped.value.code
        == "Cannot start Rasa: SESSION_TURN_CAP must be a whole number of messages, at least 1, not 'lots'"
    )


def test_a_refused_patch_says_nothing_was_changed_first(monkeypatch):
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(patching.RefusedPatches) as refused:
        speedups.install()
    assert str(refused.value).startswith("Refusing to patch Rasa; nothing was changed:\n- ")
    assert all(patching.is_rasas_own(patch) for patch in speedups.PATCHES)


# The turn count


@contextlib.contextmanager
def statements(store: SQLTrackerStore) -> Iterator[list[str]]:
    """The SQL statements the store runs meanwhile."""
    ran: list[str] = []

    def record(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        ran.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield ran
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("wrapped", [True, False], ids=["as-the-agent-holds-it", "bare"])
def test_on_a_sql_store_the_count_is_read_without_loading_the_conversation(tmp_path, wrapped):
    store = stored(tmp_path, session("v-count", 4, started_ago=600, last_ago=60))
    held = Agent(domain=load_replies().domain, tracker_store=store).tracker_store if wrapped else store
    with statements(store) as ran:
        count = asyncio.run(visitor_messages_in_session(held, "v-count", EXPIRY_MINUTES))
    assert count == 4
    assert ran and not [statement for statement in ran if "events.data" in statement]  # no event read back


@pytest.fixture(params=["sqlite", "memory"])
def any_store(request, tmp_path: Path) -> Callable[..., TrackerStore]:
    def holding(*trackers: DialogueStateTracker) -> TrackerStore:
        if request.param == "sqlite":
            return stored(tmp_path, *trackers)
        memory = InMemoryTrackerStore(load_replies().domain)
        for tracker in trackers:
            asyncio.run(memory.save(tracker))
        return memory

    return holding


def count(store: TrackerStore, sender: str, expiry_minutes: float) -> int:
    return asyncio.run(visitor_messages_in_session(store, sender, expiry_minutes))


def test_a_long_conversation_still_going_is_one_session(any_store):
    """Begun hours ago, but the last event a minute ago: not idle, so nothing expired."""
    store = any_store(session("v-long", 6, started_ago=5 * 3600, last_ago=60))
    assert count(store, "v-long", EXPIRY_MINUTES) == 6


def test_a_session_expires_just_after_its_minutes_and_not_before(any_store):
    store = any_store(
        session("v-just-expired", 4, started_ago=7200, last_ago=EXPIRY_MINUTES * 60 + 20),
        session("v-not-yet", 4, started_ago=7200, last_ago=EXPIRY_MINUTES * 60 - 20),
        session("v-two-minutes", 4, started_ago=7200, last_ago=120),
    )
    assert count(store, "v-just-expired", EXPIRY_MINUTES) == 0
    assert count(store, "v-not-yet", EXPIRY_MINUTES) == 4
    assert count(store, "v-two-minutes", 1) == 0  # a one-minute expiry expires too


def test_a_message_stamped_with_the_session_start_belongs_to_that_session(tmp_path):
    """Rasa's SQL store reads a session from its `session_started` timestamp on, inclusive."""
    now = time.time() - 60
    tracker = DialogueStateTracker.from_events(
        "v-same-instant",
        [
            UserUttered("before", timestamp=now - 100),
            SessionStarted(timestamp=now),
            UserUttered("at the start", timestamp=now),
            UserUttered("after", timestamp=now + 1),
        ],
    )
    assert count(stored(tmp_path, tracker), "v-same-instant", EXPIRY_MINUTES) == 2
