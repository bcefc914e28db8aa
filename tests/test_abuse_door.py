"""The door against abuse (issue 10), on the real Rasa server over loopback: floods get 429
while other visitors are answered, oversized bodies 413, a message a store cannot hold (a lone
surrogate) 400, only allow-listed metadata is stored (a page a store cannot hold is dropped),
the client key replaces a forged one, the turn cap offers a fresh start that works, and a
client that stalls mid-request is dropped.

The Rasa server trusts 127.0.0.1 as its proxy, so each test speaks "from" its own client
address through X-Forwarded-For, as a reverse proxy would write it. Limits are set low so the
floods stay small.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions.knowledge import load_knowledge
from channels.door import client_key
from tests.conftest import PHONE, ROOT
from tests.conversations import BILLING, Scripts, answered
from tests.replies import load_replies
from tests.servers import action_server, quiet_env, rasa_server, texts

pytestmark = pytest.mark.slow

SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PER_CONVERSATION, PER_ADDRESS, TURN_CAP = 8, 12, 4
SCRIPTS = Scripts(load_knowledge(), load_replies())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("door")


@pytest.fixture(scope="module")
def actions(workdir) -> Iterator[str]:
    with action_server(workdir) as url:  # its timeouts are its own (actions/action_server.py)
        yield url


@pytest.fixture(scope="module")
def rasa(workdir, actions) -> Iterator[tuple[str, Path]]:
    with (
        rasa_server(
            workdir,
            actions,
            TRUSTED_PROXIES="127.0.0.1",
            RATE_LIMIT_PER_CONVERSATION=f"{PER_CONVERSATION}/minute",
            RATE_LIMIT_PER_ADDRESS=f"{PER_ADDRESS}/minute",
            SESSION_TURN_CAP=str(TURN_CAP),
            CLIENT_KEY_SECRET=SECRET,
        ) as webhook,
    ):
        yield webhook, workdir / "conversations.sqlite3"


def post(webhook: str, address: str, body: dict[str, Any] | bytes) -> httpx.Response:
    """One request as the proxy forwards it for a client at `address`."""
    headers = {"X-Forwarded-For": address, "Content-Type": "application/json"}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(webhook, content=content, headers=headers, timeout=60)


def stored_events(database: Path, sender: str) -> list[dict[str, Any]]:
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id", (sender,)).fetchall()
    return [json.loads(data) for (data,) in rows]


def user_texts(database: Path, sender: str) -> list[str]:
    return [event["text"] for event in stored_events(database, sender) if event["event"] == "user"]


def test_a_flood_from_one_conversation_is_refused_after_its_limit_while_another_visitor_is_answered(rasa):
    webhook, database = rasa
    flood, calm = f"flood-{uuid.uuid4()}", f"calm-{uuid.uuid4()}"
    responses, calm_statuses = [], []
    for i in range(PER_ADDRESS):  # within the address's limit: only the conversation's applies
        responses.append(post(webhook, "198.51.100.10", {"sender": flood, "message": f"how long is it? {i}"}))
        if i % 4 == 3:  # now and then another visitor, from another address, asks something
            calm_statuses.append(post(webhook, "198.51.100.11", {"sender": calm, "message": "hello"}).status_code)
    statuses = [r.status_code for r in responses]
    assert statuses == [200] * PER_CONVERSATION + [429] * (PER_ADDRESS - PER_CONVERSATION)
    assert calm_statuses == [200] * 3
    refused = responses[PER_CONVERSATION]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "per conversation" in refused.json()["error"]
    assert refused.json()["retry_after"] == int(refused.headers["Retry-After"])
    # Nothing of a refused message was processed or stored.
    # (The accepted ones past the turn cap were answered with the fresh-start offer, unprocessed.)
    assert user_texts(database, flood) == [f"how long is it? {i}" for i in range(min(TURN_CAP, PER_CONVERSATION))]


def test_a_flood_from_one_address_is_refused_whatever_the_senders_while_other_addresses_are_answered(rasa):
    webhook, database = rasa
    senders = [f"rotating-{uuid.uuid4()}" for _ in range(20)]
    statuses = [post(webhook, "203.0.113.20", {"sender": s, "message": "hi"}).status_code for s in senders]
    assert statuses == [200] * PER_ADDRESS + [429] * (20 - PER_ADDRESS)
    assert post(webhook, "203.0.113.21", {"sender": f"other-{uuid.uuid4()}", "message": "hi"}).status_code == 200
    assert all(user_texts(database, s) == [] for s in senders[PER_ADDRESS:])


@pytest.mark.parametrize("size", [50_000, 2_000_000])
def test_a_body_over_16_kb_is_refused_with_413_and_a_reason(rasa, size):
    webhook, database = rasa
    sender = f"big-{uuid.uuid4()}"
    body = {"sender": sender, "message": "hi", "metadata": {"page_url": "https://c.example/", "x": "y" * size}}
    response = post(webhook, f"192.0.2.{size % 250}", body)
    assert response.status_code == 413
    assert response.json() == {"error": "the request body is larger than 16384 bytes"}
    assert user_texts(database, sender) == []


def test_only_allow_listed_metadata_is_stored_and_a_forged_client_is_replaced(rasa):
    webhook, database = rasa
    sender = f"meta-{uuid.uuid4()}"
    metadata = {
        "page_url": "https://www.college.example/programs?utm=TRACK-QUERY#frag",
        "client": "forged-client-key",
        "tracking_id": "TRACK-UNKNOWN-KEY",
    }
    response = post(webhook, "198.51.100.77", {"sender": sender, "message": "how long is it?", "metadata": metadata})
    assert response.status_code == 200
    events = stored_events(database, sender)
    [user] = [event for event in events if event["event"] == "user"]
    added_by_rasa = {"model_id", "assistant_id"}
    assert {key: value for key, value in user["metadata"].items() if key not in added_by_rasa} == {
        "page_url": "https://www.college.example/programs",
        "client": client_key("198.51.100.77", SECRET.encode()),
    }
    stored = json.dumps(events)
    for never in ("TRACK-QUERY", "TRACK-UNKNOWN-KEY", "forged-client-key", "tracking_id", "198.51.100.77"):
        assert never not in stored


def test_text_with_a_lone_surrogate_is_refused_or_dropped_and_nothing_unstorable_is_stored(rasa):
    """JSON's "\\ud800" escape carries a lone surrogate no UTF-8 store can hold: a message with
    one is refused with 400 and a reason; a page address with one is dropped, the message answered."""
    webhook, database = rasa
    refused, kept = f"surrogate-text-{uuid.uuid4()}", f"surrogate-page-{uuid.uuid4()}"
    response = post(webhook, "198.51.100.81", {"sender": refused, "message": "I'm Ana \ud800"})
    assert response.status_code == 400
    assert response.json() == {"error": "'message' must be valid Unicode text (it holds a lone UTF-16 surrogate)"}
    assert stored_events(database, refused) == []
    page = {"page_url": "https://www.college.example/programs/\ud800"}
    response = post(webhook, "198.51.100.82", {"sender": kept, "message": "how long is it?", "metadata": page})
    assert response.status_code == 200 and texts(response.json())
    [user] = [event for event in stored_events(database, kept) if event["event"] == "user"]
    assert user["text"] == "how long is it?" and "page_url" not in user["metadata"]


def test_the_turn_cap_offers_a_fresh_start_and_the_fresh_start_works(rasa, replies):
    webhook, database = rasa
    sender, address = f"long-{uuid.uuid4()}", "198.51.100.90"

    def say(message: str) -> list[dict[str, Any]]:
        response = post(webhook, address, {"sender": sender, "message": message})
        assert response.status_code == 200
        return response.json()

    for message in ["/greet", "how long is it?", "is it online?", "which campuses?"][:TURN_CAP]:
        assert texts(say(message))
    [capped] = say("how long is medical billing and coding?")
    assert capped["text"] == replies.text("reply_session_turn_cap", phone=PHONE)
    assert PHONE in capped["text"]
    assert capped["buttons"] == [{"title": "Start a fresh conversation", "payload": "/session_start"}]
    assert len(user_texts(database, sender)) == TURN_CAP  # the capped message was not processed

    assert say(capped["buttons"][0]["payload"]) == []  # a new session: it answers nothing itself
    billing = SCRIPTS.program(BILLING)
    assert answered(texts(say("how long is medical billing and coding?")), SCRIPTS.duration(billing))
    assert [e["event"] for e in stored_events(database, sender)].count("session_started") == 2


def address_of(url: str) -> tuple[str, int]:
    host, port = url.split("/")[2].split(":")
    return host, int(port)


def received_until_closed(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(4096):
        received += chunk
    return received


@pytest.mark.parametrize(
    "half_a_request",
    [
        b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Le",  # headers cut short
        b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{",  # body cut short
    ],
)
def test_a_client_that_sends_half_a_request_is_dropped_while_others_are_answered(rasa, half_a_request):
    webhook, _ = rasa
    with socket.create_connection(address_of(webhook)) as slow:
        slow.sendall(half_a_request)
        assert post(webhook, "198.51.100.120", {"sender": f"v-{uuid.uuid4()}", "message": "hi"}).status_code == 200
        slow.settimeout(45)  # far longer than the server's read timeout (10 s): a server that waits fails here
        answer = received_until_closed(slow)
    assert answer.startswith(b"HTTP/1.1 408"), answer  # told, then the connection is closed


def test_the_action_server_drops_a_client_that_sends_half_a_request(actions):
    """A client stalling in its headers is cut off (Sanic's request timeout) with a 4xx, never waited for:
    without the token it is a 401, which is what anyone but the Rasa server gets."""
    with socket.create_connection(address_of(actions)) as slow:
        slow.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Le")
        assert httpx.get(actions.replace("/webhook", "/health"), timeout=30).status_code == 200
        slow.settimeout(45)  # far longer than the action server's 15 s: a server that waits fails here
        assert received_until_closed(slow)[:12] in (b"HTTP/1.1 408", b"HTTP/1.1 401")


def test_a_malformed_door_setting_stops_the_rasa_server_naming_it():
    started = subprocess.run(
        [sys.executable, "-m", "channels.server", "run", "-m", "no-model.tar.gz"],
        cwd=ROOT,
        env=quiet_env(SESSION_TURN_CAP="plenty"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 1
    assert "Cannot start Rasa: SESSION_TURN_CAP must be a whole number" in started.stderr
