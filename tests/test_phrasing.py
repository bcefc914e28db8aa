"""How lists of facts are joined into phrases, on made-up facts.

The answer tests compose their expectations from the real knowledge base with these
phrases, so the wording of lists is pinned down here, once, independently of the facts.
"""

from __future__ import annotations

import dataclasses

import pytest

from actions.dialogue import phrasing
from actions.knowledge import KnowledgeBase
from actions.knowledge.model import Campus, Delivery, Program

MODES = {"on_campus": "in class", "hybrid": "blended", "online": "remote"}


def campus(campus_id: str, state: str) -> Campus:
    return Campus(id=campus_id, city=campus_id.title(), state=state)


def program(name: str, delivery: dict[str, list[str]], online_campus: str | None = None) -> Program:
    return Program(
        id=name.lower(),
        name=name,
        duration_months=12,
        typical_credential="a credential",
        delivery=[Delivery(campus=c, modes=modes) for c, modes in delivery.items()],
        online_campus=online_campus,
        scope="a scope",
        topics_covered=["a topic"],
        careers=["a career"],
        career_summary="A summary.",
        suits="someone",
    )


ALPHA = program("Alpha", {"north": ["on_campus"], "south": ["on_campus"], "west": ["hybrid", "on_campus"]}, "north")
BETA = program("Beta", {}, "north")
GAMMA = program("Gamma", {"west": ["hybrid"]})


@pytest.fixture
def made_up(kb: KnowledgeBase) -> KnowledgeBase:
    return dataclasses.replace(
        kb,
        programs=(ALPHA, BETA, GAMMA),
        campuses=(campus("north", "AA"), campus("south", "BB"), campus("west", "CC")),
        delivery_modes=MODES,
    )


@pytest.mark.parametrize(
    "items, conjunction, phrase",
    [
        ([], "and", ""),
        (["a"], "and", "a"),
        (["a", "b"], "or", "a or b"),
        (["a", "b", "c"], "and", "a, b and c"),
        (["A, X", "B, Y"], "or", "A, X, or B, Y"),
        (["A, X", "B, Y", "C, Z"], "and", "A, X; B, Y; and C, Z"),
    ],
)
def test_join_keeps_items_with_commas_apart(items, conjunction, phrase):
    assert phrasing.join(items, conjunction) == phrase


def test_in_person_groups_neighbouring_campuses_with_the_same_modes(made_up):
    assert (
        phrasing.in_person(made_up, ALPHA) == "in class at North, AA, or South, BB, or blended or in class at West, CC"
    )


def test_where_lists_in_person_first_and_online_last(made_up):
    assert phrasing.where(made_up, ALPHA).endswith(", or remote through our North, AA campus")
    assert phrasing.where(made_up, BETA) == "remote through our North, AA campus"
    assert phrasing.where(made_up, GAMMA) == "blended at West, CC"


def test_offers_at_one_campus_names_each_program_with_its_modes(made_up):
    north = made_up.campus("north")
    assert north
    assert phrasing.offers_at(made_up, made_up.offerings_at(north)) == "Alpha (in class or remote) and Beta (remote)"


def test_program_names_and_campus_labels_follow_the_files_order(made_up):
    assert phrasing.program_names(made_up) == "Alpha, Beta and Gamma"
    assert phrasing.campus_labels(made_up) == "North, AA; South, BB; and West, CC"
