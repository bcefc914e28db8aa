"""Every answer action, run as the action server runs it (rasa_sdk Tracker + dispatcher)."""

from __future__ import annotations

import re

import pytest
from rasa_sdk.executor import ActionExecutor

from actions.dialogue.answers import HANDLERS
from tests.conftest import DOMAIN, PHONE, run_action

MBC, HIT = "medical_billing_coding", "healthcare_it"


def test_the_action_server_registers_exactly_the_domain_actions():
    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(executor.actions) == set(DOMAIN["actions"])
    assert {f"action_answer_{t}" for t in HANDLERS} <= set(executor.actions)


@pytest.mark.parametrize("topic, intent", [(t, f"ask_{t}") for t in HANDLERS])
def test_every_action_answers_with_filled_responses_and_next_steps(topic, intent):
    turn = run_action(topic, "hello", intent)  # rendering fails on any unfilled placeholder
    assert turn.texts and all(t.strip() for t in turn.texts)
    assert turn.buttons and all(b["payload"].startswith("/") for b in turn.buttons)
    if topic == "fallback":  # forgets the message it could not place
        assert turn.events == [{"event": "rewind", "timestamp": None}]
    else:
        assert turn.slot("last_topic") in HANDLERS


def test_duration_for_both_programs_when_none_is_named():
    turn = run_action("duration", "how long are the programs?", "ask_duration")
    assert turn.texts == [
        "Medical Billing and Coding takes 15 months to complete.",
        "Healthcare Information Technology takes 18 months to complete.",
    ]
    assert turn.slot("program") is None


def test_duration_of_a_misspelled_program_is_remembered():
    turn = run_action("duration", "how lng is medcal biling", "ask_duration")
    assert turn.text == "Medical Billing and Coding takes 15 months to complete."
    assert turn.slot("program") == MBC


def test_follow_up_questions_use_the_program_discussed():
    turn = run_action("delivery", "is it online?", "ask_delivery", slots={"program": HIT})
    assert turn.text == (
        "Yes, Healthcare Information Technology can be completed online through our Chattanooga, TN "
        "campus. In person, it is offered hybrid or on campus at Augusta, GA."
    )
    where = run_action("campus", "where else can I take it?", "ask_campus", slots={"program": MBC})
    assert where.text == (
        "Medical Billing and Coding is offered on campus at Chattanooga, TN; Wilmington, NC; or Tulsa, OK, "
        "or online through our Chattanooga, TN campus."
    )


def test_plural_question_overrides_the_program_discussed():
    turn = run_action("duration", "how long do both take", "ask_duration", slots={"program": HIT})
    assert len(turn.texts) == 2


def test_and_billing_and_coding_switches_program_for_the_last_question():
    turn = run_action(
        "followup",
        "and billing and coding?",
        "inform",
        entities=[{"entity": "program", "value": "billing and coding"}],
        slots={"program": HIT, "last_topic": "duration"},
    )
    assert turn.text == "Medical Billing and Coding takes 15 months to complete."
    assert turn.slot("program") == MBC and turn.slot("last_topic") == "duration"


def test_follow_up_without_a_question_gives_the_overview():
    turn = run_action("followup", "HIT", "inform", slots={"last_topic": "greet"})
    assert turn.text.startswith("Healthcare Information Technology takes 18 months and covers a broad range of topics.")


def test_health_it_in_tulsa_is_answered_truthfully():
    turn = run_action(
        "campus",
        "can I take health IT in Tulsa?",
        "ask_campus",
        entities=[{"entity": "program", "value": "health IT"}, {"entity": "campus", "value": "Tulsa"}],
    )
    assert turn.texts == [
        "Healthcare Information Technology isn't offered at our Tulsa, OK campus.",
        "Healthcare Information Technology is offered hybrid or on campus at Augusta, GA, "
        "or online through our Chattanooga, TN campus.",
    ]


def test_campus_questions():
    tulsa = run_action("campus", "do you have a campus in Tulsa?", "ask_campus")
    assert tulsa.text == "Our Tulsa, OK campus offers Medical Billing and Coding (on campus)."
    chattanooga = run_action("campus", "what is offered in chattanooga", "ask_campus")
    assert chattanooga.text == (
        "Our Chattanooga, TN campus offers Medical Billing and Coding (on campus or online) "
        "and Healthcare Information Technology (online)."
    )
    atlanta = run_action(
        "campus", "is there a campus in Atlanta?", "ask_campus", entities=[{"entity": "campus", "value": "atlanta"}]
    )
    assert atlanta.texts[0] == (
        "We don't have a campus in Atlanta that I know of. Our campuses are in "
        "Chattanooga, TN; Wilmington, NC; Tulsa, OK; and Augusta, GA."
    )
    yes = run_action("campus", "can I study MBC in Wilmington", "ask_campus")
    assert yes.text == "Yes, Medical Billing and Coding is offered at our Wilmington, NC campus (on campus)."


