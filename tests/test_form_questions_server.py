"""Issue 11 over the real servers: "and how long?" at the name question is answered, not refused as a name.

The real action server and Rasa server (the trained model's NLU, rules and form) on loopback,
spoken to over the REST webhook as the widget does.
"""

from __future__ import annotations

import uuid

import pytest

from actions.knowledge import load_knowledge
from tests.conversations import DANA, EMAIL, HEALTH_IT, Expected, Scripts, answered
from tests.replies import load_replies
from tests.servers import action_server, converse, exported_leads, rasa_server, say, texts

pytestmark = pytest.mark.slow

REFUSED_NAME = "A name can contain"  # the start of the name validator's reason (tests/test_validators.py)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("servers")
    leads_url = f"sqlite:///{workdir / 'leads.sqlite3'}"
    with action_server(workdir, leads_url=leads_url) as actions, rasa_server(workdir, actions) as url:
        yield url, leads_url


@pytest.fixture(scope="module")
def scripts():
    return Scripts(load_knowledge(), load_replies())


def position(replies: list[str], expected: Expected) -> int:
    """Where the reply saying `expected` is among the messages sent."""
    found = [i for i, text in enumerate(replies) if answered(text, expected)]
    assert found, f"{expected[0]!r} not among {replies}"
    return found[0]


def test_and_how_long_mid_form_gets_the_duration_then_the_name_question_and_the_lead_is_saved(servers, scripts):
    url, leads_url = servers
    health_it = scripts.program(HEALTH_IT)
    sender = f"form-question-{uuid.uuid4()}"
    form = scripts.form(DANA, health_it, discussed=True)
    converse(url, sender, [("is health IT online?", scripts.delivery(health_it)), form[0]])

    replies = [reply.get("text", "") for reply in say(url, sender, "and how long?")]
    duration = position(replies, scripts.duration(health_it))
    assert duration < position(replies, scripts.say("reply_ask_lead_name")), replies  # then the same question
    assert not any(REFUSED_NAME in text for text in replies), replies

    reply = texts(say(url, sender, "is it online?"))  # still at the name question
    assert answered(reply, scripts.delivery(health_it)) and answered(reply, scripts.say("reply_ask_lead_name"))
    assert REFUSED_NAME not in reply
    converse(url, sender, [form[1]])  # the name given: the email question
    reply = texts(say(url, sender, "which campus is closest to Tulsa"))
    assert scripts.campus("tulsa").label in reply and answered(reply, scripts.say("reply_ask_lead_email")), reply
    assert "valid email" not in reply
    converse(url, sender, form[2:])  # email, phone, "yes" to Health IT, online, email, consent, send

    mine = exported_leads(leads_url, sender)
    assert len(mine) == 1
    lead = mine[0]
    assert (lead["name"], lead["email"], lead["phone"]) == (DANA.name, DANA.email, DANA.stored_phone)
    assert (lead["program_id"], lead["contact_method"]) == (HEALTH_IT, EMAIL)
