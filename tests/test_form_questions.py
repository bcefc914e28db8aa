"""Inside the inquiry form, a question is a question (issue 11).

A message shaped like a question is never taken as a name, email, phone or choice: it gets
the answer it would get outside the form, in the conversation's program context, and the same
field is asked again, without counting as a failed try. Names that open with a question word
("Will Smith", "May Chen") are still names. Run with rasa_sdk trackers, as the action server
runs the form; answers are compared with the answer action's own, run on the same message.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dialogue import answers
from actions.inquiry import fields
from actions.inquiry.form_actions import MAX_FAILURES, ValidateInquiryForm
from actions.knowledge.model import Program
from actions.language.question_shape import looks_like_question
from actions.question_actions import ANSWER_ACTIONS
from tests.conftest import DOMAIN, PHONE, ROOT, render, run_action
from tests.conversations import Scripts
from tests.replies import load_replies
from tests.test_inquiry_form import BILLING, COMPLETE, HIT, KB, SLOTS, Result, answer, say

SCRIPTS = Scripts(KB, load_replies())
TULSA = KB.campus("tulsa")

# (message, the intent the NLU may give it): follow-ups come as `inform`, the form's old blind spot.
QUESTIONS = [
    ("and how long?", "inform"),
    ("and how long?", "ask_duration"),
    ("is it online?", "ask_delivery"),
    ("which campus is closest to Tulsa", "ask_campus"),
    ("how long is it", "ask_duration"),
    ("how long is it", "inform"),
]
# Free-text fields and choices: a question is never their answer.
ASKED_FIRST = ["lead_name", "lead_email", "lead_phone", "lead_program", "lead_study_option", "lead_contact_method"]
NAMES = ["Will Smith", "May Chen", "Isa Lopez", "Drew", "Can Yilmaz", "Do Van Thanh", "Howard Whitman", "Wen Ho"]


@pytest.mark.parametrize(
    "text",
    [
        "and how long?",
        "is it online?",
        "which campus is closest to Tulsa",
        "how long is it",
        "and how long",
        "but is it online",
        "so what does it cost",
        "ok, how long is it",
        "okay so where is it taught",
        "What\u2019s the difference",
        "Can I study online",
        "will it take long",
        "may I ask something",
        "do you have evening classes",
        "isn't it online",
        "Who teaches it",
        "?",
        "Will Smith?",  # a question mark is a question, whatever comes before it
    ],
)
def test_questions_are_shaped_like_questions(text):
    assert looks_like_question(text)


@pytest.mark.parametrize(
    "text",
    [
        *NAMES,
        "Dana O'Brien-N\u00fa\u00f1ez",
        "who@example.com",
        "will.smith@example.com",
        "Is\u00e1 Lopez",
        "(423) 555-0134",
        "Online at Chattanooga, TN",
        "text message",
        "yes",
        "and",
        "",
    ],
)
def test_names_addresses_numbers_and_choices_are_not(text):
    assert not looks_like_question(text)


def in_form(requested: str, text: str, intent: str, **slots: Any) -> Result:
    """The reply to `requested` after talking about Health IT's duration, earlier fields filled."""
    earlier = {f: COMPLETE[f] for f in SLOTS[: SLOTS.index(requested)] if f in COMPLETE}
    if "lead_program" in earlier:  # where to study is asked for Health IT's places
        earlier["lead_program"] = HIT.id
    return answer(requested, text, intent, slots={**earlier, "program": HIT.id, "last_topic": "duration", **slots})


def outside(text: str, intent: str) -> list[str]:
    """What the answer action says to the same message in the same context, outside the form."""
    topic = answers.topic_of(intent)
    assert topic
    return run_action(topic, text, intent, slots={"program": HIT.id, "last_topic": "duration"}).texts


@pytest.mark.parametrize("requested", ASKED_FIRST)
@pytest.mark.parametrize("text, intent", QUESTIONS)
def test_a_question_is_answered_as_outside_the_form_and_the_same_field_asked_again(requested, text, intent):
    result = in_form(requested, text, intent)
    assert result.texts == outside(text, intent)
    assert result.slot(requested) is None and result.slot("requested_slot") == requested
    assert result.slot("lead_failures") == "<unset>"  # not one of the three tries
    assert "reply_invalid_field" not in result.responses


