"""The conversation's context where the held-out conversations found it lost (issue 11).

Each case runs the real answer action (or the inquiry form's validation) on a tracker holding
the slots the earlier turns set, and checks which program, campus and mode the reply is about.
Campuses and programs are picked from knowledge/ by what it says (a campus where a program is
not taught), so the cases stay true when staff edit it.
"""

from __future__ import annotations

import pytest

from actions.dialogue.several import questions_asked
from actions.knowledge import KnowledgeBase, comparisons, offerings
from actions.knowledge.model import Campus, Program
from tests.conftest import run_action
from tests.test_comparisons import HIT, MBC
from tests.test_inquiry_form import answer

BOTH = [MBC, HIT]


def program(kb: KnowledgeBase, program_id: str) -> Program:
    found = kb.program(program_id)
    assert found, program_id
    return found


def campus_without(kb: KnowledgeBase, taught: Program) -> Campus:
    """A campus where the program is not taught in person (knowledge/ has one for each program)."""
    return next(c for c in kb.campuses if not offerings.ask(kb, taught, (c,), ()).yes)


def campus_with(kb: KnowledgeBase, taught: Program) -> Campus:
    return next(c for c in kb.campuses if offerings.ask(kb, taught, (c,), ()).yes)


# --- "is it offered in <campus>?" is about the program discussed ------------------------------


@pytest.mark.parametrize("text", ["is it offered in {city}", "gracias, and is it offered in {city}"])
def test_is_it_offered_at_a_campus_answers_for_the_program_discussed(kb, text):
    billing, other = program(kb, MBC), program(kb, HIT)
    where = campus_without(kb, billing)
    turn = run_action("campus", text.format(city=where.city.lower()), "ask_campus", slots={"program": MBC})
    assert turn.texts[0].startswith(f"No, {billing.name}")
    assert other.name not in turn.text
    taught_there = campus_with(kb, billing).city
    yes = run_action("campus", f"is it offered in {taught_there}", "ask_campus", slots={"program": MBC})
    assert yes.texts[0].startswith(f"Yes, {billing.name}")


def test_what_a_campus_offers_is_still_the_campus_list_of_programs(kb):
    where = campus_without(kb, program(kb, MBC))
    taught = [p.name for p in kb.programs if offerings.ask(kb, p, (where,), ()).yes]
    turn = run_action("campus", f"what is offered in {where.city}", "ask_campus", slots={"program": MBC})
    assert turn.texts[0].startswith(f"Our {where.label} campus offers") and all(n in turn.text for n in taught)


def test_is_it_offered_with_no_program_discussed_lists_what_the_campus_offers(kb):
    where = campus_without(kb, program(kb, MBC))
    assert run_action("campus", f"is it offered in {where.city}", "ask_campus").texts[0].startswith("Our ")


# --- "and the other one?" asks the same campus and mode again ---------------------------------


def test_a_yes_or_no_answer_remembers_its_campus_and_mode(kb):
    where = campus_with(kb, program(kb, MBC))
    turn = run_action("campus", f"is that one offered in {where.city}", "ask_campus", slots={"program": MBC})
    assert turn.slot("last_campuses") == [where.id] and turn.slot("last_modes") == []
    hybrid = run_action("delivery", "is billing and coding hybrid", "ask_delivery")
    assert hybrid.slot("last_modes") == ["hybrid"] and hybrid.slot("last_campuses") == []
    # An answer that was no yes or no forgets them: the next follow-up asks nothing of a campus.
    assert run_action("duration", "how long is it", "ask_duration").slot("last_campuses") == []


def test_and_the_other_one_asks_the_last_campus_again_for_the_other_program(kb):
    billing, other = program(kb, MBC), program(kb, HIT)
    where = campus_with(kb, billing)
    slots = {"program": MBC, "last_programs": [MBC], "last_topic": "campus", "last_campuses": [where.id]}
    turn = run_action("followup", "and the other one?", "inform", slots=slots)
    verdict = offerings.ask(kb, other, (where,), ())
    assert turn.texts[0].startswith(f"{'Yes' if verdict.yes else 'No'}, {other.name}")
    assert where.label in turn.texts[0]
    # A campus named now wins over the remembered one.
    elsewhere = next(c for c in kb.campuses if c != where)
    named = run_action("followup", f"and the other one in {elsewhere.city}?", "inform", slots=slots)
    first = named.texts[0].split(". ")[0]
    assert elsewhere.label in first and where.label not in first


# --- "either one", "both" with a mode: the ones that can, first -------------------------------


