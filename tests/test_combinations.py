"""Every program x campus x mode question gets yes exactly when knowledge/ says so.

The questions are generated from a knowledge base: each program at each campus in each mode
(plus each program at each campus, and in each mode anywhere), asked as the visitor would
and classified as either question intent the NLU gives them. The expected verdict is read
from programs.yml's own fields (`delivery`, `online_campus`), not from the code that
answers, and the expected text is the domain's response filled by Rasa's generator with
the KB's other options. The same questions run on an edited copy with a third program and
a fourth campus, so the test stays true when staff edit the files.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.dialogue import phrasing
from actions.knowledge import KnowledgeBase, load_knowledge
from actions.knowledge.base import ONLINE
from actions.knowledge.model import Campus, Program
from actions.knowledge.offerings import Option
from actions.language import KnowledgeMatcher
from actions.question_actions import ANSWER_ACTIONS
from tests.conftest import DOMAIN, MEASUREMENTS, Turn, edit_yaml, run_action, tracker
from tests.replies import Replies
from tests.test_knowledge_edits import NEW_PROGRAM

# How visitors ask about one mode at one campus; {city} is the campus's city.
AT_CAMPUS = {
    "on_campus": ("Can I study {program} on campus in {city}?", "is {program} taught in person at the {city} campus?"),
    "hybrid": ("Is there a hybrid option for {program} in {city}?", "can I do {program} blended at {city}?"),
    "online": ("Can I take {program} online through the {city} campus?", "is {program} offered remotely from {city}?"),
}
ANYWHERE = {
    "on_campus": "is {program} available in person?",
    "hybrid": "Is there a hybrid option for {program}?",
    "online": "can I study {program} online?",
}
CAMPUS_ONLY = "Can I take {program} in {city}?"
# Places the college has no campus in (none of them is in knowledge/ or the edited copy).
ELSEWHERE = (
    ("Can I study {program} on campus in Atlanta?", "Atlanta"),
    ("is {program} offered in Florida?", "Florida"),
    ("do you have {program} in TX?", "Texas"),
    ("can I do {program} hybrid in Dallas, TX?", "Dallas, TX"),
    ("I live in Memphis, can I study {program} online?", "Memphis"),
)
NEAR_ME = ("is there a {program} campus near me?", "can I take {program} somewhere close to me?")
INTENTS = {"ask_delivery": "delivery", "ask_campus": "campus"}


@dataclass(frozen=True)
class Question:
    text: str
    intent: str
    program: Program
    campus: Campus | None
    mode: str | None


def every_option(kb: KnowledgeBase, program: Program) -> list[Option]:
    """Each (campus, mode) of programs.yml, in person in file order, then online."""
    found = [Option(_campus(kb, d.campus), mode) for d in program.delivery for mode in d.modes]
    return found + ([Option(_campus(kb, program.online_campus), ONLINE)] if program.online_campus else [])


def _campus(kb: KnowledgeBase, campus_id: str) -> Campus:
    found = kb.campus(campus_id)
    assert found, campus_id
    return found


def in_person_modes(kb: KnowledgeBase) -> list[str]:
    return [mode for mode in kb.delivery_modes if mode != ONLINE]


def names(program: Program) -> list[str]:
    """The program as visitors write it: its name, and its first alias."""
    return [program.name, *program.aliases[:1]]


def questions(kb: KnowledgeBase) -> Iterator[Question]:
    for intent in INTENTS:
        for program in kb.programs:
            for number, name in enumerate(names(program)):
                for campus in kb.campuses:
                    for mode, phrasings in AT_CAMPUS.items():
                        text = phrasings[number % 2].format(program=name, city=campus.city)
                        yield Question(text, intent, program, campus, mode)
                    yield Question(CAMPUS_ONLY.format(program=name, city=campus.city), intent, program, campus, None)
                for mode, phrasing_ in ANYWHERE.items():
                    yield Question(phrasing_.format(program=name), intent, program, None, mode)


def expected(kb: KnowledgeBase, replies: Replies, question: Question) -> tuple[bool, str]:
    """(yes?, the reply's text), from programs.yml's fields and the domain's wording."""
    program, campus, mode = question.program, question.campus, question.mode
    options = every_option(kb, program)
    values: dict[str, str] = {"program_name": program.name}
    if campus is None and mode == ONLINE:  # "is it online?": the online-or-not reply
        online = kb.online_campus(program)
        values["in_person"] = phrasing.ways(kb, [o for o in options if not o.online])
        if online:
            values["online_campus"] = online.label
            response = "reply_delivery_online" if program.delivery else "reply_delivery_online_only"
        else:
            response = "reply_delivery_in_person_only"
        return online is not None, replies.text(response, **values)
    modes = [mode] if mode else in_person_modes(kb)
    fits = [o for o in options if o.mode in modes and (campus is None or o.campus.id == campus.id)]
    others = [o for o in options if o not in fits]
    if fits:
        values["matches"] = phrasing.ways(kb, fits)
        if others:
            values["others"] = phrasing.ways(kb, others)
        return True, replies.text("reply_offering_yes_also" if others else "reply_offering_yes", **values)
    values["asked"] = (
        phrasing.ways(kb, [Option(campus, m) for m in modes]) if campus else phrasing.mode_labels(kb, modes)
    )
    values["others"] = phrasing.ways(kb, options)
    return False, replies.text("reply_offering_no", **values)


def ask(kb: KnowledgeBase, matcher: KnowledgeMatcher, text: str, intent: str) -> Turn:
    """Run the question's action as the action server does, with a real tracker."""
    action = ANSWER_ACTIONS[INTENTS[intent]](kb=kb, matcher=matcher)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker(text, intent), DOMAIN))
    return Turn(dispatcher.messages, events)


