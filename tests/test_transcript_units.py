"""The lead's transcript (actions/inquiry/transcript.py) from the events the action server gets:
order and roles, masking, nothing from inside a form, the caps; then the transcript through
the store, the CRM payload's schema and the staff export. Events are built with Rasa's own
classes (tests/form_events.py) and serialised as Rasa sends them."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from jsonschema import ValidationError
from rasa.shared.core.events import ActionExecuted, BotUttered, Event
from rasa_sdk import Tracker

from actions.inquiry import migrate
from actions.inquiry.lead_builder import build_lead, page_url, questions_asked
from actions.inquiry.payload import build_payload
from actions.inquiry.revalidation import checked_answers
from actions.inquiry.store import LeadStore
from actions.inquiry.transcript import MAX_MESSAGE_CHARS, MAX_MESSAGES, MAX_TOTAL_CHARS, transcript
from actions.leads import export
from tests.conftest import DOMAIN
from tests.conversations import DANA
from tests.form_events import FORM, details, form_start, session_start, stop, summary_and_submit, user
from tests.test_inquiry_form import make_tracker
from tests.test_lead_checks import KB, VALID
from tests.test_lead_store import make_lead
from tests.test_payload import VALIDATOR

PHONE = "(423) 555-0100"  # the college's, as an answer gives it
BUTTONS = {"buttons": [{"title": "Is it online?", "payload": "/ask_delivery"}]}


def said(text: str, **data: Any) -> BotUttered:
    return BotUttered(text, data)


def start() -> list[Event]:
    """The visitor asks for the inquiry: the form's start action, its intro and first question."""
    return [
        *user("I'd like more info", "request_info"),
        ActionExecuted("action_start_inquiry"),
        said("Great, a few questions."),
        *form_start()[2:],
    ]


def serialised(events: list[Event]) -> list[dict[str, Any]]:
    return [event.as_dict() for event in events]


def of(events: list[Event]) -> list[tuple[str, str]]:
    return [(message["role"], message["text"]) for message in transcript(serialised(events))]


def test_the_visitors_questions_and_the_answers_before_the_form_in_order():
    events = [
        *session_start(),
        *user("/greet", "greet"),  # the widget opening: not something the visitor wrote
        said("Hi! What would you like to know?", **BUTTONS),
        *user("/ask_delivery", "ask_delivery"),  # the button clicked: shown by its title
        said("Yes, it can be done online."),
        *user("how long is medical billing?", "ask_duration"),
        said(f"Medical Billing and Coding takes 15 months. Questions? Call {PHONE}."),
        *start(),
        *details(DANA),
    ]
    assert of(events) == [
        ("assistant", "Hi! What would you like to know?"),
        ("visitor", "Is it online?"),
        ("assistant", "Yes, it can be done online."),
        ("visitor", "how long is medical billing?"),
        ("assistant", f"Medical Billing and Coding takes 15 months. Questions? Call {PHONE}."),
        ("visitor", "I'd like more info"),
    ]


def test_contact_details_are_masked_and_the_visitors_own_replaced_wherever_they_were_written():
    events = [
        *session_start(),
        *user(f"hi, I'm {DANA.name}: is it online? reach me at {DANA.email} or 706 555 0199", "ask_delivery"),
        said(f"Yes, {DANA.name}, it is online."),
        *start(),
        *details(DANA),
        *summary_and_submit(DANA),
    ]
    assert of(events)[:2] == [
        ("visitor", "hi, I'm [name]: is it online? reach me at [email] or [phone]"),
        ("assistant", "Yes, [name], it is online."),
    ]
    assert "[phone]" not in of([*session_start(), said(f"Call {PHONE}."), *start()])[0][1]  # the college's stays


