"""Issue 11 over the real servers: two questions in one message, and interest as context.

The real action server and Rasa server (the trained model's NLU and rules) on loopback, spoken
to over the REST webhook as the widget does. Messages are worded as visitors write them (typos
included) and appear neither in data/nlu.yml nor in tests/nlu_holdout.yml.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from actions.dialogue import phrasing
from actions.knowledge import load_knowledge
from actions.knowledge.model import Program
from tests.conftest import MEASUREMENTS
from tests.conversations import BILLING, HEALTH_IT, Expected, Scripts, answered
from tests.replies import load_replies
from tests.servers import action_server, rasa_server, say, texts

pytestmark = pytest.mark.slow

SCRIPTS = Scripts(load_knowledge(), load_replies())
HIT, MBC = SCRIPTS.program(HEALTH_IT), SCRIPTS.program(BILLING)
Expect = Callable[[Scripts], Expected]


def duration(program: Program) -> Expect:
    return lambda s: s.duration(program)


def delivery(program: Program) -> Expect:
    return lambda s: s.delivery(program)


def where(program: Program) -> Expect:
    return lambda s: s.where(program)


def credential(program: Program) -> Expect:
    return lambda s: s.say("reply_credential", program_name=program.name, credential=program.typical_credential)


def careers(program: Program) -> Expect:
    return lambda s: s.say(
        "reply_careers",
        program_name=program.name,
        careers=phrasing.join(program.careers, "or"),
        career_summary=program.career_summary,
    )


def curriculum(program: Program) -> Expect:
    return lambda s: s.say(
        "reply_curriculum", program_name=program.name, scope=program.scope, topics=phrasing.join(program.topics_covered)
    )


# (message, what the reply must say, in this order)
TWO_QUESTIONS: list[tuple[str, list[Expect]]] = [
    ("how long is health IT and is it online?", [duration(HIT), delivery(HIT)]),
    ("where is medical coding offered? and how long does it take", [where(MBC), duration(MBC)]),
    ("how long is HIT and what credential do you get", [duration(HIT), credential(HIT)]),
    ("hw long is the billing and coding program, and what jobs can i get after", [duration(MBC), careers(MBC)]),
    ("Is health IT online? How much does it cost?", [delivery(HIT), lambda s: s.unknown_topic("tuition")]),
    ("what will I learn in medical coding and how long is it", [curriculum(MBC), duration(MBC)]),
    ("how long does HIT take and which campuses have it", [duration(HIT), where(HIT)]),
    ("tell me how long medical billing takes and whether its online", [duration(MBC), delivery(MBC)]),
    ("what credential does health IT lead to? also what careers", [credential(HIT), careers(HIT)]),
    ("is coding online and what about the credential?", [delivery(MBC), credential(MBC)]),
]
# One question each: answered once, nothing invented from the other words.
ONE_QUESTION: list[tuple[str, Expect]] = [
    ("how long is health IT?", duration(HIT)),
    ("I work days, so is medical coding online?", delivery(MBC)),
    ("Hi there, how long does billing and coding take", duration(MBC)),
]
# Interest in a program, worded as visitors do: the overview and the offer, never the form.
INTEREST: list[tuple[str, Program]] = [
    ("I think I want to do medical coding", MBC),
    ("im thinking about health IT", HIT),
    ("I'm really into the idea of medical billing and coding", MBC),
    ("healthcare information technology is what im interested in", HIT),
    ("been considering coding", MBC),
    ("I want to study health info tech", HIT),
]


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("servers")
    with action_server(workdir) as actions, rasa_server(workdir, actions) as webhook:
        yield webhook


def new_sender() -> str:
    return f"twoq-{uuid.uuid4()}"


def in_order(replies: list[str], expected: list[Expected]) -> bool:
    """Each expected text said, each by a later message than the one before."""
    last = -1
    for wanted in expected:
        found = [i for i, text in enumerate(replies) if i > last and answered(text, wanted)]
        if not found:
            return False
        last = found[0]
    return True


def replies_to(url: str, message: str) -> list[str]:
    return [reply.get("text", "") for reply in say(url, new_sender(), message)]


def test_both_questions_of_one_message_are_answered_in_order(url):
    wrong = []
    for message, expects in TWO_QUESTIONS:
        replies = replies_to(url, message)
        if not in_order(replies, [expect(SCRIPTS) for expect in expects]):
            wrong.append(f"{message!r}: {replies}")
    right = len(TWO_QUESTIONS) - len(wrong)
    MEASUREMENTS.append(f"two questions in one message, over REST: {right}/{len(TWO_QUESTIONS)} both answered in order")
    assert not wrong, "\n".join(wrong)


def test_one_question_is_answered_once(url):
    for message, expect in ONE_QUESTION:
        replies = replies_to(url, message)
        said = [text for text in replies if answered(text, expect(SCRIPTS))]
        assert len(said) == 1, f"{message!r}: {replies}"
        assert len(replies) == 1, f"{message!r}: something else answered too: {replies}"


def test_interest_gets_the_overview_and_the_offer_never_the_form(url):
    name_question = SCRIPTS.say("reply_ask_lead_name")
    wrong = []
    for message, program in INTEREST:
        reply = texts(say(url, new_sender(), message))
        if not (answered(reply, SCRIPTS.overview(program)) and answered(reply, SCRIPTS.say("reply_inquiry_offer"))):
            wrong.append(f"{message!r}: {reply}")
        elif answered(reply, name_question):
            wrong.append(f"{message!r} started the form: {reply}")
    right = len(INTEREST) - len(wrong)
    MEASUREMENTS.append(f"interest as context, over REST: {right}/{len(INTEREST)} overview and offer, no form")
    assert not wrong, "\n".join(wrong)


def test_after_interest_a_short_question_is_about_that_program_and_a_request_starts_the_form(url):
    sender = new_sender()
    reply = texts(say(url, sender, "I think I want to do medical coding"))
    assert answered(reply, SCRIPTS.say("reply_interest", program_name=MBC.name)), reply
    reply = texts(say(url, sender, "and how long?"))
    assert answered(reply, SCRIPTS.duration(MBC)) and "A name can contain" not in reply, reply
    assert answered(texts(say(url, sender, "is it online?")), SCRIPTS.delivery(MBC))
    reply = texts(say(url, sender, "I'd like more info"))
    assert answered(reply, SCRIPTS.say("reply_ask_lead_name")), reply


def test_yes_to_the_offer_starts_the_form_and_no_does_not(url):
    accepting, declining = new_sender(), new_sender()
    for sender in (accepting, declining):
        say(url, sender, "thinking about health IT")
    reply = texts(say(url, accepting, "yes please"))
    assert answered(reply, SCRIPTS.say("reply_ask_lead_name")), reply
    reply = texts(say(url, declining, "no thanks"))
    assert answered(reply, SCRIPTS.say("reply_anything_else")) and not answered(
        reply, SCRIPTS.say("reply_ask_lead_name")
    ), reply
