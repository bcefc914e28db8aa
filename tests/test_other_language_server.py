"""Issue 11 over the real servers: other languages and out-of-scope messages, spoken to over REST.

The trained model (its NLU pipeline ends with the language step), the rules and the action
server on loopback, as the widget talks to them.
"""

from __future__ import annotations

import uuid

import pytest

from actions.dialogue import phrasing, suggestions
from actions.knowledge import load_knowledge
from tests.conftest import PHONE
from tests.conversations import BILLING, DANA, EMAIL, HEALTH_IT, Scripts, answered
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


def sender() -> str:
    return f"other-language-{uuid.uuid4()}"


def test_spanish_is_told_in_spanish_and_the_conversation_keeps_its_program(servers, scripts):
    url, _ = servers
    health_it = scripts.program(HEALTH_IT)
    spanish = scripts.say("reply_other_language_es", phone=PHONE)
    converse(
        url,
        sender(),
        [
            ("how long is health IT?", scripts.duration(health_it)),
            ("¿y se puede estudiar en línea desde la casa?", spanish),
            ("Quisiera hablar con alguien de admisiones por favor", spanish),
            ("is it online?", scripts.delivery(health_it)),  # still about Health IT
        ],
    )


@pytest.mark.parametrize(
    "message",
    [
        "combien de temps dure le programme de facturation?",
        "o curso de codificação médica é online?",
        "这个课程要多长时间？",
        "có lớp học buổi tối không?",
    ],
)
def test_other_languages_are_told_in_english(servers, scripts, message):
    url, _ = servers
    reply = texts(say(url, sender(), message))
    assert answered(reply, scripts.say("reply_other_language", phone=PHONE)), reply


@pytest.mark.parametrize(
    "message, program",
    [
        ("my name is José Gutiérrez, how long is medical coding?", BILLING),
        ("is health IT offered at the Augusta campus?", HEALTH_IT),
        ("i want to do medical coding pronto, how long does it take", BILLING),
    ],
)
def test_english_with_spanish_names_and_words_is_answered_in_english(servers, scripts, message, program):
    url, _ = servers
    reply = texts(say(url, sender(), message))
    assert scripts.program(program).name in reply, reply
    assert not answered(reply, scripts.say("reply_other_language_es", phone=PHONE))


def test_inside_the_form_spanish_is_not_a_name_and_the_lead_is_saved_after(servers, scripts):
    url, leads_url = servers
    health_it = scripts.program(HEALTH_IT)
    visitor = sender()
    form = scripts.form(DANA, health_it, discussed=True)
    converse(url, visitor, [("is health IT online?", scripts.delivery(health_it)), form[0]])

    reply = texts(say(url, visitor, "perdón, no entiendo bien el inglés, me pueden llamar"))
    assert answered(reply, scripts.say("reply_other_language_es", phone=PHONE)), reply
    assert answered(reply, scripts.say("reply_ask_lead_name")) and REFUSED_NAME not in reply
    converse(url, visitor, form[1:])  # the name, then on to the thank-you

    mine = exported_leads(leads_url, visitor)
    assert len(mine) == 1 and (mine[0]["name"], mine[0]["contact_method"]) == (DANA.name, EMAIL)


@pytest.mark.parametrize(
    "message",
    [
        "hows the weather in augusta this week",
        "tell me a joke please",
        "is Miller-Motte better than your college",
        "can you do my math homework",
    ],
)
def test_out_of_scope_says_what_the_assistant_helps_with_and_offers_buttons(servers, scripts, message):
    url, _ = servers
    replies = say(url, sender(), message)
    expected = scripts.say("reply_out_of_scope", program_names=phrasing.program_names(scripts.kb))
    assert [r.get("text") for r in replies if r.get("text")] in ([text] for text in expected), replies
    assert replies[-1].get("buttons") == suggestions.next_steps("out_of_scope")
