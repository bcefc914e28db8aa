"""Logs hold no contact details on error paths either (issue 9).

Both error paths are triggered for real against the real servers on loopback, then both
servers' log files are searched for the typed name, email and phone (as typed, E.164, digits):
- a visitor whose browser drops the request while the assistant is still working on it
  (the action server is paused, so the answer cannot come before the visitor leaves);
- an action that fails while the tracker holds contact details: a lead whose page address
  holds a lone UTF-16 surrogate, which the leads database cannot encode.
The unit tests check the log masking both processes install as a second line of defence.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from actions.knowledge import load_knowledge
from actions.privacy import log_masking
from tests.conversations import DANA, HEALTH_IT, Scripts
from tests.form_events import traces
from tests.replies import load_replies
from tests.servers import action_server_process, converse, rasa_server, texts

# Long enough for the Rasa server to read the message and call the (paused) action server.
SETTLE_SECONDS = 2.0


@dataclass(frozen=True)
class Servers:
    workdir: Path
    actions: subprocess.Popen
    webhook: str

    def logs(self) -> str:
        """Everything both servers have logged so far."""
        return "\n".join(path.read_text(errors="replace") for path in sorted(self.workdir.glob("*.log")))


@pytest.fixture(scope="module")
def scripts() -> Scripts:
    return Scripts(load_knowledge(), load_replies())


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    workdir = tmp_path_factory.mktemp("error-logs")
    with action_server_process(workdir) as (process, action_url), rasa_server(workdir, action_url) as webhook:
        yield Servers(workdir, process, webhook)


@contextlib.contextmanager
def paused(process: subprocess.Popen) -> Iterator[None]:
    """The process stopped (SIGSTOP) while inside, so whatever waits on it keeps waiting."""
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def send_and_leave(webhook: str, sender: str, message: str) -> None:
    """POSTs the message as a browser would, then closes the connection before any answer."""
    url = urlsplit(webhook)
    body = json.dumps({"sender": sender, "message": message}).encode()
    head = (
        f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port or 80)) as connection:
        connection.sendall(head + body)
        time.sleep(SETTLE_SECONDS)


def say_raw(webhook: str, sender: str, message: str, page_url: str) -> list[dict]:
    """Like tests.servers.say, with the body as Python's json writes it (ASCII, \\u escapes),
    so a page address may hold a character UTF-8 cannot encode."""
    body = json.dumps({"sender": sender, "message": message, "metadata": {"page_url": page_url}})
    response = httpx.post(webhook, content=body, headers={"Content-Type": "application/json"}, timeout=60)
    response.raise_for_status()
    return response.json()


@pytest.mark.slow
def test_a_visitor_who_leaves_mid_request_leaves_no_contact_details_in_the_logs(servers, scripts):
    form = scripts.form(DANA, scripts.program(HEALTH_IT))
    in_form, outside_form = f"left-in-form-{uuid.uuid4()}", f"left-outside-{uuid.uuid4()}"
    converse(servers.webhook, in_form, form[:2])  # the form now asks for the email
    with paused(servers.actions):
        send_and_leave(servers.webhook, in_form, DANA.email)
        send_and_leave(servers.webhook, outside_form, f"can you call me on {DANA.phone} or write to {DANA.email}?")
    # The visitor who came back is still in the form, and the servers still answer.
    converse(servers.webhook, in_form, [form[2]])
    logs = servers.logs()
    for sender in (in_form, outside_form):  # both requests really were left mid-way
        assert f"conversation {sender}: the visitor left before the reply" in logs
    assert traces(DANA, logs) == []


@pytest.mark.slow
def test_a_failing_action_leaves_no_contact_details_in_the_logs_and_the_visitor_gets_the_apology(servers, scripts):
    sender = f"failing-{uuid.uuid4()}"
    unencodable_page = "https://college.example/programs/\ud800"
    form = scripts.form(DANA, scripts.program(HEALTH_IT))
    for message, expected in form[:-1]:
        assert any(text in texts(say_raw(servers.webhook, sender, message, unencodable_page)) for text in expected)
    confirm, _thanks = form[-1]
    reply = texts(say_raw(servers.webhook, sender, confirm, unencodable_page))
    assert reply in scripts.say("reply_service_trouble", phone=scripts.kb.admissions.phone)
    logs = servers.logs()
    assert "Action action_submit_inquiry failed: UnicodeEncodeError" in logs  # the fault really happened
    assert traces(DANA, logs) == []


# The log masking both servers install


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What a logger writes with the masking installed, formatted as the servers format it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s - %(message)s"))
    logger = logging.getLogger("tests.error_logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    log_masking.install()
    try:
        yield stream
    finally:
        log_masking.uninstall()
        logger.removeHandler(handler)


LOGGER = logging.getLogger("tests.error_logs")


def test_contact_details_in_a_message_and_its_arguments_are_masked(captured):
    LOGGER.info("reach me at %s or %s", DANA.email, DANA.phone)
    LOGGER.warning(f"visitor said: write to {DANA.email}, call {DANA.stored_phone}")
    written = captured.getvalue()
    assert traces(DANA, written) == []
    assert "reach me at [email] or [phone]" in written
    assert "visitor said: write to [email], call [phone]" in written


def test_contact_details_in_an_exception_are_masked_and_the_traceback_kept(captured):
    email, phone = DANA.email, DANA.phone

    def fail() -> None:
        raise ValueError(f"bad value {email} / {phone}")

    try:
        fail()
    except ValueError:
        LOGGER.exception("saving failed")
    written = captured.getvalue()
    assert traces(DANA, written) == []
    assert "ValueError: bad value [email] / [phone]" in written
    assert "in fail" in written  # where it happened is still there


def test_a_record_without_contact_details_is_left_as_it_is(captured):
    LOGGER.info("lead %s saved after %d tries", "3f0c-41aa", 2)
    assert captured.getvalue() == "INFO tests.error_logs - lead 3f0c-41aa saved after 2 tries\n"


def test_a_message_that_cannot_be_formatted_is_left_for_logging_to_report(captured):
    record = logging.getLogRecordFactory()("x", logging.INFO, __file__, 1, "two values %s %s", ("only one",), None)
    assert (record.msg, record.args) == ("two values %s %s", ("only one",))  # the handler reports it, as usual


def test_uninstall_puts_the_previous_record_factory_back():
    before = logging.getLogRecordFactory()
    log_masking.install()
    log_masking.install()  # twice is harmless
    assert logging.getLogRecordFactory() is not before
    log_masking.uninstall()
    assert logging.getLogRecordFactory() is before