def check_every_combination(kb: KnowledgeBase, replies: Replies, label: str) -> None:
    matcher = KnowledgeMatcher(kb)
    asked = list(questions(kb))
    wrong_verdict, wrong_text = [], []
    for question in asked:
        yes, text = expected(kb, replies, question)
        turn = ask(kb, matcher, question.text, question.intent)
        if turn.texts[0].startswith("Yes") != yes:
            wrong_verdict.append(f"{question.intent} {question.text!r}: {turn.texts[0]}")
        elif turn.texts != [text]:
            wrong_text.append(f"{question.intent} {question.text!r}:\n  got      {turn.texts}\n  expected {text}")
    right = len(asked) - len(wrong_verdict) - len(wrong_text)
    MEASUREMENTS.append(
        f"combinations ({label}): {right}/{len(asked)} answered exactly, {len(wrong_verdict)} wrong yes/no"
    )
    assert not wrong_verdict, "\n".join(wrong_verdict)
    assert not wrong_text, "\n".join(wrong_text)


def test_every_program_campus_and_mode_gets_yes_exactly_when_the_knowledge_base_says_so(kb, replies):
    check_every_combination(kb, replies, "knowledge/")


@pytest.fixture
def edited(knowledge_copy) -> KnowledgeBase:
    """knowledge/ with a third program (only at the new campus) and a fourth campus."""

    def change_programs(data: dict) -> None:
        data["programs"].append(NEW_PROGRAM)
        health_it = next(p for p in data["programs"] if p["id"] == "healthcare_it")
        health_it["delivery"].append({"campus": "dalton", "modes": ["hybrid"]})

    edit_yaml(knowledge_copy / "programs.yml", change_programs)
    edit_yaml(
        knowledge_copy / "campuses.yml",
        lambda data: data["campuses"].append({"id": "dalton", "city": "Dalton", "state": "GA", "aliases": []}),
    )
    return load_knowledge(knowledge_copy)


def test_the_combinations_follow_a_third_program_and_a_fourth_campus(edited, replies):
    assert len(edited.programs) == 3 and len(edited.campuses) == 5
    check_every_combination(edited, replies, "edited copy")


