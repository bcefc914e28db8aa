"""The combination query on made-up facts: which options fit a question, and which are left."""

from __future__ import annotations

import dataclasses

import pytest

from actions.dialogue import phrasing
from actions.knowledge import KnowledgeBase
from actions.knowledge.offerings import Option, ask, options
from tests.test_phrasing import ALPHA, BETA, GAMMA, MODES, campus


@pytest.fixture
def made_up(kb: KnowledgeBase) -> KnowledgeBase:
    """test_phrasing's made-up facts: three programs over three campuses, modes renamed."""
    campuses = (campus("north", "AA"), campus("south", "BB"), campus("west", "CC"))
    return dataclasses.replace(kb, programs=(ALPHA, BETA, GAMMA), campuses=campuses, delivery_modes=MODES)


def at(kb: KnowledgeBase, *pairs: tuple[str, str]) -> tuple[Option, ...]:
    return tuple(Option(kb.campus(c), mode) for c, mode in pairs)  # type: ignore[arg-type]


def test_options_are_in_person_in_file_order_then_online(made_up):
    assert options(made_up, ALPHA) == at(
        made_up,
        ("north", "on_campus"),
        ("south", "on_campus"),
        ("west", "hybrid"),
        ("west", "on_campus"),
        ("north", "online"),
    )
    assert options(made_up, BETA) == at(made_up, ("north", "online"))


@pytest.mark.parametrize(
    "program, campuses, modes, matches",
    [
        (ALPHA, ["west"], ["hybrid"], [("west", "hybrid")]),
        (ALPHA, ["west"], [], [("west", "hybrid"), ("west", "on_campus")]),  # a campus alone: in person there
        (ALPHA, ["north"], [], [("north", "on_campus")]),  # online through North is not "in" North
        (ALPHA, ["south"], ["online"], []),
        (ALPHA, ["north", "south"], ["on_campus"], [("north", "on_campus"), ("south", "on_campus")]),
        (ALPHA, [], ["hybrid"], [("west", "hybrid")]),
        (BETA, ["north"], [], []),
        (BETA, ["north"], ["online"], [("north", "online")]),
        (GAMMA, [], ["online"], []),
    ],
)
def test_yes_exactly_when_an_option_fits_and_the_others_are_the_rest(made_up, program, campuses, modes, matches):
    verdict = ask(made_up, program, [made_up.campus(c) for c in campuses], modes)
    assert verdict.matches == at(made_up, *matches)
    assert verdict.yes is bool(matches)
    assert verdict.others == tuple(o for o in options(made_up, program) if o not in verdict.matches)


def test_what_was_asked_is_every_campus_with_every_mode(made_up):
    verdict = ask(made_up, GAMMA, [made_up.campus("north")], [])
    assert verdict.asked == at(made_up, ("north", "on_campus"), ("north", "hybrid"))
    assert phrasing.ways(made_up, verdict.asked) == "in class or blended at North, AA"
    anywhere = ask(made_up, GAMMA, [], ["online"])
    assert (anywhere.asked, anywhere.asked_modes) == ((), ("online",))


def test_ways_groups_campuses_and_puts_online_last(made_up):
    chosen = at(made_up, ("north", "online"), ("south", "on_campus"), ("west", "on_campus"), ("west", "hybrid"))
    assert phrasing.ways(made_up, chosen) == (
        "in class at South, BB, or in class or blended at West, CC, or remote through our North, AA campus"
    )
    assert phrasing.ways(made_up, ()) == ""