def test_nothing_from_inside_a_form_even_an_earlier_one_or_a_question_asked_in_it():
    events = [
        *session_start(),
        *user("how long is it?", "ask_duration"),
        said("15 months."),
        *start(),
        *details(DANA),  # the name, email and phone typed into the form
        *user("is it online?", "ask_delivery"),  # a question mid-form
        ActionExecuted(FORM),
        said("Yes, online too."),
        *stop(),  # the first form stopped
        *user("which campus?", "ask_campus"),
        said("Augusta, GA."),
        *start(),  # the form again: its transcript is what came before this start
    ]
    assert of(events) == [
        ("visitor", "how long is it?"),
        ("assistant", "15 months."),
        ("visitor", "I'd like more info"),
        ("assistant", "Stopped: nothing kept."),  # said once the first form had ended
        ("visitor", "which campus?"),
        ("assistant", "Augusta, GA."),
        ("visitor", "I'd like more info"),
    ]
    text = json.dumps(transcript(serialised(events)))
    for detail in (DANA.name, DANA.email, DANA.phone, DANA.stored_phone, "Question for lead_"):
        assert detail not in text


def test_whatever_came_after_the_latest_form_began_is_left_out_even_once_it_ended():
    """A submit that arrives after the form was stopped (stale, or made up) brings only what came
    before the form: not the stop, not the questions asked after it."""
    events = [
        *session_start(),
        *user("how long is it?", "ask_duration"),
        said("15 months."),
        *start(),
        *details(DANA),
        *stop(),
        *user("which campus?", "ask_campus"),
        ActionExecuted("action_answer_campus"),
        said("Augusta, GA."),
        ActionExecuted("action_listen"),
    ]
    assert of(events) == [
        ("visitor", "how long is it?"),
        ("assistant", "15 months."),
        ("visitor", "I'd like more info"),
    ]


def test_a_form_left_open_in_an_earlier_session_hides_nothing_of_the_next_one():
    """Rasa sends every session's events: a session that expired mid-form ends that form."""
    events = [
        *session_start(),
        *start(),
        *details(DANA),  # the visitor left mid-form; the session expired
        *session_start(),
        *user("is it online?", "ask_delivery"),
        said("Yes, it can be done online."),
        *start(),
    ]
    assert of(events) == [
        ("visitor", "I'd like more info"),  # what began the first form
        ("visitor", "is it online?"),
        ("assistant", "Yes, it can be done online."),
        ("visitor", "I'd like more info"),
    ]


def test_events_that_do_not_begin_with_a_session_start_are_outside_any_form():
    assert of([*user("how long is it?", "ask_duration"), said("15 months."), *start()]) == [
        ("visitor", "how long is it?"),
        ("assistant", "15 months."),
        ("visitor", "I'd like more info"),
    ]


def test_the_clicked_button_is_shown_by_its_own_title_among_several():
    buttons = {
        "buttons": [
            {"title": "How long is it?", "payload": "/ask_duration"},
            "not a button",
            {"title": None, "payload": "/ask_campus"},
            {"title": "Is it online?", "payload": "/ask_delivery"},
        ]
    }
    events = [*session_start(), said("What would you like to know?", **buttons), *user("/ask_delivery", "ask_delivery")]
    assert of([*events, *start()])[1] == ("visitor", "Is it online?")
    untitled = [*session_start(), said("Pick one.", **buttons), *user("/ask_campus", "ask_campus"), *start()]
    assert of(untitled) == [("assistant", "Pick one."), ("visitor", "I'd like more info")]  # no title: left out


def test_a_message_without_text_or_with_malformed_data_is_no_message():
    """An answer made only of buttons or a custom payload has no text: nothing to show for it."""
    buttons_only = BotUttered(None, {"buttons": [{"title": "Is it online?", "payload": "/ask_delivery"}]})
    odd = said("Hello.")
    serial = serialised([*session_start(), buttons_only, *user("/ask_delivery", "ask_delivery"), odd, *start()])
    serial[-len(start()) - 1]["data"] = "not a mapping"  # the "Hello." answer, its data malformed
    textless = serialised(user("x", "greet"))[1] | {"text": None}  # the UserUttered, text gone
    serial.insert(2, textless)
    assert [(m["role"], m["text"]) for m in transcript(serial)] == [
        ("visitor", "Is it online?"),
        ("assistant", "Hello."),
        ("visitor", "I'd like more info"),
    ]


def test_contact_details_of_someone_else_typed_before_the_form_are_masked_too():
    """Not only the visitor's own (replaced by the redaction): any address or number they wrote."""
    events = [
        *session_start(),
        *user("my sister sam.lee@example.org, 706 555 0142, wants the online one too", "ask_delivery"),
        said("Yes, it can be done online."),
        *start(),
        *details(DANA),
    ]
    assert of(events)[0] == ("visitor", "my sister [email], [phone], wants the online one too")


