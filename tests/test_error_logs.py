"""Logs hold no contact details on error paths either (issue 9).

Both error paths are triggered for real against the real servers on loopback, then both
servers' log files are searched for the typed name, email and phone (as typed, E.164, digits):
- a visitor whose browser drops the request while the assistant is still working on it
  (the action server is paused, so the answer cannot come before the visitor leaves);
- an action that fails while the tracker holds contact details: the visitor's earlier lead
  (same email) is in the leads database but cannot be read back, its questions not being
  JSON (a hand edit or another tool's import). The store turns every database error into
  StoreUnavailable, answered politely, so a refused insert (a trigger's RAISE is an
  IntegrityError) or an unwritable file would not reach this path; a row it cannot decode
  does, as a JSONDecodeError in the action.
The unit tests check the log masking both processes install as a second line of defence.

The page address that used to be this suite's fault (a lone UTF-16 surrogate) is dropped at
the door now, and the inquiry saved without it (test_surrogates.py has the unit tests).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import rasa
from rasa.utils.endpoints import ClientResponseError

from actions import failure_response
from actions.inquiry.store import DELIVERED, LeadStore, utc_now
from actions.knowledge import load_knowledge
from actions.privacy import log_masking
from channels import patching, privacy_patches, server, speedups
from tests.conversations import DANA, HEALTH_IT, Person, Scripts, answered
from tests.form_events import traces
from tests.replies import load_replies
from tests.servers import ACTIONS_AUTH, action_server_process, converse, rasa_server, say, texts
from tests.test_lead_store import make_lead

# The fault: DANA's earlier lead, whose questions the store cannot decode (not JSON).
UNREADABLE_QUESTIONS = "how long is it?; is it online?"
FAULT = "JSONDecodeError"
PAGE = "https://college.example/programs/health-it"
SURROGATE_PAGE = "https://college.example/programs/\ud800"  # a lone surrogate: UTF-8 cannot encode it
SAM = Person("Sam Okafor", "sam.okafor@example.com", "(706) 555-0142", "+17065550142")
# Long enough for the Rasa server to read the message and call the (paused) action server.
SETTLE_SECONDS = 2.0
NOTICE_TIMEOUT_SECONDS = 30.0
LEFT_LINE = "conversation {}: the visitor left before the reply"  # channels/visitor_rest.py logs it


@dataclass(frozen=True)
class Servers:
    workdir: Path
    actions: subprocess.Popen
    action_url: str
    webhook: str

    def log_sizes(self) -> dict[Path, int]:
        """Where each server's log ends now: what a test logs comes after."""
        return {path: path.stat().st_size for path in self.workdir.glob("*.log")}

    @property
    def leads(self) -> Path:
        return self.workdir / "leads.sqlite3"

    def logs_since(self, sizes: dict[Path, int]) -> str:
        """What both servers have logged since log_sizes() gave `sizes`."""
        logged = []
        for path in sorted(self.workdir.glob("*.log")):
            with path.open("rb") as log:
                log.seek(sizes.get(path, 0))
                logged.append(log.read().decode(errors="replace"))
        return "\n".join(logged)


@pytest.fixture(scope="module")
def scripts() -> Scripts:
    return Scripts(load_knowledge(), load_replies())


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    workdir = tmp_path_factory.mktemp("error-logs")
    plant_an_unreadable_earlier_lead(workdir / "leads.sqlite3", DANA)
    leads_url = f"sqlite:///{workdir / 'leads.sqlite3'}"
    with (
        action_server_process(workdir, leads_url=leads_url) as (process, action_url),
        rasa_server(workdir, action_url) as webhook,
    ):
        yield Servers(workdir, process, action_url, webhook)


def plant_an_unreadable_earlier_lead(database: Path, person: Person) -> None:
    """An earlier lead of `person`, handed over already (so no worker reads it), with questions
    that are not JSON: the store finds it as the person's repeat and fails reading it."""
    store = LeadStore(f"sqlite:///{database}")
    earlier = make_lead(
        1, email=person.email, phone=person.stored_phone, delivery_status=DELIVERED, delivered_at=utc_now()
    )
    store.save(earlier)
    store.dispose()
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("UPDATE leads SET questions = ? WHERE id = ?", (UNREADABLE_QUESTIONS, earlier.id))