@pytest.mark.parametrize("knowledge", ["project", "edited"])
def test_places_the_college_lacks_get_the_campus_list_never_a_yes(knowledge, kb, edited, replies):
    base = kb if knowledge == "project" else edited
    matcher = KnowledgeMatcher(base)
    campuses = phrasing.campus_labels(base)
    for program in base.programs:
        where = replies.text("reply_where_offered", program_name=program.name, where=phrasing.where(base, program))
        for intent in INTENTS:
            for text, place in ELSEWHERE:
                turn = ask(base, matcher, text.format(program=program.name), intent)
                assert turn.texts == [replies.text("reply_campus_unknown", place=place, campuses=campuses), where]
            for text in NEAR_ME:
                turn = ask(base, matcher, text.format(program=program.name), intent)
                assert turn.texts == [replies.text("reply_campus_near_me", campuses=campuses), where]


def test_the_two_wrong_answers_of_issue_11_are_now_a_no_with_the_real_options(kb, replies):
    health_it, billing, chattanooga = (
        kb.program("healthcare_it"),
        kb.program("medical_billing_coding"),
        kb.campus("chattanooga"),
    )
    assert health_it and billing and chattanooga
    on_campus = run_action("campus", "Can Health IT be studied on campus in Chattanooga?", "ask_campus")
    assert on_campus.texts == [
        replies.text(
            "reply_offering_no",
            program_name=health_it.name,
            asked=f"{kb.mode_label('on_campus')} at {chattanooga.label}",
            others=phrasing.where(kb, health_it),
        )
    ]
    hybrid = run_action("delivery", "Is there a hybrid option for medical coding?", "ask_delivery")
    assert hybrid.texts == [
        replies.text(
            "reply_offering_no",
            program_name=billing.name,
            asked=kb.mode_label("hybrid"),
            others=phrasing.where(kb, billing),
        )
    ]
    assert on_campus.text.startswith("No,") and hybrid.text.startswith("No,")


def test_a_combination_classified_as_another_question_is_still_answered_from_the_knowledge_base(kb, replies):
    """The NLU sometimes calls these general or unknown-topic questions; the answer is the same query."""
    billing, wilmington = kb.program("medical_billing_coding"), kb.campus("wilmington")
    assert billing and wilmington
    florida = run_action("program_info", "do you offer medical coding in Florida?", "ask_program_info")
    campuses = phrasing.campus_labels(kb)
    where = replies.text("reply_where_offered", program_name=billing.name, where=phrasing.where(kb, billing))
    assert florida.texts == [replies.text("reply_campus_unknown", place="Florida", campuses=campuses), where]

    entities = [
        {"entity": "program", "value": "medical billing and coding"},
        {"entity": "campus", "value": "Wilmington"},
    ]
    wilmington_question = Question("", "ask_campus", billing, wilmington, None)
    there = run_action(
        "unknown_topic", "do you have medical billing and coding in Wilmington?", "ask_unknown_topic", entities=entities
    )
    assert there.texts == [expected(kb, replies, wilmington_question)[1]]
    tuition = run_action("unknown_topic", "how much is medical coding in Wilmington?", "ask_unknown_topic")
    topic = kb.unknown_topic("tuition")
    assert topic  # a topic the article lacks is answered as such, place or not
    assert tuition.texts[0] == replies.text("reply_unknown_topic", topic=topic.name, phone=kb.admissions.phone)


def test_a_place_the_model_also_extracted_is_named_once(kb, replies):
    turn = run_action(
        "delivery",
        "I'm in Dallas, TX. can I do billing and coding hybrid?",
        "ask_delivery",
        entities=[{"entity": "campus", "value": "Dallas"}, {"entity": "program", "value": "billing and coding"}],
    )
    assert turn.texts[0] == replies.text(
        "reply_campus_unknown", place="Dallas, TX", campuses=phrasing.campus_labels(kb)
    )
