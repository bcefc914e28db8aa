"""Issue 11: weather, jokes, other schools and homework get what the assistant can help with, and the next steps.

Never invented content: the reply is the same whatever the message names (a campus city's
weather names no campus fact), and it carries the suggestion buttons.
"""

from __future__ import annotations

import pytest

from actions.dialogue import phrasing, suggestions
from tests.conftest import render, run_action

ASIDES = [
    "what's the weather in Augusta",
    "tell me a joke",
    "is Chattanooga State better for coding",
    "can you do my algebra homework",
    "how's your day going",
]


@pytest.mark.parametrize("text", ASIDES)
def test_out_of_scope_says_what_the_assistant_can_help_with_and_offers_the_next_steps(kb, text):
    turn = run_action("out_of_scope", text, "out_of_scope")
    assert turn.texts == [render({"response": "reply_out_of_scope", "program_names": phrasing.program_names(kb)})]
    assert turn.buttons == suggestions.next_steps("out_of_scope")
    assert [b["payload"] for b in turn.buttons][-1] == "/ask_contact"
    assert turn.slot("program") == "<unset>"  # what it named is not taken as the conversation's program


def test_a_campus_city_in_an_aside_brings_no_campus_facts(kb):
    augusta = kb.campus("augusta")
    assert augusta is not None
    turn = run_action("out_of_scope", "what's the weather in Augusta", "out_of_scope")
    assert augusta.label not in turn.text and "offered" not in turn.text
