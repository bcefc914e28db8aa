"""How a finished form becomes a lead, at its edges: which of the visitor's questions are kept,
the lead's id when the form's own is missing, and what a refused answer's error says."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker

from actions.inquiry import fields
from actions.inquiry.lead_builder import lead_id, questions_asked
from actions.inquiry.revalidation import Refused, checked_answers
from actions.knowledge import load_knowledge
from tests.conftest import DOMAIN
from tests.test_lead_checks import VALID, tracker_of

START = {"event": "action", "name": "action_start_inquiry"}


def asked(text: str | None, intent: str = "ask_duration") -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent, "confidence": 0.9}}}


def tracker_with(events: list[dict[str, Any]], slots: dict[str, Any] | None = None) -> Tracker:
    return Tracker("visitor-1", slots or {}, {}, events, False, None, None, "action_listen")


def test_questions_are_kept_only_from_before_a_form_began():
    """A conversation with no form start (a stale or made-up submit) brings none of its questions."""
    assert questions_asked(tracker_with([asked("how long is it?"), asked("is it online?")])) == []
    assert questions_asked(tracker_with([asked("how long is it?"), START, asked("is it online?")])) == [
        "how long is it?"
    ]


def test_a_question_without_text_adds_nothing():
    assert questions_asked(tracker_with([asked(None), asked("how long is it?"), START])) == ["how long is it?"]


def test_a_long_question_is_kept_to_its_first_500_characters():
    question = "how long is it " + "really " * 100 + "?"
    assert questions_asked(tracker_with([asked(question), START])) == [question[:500]]


@pytest.mark.parametrize("chosen", [None, 42, "not-a-uuid"], ids=["unset", "a number", "not a uuid"])
def test_a_form_without_a_usable_lead_id_gets_a_new_unique_one(chosen):
    """Two such leads must not share an id: the second would be taken for a retry of the first."""
    made = {lead_id(tracker_with([], {"lead_id": chosen})) for _ in range(2)}
    assert len(made) == 2
    for made_id in made:
        assert len(made_id) == 36 and made_id.count("-") == 4


def test_a_refused_answers_error_names_the_field_never_the_value():
    slots = {**VALID, "lead_email": "dana-at-example"}
    with pytest.raises(Refused) as refused:
        checked_answers(tracker_of(slots), load_knowledge(), DOMAIN)
    assert str(refused.value) == "lead_email failed re-validation"
    assert refused.value.field is fields.BY_SLOT["lead_email"]
