"""Rasa's REST channel, made safe for visitors: no mixed-up conversations, no silence.

Rasa's own channel answers a body without a sender in a shared "default" conversation
(so one visitor could see another's form), and fails with 500 on a JSON body that is not
an object. Here every such request gets a 4xx that says what is wrong.

When the action server is down or an action fails, Rasa logs the error and answers
nothing, so the visitor stares at a typing indicator. Here a message that should have
been answered but got no reply gets a short apology with the admissions phone number.

When the visitor's browser drops the request before the answer (a closed tab, a lost
connection), Rasa's channel logs the message text, which may be the visitor's email or
phone number. Here it logs the conversation id only.

It is also the server's door against abuse (issue 10; the rules are in channels/door.py):
- a body over 16 KB gets 413 before it is read; a client must send its request within
  READ_TIMEOUT_SECONDS, and an idle connection is closed after KEEP_ALIVE_TIMEOUT_SECONDS;
- too many messages from one conversation or one client address get 429 with Retry-After,
  before anything of the message is processed or stored;
- metadata is reduced to `page_url` (origin and path) and the channel's own `client` key;
- after SESSION_TURN_CAP visitor messages in a session, the visitor is offered a fresh start
  (or the admissions phone) instead of an answer that costs more with every turn.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.core.constants import USER_INTENT_RESTART, USER_INTENT_SESSION_START
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, Sanic, response
from sanic.exceptions import PayloadTooLarge, RequestTimeout
from sanic.http import Http
from sanic.request import Request
from sanic_routing import Route

from actions import knowledge
from actions.inquiry.page_address import is_text
from channels import door
from channels.door import DoorSettings
from channels.turn_cap import visitor_messages_in_session

logger = logging.getLogger(__name__)

MAX_SENDER_LENGTH = 128
MAX_MESSAGE_LENGTH = 5000
APOLOGY_RESPONSE = "reply_service_trouble"
TURN_CAP_RESPONSE = "reply_session_turn_cap"
TOO_LARGE = door.TOO_LARGE
SLOW_BODY = f"the request body did not arrive within {door.READ_TIMEOUT_SECONDS} seconds"
# Commands that legitimately answer nothing.
SILENT_COMMANDS = {USER_INTENT_RESTART, USER_INTENT_SESSION_START}


def problem_with(body: bytes) -> tuple[int, str] | None:
    """(status, reason) when the webhook body is unusable; None when it is fine.

    A sender holding a lone surrogate is not printable, so refused with the other bad senders.
    """
    try:
        payload: Any = json.loads(body)
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        payload = None
    if not isinstance(payload, dict):
        return 400, "the body must be a JSON object"
    sender, message = payload.get("sender"), payload.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_LENGTH or not sender.isprintable():
        return 400, f"'sender' must be a non-empty string of at most {MAX_SENDER_LENGTH} printable characters"
    if not isinstance(message, str):
        return 400, "'message' must be a string"
    if not is_text(message):  # JSON's "\\ud800" escape: no store or log file could hold it
        return 400, "'message' must be valid Unicode text (it holds a lone UTF-16 surrogate)"
    if not message.strip():
        return 400, "'message' is empty"
    if len(message) > MAX_MESSAGE_LENGTH:
        return 413, f"'message' is longer than {MAX_MESSAGE_LENGTH} characters"
    if "metadata" in payload and not isinstance(payload["metadata"], (dict, type(None))):
        return 400, "'metadata' must be an object"
    return None


def expects_reply(text: str | None) -> bool:
    """Every message deserves an answer, except the commands that reset a conversation."""
    if not text or not text.strip():
        return False
    command = text.strip()
    if not command.startswith(INTENT_MESSAGE_PREFIX):
        return True
    intent = command[len(INTENT_MESSAGE_PREFIX) :].split("{")[0].split("@")[0].strip()
    return intent not in SILENT_COMMANDS


def too_large() -> response.HTTPResponse:
    return response.json({"error": TOO_LARGE}, status=413)


def slow_down(seconds: float, limit: str) -> response.HTTPResponse:
    """429 with how long to wait, in the header and in the body."""
    wait = int(seconds)
    return response.json(
        {"error": f"too many messages ({limit}); try again in {wait} s", "retry_after": wait},
        status=429,
        headers={"Retry-After": str(wait)},
    )


class VisitorRestInput(RestInput):
    def __init__(self, settings: DoorSettings | None = None) -> None:
        """Reads and checks the door's settings (channels/door.py): ValueError names a bad one."""
        super().__init__()
        self._agent: Agent | None = None  # known from the first request on
        self.door = settings or DoorSettings.from_env()

    @classmethod
    def name(cls) -> str:
        return "rest"  # same URL as Rasa's channel: /webhooks/rest/webhook

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def answer_or_apologise(message: UserMessage) -> None:
            try:
                # Inside the try: a store that cannot be read gets the apology, and Rasa's
                # channel never logs the message text.
                if expects_reply(message.text) and await self._over_turn_cap(message.sender_id):
                    logger.info("conversation %s: session turn cap reached; offering a fresh start", message.sender_id)
                    await message.output_channel.send_response(message.sender_id, await self._turn_cap_reply(message))
                    return
                await on_new_message(message)
            except asyncio.CancelledError:
                # Handled here, as Rasa's channel would handle it, but without logging the text.
                # Nobody is left to read an apology.
                logger.warning("conversation %s: the visitor left before the reply", message.sender_id)
                return
            except Exception:
                # Not logged with the text, as Rasa would: it may hold contact details.
                logger.exception("Handling a message in conversation %s failed", message.sender_id)
            collector = message.output_channel
            if (
                isinstance(collector, CollectingOutputChannel)
                and not collector.messages
                and expects_reply(message.text)
            ):
                logger.error("No reply to a message in conversation %s; sending the apology", message.sender_id)
                await collector.send_text_message(message.sender_id, await self._apology(message))

        webhook = super().blueprint(answer_or_apologise)
        receive_route = f"{webhook.name}.receive"

        @webhook.listener("before_server_start")
        async def bound_the_waits(app: Sanic, _loop: Any) -> None:
            # Rasa keeps idle connections for 120 s and Sanic waits 60 s for a request: both
            # let a few thousand slow sockets occupy the server.
            app.config.REQUEST_TIMEOUT = door.READ_TIMEOUT_SECONDS
            app.config.KEEP_ALIVE_TIMEOUT = door.KEEP_ALIVE_TIMEOUT_SECONDS
            if not os.environ.get(door.CLIENT_KEY_SECRET_ENV):
                logger.warning(
                    "%s is unset: client keys change when the server restarts (scripts/run.sh sets one)",
                    door.CLIENT_KEY_SECRET_ENV,
                )

        @webhook.signal("http.routing.after")
        async def bound_the_body(request: Request, route: Route, **_context: Any) -> None:
            # After routing, before Sanic reads the body: a Content-Length over the bound is
            # refused (PayloadTooLarge) without reading it; a chunked body once it passes it.
            # (Served over ASGI there is no such bound: the middleware checks the body read.)
            stream = request.stream
            if not route.name.endswith(receive_route) or not isinstance(stream, Http):
                return
            stream.request_max_size = min(stream.request_max_size, door.MAX_BODY_BYTES)
            # Sanic's request timeout covers the headers only; the body it reads while the
            # response timeout (60 s idle) runs. A body that has not arrived in time is not waited for.
            try:
                await asyncio.wait_for(request.receive_body(), door.READ_TIMEOUT_SECONDS)
            except asyncio.TimeoutError:
                stream.keep_alive = False  # close after the answer...
                stream.request_body = None  # ...without waiting for the rest of the body
                raise RequestTimeout(SLOW_BODY) from None

        @webhook.exception(PayloadTooLarge)
        async def refuse_too_large(_request: Request, _exception: Exception) -> response.HTTPResponse:
            return too_large()

        @webhook.exception(RequestTimeout)
        async def refuse_slow(_request: Request, _exception: Exception) -> response.HTTPResponse:
            return response.json({"error": SLOW_BODY}, status=408)

        @webhook.middleware("request")
        async def refuse_unusable(request: Request) -> response.HTTPResponse | None:
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            self._agent = self._agent or getattr(request.app.ctx, "agent", None)
            if len(request.body) > door.MAX_BODY_BYTES:
                return too_large()
            forwarded = ",".join(request.headers.getall("x-forwarded-for", []))
            client = door.client_key(door.client_address(request.ip, forwarded, self.door.proxies), self.door.secret)
            # Counted by the pseudonym: a shared counter store (Redis) never holds an address.
            wait = self.door.per_address.hit(client)
            if wait is not None:
                logger.debug("client over the per-address limit; refused")
                return slow_down(wait, str(self.door.per_address.item) + " per client address")
            found = problem_with(request.body)
            if found:
                status, reason = found
                return response.json({"error": reason}, status=status)
            sender = request.json["sender"]
            wait = self.door.per_conversation.hit(sender)
            if wait is not None:
                logger.debug("conversation %s over the per-conversation limit; refused", sender)
                return slow_down(wait, str(self.door.per_conversation.item) + " per conversation")
            request.ctx.client = client
            return None

        return webhook

    def get_metadata(self, request: Request) -> dict[str, Any]:
        """Only the allow-listed metadata and the channel's `client` key reach Rasa and its store."""
        return door.visitor_metadata(request.json.get("metadata"), request.ctx.client)

    def _extract_input_channel(self, request: Request) -> str:
        return self.name()  # never what the body says: it is stored with each message

    async def _over_turn_cap(self, sender_id: str) -> bool:
        assert self._agent is not None and self._agent.tracker_store is not None
        expiry = self._agent.domain.session_config.session_expiration_time if self._agent.domain else 0
        sent = await visitor_messages_in_session(self._agent.tracker_store, sender_id, expiry)
        return sent >= self.door.turn_cap

    async def _turn_cap_reply(self, message: UserMessage) -> dict[str, Any]:
        """The domain's fresh-start offer (its button starts a new session), with the phone number."""
        return await self._render(TURN_CAP_RESPONSE, message)

    async def _apology(self, message: UserMessage) -> str:
        """The domain's apology wording, with the phone number from the knowledge base."""
        return (await self._render(APOLOGY_RESPONSE, message))["text"]

    async def _render(self, response_name: str, message: UserMessage) -> dict[str, Any]:
        """A domain response rendered by Rasa's own generator, its phone number from the knowledge base.

        For the message's output channel, as Rasa renders the domain's responses: a variation the
        domain writes for this channel (`channel: collector` for the webhook) applies here too.
        """
        assert self._agent is not None, "the request middleware records the agent first"
        phone = knowledge.current().admissions.phone
        rendered = await self._agent.nlg.generate(
            response_name, DialogueStateTracker(message.sender_id, []), message.output_channel.name(), phone=phone
        )
        assert rendered is not None, f"domain.yml has no {response_name}"
        return rendered
