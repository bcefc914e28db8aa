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
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.constants import INTENT_MESSAGE_PREFIX
from rasa.shared.core.constants import USER_INTENT_RESTART, USER_INTENT_SESSION_START
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Blueprint, response
from sanic.request import Request

from actions import knowledge

logger = logging.getLogger(__name__)

MAX_SENDER_LENGTH = 128
MAX_MESSAGE_LENGTH = 5000
APOLOGY_RESPONSE = "reply_service_trouble"
# Commands that legitimately answer nothing.
SILENT_COMMANDS = {USER_INTENT_RESTART, USER_INTENT_SESSION_START}


def problem_with(body: bytes) -> tuple[int, str] | None:
    """(status, reason) when the webhook body is unusable; None when it is fine."""
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


class VisitorRestInput(RestInput):
    def __init__(self) -> None:
        super().__init__()
        self._agent: Agent | None = None  # known from the first request on

    @classmethod
    def name(cls) -> str:
        return "rest"  # same URL as Rasa's channel: /webhooks/rest/webhook

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def answer_or_apologise(message: UserMessage) -> None:
            try:
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
                await collector.send_text_message(message.sender_id, await self._apology(message.sender_id))

        webhook = super().blueprint(answer_or_apologise)

        @webhook.middleware("request")
        async def refuse_unusable(request: Request) -> response.HTTPResponse | None:
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            self._agent = self._agent or getattr(request.app.ctx, "agent", None)
            found = problem_with(request.body)
            if found:
                status, reason = found
                return response.json({"error": reason}, status=status)
            return None

        return webhook

    async def _apology(self, sender_id: str) -> str:
        """The domain's apology wording, with the phone number from the knowledge base."""
        assert self._agent is not None, "the request middleware records the agent first"
        phone = knowledge.current().admissions.phone
        rendered = await self._agent.nlg.generate(
            APOLOGY_RESPONSE, DialogueStateTracker(sender_id, []), self.name(), phone=phone
        )
        return rendered["text"]