def duration(program: Program) -> str:
    return say("reply_duration", program_name=program.name, duration_months=program.duration_months)


@pytest.mark.parametrize("requested", ASKED_FIRST)
def test_and_how_long_gets_the_duration_of_the_program_discussed(requested):
    assert in_form(requested, "and how long?", "inform").texts == [duration(HIT)]
    billing = in_form(requested, "and how long?", "ask_duration", program=BILLING.id)
    assert billing.texts == [duration(BILLING)]


def test_the_answers_carry_the_facts_asked_for():
    assert in_form("lead_email", "is it online?", "ask_delivery").texts[0] in SCRIPTS.delivery(HIT)
    offers = in_form("lead_study_option", "which campus is closest to Tulsa", "ask_campus").texts
    assert len(offers) == 1 and TULSA is not None and TULSA.label in offers[0]


def test_a_place_named_in_a_question_is_not_chosen():
    """Billing is taught on campus in Tulsa: the words name that option, but they ask, not choose."""
    slots = {**{f: COMPLETE[f] for f in SLOTS[: SLOTS.index("lead_study_option")]}, "program": BILLING.id}
    assert TULSA is not None and any(d.campus == TULSA.id for d in BILLING.delivery)
    asked = answer("lead_study_option", "which campus is closest to Tulsa", "ask_campus", slots=slots)
    assert asked.slot("lead_study_option") is None and asked.slot("requested_slot") == "lead_study_option"
    chosen = answer("lead_study_option", "Tulsa", "inform", slots=slots)
    assert chosen.slot("lead_study_option") == f"{TULSA.id}:on_campus"


@pytest.mark.parametrize("text", ["and how long?", "how long is it"])
def test_even_an_nlu_unsure_it_is_a_question_cannot_turn_it_into_a_name(text):
    """The name field needed the NLU 60% sure of a question; the shape needs no NLU at all."""
    result = answer("lead_name", text, "ask_duration", slots={"program": BILLING.id}, confidence=0.25)
    assert result.texts == [duration(BILLING)] and result.slot("lead_name") is None


@pytest.mark.parametrize("name", NAMES)
def test_names_that_open_with_a_question_word_are_still_names(name):
    result = answer("lead_name", name, "inform")
    assert result.slot("lead_name") == name and result.texts == []


def test_questions_never_count_towards_the_phone_number_offer():
    failures = {"lead_phone": MAX_FAILURES - 1}
    for text, intent in QUESTIONS:
        asked = answer("lead_phone", text, intent, slots={"lead_failures": failures})
        assert asked.slot("lead_failures") == "<unset>" and "reply_form_trouble" not in asked.responses
    third = answer("lead_phone", "12", slots={"lead_failures": failures})
    assert third.slot("lead_failures") == {"lead_phone": MAX_FAILURES}
    assert third.texts[-1] == say("reply_form_trouble", phone=PHONE)


def test_a_question_in_the_form_is_remembered_for_the_next_follow_up():
    named = answer("lead_email", "how long is health IT?", "ask_duration", slots={"program": BILLING.id})
    assert named.texts == [duration(HIT)]
    assert named.slot("program") == HIT.id and named.slot("last_topic") == "duration"
    slots = {"program": named.slot("program"), "last_topic": named.slot("last_topic")}
    follow_up = answer("lead_email", "and billing and coding?", "inform", slots=slots)
    assert follow_up.texts == [duration(BILLING)] and follow_up.slot("program") == BILLING.id


def test_a_question_the_assistant_cannot_place_gets_the_fallback_and_the_field_again():
    """An intent that asks nothing ("ok?" heard as affirm) is answered as an unclear message is outside."""
    result = answer("lead_name", "ok?", "affirm")
    assert result.texts == outside("ok?", "nlu_fallback")
    assert result.slot("lead_name") is None and result.slot("requested_slot") == "lead_name"
    assert result.slot("last_topic") == "<unset>"  # the fallback forgets the message, as outside


def test_a_request_to_stop_phrased_as_a_question_still_stops():
    result = answer("lead_email", "can I stop?", "stop")
    assert result.responses == ["reply_confirm_stop"] and result.slot("confirming_stop") is True


