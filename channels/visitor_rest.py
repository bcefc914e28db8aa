"""Rasa's REST channel, refusing requests that would break or mix up conversations.

Rasa's own channel answers a body without a sender in a shared "default" conversation
(so one visitor could see another's form), and fails with 500 on a JSON body that is not
an object. Here every such request gets a 4xx that says what is wrong.
"""
from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Optional, Tuple

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

MAX_SENDER_LENGTH = 128
MAX_MESSAGE_LENGTH = 5000


def problem_with(body: bytes) -> Optional[Tuple[int, str]]:
    """(status, reason) when the webhook body is unusable; None when it is fine."""
    try:
        payload: Any = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        return 400, "the body must be a JSON object"
    if not isinstance(payload, dict):
        return 400, "the body must be a JSON object"
    sender, message = payload.get("sender"), payload.get("message")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_LENGTH:
        return 400, f"'sender' must be a non-empty string of at most {MAX_SENDER_LENGTH} characters"
    if not isinstance(message, str):
        return 400, "'message' must be a string"
    if len(message) > MAX_MESSAGE_LENGTH:
        return 413, f"'message' is longer than {MAX_MESSAGE_LENGTH} characters"
    if "metadata" in payload and not isinstance(payload["metadata"], (dict, type(None))):
        return 400, "'metadata' must be an object"
    return None


class VisitorRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"  # same URL as Rasa's channel: /webhooks/rest/webhook

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def refuse_unusable(request: Request) -> Optional[response.HTTPResponse]:
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            found = problem_with(request.body)
            if found:
                status, reason = found
                return response.json({"error": reason}, status=status)
            return None

        return webhook