def saved_leads(database: Path, email: str) -> list[tuple[str, str | None]]:
    """(conversation, page address) of each lead with this email, read as staff would."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        return db.execute("SELECT conversation_id, page_url FROM leads WHERE email = ?", (email,)).fetchall()


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
        connection.settimeout(SETTLE_SECONDS)
        with contextlib.suppress(TimeoutError):  # the wanted outcome: no answer yet
            answered = connection.recv(4096)
            raise AssertionError(f"answered before the visitor could leave: {answered[:300]!r}")


def say_raw(webhook: str, sender: str, message: str, page_url: str) -> list[dict]:
    """Like tests.servers.say, with the body as Python's json writes it (ASCII, \\u escapes),
    so a page address may hold a character UTF-8 cannot encode (a lone surrogate)."""
    body = json.dumps({"sender": sender, "message": message, "metadata": {"page_url": page_url}})
    response = httpx.post(webhook, content=body, headers={"Content-Type": "application/json"}, timeout=60)
    response.raise_for_status()
    return response.json()


def leave_mid_request(servers: Servers, sender: str, message: str) -> None:
    """The message sent while the action server is paused, the connection dropped, and the
    Rasa server seen noticing it (it logs the conversation id: the request really was left)."""
    before = servers.log_sizes()
    with paused(servers.actions):
        send_and_leave(servers.webhook, sender, message)
        deadline = time.monotonic() + NOTICE_TIMEOUT_SECONDS
        while LEFT_LINE.format(sender) not in servers.logs_since(before):
            assert time.monotonic() < deadline, f"no sign that the Rasa server noticed {sender} leaving"
            time.sleep(0.2)


@pytest.mark.slow
def test_a_visitor_who_leaves_mid_request_leaves_no_contact_details_in_the_logs(servers, scripts):
    form = scripts.form(DANA, scripts.program(HEALTH_IT))
    in_form, outside_form = f"left-in-form-{uuid.uuid4()}", f"left-outside-{uuid.uuid4()}"
    before = servers.log_sizes()
    converse(servers.webhook, in_form, form[:1])  # the form now asks for the name
    # Rasa drops a log record identical to the one before it, so the two conversations alternate.
    leave_mid_request(servers, in_form, DANA.name)
    converse(servers.webhook, in_form, [form[1]])  # the form goes on where it was
    leave_mid_request(servers, outside_form, f"can you call me on {DANA.phone} or write to {DANA.email}?")
    leave_mid_request(servers, in_form, DANA.email)
    converse(servers.webhook, in_form, form[2:4])  # the email again, then the phone: the form goes on
    assert traces(DANA, servers.logs_since(before)) == []


@pytest.mark.slow
def test_a_failing_action_leaves_no_contact_details_in_the_logs_and_the_visitor_gets_the_apology(servers, scripts):
    sender = f"failing-{uuid.uuid4()}"
    before = servers.log_sizes()
    form = scripts.form(DANA, scripts.program(HEALTH_IT))
    converse(servers.webhook, sender, form[:-1], page_url=PAGE)
    confirm, _thanks = form[-1]
    reply = texts(say(servers.webhook, sender, confirm, page_url=PAGE))
    assert reply in scripts.say("reply_service_trouble", phone=scripts.kb.admissions.phone)  # not "saved"
    logs = servers.logs_since(before)
    assert f"Action action_submit_inquiry failed: {FAULT}" in logs  # the fault really happened
    assert traces(DANA, logs) == []
    assert [conversation for conversation, _page in saved_leads(servers.leads, DANA.email)] == ["conversation-1"]


@pytest.mark.slow
def test_a_page_address_with_a_lone_surrogate_no_longer_costs_the_visitor_their_inquiry(servers, scripts):
    """This suite's former fault: the door drops the page, and the lead is saved without it."""
    sender = f"surrogate-page-{uuid.uuid4()}"
    before = servers.log_sizes()
    for message, expected in scripts.form(SAM, scripts.program(HEALTH_IT)):
        assert answered(texts(say_raw(servers.webhook, sender, message, SURROGATE_PAGE)), expected), message
    assert saved_leads(servers.leads, SAM.email) == [(sender, None)]
    logs = servers.logs_since(before)
    assert "UnicodeEncodeError" not in logs and "surrogates not allowed" not in logs
    assert traces(SAM, logs) == []