def test_at_the_summary_a_correction_phrased_as_a_question_is_still_a_correction():
    result = answer("lead_confirmed", "can I change my email?", "inform", slots={**COMPLETE, "lead_confirmed": None})
    assert result.responses == ["reply_correction"] and result.slot("requested_slot") == "lead_email"


@pytest.mark.parametrize("slot", ["lead_consent", "lead_sms_consent", "lead_confirmed"])
def test_yes_no_questions_read_the_answer_first(slot):
    """Where visitors answer with questions ("can I change my email?"), the shape does not decide."""
    assert fields.BY_SLOT[slot].questions_first is False
    assert all(fields.BY_SLOT[s].questions_first for s in ASKED_FIRST)


def answer_rules() -> list[tuple[str, str]]:
    """(intent, topic) of each rule answering an intent with an answer action, as data/rules.yml says."""
    rules = yaml.safe_load((ROOT / "data" / "rules.yml").read_text())["rules"]
    pairs = []
    for rule in rules:
        steps = rule["steps"]
        if len(steps) == 2 and "intent" in steps[0] and steps[1].get("action", "").startswith("action_answer_"):
            pairs.append((steps[0]["intent"], steps[1]["action"].removeprefix("action_answer_")))
    return pairs


def test_the_form_answers_each_intent_with_the_topic_the_rules_give_it():
    pairs = answer_rules()
    assert {topic for _, topic in pairs} == set(answers.HANDLERS)  # every handler answers some intent
    for intent, topic in pairs:
        # "yes" with nothing pending asks nothing; interest is a statement (at the program question it chooses one)
        expected = None if topic in ("anything_else", "interest") else topic
        assert answers.topic_of(intent) == expected, intent
    assert answers.topic_of("affirm") is None and answers.topic_of("request_inquiry") is None


# How the trained model ranks "and how long?": a follow-up first, a duration question close behind.
AND_HOW_LONG = [("inform", 0.46), ("ask_duration", 0.43), ("greet", 0.03)]


def ranked(text: str, ranking: list[tuple[str, float]], slots: dict[str, Any], form: bool) -> Tracker:
    """The tracker of a message as the Rasa server sends it: with the NLU's whole ranking."""
    intents = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    message = {"text": text, "intent": intents[0], "intent_ranking": intents, "entities": []}
    loop = {"name": "inquiry_form"} if form else {}
    return Tracker("visitor-1", dict(slots), message, [], False, None, loop, "action_listen")


def texts_of(action: Any, tracker: Tracker) -> list[str]:
    dispatcher = CollectingDispatcher()
    asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return [render(message) for message in dispatcher.messages]


@pytest.mark.parametrize("last_topic", ["delivery", "campus", "careers", None])
def test_and_how_long_after_another_question_is_a_duration_question_inside_the_form_and_out(last_topic):
    """Repeating the last answer would not answer it: the NLU's next guess, a duration question, does."""
    context = {"program": HIT.id, "last_topic": last_topic}
    form = {**{f: COMPLETE[f] for f in SLOTS[: SLOTS.index("lead_email")]}, "requested_slot": "lead_email"}
    inside = texts_of(ValidateInquiryForm(), ranked("and how long?", AND_HOW_LONG, {**context, **form}, form=True))
    assert inside == [duration(HIT)]
    assert texts_of(ANSWER_ACTIONS["followup"](), ranked("and how long?", AND_HOW_LONG, context, form=False)) == inside


def test_a_follow_up_naming_a_program_still_repeats_the_last_question_for_it():
    """ "And billing and coding?" after a delivery question: delivery, whatever the NLU ranked next."""
    ranking = [("inform", 0.94), ("ask_duration", 0.3)]
    slots = {"program": HIT.id, "last_topic": "delivery"}
    reply = texts_of(ANSWER_ACTIONS["followup"](), ranked("and billing and coding?", ranking, slots, form=False))
    assert reply[0] in SCRIPTS.delivery(BILLING)


def test_an_unlikely_next_guess_is_not_taken():
    ranking = [("inform", 0.9), ("ask_duration", 0.05)]
    slots = {"program": HIT.id, "last_topic": "delivery"}
    reply = texts_of(ANSWER_ACTIONS["followup"](), ranked("and then?", ranking, slots, form=False))
    assert reply[0] in SCRIPTS.delivery(HIT)
