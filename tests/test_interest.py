"""Interest is context, not consent (issue 11).

"I think I want to do medical coding" makes the program the conversation's and gets a short
overview of it with the offer of an admissions follow-up; the inquiry form starts only when
the visitor accepts the offer or asks to be contacted. Run as the action server runs the
actions; the dialogue rules are read from data/rules.yml.
"""

from __future__ import annotations

import yaml

from actions.dialogue import answers, phrasing, suggestions
from actions.knowledge import KnowledgeBase
from actions.knowledge.model import Program
from tests.conftest import ROOT, run_action
from tests.replies import Replies
from tests.test_inquiry_form import answer
from tests.test_two_questions import ask

MBC, HIT = "medical_billing_coding", "healthcare_it"
RULES = yaml.safe_load((ROOT / "data" / "rules.yml").read_text())["rules"]
NLU = yaml.safe_load((ROOT / "data" / "nlu.yml").read_text())["nlu"]


def overview(kb: KnowledgeBase, replies: Replies, program: Program) -> str:
    return replies.text(
        "reply_program_overview",
        program_name=program.name,
        duration_months=program.duration_months,
        scope=program.scope,
        where=phrasing.where(kb, program),
    )


def test_interest_in_a_program_gets_its_overview_and_the_follow_up_offer(kb, replies):
    billing = kb.program(MBC)
    turn = run_action("interest", "I think I want to do medical coding", "express_interest")
    assert turn.texts == [
        replies.text("reply_interest", program_name=billing.name),
        overview(kb, replies, billing),
        replies.text("reply_inquiry_offer"),
    ]
    assert turn.buttons == suggestions.inquiry_offer()
    assert turn.slot("program") == MBC  # the context of the next questions
    assert turn.slot("offered_inquiry") is True  # "yes" now starts the form; nothing started yet
    assert "requested_slot" not in {e.get("name") for e in turn.events}


def test_the_next_short_question_is_about_the_program_of_interest(kb, replies):
    health_it = kb.program(HIT)
    interest = run_action("interest", "thinking about health IT", "express_interest")
    slots = {"program": interest.slot("program"), "last_topic": interest.slot("last_topic")}
    # the ranking the trained model gives "and how long?": a follow-up first, then a duration question
    followup, _ = ask("and how long?", [("inform", 0.51), ("ask_duration", 0.39)], slots=slots)
    assert followup.texts == [
        replies.text("reply_duration", program_name=health_it.name, duration_months=health_it.duration_months)
    ]


def test_interest_without_a_program_gets_every_programs_overview(kb, replies):
    turn = run_action("interest", "I'm interested in your programs", "express_interest")
    assert turn.texts == [
        replies.text("reply_interest_general"),
        replies.text("reply_program_list", count=len(kb.programs), program_names=phrasing.program_names(kb)),
        *(overview(kb, replies, p) for p in kb.programs),
        replies.text("reply_inquiry_offer"),
    ]
    assert turn.slot("program") is None


def test_interest_in_the_program_already_discussed_needs_no_name(kb, replies):
    turn = run_action("interest", "I'm interested", "express_interest", slots={"program": HIT})
    assert turn.texts[0] == replies.text("reply_interest", program_name=kb.program(HIT).name)


def test_interest_naming_a_campus_gets_the_truthful_yes_or_no(kb, replies):
    """'Health IT in Tulsa' is not offered in person: the answer says so before any offer."""
    health_it = kb.program(HIT)
    turn = run_action("interest", "I'd like to do health IT in Tulsa", "express_interest")
    assert turn.texts[0] == replies.text("reply_interest", program_name=health_it.name)
    assert turn.texts[1].startswith("No, ") and turn.texts[-1] == replies.text("reply_inquiry_offer")


def test_only_a_request_or_an_accepted_offer_starts_the_form():
    starts = {
        (rule["steps"][0]["intent"], bool(rule.get("condition")))
        for rule in RULES
        if any(step.get("action") == "action_start_inquiry" for step in rule["steps"])
    }
    assert starts == {("request_inquiry", False), ("affirm", True)}
    interest = [rule["steps"] for rule in RULES if rule["steps"][0].get("intent") == "express_interest"]
    assert interest == [[{"intent": "express_interest"}, {"action": "action_answer_interest"}]]


def test_interest_is_not_a_question_inside_the_form(kb):
    """At the program question, "I'm interested in health IT" chooses it; it is no aside."""
    assert answers.topic_of("express_interest") is None
    result = answer("lead_program", "I'm interested in health IT", "express_interest")
    assert result.slot("lead_program") == HIT
    assert "reply_interest" not in result.responses


INTEREST = ("interested", "thinking about", "want to do", "considering", "into ")
REQUEST = ("call", "email", "contact", "apply", "next step", "sign up", "reach", "get started", "enroll")


def test_interest_is_trained_as_interest_and_a_request_only_when_it_asks_for_contact():
    examples = {
        block["intent"]: [line.removeprefix("- ").lower() for line in block["examples"].splitlines() if line]
        for block in NLU
        if "intent" in block
    }
    for phrase in INTEREST:
        assert any(phrase in example for example in examples["express_interest"]), phrase
    interest_only = [
        example
        for example in examples["request_inquiry"]
        if any(p in example for p in INTEREST) and not any(r in example for r in REQUEST)
    ]
    assert not interest_only  # "I'm interested in X, can someone call me" is a request; "I'm interested in X" is not
    asking = [e for e in examples["express_interest"] if any(r in e for r in REQUEST)]
    assert not asking
