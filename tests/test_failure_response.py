"""actions/failure_response.py in this process, on real Sanic requests: a failing action is
answered with its name only and logged by type and place, never with the request's values;
Sanic's own errors keep their answer; the handler is registered once with rasa_sdk's plugins
and replaces rasa_sdk's on the action server's app. (test_error_logs.py runs the real server.)"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk.endpoint import create_app
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic
from sanic.compat import Header
from sanic.exceptions import NotFound
from sanic.request import Request

from actions import failure_response
from tests.conversations import DANA
from tests.form_events import traces

APP = Sanic(f"failure-response-{uuid.uuid4().hex}", configure_logging=False)


def request(body: bytes) -> Request:
    """A POST to the action server's webhook with this body, as Sanic hands it to a handler."""
    no_transport: Any = None  # the handlers never write to the connection themselves
    made = Request(b"/webhook", Header({"content-type": "application/json"}), "1.1", "POST", no_transport, APP)
    made.body = body
    return made


def webhook_call(action: object) -> bytes:
    return json.dumps({"next_action": action, "tracker": {"slots": {"lead_email": DANA.email}}}).encode()


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (webhook_call("action_submit_inquiry"), "action_submit_inquiry"),
        (webhook_call(5), "unknown"),
        (b'["action_submit_inquiry"]', "unknown"),
        (b"{not json", "unknown"),
    ],
    ids=["named", "a name that is not a string", "not an object", "not JSON"],
)
def test_the_action_is_named_from_the_body_when_it_says_so(body, name):
    assert failure_response.action_name(request(body)) == name


def fail_with_the_visitors_email() -> ValueError:
    typed = DANA.email  # the traceback quotes the source line: no name of the person in it
    try:
        raise ValueError(f"{typed} is not accepted")
    except ValueError as error:
        return error


def test_a_failing_action_is_answered_500_with_its_name_only(caplog):
    error = fail_with_the_visitors_email()
    with caplog.at_level(logging.ERROR, logger=failure_response.__name__):
        answer = asyncio.run(failure_response.answer_without_tracker(request(webhook_call("action_x")), error))
    assert answer.status == 500 and answer.body is not None
    assert json.loads(answer.body) == {"error": failure_response.FAILURE_MESSAGE, "action_name": "action_x"}
    [record] = [r for r in caplog.records if r.name == failure_response.__name__]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith("Action action_x failed: ValueError\n")
    assert "fail_with_the_visitors_email" in record.getMessage()  # where it was raised
    assert traces(DANA, record.getMessage() + answer.body.decode()) == []


def test_sanics_own_errors_keep_their_status_and_answer(caplog):
    with caplog.at_level(logging.ERROR, logger=failure_response.__name__):
        answer = asyncio.run(failure_response.answer_without_tracker(request(b""), NotFound("Requested URL /x")))
    assert answer.status == 404 and answer.body is not None
    assert json.loads(answer.body) == {"error": "Requested URL /x"}
    assert not [r for r in caplog.records if r.name == failure_response.__name__]


@pytest.fixture
def installed() -> Iterator[None]:
    failure_response.install()
    failure_response.install()  # twice: harmless
    yield
    for plugin in list(plugin_manager().get_plugins()):
        if isinstance(plugin, failure_response.FailureResponsePlugin):
            plugin_manager().unregister(plugin)


def test_the_handler_is_registered_once_and_replaces_rasa_sdks(installed):
    ours = [p for p in plugin_manager().get_plugins() if isinstance(p, failure_response.FailureResponsePlugin)]
    assert len(ours) == 1
    app = create_app("actions.question_actions")  # rasa_sdk's app, named "rasa_sdk"
    try:
        plugin_manager().hook.attach_sanic_app_extensions(app=app)
        assert app.error_handler.lookup(ValueError(), None) is failure_response.answer_without_tracker
    finally:
        Sanic._app_registry.pop(app.name, None)  # the name is free again for the next run in this process


def raised(inner: type[Exception], outer: type[Exception], suppress: bool) -> Exception:
    """`outer` raised while handling `inner`, with `from None` when suppress."""
    try:
        try:
            raise inner("inner")
        except inner:
            if suppress:
                raise outer("outer") from None
            raise outer("outer")  # noqa: B904 (the implicit context is the point)
    except outer as error:
        return error


def test_an_error_raised_while_handling_another_is_described_with_both_unless_suppressed():
    implicit = failure_response.where_it_failed(raised(KeyError, RuntimeError, suppress=False))
    assert implicit.count("\nled to:\n") == 1 and implicit.endswith("RuntimeError") and "KeyError" in implicit
    suppressed = failure_response.where_it_failed(raised(KeyError, RuntimeError, suppress=True))
    assert "led to" not in suppressed and "KeyError" not in suppressed and suppressed.endswith("RuntimeError")
