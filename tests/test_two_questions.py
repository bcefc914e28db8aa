"""Two questions in one message are both answered, in order, in one reply (issue 11).

The clause splitter, the topic cues and the plan are pure; the answer actions and the inquiry
form are run on rasa_sdk trackers carrying the NLU's intent ranking, as the action server gets
them. Replies are compared with the domain's texts filled by Rasa's own generator.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dialogue import answers, phrasing, several, suggestions
from actions.dialogue.answers import Answer, Utterance
from actions.dialogue.cues import cue_topics
from actions.knowledge import KnowledgeBase, load_knowledge
from actions.knowledge.model import Program
from actions.language import KnowledgeMatcher
from actions.language.clauses import clauses
from actions.question_actions import ANSWER_ACTIONS, AnswerAction
from tests.conftest import DOMAIN, Turn, edit_yaml
from tests.replies import Replies
from tests.test_form_questions import in_form
from tests.test_knowledge_edits import NEW_PROGRAM

MBC, HIT = "medical_billing_coding", "healthcare_it"
Ranking = list[tuple[str, float]]


def ranking(*intents: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "confidence": confidence} for name, confidence in intents]


def topics(matcher: KnowledgeMatcher, text: str, ranked: Ranking) -> list[str]:
    return [q.topic for q in several.questions_asked(text, ranking(*ranked), matcher)]


def ask(
    text: str, ranked: Ranking, slots: dict[str, Any] | None = None, kb: KnowledgeBase | None = None
) -> tuple[Turn, AnswerAction]:
    """One run of the action the NLU's first intent triggers, as the action server runs it."""
    intent, confidence = ranked[0]
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": ranking(*ranked),
        "entities": [],
    }
    tracker = Tracker("visitor", dict(slots or {}), message, [], False, None, {}, "action_listen")
    topic = answers.topic_of(intent)
    assert topic
    action = ANSWER_ACTIONS[topic](kb=kb) if kb else ANSWER_ACTIONS[topic]()
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    return Turn(dispatcher.messages, events), action


# --- clauses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("how long is it and is it online?", [("how long is it", True), ("is it online?", True)]),
        (
            "where is it offered? and how long does it take",
            [("where is it offered?", True), ("and how long does it take", True)],
        ),
        ("Hi, how long is MBC", [("Hi", False), ("how long is MBC", True)]),
        ("I'm interested in HIT, how long is it?", [("I'm interested in HIT", False), ("how long is it?", True)]),
        (
            "tell me how long it takes and whether it's online",
            [("tell me how long it takes", True), ("whether it's online", True)],
        ),
        (
            "How long is it. Is it online. Where?",
            [("How long is it.", True), ("Is it online.", True), ("Where?", True)],
        ),
        ("is it 15 months or is it longer", [("is it 15 months", True), ("is it longer", True)]),
        ("hw long is it, and wat jobs r there", [("hw long is it", True), ("and wat jobs r there", True)]),
        # a conjunction or comma before anything but a question splits nothing
        (
            "can I study health IT online and on campus in Augusta?",
            [("can I study health IT online and on campus in Augusta?", True)],
        ),
        (
            "what's the difference between billing and coding and health IT",
            [("what's the difference between billing and coding and health IT", True)],
        ),
        ("billing and coding, Chattanooga, TN", [("billing and coding, Chattanooga, TN", False)]),
        ("and how long?", [("and how long?", True)]),
        ("thanks!", [("thanks!", False)]),
        ("   ", []),
    ],
)
def test_a_message_is_cut_only_before_a_question(text, expected):
    found = clauses(text)
    assert [(c.text, c.asks) for c in found] == expected
    assert all(text[c.start : c.end] == c.text for c in found)  # offsets place Rasa's entities


def test_cue_words_and_knowledge_base_mentions_name_a_clause_topic(matcher):
    def cues(text: str) -> dict[str, int]:
        return cue_topics(text, matcher.read(text))

    assert cues("how long does it take") == {"duration": 2}
    assert cues("is it online") == {"delivery": 2}
    assert cues("how much does it cost") == {"unknown_topic": 2}
    assert cues("can I take it in Tulsa") == {"campus": 2}
    assert cues("anything near Atlanta") == {"campus": 2}
    assert cues("where is it taught") == {"campus": 1, "curriculum": 2}
    assert cues("where do I apply") == {"campus": 1, "contact": 2}
    assert cues("what is medical coding") == {}


# --- which questions a message asks --------------------------------------------------------


