"""'The other one', 'the second one', 'the shorter one', 'both' resolve against the conversation.

The conversation is the slots the answer actions set: `program` (the program it is on) and
`last_programs` (the last answer's programs, in its order). Each case runs the real answer
action on a tracker holding them, and checks which program the reply is about.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.dialogue.references import Memory, meant
from actions.knowledge import KnowledgeBase, comparisons
from actions.language.references import EXTREME, GROUP, ORDINAL, OTHER, THIS
from tests.conftest import run_action
from tests.test_comparisons import HIT, MBC, PHARMACY, with_third_program

BOTH = [MBC, HIT]


@pytest.fixture
def third(knowledge_copy: Path) -> KnowledgeBase:
    return with_third_program(knowledge_copy)


@pytest.mark.parametrize(
    "text, kinds",
    [
        ("how long is the other one", [(OTHER, 0)]),
        ("what about the other program, how long is that?", [(OTHER, 0)]),
        ("and the other?", [(OTHER, 0)]),
        ("is that one online", [(THIS, 0)]),
        ("tell me about the second one", [(ORDINAL, 1)]),
        ("the first program sounds good", [(ORDINAL, 0)]),
        ("what about the latter", [(ORDINAL, -1)]),
        ("are both online?", [(GROUP, 0)]),
        ("can either one be done hybrid", [(GROUP, 0)]),
        ("is the shorter one online?", [(EXTREME, 0)]),
        ("how long is the longer program", [(EXTREME, 0)]),
        # Not references: another noun after "other", "the first" year, a question that picks.
        ("do you have any other questions for me", []),
        ("what do I learn in the first year", []),
        ("which is the shorter one?", []),
        ("which one is online", []),
    ],
)
def test_references_are_found_where_visitors_point(matcher, text, kinds):
    assert [(r.kind, r.index) for r in matcher.read(text).references] == kinds


def test_the_shorter_one_carries_its_measure(matcher):
    (reference,) = matcher.read("is the shorter one online?").references
    assert reference.cue and (reference.cue.dimension, reference.cue.most) == (comparisons.DURATION, False)


def resolved(kb, matcher, text, focus=None, last=()):
    reading = matcher.read(text)
    named = [(m.start, kb.program(m.id)) for m in reading.mentions if m.kind == "program"]
    memory = Memory(kb.program(focus) if focus else None, tuple(kb.program(i) for i in last))
    return [p.id for p in meant(kb, named, reading.references, memory)]


@pytest.mark.parametrize(
    "text, focus, last, expected",
    [
        ("how long is the other one", MBC, [MBC], [HIT]),
        ("how long is the other one", HIT, [HIT], [MBC]),
        ("how long is the other one", None, [HIT], [MBC]),  # the last answer was about one
        ("how long is the other one", None, [], []),  # nothing discussed yet: points at nothing
        ("billing sounds good, is the other one online?", None, [], [HIT]),  # other than the one named
        ("is that one online", HIT, [HIT], [HIT]),
        ("tell me about the second one", None, BOTH, [HIT]),
        ("tell me about the second one", None, [HIT, MBC], [MBC]),  # the order the last answer gave
        ("tell me about the first one", HIT, [HIT], [MBC]),  # one answered: the file's order
        ("and the latter?", None, BOTH, [HIT]),
        ("are both online?", None, BOTH, BOTH),
        ("is the shorter one online?", None, BOTH, [MBC]),
        ("how long is the longer one", HIT, [HIT], [HIT]),
        ("is the shorter one online, health IT or coding?", None, [], [MBC]),  # picked among those named
    ],
)
def test_what_each_reference_points_at(kb, matcher, text, focus, last, expected):
    assert resolved(kb, matcher, text, focus, last) == expected


def test_with_three_programs_the_other_one_is_the_other_of_those_compared(third):
    from actions.language import KnowledgeMatcher

    matcher = KnowledgeMatcher(third)
    assert resolved(third, matcher, "and the other one?", MBC, BOTH) == [HIT]
    assert resolved(third, matcher, "and the other one?", MBC, [MBC]) == [HIT, PHARMACY]
    assert resolved(third, matcher, "are both online?", None, BOTH) == BOTH
    assert resolved(third, matcher, "which of the two is shorter", None, [MBC, PHARMACY]) == [MBC, PHARMACY]
    assert resolved(third, matcher, "tell me about the third one", None, [MBC]) == [PHARMACY]
    assert resolved(third, matcher, "is the shortest one online?", None, []) == [PHARMACY]


# --- through the answer actions ---------------------------------------------------------


def test_the_other_program_after_a_duration_answer_gets_its_duration(kb, replies):
    first = run_action("duration", "how long is medical coding?", "ask_duration")
    mbc, hit = kb.program(MBC), kb.program(HIT)
    assert mbc and hit and first.slot("program") == MBC
    slots = {"program": first.slot("program"), "last_programs": first.slot("last_programs"), "last_topic": "duration"}
    then = run_action("duration", "what about the other program, how long is that?", "ask_duration", slots=slots)
    assert then.texts == [replies.text("reply_duration", program_name=hit.name, duration_months=hit.duration_months)]
    assert then.slot("program") == HIT


def test_and_the_other_one_repeats_the_last_question_for_it(kb, replies):
    slots = {"program": HIT, "last_programs": [HIT], "last_topic": "duration"}
    turn = run_action("followup", "and the other one?", "inform", slots=slots)
    mbc = kb.program(MBC)
    assert mbc and turn.texts == [
        replies.text("reply_duration", program_name=mbc.name, duration_months=mbc.duration_months)
    ]


def test_it_after_a_comparison_is_the_program_it_picked(kb, replies):
    comparison = run_action("duration", "which one is shorter?", "ask_duration")
    quickest = min(kb.programs, key=lambda p: p.duration_months)
    slots = {"program": comparison.slot("program"), "last_programs": comparison.slot("last_programs")}
    online = run_action("delivery", "is it online?", "ask_delivery", slots=slots)
    assert online.texts[0].startswith(f"Yes, {quickest.name}")
    other = run_action("delivery", "and is the other one online?", "ask_delivery", slots=slots)
    assert [m["program_name"] for m in other.messages] == [p.name for p in kb.programs if p.id != quickest.id]


def test_the_second_one_after_the_difference_answer(kb, replies):
    difference = run_action("difference", "what's the difference?", "ask_difference")
    assert difference.slot("last_programs") == [p.id for p in kb.programs]
    slots = {"program": difference.slot("program"), "last_programs": difference.slot("last_programs")}
    second = run_action("program_info", "tell me more about the second one", "ask_program_info", slots=slots)
    assert [m["program_name"] for m in second.messages] == [kb.programs[1].name]


def test_the_shorter_one_is_computed_from_the_durations(kb):
    turn = run_action("delivery", "is the shorter one online?", "ask_delivery")
    quickest = min(kb.programs, key=lambda p: p.duration_months)
    assert [m["program_name"] for m in turn.messages] == [quickest.name]


def test_a_reference_with_nothing_to_point_at_answers_for_every_program(kb):
    turn = run_action("duration", "how long is the other one?", "ask_duration")
    assert [m["program_name"] for m in turn.messages] == [p.name for p in kb.programs]


def test_a_fallback_keeps_the_last_programs(kb):
    slots = {"program": MBC, "last_programs": [MBC]}
    turn = run_action("fallback", "asdf qwer", "nlu_fallback", slots=slots)
    assert turn.slot("last_programs") == "<unset>"  # forgotten message, nothing remembered