@pytest.mark.parametrize("text", ["can i do either one hybrid", "are both offered hybrid?"])
def test_either_or_both_with_a_mode_names_the_programs_offered_so_first(kb, text):
    fitting = [p for p in kb.programs if offerings.ask(kb, p, (), ("hybrid",)).yes]
    assert len(fitting) == 1  # knowledge/: one program is hybrid, the other is not
    turn = run_action("delivery", text, "ask_delivery", slots={"last_programs": BOTH})
    assert turn.texts[0].startswith(f"Only {fitting[0].name}")
    assert all(p.name in turn.text for p in kb.programs)
    assert turn.slot("program") == fitting[0].id


# --- "what jobs does the shorter one lead to" points, it does not compare ---------------------


def test_a_question_about_the_shorter_one_is_about_it_not_a_comparison(kb):
    shorter = comparisons.by(kb, kb.programs, comparisons.DURATION, most=False).leaders[0]
    longer = next(p for p in kb.programs if p != shorter)
    turn = run_action("careers", "and what jobs does the shorter one lead to", "ask_careers", slots={"program": HIT})
    assert turn.texts[0].startswith(shorter.name) and longer.name not in turn.text
    assert turn.slot("program") == shorter.id


@pytest.mark.parametrize("text", ["what's the shorter one?", "which program takes the longest?"])
def test_what_is_or_which_before_the_measure_still_compares(matcher, text):
    assert matcher.read(text).references == ()


# --- comparisons and goals whatever the NLU took them for -------------------------------------


def test_a_comparison_taken_for_the_coding_in_health_it_question_is_compared(kb):
    quickest = comparisons.by(kb, kb.programs, comparisons.DURATION, most=False).leaders[0]
    text = "which one is quicker to finish, health it or billing and coding?"
    turn = run_action("coding_in_hit", text, "ask_coding_in_hit")
    assert turn.texts[0].startswith(f"{quickest.name} is the quickest")
    plain = run_action("coding_in_hit", "is coding part of health IT?", "ask_coding_in_hit")
    assert plain.texts[0].startswith(kb.relationship.coding_in_health_it.split(":")[0])


def test_a_goal_the_nlu_could_not_place_gets_the_program_it_points_to(kb):
    text = "what if i care more about keeping patient data safe"
    goal = comparisons.by_goal(kb.programs, text.split())
    assert goal and len(goal.leaders) == 1
    turn = run_action("unknown_topic", text, "ask_unknown_topic")
    others = [p.name for p in goal.rest]
    assert goal.leaders[0].name in turn.texts[0] and not any(name in turn.texts[0] for name in others)
    assert turn.slot("program") == goal.leaders[0].id
    # A topic the article lacks is still said to be missing, goal words or not.
    tuition = run_action("unknown_topic", "whats the tuition for keeping patient data safe", "ask_unknown_topic")
    assert "tuition" in tuition.texts[0].lower()


# --- clauses: "what will I study", "what about the other program, how long is that?" ----------


def test_what_will_i_study_is_a_curriculum_question(matcher):
    ranking = [{"name": "ask_careers", "confidence": 0.95}, {"name": "ask_curriculum", "confidence": 0.04}]
    asked = questions_asked("what jobs does it lead to and what will i study", ranking, matcher)
    assert [q.topic for q in asked] == ["careers", "curriculum"]


def test_where_can_i_study_is_not_a_curriculum_question(matcher):
    ranking = [{"name": "ask_campus", "confidence": 0.9}]
    asked = questions_asked("where can i study it and how long is it", ranking, matcher)
    assert [q.topic for q in asked] == ["campus", "duration"]


def test_what_about_the_other_program_how_long_asks_its_duration_only(kb, matcher):
    text = "what about the other program, how long is that?"
    ranking = [{"name": "ask_program_info", "confidence": 0.8}]
    assert [q.topic for q in questions_asked(text, ranking, matcher)] == ["duration"]
    other = program(kb, HIT)
    slots = {"program": MBC, "last_programs": [MBC], "last_topic": "program_info"}
    turn = run_action("program_info", text, "ask_program_info", slots=slots)
    assert turn.texts == [f"{other.name} takes {other.duration_months} months to complete."]


# --- the program chosen in the form is the conversation's ------------------------------------


def test_the_program_chosen_in_the_form_is_the_context_of_the_next_question(kb):
    chosen = program(kb, HIT)
    picked = answer("lead_program", chosen.name, slots={"program": MBC})
    assert picked.slot("lead_program") == HIT
    assert picked.slot("program") == HIT and picked.slot("last_programs") == [HIT]
    slots = {"lead_program": HIT, "program": picked.slot("program"), "last_programs": [HIT]}
    asked = answer("lead_study_option", "can i do it hybrid?", "ask_delivery", slots=slots)
    assert asked.texts[0].startswith(f"Yes, {chosen.name}") and program(kb, MBC).name not in asked.texts[0]
    assert asked.slot("lead_study_option") is None


def test_not_sure_in_the_form_leaves_the_conversation_on_its_program():
    unsure = answer("lead_program", "not sure yet", slots={"program": MBC})
    assert unsure.slot("program") == "<unset>"
