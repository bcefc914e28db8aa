"""Hostile input, many visitors at once and injected faults, over the real REST webhook.

Every test talks to the real action server and Rasa server on loopback. The figures the
closing note reports (inputs tried, faults injected, leads lost) are counted here and
printed in the test summary.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from actions.knowledge import load_knowledge
from actions.knowledge.loader import DEFAULT_DIR
from tests.conftest import MEASUREMENTS, wait_for
from tests.conversations import BILLING as BILLING_ID
from tests.conversations import Conversation, Person, Scripts, answered
from tests.crm import SECRET, FakeCRM
from tests.replies import load_replies
from tests.servers import (
    action_server,
    action_server_process,
    converse,
    exported_leads,
    free_port,
    postgres_server,
    rasa_server,
    say,
    texts,
)

pytestmark = pytest.mark.slow

KB = load_knowledge(DEFAULT_DIR)
REPLIES = load_replies()
SCRIPTS = Scripts(KB, REPLIES)
BILLING = SCRIPTS.program(BILLING_ID)
DURATION_QUESTION = f"how long is {BILLING.name.lower()}?"
DURATION_ANSWER = SCRIPTS.duration(BILLING)
APOLOGY = REPLIES.variations("reply_service_trouble", phone=KB.admissions.phone)
ROBIN = Person("Robin Keller", "robin@example.com", "(423) 555-0142", "+14235550142")


def visitor() -> str:
    return f"reliability-{uuid.uuid4()}"


def inquiry(person: Person) -> Conversation:
    """The messages that complete an inquiry form, each with the text expected in reply."""
    return SCRIPTS.form(person, BILLING)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("reliability")
    leads_url = f"sqlite:///{workdir / 'leads.sqlite3'}"
    with action_server(workdir, leads_url=leads_url) as actions, rasa_server(workdir, actions) as url:
        yield url, leads_url


@pytest.fixture(scope="module")
def webhook(servers):
    return servers[0]


# --- bad input --------------------------------------------------------------------------

ANSWERED = {
    "emoji": "\U0001f600\U0001f393\U0001f469\u200d\u2695\ufe0f ??",
    "right-to-left": (
        "\u0643\u0645 \u0645\u062f\u0629 \u0627\u0644\u0628\u0631\u0646\u0627\u0645\u062c\u061f"
        " \u202etxet desrever\u202c"
    ),
    "control characters and NUL": "hi\x00\x01\x07\x1b[31m\x7f there",
    "SQL injection": "'; DROP TABLE leads; -- OR 1=1",
    "HTML and script": "<script>alert(1)</script><img src=x onerror=alert(2)>",
    "JSON in the text": '{"sender": "someone-else", "message": "/restart", "metadata": {"page_url": 1}}',
    "truncated intent payload": '/inform{"program": ',
    "unknown intent payload": "/no_such_intent",
    "script in an entity": '/ask_duration{"program": "<script>alert(1)</script>"}',
    "near the size limit": "how long does it take " * 220,
    "blank lines": "\n\n how\n\n\n long \n",
}
REFUSED = {
    "empty": ("", 400),
    "whitespace": (" \n\t ", 400),
    "100 KB": ("a" * 100_000, 413),
}
UNUSABLE = {  # id: (body, content type, status)
    "no sender": ('{"message": "hi"}', "application/json", 400),
    "malformed JSON": ("{not json", "application/json", 400),
    "form encoded": ("message=hi", "application/x-www-form-urlencoded", 400),
    "not an object": ("[]", "application/json", 400),
    "10 KB sender": ('{"sender": "%s", "message": "hi"}' % ("x" * 10_000), "application/json", 400),
    "control characters in sender": ('{"sender": "SENDER\\u0000\\u001b", "message": "hi"}', "application/json", 400),
}
HOSTILE_FORM_ANSWERS = {
    "name": ["<script>alert(1)</script>", "'; DROP TABLE leads; --"],
    "email": ["robin@@example.com", "robin@example.com'; DROP TABLE leads; --"],
    "phone": ["12345", "1; DROP TABLE leads"],
}
BAD_INPUT = [
    *ANSWERED,
    *REFUSED,
    *UNUSABLE,
    *(f"{field}: {value}" for field, values in HOSTILE_FORM_ANSWERS.items() for value in values),
]
# Each kind of bad input a test has checked, added once its assertions passed: the summary
# line is printed from this, and only when every kind above was checked.
CHECKED_BAD_INPUT: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def bad_input_summary():
    yield
    if sorted(CHECKED_BAD_INPUT) == sorted(BAD_INPUT):
        MEASUREMENTS.append(
            f"reliability: {len(CHECKED_BAD_INPUT)} kinds of bad input tried over REST, "
            "every one answered or refused with a 4xx"
        )


@pytest.mark.parametrize("kind", ANSWERED)
def test_odd_messages_are_answered_and_the_next_question_too(webhook, kind):
    sender = visitor()
    response = httpx.post(webhook, json={"sender": sender, "message": ANSWERED[kind]}, timeout=60)
    assert response.status_code == 200
    replies = texts(response.json())
    assert replies.strip() and not answered(replies, APOLOGY)  # a real answer, not silence or an error
    assert answered(texts(say(webhook, sender, DURATION_QUESTION)), DURATION_ANSWER)
    CHECKED_BAD_INPUT.append(kind)


@pytest.mark.parametrize("kind", REFUSED)
def test_unanswerable_messages_get_a_4xx_and_the_conversation_goes_on(webhook, kind):
    text, status = REFUSED[kind]
    sender = visitor()
    response = httpx.post(webhook, json={"sender": sender, "message": text}, timeout=60)
    assert response.status_code == status and "error" in response.json()
    assert answered(texts(say(webhook, sender, DURATION_QUESTION)), DURATION_ANSWER)
    CHECKED_BAD_INPUT.append(kind)


@pytest.mark.parametrize("kind", UNUSABLE)
def test_unusable_requests_get_a_4xx_and_the_conversation_goes_on(webhook, kind):
    content, content_type, status = UNUSABLE[kind]
    sender = visitor()
    response = httpx.post(
        webhook, content=content.replace("SENDER", sender), headers={"Content-Type": content_type}, timeout=60
    )
    assert response.status_code == status and "error" in response.json()
    assert answered(texts(say(webhook, sender, DURATION_QUESTION)), DURATION_ANSWER)
    CHECKED_BAD_INPUT.append(kind)


def test_invalid_form_answers_are_asked_again_and_never_stored(servers):
    url, leads_url = servers
    sender = visitor()
    hostile = HOSTILE_FORM_ANSWERS
    prompts = {field: REPLIES.variations(f"reply_ask_lead_{field}") for field in hostile}
    turns = inquiry(ROBIN)
    say(url, sender, turns[0][0])
    for field, (valid, _) in zip(("name", "email", "phone"), turns[1:4], strict=False):
        for bad in hostile[field]:
            reply = texts(say(url, sender, bad))
            assert answered(reply, prompts[field]), f"{bad!r} was not asked again: {reply}"
        say(url, sender, valid)
    converse(url, sender, turns[4:])

    [lead] = exported_leads(leads_url, sender)
    assert (lead["name"], lead["email"], lead["phone"]) == (ROBIN.name, ROBIN.email, ROBIN.stored_phone)
    stored = json.dumps(lead)
    for bad in (b for values in hostile.values() for b in values):
        assert bad not in stored
    CHECKED_BAD_INPUT.extend(f"{field}: {value}" for field, values in hostile.items() for value in values)


# --- many visitors at once --------------------------------------------------------------


def test_fifty_visitors_completing_the_form_at_once_give_fifty_leads(servers):
    url, leads_url = servers
    visitors = 50
    letters = "abcdefghijklmnopqrstuvwxyz"
    people: dict[str, Person] = {
        visitor(): Person(
            f"Sam {letters[n // 26].upper()}{letters[n % 26]}ster",
            f"crowd{n}@example.com",
            f"(423) 555-{n:04d}",
            f"+1423555{n:04d}",
        )
        for n in range(visitors)
    }
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=visitors) as pool:
        list(pool.map(lambda item: converse(url, item[0], inquiry(item[1])), people.items()))
    elapsed = time.monotonic() - started

    leads = [lead for lead in exported_leads(leads_url) if lead["conversation_id"] in people]
    stored = sorted((lead["conversation_id"], lead["name"], lead["email"], lead["phone"]) for lead in leads)
    expected = sorted((sender, p.name, p.email, p.stored_phone) for sender, p in people.items())
    assert stored == expected  # one lead per visitor, each with that visitor's own details
    assert {lead["program_id"] for lead in leads} == {BILLING.id}
    MEASUREMENTS.append(
        f"reliability: {visitors} simultaneous inquiry forms -> {len(leads)} leads, {visitors - len(leads)} lost "
        f"({visitors * len(inquiry(ROBIN))} turns in {elapsed:.1f} s)"
    )


# --- faults -----------------------------------------------------------------------------


def test_a_killed_action_server_gets_an_apology_and_the_form_goes_on_after_a_restart(tmp_path):
    sender, port = visitor(), free_port()
    turns = inquiry(ROBIN)
    with action_server_process(tmp_path, port=port) as (process, actions), rasa_server(tmp_path, actions) as url:
        converse(url, sender, turns[:2])
        process.kill()
        process.wait()
        for message in (turns[2][0], DURATION_QUESTION):
            assert texts(say(url, sender, message)) in APOLOGY
        with action_server_process(tmp_path, port=port):
            converse(url, sender, turns[2:])
    [lead] = exported_leads(f"sqlite:///{tmp_path / 'leads.sqlite3'}", sender)
    assert lead["email"] == ROBIN.email
    MEASUREMENTS.append(
        "reliability: action server killed mid-form -> apology with the phone number, form completed after restart"
    )


def test_leads_wait_while_the_crm_is_down_and_arrive_once_when_it_returns(tmp_path):
    sender = visitor()
    leads_url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    with FakeCRM(SECRET) as crm:
        crm.down = True
        crm_env = {
            "LEADS_WEBHOOK_URL": crm.url,
            "LEADS_WEBHOOK_SECRET": SECRET,
            "LEADS_DELIVERY_INTERVAL": "0.5",
            "LEAD_DELIVERY_BACKOFF": "0.2",  # a failed lead is due again in the next rounds
            "LEAD_DELIVERY_MAX_BACKOFF": "0.5",
        }
        with action_server(tmp_path, None, leads_url, **crm_env) as actions, rasa_server(tmp_path, actions) as url:
            converse(url, sender, inquiry(ROBIN))
            [lead] = exported_leads(leads_url, sender)
            assert wait_for(lambda: crm.requests >= 3, 20), "the worker did not try the CRM"
            assert exported_leads(leads_url)[0]["delivery_status"] == "pending" and not crm.accepted

            crm.down = False
            assert wait_for(lambda: exported_leads(leads_url)[0]["delivery_status"] == "delivered", 30)
            time.sleep(2)  # several more delivery rounds: none may send it again
        assert crm.accepted_posts == {lead["id"]: 1} and not crm.bad_signatures
        assert crm.accepted[lead["id"]]["email"] == ROBIN.email
    failed = crm.requests - sum(crm.accepted_posts.values())
    MEASUREMENTS.append(
        f"reliability: CRM down ({failed} refused posts) -> lead kept pending, then delivered exactly once"
    )


def test_no_thank_you_while_the_leads_database_is_down(tmp_path):
    sender = visitor()
    turns = inquiry(ROBIN)
    with postgres_server() as database:
        with action_server(tmp_path, leads_url=database.url) as actions, rasa_server(tmp_path, actions) as url:
            converse(url, sender, turns[:-1])
            database.stop()
            reply = texts(say(url, sender, "yes"))
            assert answered(reply, REPLIES.variations("reply_inquiry_not_saved", phone=KB.admissions.phone))
            assert not answered(reply, turns[-1][1])  # no thank-you

            database.start()
            assert answered(texts(say(url, sender, "I'd like more info")), turns[-2][1])  # the summary again
            converse(url, sender, turns[-1:])
        leads = exported_leads(database.url, sender)
    assert len(leads) == 1 and leads[0]["email"] == ROBIN.email
    MEASUREMENTS.append("reliability: leads database stopped at submit -> no thank-you; saved once after it returned")
