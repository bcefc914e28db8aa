"""The REST channel refuses unusable requests with a 4xx instead of mixing conversations, and
apologises (with the admissions phone number) instead of leaving a message unanswered.

The webhook tests run the channel as the Rasa server wires it (Rasa's `register` on a Sanic
app, with a Rasa Agent on the project's domain), called in-process over ASGI: no model is
loaded, so what the agent does with a message is what each test scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic

from channels.visitor_rest import MAX_MESSAGE_LENGTH, MAX_SENDER_LENGTH, VisitorRestInput, expects_reply, problem_with
from tests.replies import load_replies

WEBHOOK = "/webhooks/rest/webhook"  # the URL the widget and credentials.yml use
PERSONAL = "I'm Dana O'Brien, call me on (706) 555-0199"  # a message holding contact details


def body(**payload: Any) -> bytes:
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    "request_body, status, at_fault",
    [
        (b"{not json", 400, "JSON object"),
        (b"[]", 400, "JSON object"),
        (b'"hi"', 400, "JSON object"),
        (b"", 400, "JSON object"),
        (b"\xff\xfe", 400, "JSON object"),
        (body(message="hi"), 400, "'sender'"),  # no sender: Rasa would use "default"
        (body(sender="", message="hi"), 400, "'sender'"),
        (body(sender="x" * 10_000, message="hi"), 400, "'sender'"),
        (body(sender=5, message="hi"), 400, "'sender'"),
        (body(sender="v1\x00\x1b", message="hi"), 400, "'sender'"),
        (body(sender="v1", message=7), 400, "'message'"),
        (body(sender="v1", message=""), 400, "'message'"),
        (body(sender="v1", message=" \n\t "), 400, "'message'"),
        (body(sender="v1", message="a" * 100_000), 413, "'message'"),
        (body(sender="v1", message="hi", metadata="page"), 400, "'metadata'"),
    ],
)
def test_unusable_bodies_are_refused_naming_what_is_wrong(request_body, status, at_fault):
    problem = problem_with(request_body)
    assert problem is not None
    assert problem[0] == status and at_fault in problem[1]


@pytest.mark.parametrize("sender", [" ", " \t\n ", "\u3000"])
def test_a_whitespace_only_sender_is_refused(sender):
    """A blank sender would put every such visitor in one shared conversation."""
    problem = problem_with(body(sender=sender, message="hi"))
    assert problem is not None and problem[0] == 400 and "'sender'" in problem[1]


def test_a_sender_of_exactly_the_maximum_length_is_accepted_and_one_more_refused():
    assert problem_with(body(sender="s" * MAX_SENDER_LENGTH, message="hi")) is None
    refused = problem_with(body(sender="s" * (MAX_SENDER_LENGTH + 1), message="hi"))
    assert refused is not None and refused[0] == 400 and str(MAX_SENDER_LENGTH) in refused[1]


def test_a_message_of_exactly_the_maximum_length_is_accepted_and_one_more_refused():
    assert problem_with(body(sender="v1", message="m" * MAX_MESSAGE_LENGTH)) is None
    refused = problem_with(body(sender="v1", message="m" * (MAX_MESSAGE_LENGTH + 1)))
    assert refused is not None and refused[0] == 413 and str(MAX_MESSAGE_LENGTH) in refused[1]


@pytest.mark.parametrize(
    "payload",
    [
        {"sender": "visitor-1", "message": "how long is it?"},
        {
            "sender": "visitor-1",
            "message": "<script>alert(1)</script>",
            "metadata": {"page_url": "https://college.example/"},
        },
        {"sender": "visitor-1", "message": "hi", "metadata": None},
        {"sender": "visitor-1", "message": "\u0643\u0645 \u0645\u062f\u0629 \ud83d\ude00"},
    ],
)
def test_usable_bodies_pass(payload):
    assert problem_with(json.dumps(payload).encode()) is None


@pytest.mark.parametrize(
    "text", ["how long is it?", "/ask_duration", '/inform{"program": "healthcare_it"}', "/restartx", "restart"]
)
def test_messages_that_need_an_answer(text):
    assert expects_reply(text)


@pytest.mark.parametrize("text", ["/restart", " /session_start ", "/restart{}", "/restart@0.9", "", "  "])
def test_commands_that_answer_nothing(text):
    assert not expects_reply(text)


# The webhook, as the Rasa server runs it

Handler = Callable[[UserMessage], Awaitable[Any]]


class ScriptedAgent(Agent):
    """A Rasa Agent on the project's domain (so its real response generator words the apology)
    whose handling of a message is the test's: no model, no action server."""

    def __init__(self, handle: Handler | None = None) -> None:
        super().__init__(domain=load_replies().domain)
        self._handle = handle
        self.handled: list[str] = []

    async def handle_message(self, message: UserMessage) -> Any:
        self.handled.append(message.text or "")
        if self._handle is None:  # Rasa's own: without a model it ignores the message
            return await super().handle_message(message)
        return await self._handle(message)


