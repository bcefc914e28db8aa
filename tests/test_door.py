"""The REST channel's door, in its pure parts and in-process: which address a request counts
against, what of its metadata is kept, the settings, the turn count, and the webhook's 413/429
answers (over ASGI, as tests/test_channel.py runs the channel; no model, no servers).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import ipaddress
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage, register
from rasa.core.tracker_store import InMemoryTrackerStore, SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from actions.rate_limits import RateLimit, parse_limit
from channels import door
from channels.door import DoorSettings, client_address, parse_proxies, visitor_metadata
from channels.turn_cap import visitor_messages_in_session
from channels.visitor_rest import VisitorRestInput
from tests.replies import load_replies

PROXIES = parse_proxies("10.0.0.5, 10.1.0.0/16")
WEBHOOK = "/webhooks/rest/webhook"


# Which address a request counts against


def test_without_a_trusted_proxy_the_socket_peer_counts_and_x_forwarded_for_is_ignored():
    assert client_address("203.0.113.7", "198.51.100.1", ()) == "203.0.113.7"
    assert client_address("203.0.113.7", "198.51.100.1", PROXIES) == "203.0.113.7"  # peer is no proxy of ours


def test_behind_a_trusted_proxy_the_address_it_recorded_counts():
    assert client_address("10.0.0.5", "198.51.100.1", PROXIES) == "198.51.100.1"
    # Two proxies of ours in a row: the first address neither of them is.
    assert client_address("10.0.0.5", "198.51.100.1, 10.1.3.4", PROXIES) == "198.51.100.1"


def test_what_a_visitor_writes_into_x_forwarded_for_themselves_is_never_used():
    # The visitor sent "X-Forwarded-For: 192.0.2.99"; the proxy appended the real address.
    assert client_address("10.0.0.5", "192.0.2.99, 198.51.100.1", PROXIES) == "198.51.100.1"
    assert client_address("10.0.0.5", "not-an-address, 198.51.100.1", PROXIES) == "198.51.100.1"


def test_a_proxy_that_recorded_nothing_usable_counts_as_the_client():
    assert client_address("10.0.0.5", None, PROXIES) == "10.0.0.5"
    assert client_address("10.0.0.5", "garbage", PROXIES) == "10.0.0.5"


def test_an_ipv6_client_counts_as_its_64_network_and_a_mapped_ipv4_as_ipv4():
    first = client_address("2001:db8:1:2:aaaa::1", None, ())
    assert first == client_address("2001:db8:1:2:ffff::9", None, ()) == "2001:db8:1:2::/64"
    assert first != client_address("2001:db8:1:3::1", None, ())
    assert client_address("::ffff:198.51.100.1", None, ()) == "198.51.100.1"


def test_trusted_proxies_that_are_not_addresses_are_refused_naming_the_setting():
    assert parse_proxies("") == ()
    assert parse_proxies("10.0.0.5 192.168.0.0/24") == (
        ipaddress.ip_network("10.0.0.5"),
        ipaddress.ip_network("192.168.0.0/24"),
    )
    with pytest.raises(ValueError, match=r"TRUSTED_PROXIES .* 'proxy\.local'"):
        parse_proxies("10.0.0.5, proxy.local")


# The client key and the metadata that is kept


def test_the_client_key_is_an_hmac_of_the_address_and_holds_no_address():
    key = door.client_key("198.51.100.1", b"0123456789abcdef")
    assert key == hmac.new(b"0123456789abcdef", b"198.51.100.1", hashlib.sha256).hexdigest()
    assert key == door.client_key("198.51.100.1", b"0123456789abcdef")
    assert key != door.client_key("198.51.100.1", b"fedcba9876543210")  # another secret, another key
    assert "198" not in key and len(key) == 64


@pytest.mark.parametrize("secret", ["abc", "0123456789abcde", "0123456789abcdefXYZ", "not hex at all, long enough"])
def test_a_client_key_secret_that_is_not_16_hex_digits_is_refused(secret):
    with pytest.raises(ValueError, match="CLIENT_KEY_SECRET must be at least 16 hexadecimal digits"):
        door.client_secret({"CLIENT_KEY_SECRET": secret})


def test_without_a_client_key_secret_each_process_makes_a_random_one():
    assert door.client_secret({"CLIENT_KEY_SECRET": "00112233445566778899"}) == b"00112233445566778899"
    made = door.client_secret({})
    assert len(made) == 64 and made != door.client_secret({})


def test_metadata_keeps_only_the_page_as_origin_and_path_and_the_channels_client():
    sent = {
        "page_url": "https://user:pw@college.example/programs?email=a@b.example#top",
        "client": "forged-by-the-visitor",
        "padding": "x" * 1000,
        "nested": {"a": 1},
    }
    assert visitor_metadata(sent, "k1") == {"page_url": "https://college.example/programs", "client": "k1"}


@pytest.mark.parametrize("page", ["javascript:alert(1)", "ftp://college.example/", "/relative", 42, None, ""])
def test_a_page_that_is_not_a_web_address_is_dropped(page):
    assert visitor_metadata({"page_url": page}, "k1") == {"client": "k1"}


def test_a_long_page_address_is_cut_to_512_characters_and_other_metadata_shapes_keep_only_the_client():
    kept = visitor_metadata({"page_url": "https://college.example/" + "p" * 2000}, "k1")
    assert len(kept["page_url"]) == door.MAX_PAGE_URL_LENGTH and kept["page_url"].startswith("https://college")
    assert visitor_metadata(None, "k1") == visitor_metadata(["page_url"], "k1") == {"client": "k1"}


# Settings


def test_the_settings_and_their_defaults():
    settings = DoorSettings.from_env({})
    assert str(settings.per_conversation.item) == str(parse_limit("x", "20/minute"))
    assert str(settings.per_address.item) == str(parse_limit("x", "240/minute"))
    assert (settings.proxies, settings.turn_cap) == ((), 100)
    custom = DoorSettings.from_env(
        {
            "RATE_LIMIT_PER_CONVERSATION": "5 per 10 seconds",
            "RATE_LIMIT_PER_ADDRESS": "50/hour",
            "TRUSTED_PROXIES": "10.0.0.5",
            "SESSION_TURN_CAP": "7",
            "CLIENT_KEY_SECRET": "00112233445566778899",
        }
    )
    assert (custom.per_conversation.item.amount, custom.per_conversation.item.get_expiry()) == (5, 10)
    assert (custom.per_address.item.amount, custom.per_address.item.get_expiry()) == (50, 3600)
    assert (custom.proxies, custom.turn_cap, custom.secret) == (PROXIES[:1], 7, b"00112233445566778899")


@pytest.mark.parametrize(
    "setting, value",
    [
        ("RATE_LIMIT_PER_CONVERSATION", "lots"),
        ("RATE_LIMIT_PER_ADDRESS", "-3/minute"),
        ("SESSION_TURN_CAP", "0"),
        ("SESSION_TURN_CAP", "ten"),
        ("TRUSTED_PROXIES", "*"),
    ],
)
def test_a_malformed_setting_is_refused_with_its_name(setting, value):
    with pytest.raises(ValueError, match=setting):
        DoorSettings.from_env({setting: value})


# Counting a session's messages


def conversation(sender: str, sessions: list[int], last_event_age: float = 0.0) -> DialogueStateTracker:
    """A tracker with one session per entry, each holding that many visitor messages."""
    start = time.time() - last_event_age - 1000
    events: list[Any] = []
    for messages in sessions:
        events += [ActionExecuted("action_session_start", timestamp=start), SessionStarted(timestamp=start + 0.1)]
        for _ in range(messages):
            start += 1
            events += [UserUttered("hi", timestamp=start), ActionExecuted("action_listen", timestamp=start + 0.5)]
        start += 2
    events[-1].timestamp = time.time() - last_event_age
    return DialogueStateTracker.from_events(sender, events)


@pytest.fixture(params=["sqlite", "memory"])
def store(request, tmp_path: Path):
    if request.param == "sqlite":
        return SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "conversations.sqlite3"))
    return InMemoryTrackerStore(None)


def test_only_the_current_sessions_messages_count(store):
    async def count() -> list[int]:
        await store.save(conversation("two-sessions", [7, 3]))
        await store.save(conversation("one-session", [5]))
        return [
            await visitor_messages_in_session(store, sender, 30) for sender in ("two-sessions", "one-session", "new")
        ]

    assert asyncio.run(count()) == [3, 5, 0]


def test_a_session_that_expired_counts_as_a_new_one(store):
    async def count() -> tuple[int, int]:
        await store.save(conversation("idle", [9], last_event_age=31 * 60))
        return await visitor_messages_in_session(store, "idle", 30), await visitor_messages_in_session(store, "idle", 0)

    assert asyncio.run(count()) == (0, 9)  # 0 minutes: sessions never expire


# The webhook's answers (in-process)


class RecordingAgent(Agent):
    """An Agent on the project's domain that answers every message and records what it got."""

    def __init__(self) -> None:
        super().__init__(domain=load_replies().domain)
        self.messages: list[UserMessage] = []

    async def handle_message(self, message: UserMessage) -> Any:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, "an answer")