def test_no_form_began_no_transcript():
    """As the lead's questions: a stale or made-up submit brings nothing of the conversation."""
    assert of([*session_start(), *user("how long is it?", "ask_duration"), said("15 months.")]) == []


def test_the_last_twenty_messages_are_kept():
    events: list[Event] = [*session_start()]
    for n in range(15):
        events += [*user(f"question {n}?", "ask_duration"), said(f"answer {n}.")]
    kept = of([*events, *start()])
    assert len(kept) == MAX_MESSAGES == 20
    assert kept[0] == ("assistant", "answer 5.") and kept[-1] == ("visitor", "I'd like more info")


def test_a_long_message_is_cut_to_500_characters_ending_with_an_ellipsis():
    question = "is it online? " + "I really need to know " * 40
    ((_, cut), _) = of([*session_start(), *user(question, "ask_delivery"), *start()])
    assert len(cut) == MAX_MESSAGE_CHARS == 500
    assert cut == question[:499] + "…"


def test_the_oldest_messages_go_first_to_stay_within_4000_characters():
    events: list[Event] = [*session_start()]
    for n in range(9):
        events += [*user(f"{n} " + "x" * 600, "ask_duration")]  # cut to 500 each
    kept = transcript(serialised([*events, *start()]))
    assert sum(len(message["text"]) for message in kept) <= MAX_TOTAL_CHARS == 4000
    assert [message["text"][0] for message in kept] == ["2", "3", "4", "5", "6", "7", "8", "I"]


def test_exactly_4000_characters_are_kept_whole():
    events: list[Event] = [*session_start()]
    for n in range(8):
        events += [*user(f"{n} " + "x" * 498, "ask_duration")]  # 500 each: 4000 in all
    kept = transcript(serialised([*events, *start()]))
    assert [message["text"][0] for message in kept] == ["1", "2", "3", "4", "5", "6", "7", "I"]
    exact = transcript(serialised([*events[:-1], *user("7 " + "x" * 480, "ask_duration"), *start()]))
    assert sum(len(message["text"]) for message in exact) == MAX_TOTAL_CHARS
    assert [message["text"][0] for message in exact] == ["0", "1", "2", "3", "4", "5", "6", "7", "I"]


def test_masking_comes_before_the_cut():
    """An address at the cut is masked whole, never left half readable."""
    question = "x" * 480 + f" mail {DANA.email} please"
    ((_, cut), _) = of([*session_start(), *user(question, "ask_delivery"), *start()])
    assert cut == "x" * 480 + " mail [email] please"


def test_the_leads_questions_do_not_hold_the_visitors_details_either():
    events = [
        *session_start(),
        *user(f"I'm {DANA.name}, how long is it?", "ask_duration"),
        said("15 months."),
        *start(),
        *details(DANA),
    ]
    tracker = Tracker("visitor-1", {}, {}, serialised(events), False, None, None, "action_listen")
    assert questions_asked(tracker) == ["I'm [name], how long is it?"]


def test_the_page_is_the_one_the_conversation_began_on():
    first, later = "https://college.example/programs", "https://college.example/apply.html"
    events = serialised(
        [
            *session_start(),
            *user("/greet", "greet", page_url=first + "?utm=x"),
            *user("how long is it?", "ask_duration", page_url=later),
        ]
    )
    assert page_url(Tracker("visitor-1", {}, {}, events, False, None, None, "action_listen")) == first


def test_the_lead_built_at_submit_carries_the_transcript_of_its_conversation():
    events = serialised(
        [
            *session_start(),
            *user("how long is health IT?", "ask_duration"),
            said("Healthcare Information Technology takes 18 months."),
            *start(),
            *details(DANA),
            *summary_and_submit(DANA)[:-6],  # as the submit action gets them: before it ran
        ]
    )
    tracker = make_tracker("yes", "affirm", VALID, events=events)
    lead = build_lead(tracker, checked_answers(tracker, KB, DOMAIN))
    assert lead.transcript == transcript(events) != []
    assert lead.transcript[0] == {"role": "visitor", "text": "how long is health IT?"}