@pytest.mark.slow
def test_the_action_server_answers_a_failing_action_without_the_tracker(servers, scripts):
    """The same fault, asked for directly as the Rasa server would: the answer and the log
    name the action and the exception's type, and hold nothing of the conversation."""
    before = servers.log_sizes()
    slots = scripts.slots(DANA, scripts.program(HEALTH_IT))  # every answer valid: the earlier lead is the fault
    typed = {"event": "user", "text": DANA.phone, "metadata": {"page_url": PAGE}}
    tracker = {"sender_id": f"crafted-{uuid.uuid4()}", "slots": slots, "latest_message": {}, "events": [typed]}
    call = {"next_action": "action_submit_inquiry", "sender_id": tracker["sender_id"], "tracker": tracker}
    call["domain"] = scripts.replies.domain.as_dict()  # as Rasa sends it
    answer = httpx.post(servers.action_url, content=json.dumps(call), headers=ACTIONS_AUTH, timeout=60)
    assert answer.status_code == 500
    assert set(answer.json()) == {"error", "action_name"} and answer.json()["action_name"] == "action_submit_inquiry"
    assert traces(DANA, answer.text) == []
    logs = servers.logs_since(before)
    assert f"Action action_submit_inquiry failed: {FAULT}" in logs
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


# What the action server logs and answers for a failing action


def test_a_failure_is_described_by_types_and_places_not_by_messages():
    name, email = DANA.name, DANA.email  # the traceback quotes source lines: these names say nothing

    def save() -> None:
        raise UnicodeEncodeError("utf-8", name, 0, 1, "surrogates not allowed")

    def submit() -> None:
        try:
            save()
        except UnicodeEncodeError as error:
            raise RuntimeError(f"lead of {email} not saved") from error

    try:
        submit()
    except RuntimeError as error:
        described = failure_response.where_it_failed(error)
    assert traces(DANA, described) == []
    assert "in save" in described and "in submit" in described  # where, in both links of the chain
    cause, _, failure = described.partition("\nled to:\n")
    assert cause.endswith("UnicodeEncodeError") and failure.endswith("RuntimeError")


# The Rasa patch: an action server's error body stays out of exception messages


@pytest.fixture
def patched() -> Iterator[None]:
    privacy_patches.install()
    try:
        yield
    finally:
        privacy_patches.uninstall()


def test_an_action_server_error_body_stays_out_of_the_message_and_in_text(patched):
    body = json.dumps(
        {"error": "failed", "request_body": {"slots": {"lead_email": DANA.email, "lead_name": DANA.name}}}
    )
    error = ClientResponseError(500, "Internal Server Error", body)
    assert traces(DANA, str(error)) == [] and traces(DANA, repr(error)) == []
    assert "500" in str(error) and "Internal Server Error" in str(error)
    assert (error.status, error.message, error.text) == (
        500,
        "Internal Server Error",
        body,
    )  # a 400's reason is read from .text


def test_importing_the_project_leaves_the_privacy_patch_out():
    for module in ("channels", "channels.visitor_rest", "channels.tracker_store", "channels.privacy_patches"):
        importlib.import_module(module)
    assert all(patching.is_rasas_own(patch) for patch in privacy_patches.PATCHES)


def test_the_entry_point_refuses_to_start_another_rasa_even_without_the_speedups(monkeypatch):
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    monkeypatch.setenv(speedups.SWITCH, "off")
    monkeypatch.setattr(sys, "argv", ["rasa", "--version"])
    with pytest.raises(SystemExit) as stopped:
        server.main()
    assert "Cannot start Rasa" in str(stopped.value.code) and "channels/privacy_patches.py" in str(stopped.value.code)
    assert all(patching.is_rasas_own(patch) for patch in privacy_patches.PATCHES)