def settings(**env: str) -> DoorSettings:
    """Door settings with a limit name of their own, so no counts carry over between tests."""
    made = DoorSettings.from_env({"CLIENT_KEY_SECRET": "00112233445566778899", **env})
    unique = uuid.uuid4().hex
    return DoorSettings(
        RateLimit(f"conversation {unique}", made.per_conversation.item),
        RateLimit(f"address {unique}", made.per_address.item),
        made.proxies,
        made.secret,
        made.turn_cap,
    )


@contextlib.asynccontextmanager
async def webhook(agent: Agent, door_settings: DoorSettings) -> AsyncIterator[httpx.AsyncClient]:
    test_mode, Sanic.test_mode = Sanic.test_mode, True
    try:
        app = Sanic(f"door-{uuid.uuid4().hex}", configure_logging=False)
        app.ctx.agent = agent
        register([VisitorRestInput(door_settings)], app, "/webhooks/")
        await app._startup()
        transport = httpx.ASGITransport(app=app, client=("198.51.100.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://rasa.test") as client:
            yield client
    finally:
        Sanic.test_mode = test_mode


def post_all(agent: Agent, door_settings: DoorSettings, *requests: dict[str, Any]) -> list[httpx.Response]:
    async def send() -> list[httpx.Response]:
        async with webhook(agent, door_settings) as client:
            return [await client.post(WEBHOOK, **request) for request in requests]

    return asyncio.run(send())


def test_a_conversation_over_its_limit_gets_429_with_retry_after_and_reaches_nothing():
    agent = RecordingAgent()
    flood = [{"json": {"sender": "flood", "message": f"m{i}"}} for i in range(5)]
    calm = {"json": {"sender": "calm", "message": "hello"}}
    responses = post_all(agent, settings(RATE_LIMIT_PER_CONVERSATION="3/minute"), *flood, calm)
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429, 200]
    refused = responses[3]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["retry_after"] == int(refused.headers["Retry-After"])
    assert "per conversation" in refused.json()["error"]
    assert [m.text for m in agent.messages] == ["m0", "m1", "m2", "hello"]