@contextlib.asynccontextmanager
async def webhook_client(agent: Agent) -> AsyncIterator[httpx.AsyncClient]:
    """The channel registered by Rasa's `register` on a Sanic app (as credentials.yml makes
    the server do), started and called over ASGI through httpx."""
    test_mode, Sanic.test_mode = Sanic.test_mode, True  # several apps in one process, as sanic-testing does
    try:
        app = Sanic(f"visitor-rest-{uuid.uuid4().hex}", configure_logging=False)
        app.ctx.agent = agent
        register([VisitorRestInput()], app, "/webhooks/")
        # What Sanic 21.12 does when an ASGI server starts it (sanic.asgi.Lifespan.startup); its
        # lifespan protocol is not usable here, as Sanic then also handles it as a request.
        await app._startup()
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rasa.test") as client:
            yield client
    finally:
        Sanic.test_mode = test_mode


def post(agent: Agent, *requests: dict[str, Any]) -> list[httpx.Response]:
    """POSTs each JSON body to the webhook in turn."""

    async def send() -> list[httpx.Response]:
        async with webhook_client(agent) as client:
            return [await client.post(WEBHOOK, json=request) for request in requests]

    return asyncio.run(send())


def apologies(kb) -> tuple[str, ...]:
    return load_replies().variations("reply_service_trouble", phone=kb.admissions.phone)


def channel_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "channels.visitor_rest"]


def test_a_message_rasa_answered_with_silence_gets_the_apology_with_the_admissions_phone(kb, caplog):
    caplog.set_level(logging.INFO)
    sender = f"visitor-{uuid.uuid4()}"
    [response] = post(ScriptedAgent(), {"sender": sender, "message": PERSONAL})
    assert response.status_code == 200
    [reply] = response.json()
    assert reply["recipient_id"] == sender and reply["text"] in apologies(kb)
    [logged] = channel_records(caplog)
    assert logged.levelno == logging.ERROR and sender in logged.getMessage() and "apology" in logged.getMessage()
    assert PERSONAL not in caplog.text and "555-0199" not in caplog.text


def test_a_failure_while_answering_is_logged_without_the_message_and_apologised_for(kb, caplog):
    async def fails(message: UserMessage) -> None:
        raise RuntimeError("the action server could not be reached")

    sender = f"visitor-{uuid.uuid4()}"
    [response] = post(ScriptedAgent(fails), {"sender": sender, "message": PERSONAL})
    [reply] = response.json()
    assert response.status_code == 200 and reply["text"] in apologies(kb)
    failure, no_reply = channel_records(caplog)
    assert failure.levelno == logging.ERROR and failure.exc_info and failure.exc_info[0] is RuntimeError
    assert sender in failure.getMessage() and "failed" in failure.getMessage()
    assert no_reply.levelno == logging.ERROR and sender in no_reply.getMessage()
    assert "555-0199" not in caplog.text and "O'Brien" not in caplog.text  # the message's details, nowhere


def test_an_answered_message_gets_no_apology(caplog):
    async def answers(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "an answer")

    [response] = post(ScriptedAgent(answers), {"sender": "visitor-1", "message": "how long is it?"})
    assert response.json() == [{"recipient_id": "visitor-1", "text": "an answer"}]
    assert channel_records(caplog) == []


def test_a_command_that_resets_the_conversation_needs_no_reply(caplog):
    [response] = post(ScriptedAgent(), {"sender": "visitor-1", "message": "/restart"})
    assert response.status_code == 200 and response.json() == []
    assert channel_records(caplog) == []


def test_unusable_requests_never_reach_rasa_and_say_what_is_wrong():
    agent = ScriptedAgent()
    whitespace, usable = post(agent, {"sender": "  ", "message": "hi"}, {"sender": "visitor-1", "message": "/restart"})
    assert whitespace.status_code == 400 and "'sender'" in whitespace.json()["error"]
    assert usable.status_code == 200
    assert agent.handled == ["/restart"]


def test_the_channels_health_check_still_answers():
    async def get() -> httpx.Response:
        async with webhook_client(ScriptedAgent()) as client:
            return await client.get("/webhooks/rest/")

    response = asyncio.run(get())
    assert response.status_code == 200 and response.json() == {"status": "ok"}
