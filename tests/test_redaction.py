"""The redaction of contact details from a conversation's events (actions/privacy/), unit by unit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actions.inquiry import fields
from actions.privacy.masking import mask_contact_details
from actions.privacy.personal_slots import PERSONAL_SLOTS, placeholder
from actions.privacy.redaction import personal_inputs, redact_events
from tests.conversations import DANA, Person
from tests.form_events import details, form_start, session_start, stop, summary_and_submit, traces, user

ROBIN = Person("Al Li", "AL.LI@Example.org", "706.555.0142", "+17065550142")


def serialized(events: list) -> list[dict[str, Any]]:
    return [event.as_dict() for event in events]


def completed_form(person: Person = DANA, rejected_email: str | None = None) -> list[dict[str, Any]]:
    return serialized([*session_start(), *form_start(), *details(person, rejected_email), *summary_and_submit(person)])


def dump(events: list[dict[str, Any]]) -> str:
    return json.dumps(events, ensure_ascii=False) + json.dumps(events)


def test_the_personal_slots_are_the_form_fields_declared_personal():
    assert {field.slot for field in fields.FIELDS if field.personal} == set(PERSONAL_SLOTS)


# ASCII ids: mutmut passes node ids back to pytest unescaped, and "Núñez" would then match no test.
@pytest.mark.parametrize("person", [DANA, ROBIN], ids=lambda p: p.name.encode("ascii", "replace").decode())
def test_no_name_email_or_phone_remains_as_typed_or_normalised(person):
    events = completed_form(person)
    assert traces(person, dump(events))  # the search finds them before...
    assert traces(person, dump(redact_events(events, PERSONAL_SLOTS))) == []  # ...and not after


def test_what_was_typed_and_set_becomes_the_placeholder_of_its_kind():
    redacted = redact_events(completed_form(), PERSONAL_SLOTS)
    typed = [e["text"] for e in redacted if e["event"] == "user" and e["text"].startswith("[")]
    assert typed == [placeholder(kind) for kind in ("name", "email", "phone")]
    assert all(e["parse_data"]["text"] == e["text"] for e in redacted if e["event"] == "user")
    set_values = [e["value"] for e in redacted if e["event"] == "slot" and e["name"] in PERSONAL_SLOTS]
    assert [value for value in set_values if value is not None] == ["[name]", "[email]", "[phone]"]
    summary = next(e["text"] for e in redacted if e["event"] == "bot" and "Name:" in e["text"])
    assert "Name: [name]\nEmail: [email]\nPhone: [phone]" in summary


def test_a_rejected_attempt_is_redacted_too():
    events = completed_form(rejected_email="dana.obrien@example")
    assert "dana.obrien@example" in dump(events)
    redacted = redact_events(events, PERSONAL_SLOTS)
    assert "dana.obrien@example" not in dump(redacted).lower()
    assert [e["text"] for e in redacted if e["event"] == "user"].count("[email]") == 2


def test_everything_else_is_left_as_it_was():
    events = completed_form()
    redacted = redact_events(events, PERSONAL_SLOTS)
    personal = {value.lower() for value in (DANA.name, DANA.email, DANA.phone, DANA.stored_phone)}
    changed = [i for i, (before, after) in enumerate(zip(events, redacted, strict=True)) if before != after]
    for index in changed:  # only the events that held a personal value changed
        assert any(value in json.dumps(events[index], ensure_ascii=False).lower() for value in personal)
    assert len(changed) == 3 + 3 + 1  # three messages, three slot events, the summary
    assert "how long is it?" in [e["text"] for e in redacted if e["event"] == "user"]


def test_a_yes_to_do_you_want_to_stop_is_not_taken_for_a_personal_value():
    events = serialized(
        [*session_start(), *form_start(), *details(DANA)[:-6], *stop()]
    )  # stopped at the phone question
    typed = personal_inputs(events, PERSONAL_SLOTS)
    assert [events[i]["text"] for i in typed] == [DANA.name, DANA.email, "never mind"]
    redacted = redact_events(events, PERSONAL_SLOTS)
    assert [e["text"] for e in redacted if e["event"] == "user"][-1] == "yes"
    assert traces(DANA, dump(redacted)) == []


def test_a_short_name_is_replaced_as_a_word_only():
    events = completed_form(ROBIN)
    events.append(serialized([*user("also, is it online?")])[-1])
    redacted = redact_events(events, PERSONAL_SLOTS)
    assert redacted[-1]["text"] == "also, is it online?"


def test_redacting_twice_changes_nothing_more():
    once = redact_events(completed_form(), PERSONAL_SLOTS)
    assert redact_events(once, PERSONAL_SLOTS) == once


def test_a_conversation_without_personal_values_is_unchanged():
    events = serialized([*session_start(), *user("how long is it?", "ask_duration"), *user("is it online?")])
    assert redact_events(events, PERSONAL_SLOTS) == events


@pytest.mark.parametrize(
    "text, masked",
    [
        ("can you email me at dana.obrien@example.com about it?", "can you email me at [email] about it?"),
        ("call (706) 555-0199 or +1 706 555 0142 please", "call [phone] or [phone] please"),
        ("Núñez@correo.example.mx, 706-555-0199", "[email], [phone]"),
        ("is it 18 months, from 2024 to 2026?", "is it 18 months, from 2024 to 2026?"),
        ("how long is health IT?", "how long is health IT?"),
        ("dana@example is my address", "dana@example is my address"),  # not an address yet
    ],
)
def test_contact_details_outside_the_form_are_masked_keeping_the_rest(text, masked):
    assert mask_contact_details(text) == masked


def test_messages_outside_the_form_are_masked_in_text_and_parse_data_only():
    question = "my number is (706) 555-0199, can I study online?"
    events = serialized([*session_start(), *user(question, "ask_delivery", page_url="https://college.example/p")])
    redacted = redact_events(events, PERSONAL_SLOTS)
    masked = "my number is [phone], can I study online?"
    assert (redacted[-1]["text"], redacted[-1]["parse_data"]["text"]) == (masked, masked)
    assert redacted[-1]["metadata"] == events[-1]["metadata"]
    assert redacted[-1]["parse_data"]["intent"] == events[-1]["parse_data"]["intent"]