def test_an_address_over_its_limit_gets_429_whatever_the_sender():
    agent = RecordingAgent()
    requests = [{"json": {"sender": f"s{i}", "message": "hi"}} for i in range(4)]
    responses = post_all(agent, settings(RATE_LIMIT_PER_ADDRESS="2/minute"), *requests)
    assert [r.status_code for r in responses] == [200, 200, 429, 429]
    assert "per client address" in responses[2].json()["error"] and "Retry-After" in responses[2].headers
    assert len(agent.messages) == 2


def test_a_body_over_16_kb_gets_413_saying_so():
    agent = RecordingAgent()
    big = {"content": json.dumps({"sender": "v", "message": "hi", "metadata": {"x": "y" * 50_000}})}
    just_fits = {"json": {"sender": "v", "message": "m" * 5000, "metadata": {"page_url": "https://c.example/"}}}
    too_big, fine = post_all(agent, settings(), big, just_fits)
    assert too_big.status_code == 413 and too_big.json() == {"error": "the request body is larger than 16384 bytes"}
    assert fine.status_code == 200 and len(agent.messages) == 1


def test_rasa_gets_only_the_allow_listed_metadata_the_client_key_and_the_channels_name():
    agent = RecordingAgent()
    door_settings = settings()
    body = {
        "sender": "v",
        "message": "hi",
        "input_channel": "forged",
        "metadata": {"page_url": "https://c.example/apply?x=1", "client": "forged", "secret": "s"},
    }
    post_all(agent, door_settings, {"json": body})
    [message] = agent.messages
    expected_client = door.client_key("198.51.100.1", door_settings.secret)
    assert message.metadata == {"page_url": "https://c.example/apply", "client": expected_client}
    assert message.input_channel == "rest"


class UnreadableStore(InMemoryTrackerStore):
    """A conversation store that cannot be read (a database gone away)."""

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        raise RuntimeError("the conversation store is unreachable")


def test_a_turn_count_that_fails_gets_the_apology_and_leaves_the_message_out_of_the_logs(kb, caplog):
    agent = RecordingAgent()
    agent.tracker_store = UnreadableStore(agent.domain)
    typed = "call me on (706) 555-0199"
    [response] = post_all(agent, settings(), {"json": {"sender": "v-store-down", "message": typed}})
    [reply] = response.json()
    assert response.status_code == 200
    assert reply["text"] in load_replies().variations("reply_service_trouble", phone=kb.admissions.phone)
    assert agent.messages == []  # not processed without its count
    assert "v-store-down" in caplog.text and "555-0199" not in caplog.text