@pytest.mark.parametrize(
    "text, ranked, expected",
    [
        # the three, with the intent ranking the trained model gives them
        (
            "how long is it and is it online?",
            [("ask_delivery", 0.65), ("ask_duration", 0.34)],
            ["duration", "delivery"],
        ),
        (
            "where is it offered? and how long does it take",
            [("ask_duration", 0.85), ("ask_campus", 0.14)],
            ["campus", "duration"],
        ),
        (
            "how long is HIT and what credential do you get",
            [("ask_credential", 0.92), ("ask_duration", 0.07)],
            ["duration", "credential"],
        ),
        (
            "what credential do you get and what jobs can I get",
            [("ask_careers", 0.57), ("ask_credential", 0.42)],
            ["credential", "careers"],
        ),
        ("how long does health IT take and which campuses have it", [("ask_campus", 0.69)], ["duration", "campus"]),
        ("tell me how long it takes and whether it's online", [("ask_duration", 0.6)], ["duration", "delivery"]),
        ("where do I apply and how long is it", [("ask_duration", 0.5)], ["contact", "duration"]),
        ("hw long is coding and wich campus has it", [("ask_duration", 0.5)], ["duration", "campus"]),
        (
            "How long is it? How much does it cost? Is it online?",
            [("ask_duration", 0.5)],
            ["duration", "unknown_topic", "delivery"],
        ),
        # a question clause without a cue takes the NLU's best topic no other clause took
        (
            "how long is it and what is medical coding",
            [("ask_duration", 0.6), ("ask_definition", 0.35)],
            ["duration", "definition"],
        ),
        (
            "are you a bot and how long is HIT",
            [("bot_challenge", 0.6), ("ask_duration", 0.35)],
            ["bot_challenge", "duration"],
        ),
    ],
)
def test_each_question_of_a_message_is_found_in_the_visitors_order(matcher, text, ranked, expected):
    assert topics(matcher, text, ranked) == expected


@pytest.mark.parametrize(
    "text, ranked",
    [
        ("how long is health IT?", [("ask_duration", 0.99)]),
        ("I'm interested in HIT, how long is it?", [("ask_duration", 0.94), ("express_interest", 0.05)]),
        ("I'm in Tulsa, is it online?", [("ask_delivery", 0.9)]),  # a statement is no question
        ("thanks! is it online?", [("ask_delivery", 0.9), ("thank", 0.1)]),
        ("I work full time, so is it online?", [("ask_delivery", 0.9), ("ask_unknown_topic", 0.1)]),
        ("how long is HIT and how long is MBC?", [("ask_duration", 0.9)]),  # one question, asked twice
        ("is it online or is it in person", [("ask_delivery", 0.9)]),
        ("can I study health IT online and on campus in Augusta?", [("ask_delivery", 0.9)]),
        # a question clause with no cue and no other topic ranked likely enough asks nothing new
        ("how long is it and what about billing?", [("ask_duration", 0.7), ("inform", 0.25), ("ask_fit", 0.05)]),
        ("/ask_duration", [("ask_duration", 1.0)]),
    ],
)
def test_a_message_asking_one_thing_is_answered_once_as_before(matcher, text, ranked):
    assert topics(matcher, text, ranked) == []


def test_at_most_three_questions_are_taken_from_one_message(matcher):
    text = "how long is it? is it online? what jobs? what credential?"
    assert topics(matcher, text, [("ask_duration", 0.5)]) == ["duration", "delivery", "careers"]
    assert several.MAX_QUESTIONS == 3


def test_the_ranking_counts_only_questions_and_chooses_between_cues_of_one_clause(matcher):
    ranked = several.ranked_topics(ranking(("inform", 0.5), ("ask_delivery", 0.3), ("nlu_fallback", 0.2)))
    assert ranked == {"delivery": 0.3}  # a follow-up and a fallback are no question of their own
    # "can I do it on campus" names a mode (delivery) and a place word (campus): the NLU decides
    assert topics(matcher, "how long is it and can I do it on campus", [("ask_campus", 0.6)]) == ["duration", "campus"]
    assert topics(matcher, "how long is it and can I do it on campus", [("ask_delivery", 0.6)]) == [
        "duration",
        "delivery",
    ]


# --- answered in one reply -----------------------------------------------------------------


def duration(replies: Replies, program: Program) -> str:
    return replies.text("reply_duration", program_name=program.name, duration_months=program.duration_months)


def credential(replies: Replies, kb: KnowledgeBase, program: Program) -> list[str]:
    return [
        replies.text("reply_credential", program_name=program.name, credential=program.typical_credential),
        replies.text("reply_credential_caveat", phone=kb.admissions.phone),
    ]


def test_both_questions_are_answered_in_order_by_one_action_run(kb, replies):
    health_it = kb.program(HIT)
    turn, action = ask("how long is HIT and what credential do you get", [("ask_credential", 0.92)])
    assert action.name() == "action_answer_credential"  # the rule's one action answers both
    assert turn.texts == [duration(replies, health_it), *credential(replies, kb, health_it)]
    assert turn.slot("program") == HIT and turn.slot("last_topic") == "credential"
    assert turn.buttons == suggestions.next_steps("credential")


