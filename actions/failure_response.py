"""A failing action answers 500 without the conversation, and is logged without values.

rasa_sdk's own error handler answers an exception in an action with the exception's text
and the whole request body (the tracker: every slot, every message the visitor typed), and
the Rasa server logs that body with the error. Here the answer names only the action, and
the log gives the exception's type and where it was raised: exception messages often quote
values (a validation error its input, a database error its parameters), so they are left out.

Installed through rasa_sdk's plugin hook (`attach_sanic_app_extensions`), which the action
server calls once its Sanic app and routes exist, so this handler replaces rasa_sdk's.
"""

from __future__ import annotations

import logging
import traceback

import pluggy
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request

logger = logging.getLogger(__name__)
hookimpl = pluggy.HookimplMarker("rasa_sdk")

FAILURE_MESSAGE = "The action failed; the action server's log says where."


def where_it_failed(error: BaseException) -> str:
    """The exception's type and traceback, and those of its causes, without their messages."""
    parts: list[str] = []
    seen: set[int] = set()  # a chain can loop back on itself
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        parts.append("".join(traceback.format_tb(link.__traceback__)) + type(link).__qualname__)
        link = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
    return "\nled to:\n".join(reversed(parts))


def action_name(request: Request) -> str:
    """The action the Rasa server asked for, when the body says so (never the body itself)."""
    try:
        body = request.json
    except SanicException:  # an unreadable body: its action cannot be named
        return "unknown"
    name = body.get("next_action") if isinstance(body, dict) else None
    return name if isinstance(name, str) else "unknown"


async def answer_without_tracker(request: Request, error: Exception) -> response.HTTPResponse:
    if isinstance(error, SanicException):  # 404, 405...: Sanic's own answer holds no request data
        return response.json({"error": str(error)}, status=error.status_code)
    name = action_name(request)
    logger.error("Action %s failed: %s\n%s", name, type(error).__qualname__, where_it_failed(error))
    return response.json({"error": FAILURE_MESSAGE, "action_name": name}, status=500)


class FailureResponsePlugin:
    @hookimpl
    def attach_sanic_app_extensions(self, app: Sanic) -> None:
        app.error_handler.add(Exception, answer_without_tracker)


def install() -> None:
    """Registers the handler with rasa_sdk's plugins; the action server adds it at start."""
    manager = plugin_manager()
    if not any(isinstance(plugin, FailureResponsePlugin) for plugin in manager.get_plugins()):
        manager.register(FailureResponsePlugin())