# The transcript through the store, the payload and the export

TRANSCRIPT = [
    {"role": "visitor", "text": "how long is it?"},
    {"role": "assistant", "text": "15 months."},
    {"role": "visitor", "text": "=cmd|' /C calc'!A0"},
]


@pytest.fixture
def store(tmp_path) -> Iterator[LeadStore]:
    created = LeadStore(f"sqlite:///{tmp_path / 'leads.sqlite3'}")
    yield created
    created.dispose()


def test_the_store_keeps_the_transcript_and_an_update_replaces_it(store):
    lead = make_lead(1, transcript=TRANSCRIPT)
    assert store.save(lead)
    stored = store.get(lead.id)
    assert stored is not None and stored.transcript == TRANSCRIPT
    assert store.replace(lead.id, make_lead(1, transcript=TRANSCRIPT[:1]))
    updated = store.get(lead.id)
    assert updated is not None and updated.transcript == TRANSCRIPT[:1]


def test_a_lead_without_a_transcript_stores_an_empty_one(store):
    lead = make_lead(2)
    store.save(lead)
    stored = store.get(lead.id)
    assert stored is not None and stored.transcript == []


def test_the_payload_carries_the_transcript_and_validates_against_the_schema():
    payload = build_payload(make_lead(3, transcript=TRANSCRIPT))
    VALIDATOR.validate(payload)
    assert payload["transcript"] == TRANSCRIPT


@pytest.mark.parametrize(
    "broken",
    [
        [{"role": "advisor", "text": "hello"}],
        [{"role": "visitor", "text": ""}],
        [{"role": "visitor", "text": "x" * 501}],
        [{"role": "visitor"}],
        [{"role": "visitor", "text": "hi", "email": "dana@example.com"}],
        [{"role": "visitor", "text": "hi"}] * 21,
    ],
    ids=["other role", "empty", "too long", "no text", "another key", "too many"],
)
def test_the_schema_refuses_a_transcript_out_of_its_bounds(broken):
    payload = build_payload(make_lead(4))
    with pytest.raises(ValidationError):
        VALIDATOR.validate({**payload, "transcript": broken})


def test_a_built_transcript_always_fits_the_schema():
    events: list[Event] = [*session_start()]
    for n in range(30):
        events += [*user(f"{n} " + "y" * 900, "ask_duration"), said("z" * 800)]
    built = transcript(serialised([*events, *start()]))
    VALIDATOR.validate({**build_payload(make_lead(5)), "transcript": built})


def test_the_export_carries_the_transcript_as_json_and_as_one_readable_cell():
    lead = make_lead(6, transcript=TRANSCRIPT)
    jsonl, table = io.StringIO(), io.StringIO()
    export([lead], "jsonl", jsonl)
    export([lead], "csv", table)
    assert json.loads(jsonl.getvalue())["transcript"] == TRANSCRIPT
    (row,) = csv.DictReader(io.StringIO(table.getvalue()))
    assert row["transcript"].splitlines() == [
        "Visitor: how long is it?",
        "Assistant: 15 months.",
        "Visitor: =cmd|' /C calc'!A0",  # inside the cell, never at its start: no formula
    ]


def test_leads_saved_before_the_transcript_existed_are_kept_with_an_empty_one(tmp_path):
    """Migration 0005 on a database holding leads: nothing lost, each lead's transcript []."""
    url = f"sqlite:///{tmp_path / 'leads.sqlite3'}"
    engine = sa.create_engine(url, future=True)
    lead = make_lead(7)
    with engine.begin() as connection:
        command.upgrade(migrate.config(connection), "0004_delivery_schedule")
        table = sa.Table("leads", sa.MetaData(), autoload_with=connection)
        assert "transcript" not in table.c
        row = {**lead.values(), "questions": json.dumps(lead.questions)}
        connection.execute(table.insert().values({column.name: row[column.name] for column in table.c}))
    engine.dispose()
    store = LeadStore(url)
    loaded = store.get(lead.id)
    store.dispose()
    assert loaded is not None and loaded.transcript == [] and loaded.answers == lead.answers
    assert loaded.questions == lead.questions