def test_the_order_is_the_visitors_whatever_the_nlu_chose(kb, replies):
    billing = kb.program(MBC)
    delivery = replies.text(
        "reply_delivery_online",
        program_name=billing.name,
        online_campus=kb.online_campus(billing).label,
        in_person=phrasing.in_person(kb, billing),
    )
    for chosen in ("ask_delivery", "ask_duration"):
        turn, _ = ask("how long is it and is it online?", [(chosen, 0.6)], slots={"program": MBC})
        assert turn.texts == [duration(replies, billing), delivery]


def test_each_clause_is_answered_for_the_program_it_names(kb, replies):
    health_it, billing = kb.program(HIT), kb.program(MBC)
    turn, _ = ask("where is health IT offered? and how long is billing and coding", [("ask_duration", 0.8)])
    assert turn.texts == [
        replies.text("reply_where_offered", program_name=health_it.name, where=phrasing.where(kb, health_it)),
        duration(replies, billing),
    ]
    assert turn.slot("program") == MBC  # the last one discussed is what "it" means next


def test_a_clause_naming_no_program_is_about_the_one_named_before_it(kb, replies):
    health_it = kb.program(HIT)
    turn, _ = ask("how long is HIT and what jobs can I get", [("ask_careers", 0.6)], slots={"program": MBC})
    careers = replies.text(
        "reply_careers",
        program_name=health_it.name,
        careers=phrasing.join(health_it.careers, "or"),
        career_summary=health_it.career_summary,
    )
    assert turn.texts == [duration(replies, health_it), careers]


def test_a_question_the_article_does_not_answer_keeps_its_offer(kb, replies):
    billing = kb.program(MBC)
    turn, _ = ask("how long is it and how much does it cost?", [("ask_duration", 0.6)], slots={"program": MBC})
    tuition = kb.unknown_topic("tuition")
    assert turn.texts == [
        duration(replies, billing),
        replies.text("reply_unknown_topic", topic=tuition.name, phone=kb.admissions.phone),
        replies.text("reply_inquiry_offer"),
    ]
    assert turn.buttons == suggestions.inquiry_offer() and turn.slot("offered_inquiry") is True


def test_one_question_asked_twice_is_answered_once(kb, replies):
    turn, _ = ask("how long is HIT and how long is it?", [("ask_duration", 0.99)])
    assert turn.texts == [duration(replies, kb.program(HIT))]


def test_a_sentence_two_answers_share_is_said_once():
    first = Answer("campus", [Utterance("reply_a", {"x": 1}), Utterance("reply_b")], None)
    second = Answer("delivery", [Utterance("reply_a", {"x": 1}), Utterance("reply_c")], (), offers_inquiry=True)
    both = answers.combined([first, second])
    assert [u.response for u in both.utterances] == ["reply_a", "reply_b", "reply_c"]
    assert (both.topic, both.programs, both.offers_inquiry, both.forget_message) == ("delivery", (), True, False)
    assert answers.combined([first, Answer("x", [], None, forget_message=True)]).forget_message is False


def test_a_third_program_takes_part_without_code_changes(knowledge_copy, replies):
    def change_programs(data: dict) -> None:
        data["programs"].append(NEW_PROGRAM)

    edit_yaml(knowledge_copy / "programs.yml", change_programs)
    edit_yaml(
        knowledge_copy / "campuses.yml",
        lambda data: data["campuses"].append({"id": "dalton", "city": "Dalton", "state": "GA", "aliases": []}),
    )
    kb = load_knowledge(knowledge_copy)
    pharmacy = kb.program(str(NEW_PROGRAM["id"]))
    assert pharmacy is not None
    turn, _ = ask("how long is pharm tech and is it online?", [("ask_duration", 0.7)], kb=kb)
    assert turn.texts == [
        duration(replies, pharmacy),
        replies.text(
            "reply_delivery_in_person_only", program_name=pharmacy.name, in_person=phrasing.in_person(kb, pharmacy)
        ),
    ]


# --- inside the inquiry form ---------------------------------------------------------------


def test_inside_the_form_both_questions_are_answered_then_the_same_field_asked_again(kb, replies):
    health_it = kb.program(HIT)
    result = in_form("lead_email", "how long is it and is it online?", "ask_duration")
    assert result.texts == [
        duration(replies, health_it),
        replies.text(
            "reply_delivery_online",
            program_name=health_it.name,
            online_campus=kb.online_campus(health_it).label,
            in_person=phrasing.in_person(kb, health_it),
        ),
    ]
    assert result.slot("lead_email") is None and result.slot("requested_slot") == "lead_email"
    assert "reply_invalid_field" not in result.responses