def test_difference_compares_both_programs_side_by_side():
    turn = run_action("difference", "is billing and coding the same as health IT?", "ask_difference")
    assert turn.texts[0].startswith("They are related but not the same.")
    assert turn.texts[1].startswith("Medical Billing and Coding: 15 months, covering a narrower")
    assert turn.texts[2].startswith("Healthcare Information Technology: 18 months, covering a broad")
    assert "certificate or diploma" in turn.texts[1] and "associate's degree" in turn.texts[2]
    assert turn.slot("program") is None


def test_credential_is_not_presented_as_what_the_program_awards():
    turn = run_action("credential", "do I get a degree in health IT?", "ask_credential")
    assert turn.texts == [
        "People who pursue careers in the Healthcare Information Technology field typically hold"
        " at least an associate's degree.",
        "I don't have the details of the exact credential each program awards."
        f" Admissions can confirm that: call {PHONE}.",
    ]


def test_curriculum_careers_and_fit():
    covers = run_action("curriculum", "what does the coding program cover", "ask_curriculum")
    assert "diagnostic and procedural coding manuals" in covers.text
    assert covers.text.startswith("Medical Billing and Coding covers a narrower")
    jobs = run_action("careers", "what jobs after HIT", "ask_careers")
    assert jobs.text.startswith(
        "Healthcare Information Technology is aimed at careers such as Health IT practitioner roles"
    )
    fit = run_action("fit", "which one is right for me", "ask_fit")
    assert fit.texts[0].startswith("It depends on your career goals and interests.")
    assert "interested in the safety of healthcare systems" in fit.text and PHONE in fit.texts[-2]


def test_definitions_and_relationship():
    coding = run_action("definition", "what is medical coding", "ask_definition")
    assert len(coding.texts) == 1 and coding.text.startswith("Medical coding is when a Medical Coder transcribes")
    both = run_action("definition", "what are billing and coding", "ask_definition")
    assert len(both.texts) == 2
    part = run_action("coding_in_hit", "is coding part of health IT?", "ask_coding_in_hit")
    assert part.text.startswith('Yes, in a sense: Health IT is an "umbrella" term')


@pytest.mark.parametrize(
    "text, topic_words",
    [
        ("how much is tuition?", "tuition and costs"),
        ("do you take FAFSA and when is the next start date", "financial aid and start dates"),
        ("is the school accredited", "accreditation"),
        ("what salary can I expect", "job placement and salaries"),
        ("when do classes start", "start dates"),
    ],
)
def test_unknown_topics_are_answered_honestly_without_figures(text, topic_words):
    turn = run_action("unknown_topic", text, "ask_unknown_topic")
    assert turn.texts == [
        f"I don't have information about {topic_words}. The admissions office can answer that: call {PHONE}.",
        "Would you like an admissions advisor to follow up with you? I can take your details now.",
    ]
    assert not re.search(r"\$|\d+ ?(%|percent|dollars|weeks)", turn.text)
    assert turn.slot("offered_inquiry") is True
    assert turn.buttons[0] == {"title": "Yes, have admissions contact me", "payload": "/request_inquiry"}


def test_unknown_topic_without_a_recognised_subject():
    turn = run_action("unknown_topic", "what about the other stuff", "ask_unknown_topic")
    assert turn.texts[0].startswith("I don't have that information.") and PHONE in turn.texts[0]


def test_contact_greeting_and_bot_challenge_name_real_facts():
    assert PHONE in run_action("contact", "can I talk to a person", "ask_contact").text
    greeting = run_action("greet", "hi", "greet")
    assert "Medical Billing and Coding and Healthcare Information Technology" in greeting.text
    assert greeting.slot("program") == "<unset>"
    assert PHONE in run_action("bot_challenge", "are you a bot", "bot_challenge").text


def test_buttons_offer_next_steps_but_not_the_question_just_answered():
    turn = run_action("duration", "how long is HIT", "ask_duration")
    payloads = [b["payload"] for b in turn.buttons]
    assert "/ask_duration" not in payloads and payloads[-1] == "/ask_contact" and len(payloads) == 4
    assert all("buttons" not in m or not m["buttons"] for m in turn.messages[:-1])
